/**
 * FHIR R4 International Patient Summary, both ways (docs/SHARING.md). Pure: no DOM, no
 * storage, no network, no crypto library.
 *
 * - `toIpsBundle`: what the patient shares → an IPS document Bundle (to-ips.ts).
 * - `fromIpsBundle`: any FHIR Bundle → record values, for import (from-ips.ts; uses the
 *   record's validation, so it loads zod and the section table).
 * - `summarizeIps`: any IPS → what the professional's viewer shows (summary.ts). The viewer
 *   imports `summary.ts` directly, never this index, which would pull in the record code.
 */
export { toIpsBundle, type IpsDocumentInput, type IpsInput } from './to-ips';
export {
	fromIpsBundle,
	type FromIpsOptions,
	type ImportableSection,
	type ImportedDocument,
	type ImportedEntry,
	type ImportedRecord,
	type SkippedResource
} from './from-ips';
export { summarizeIps } from './summary';
export type * from './summary-types';
export type { Bundle, BundleEntry, FhirResource } from './read';
export { fhirToLocal, localToFhir } from './time';
