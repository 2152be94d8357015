/**
 * The record document: schema, field descriptors, operations and views (pure TypeScript, no
 * platform API). This file is the module's public surface; the contract is the
 * `src/lib/core/record` table of docs/ARCHITECTURE.md.
 */
export { ISSUE_CODES, RecordValidationError, type Issue, type IssueCode } from './errors';
export { MAX_DATE, MIN_DATE, type FieldDescriptor, type FieldKind } from './fields';
export {
	FIELDS,
	LIST_SECTIONS,
	MEASUREMENT_KIND_IDS,
	MEASUREMENT_KINDS,
	SECTIONS,
	SINGLETON_SECTIONS,
	type ListSectionId,
	type MeasurementKind,
	type SectionId,
	type SectionValue,
	type SingletonSectionId
} from './sections';
export {
	DMP_CLASS_SYSTEM,
	DOCUMENT_TYPE_IDS,
	DOCUMENT_TYPES,
	LOINC_SYSTEM,
	type Coding,
	type DocumentType,
	type DocumentTypeId
} from './document-types';
export {
	ACTIVITY_ACTIONS,
	type ActivityAction,
	type ActivityEntry,
	type Directives,
	type Entry,
	type EntryMeta,
	type Identity,
	type Singleton,
	type SingletonMeta,
	type Contributor,
	type DocumentExtras,
	type FileMeta
} from './schema';
export { validate, type ValidationResult } from './validate';
export { SCHEMA_VERSION, type RecordDoc } from './layout';
export {
	addEntry,
	editEntry,
	initRecord,
	removeEntry,
	setDocumentFile,
	setHidden,
	setSingleton,
	type RecordContext
} from './operations';
export {
	ACCESS_OUTCOMES,
	EMERGENCY_SECTIONS,
	SHARE_KINDS,
	SHAREABLE_SECTIONS,
	SHARE_LABEL_MAX,
	accessEntries,
	addShare,
	checkShareSelection,
	ensureSharing,
	importContribution,
	markPublished,
	professionalAuthor,
	readShares,
	recordAccess,
	revokeShare,
	shareSecrets,
	type AccessEntry,
	type AccessOutcome,
	type ContributionImport,
	type ShareInfo,
	type ShareKind,
	type ShareSecrets,
	type ShareSelection,
	type ShareableSection,
	type StoredShare
} from './shares';
export { LINK_ID_PATTERN } from './schema';
export {
	ACTIVITY_VIEW_LIMIT,
	RECENT_DOCUMENTS,
	conflicts,
	recordView,
	type EntryConflict,
	type FieldDifference,
	type RecordSummary,
	type RecordView,
	type VaccinationDue
} from './view';
export {
	DEVICE_NAME_MAX,
	PERSON_NAME_MAX,
	checkDeviceName,
	checkPerson,
	deviceEntries,
	deviceNames,
	ensureDevices,
	setDeviceName,
	type DeviceEntry,
	type DevicePerson
} from './devices';
export {
	authorName,
	people,
	type AuthorName,
	type MemberRole,
	type Person,
	type PersonDevice,
	type PersonRole,
	type RecordMember
} from './people';
