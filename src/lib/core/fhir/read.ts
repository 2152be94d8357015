/**
 * Defensive reading of FHIR JSON someone else wrote. Bundles arrive from other producers
 * (the HL7 examples, a hospital's IPS, a SMART Health Card) and are untrusted: every reader
 * here takes `unknown`, checks the type it expects and answers `undefined` or an empty list
 * rather than throwing. Shared by the importer and the viewer's summary; imports only the
 * code table (which imports nothing).
 */
import { SYSTEMS } from './codes';

/** A JSON object. */
export type Json = Record<string, unknown>;

/** One FHIR resource as this module handles it: its type and id are all it assumes. */
export interface FhirResource {
	readonly resourceType: string;
	readonly id?: string;
	readonly [key: string]: unknown;
}

/** One entry of a Bundle. */
export interface BundleEntry {
	readonly fullUrl?: string;
	readonly resource: FhirResource;
}

/** A FHIR R4 Bundle, as much of it as this module reads and writes. */
export interface Bundle {
	readonly resourceType: 'Bundle';
	readonly id?: string;
	readonly identifier?: { readonly system: string; readonly value: string };
	readonly type: string;
	readonly timestamp?: string;
	readonly entry: readonly BundleEntry[];
}

/** A plain object (not null, not an array). */
export function isObject(value: unknown): value is Json {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-blank string, trimmed; anything else `undefined`. */
export function str(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const t = value.trim();
	return t === '' ? undefined : t;
}

/** A finite number, or `undefined`. */
export function num(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The objects of an array (other items dropped); `[]` for anything not an array. */
export function objects(value: unknown): Json[] {
	return Array.isArray(value) ? value.filter(isObject) : [];
}

/** The object at `value`, or an empty one: lets readers chain without checks. */
export function obj(value: unknown): Json {
	return isObject(value) ? value : {};
}

/** Codings of a CodeableConcept. */
export function codings(concept: unknown): Json[] {
	return objects(obj(concept).coding);
}

/** Whether a CodeableConcept has `code` (in `system` when given). */
export function hasCode(concept: unknown, code: string, system?: string): boolean {
	return codings(concept).some((c) => c.code === code && (system === undefined || c.system === system));
}

/** The first code of a CodeableConcept (in `system` when given). */
export function codeOf(concept: unknown, system?: string): string | undefined {
	for (const c of codings(concept)) {
		if (system !== undefined && c.system !== system) continue;
		const code = str(c.code);
		if (code !== undefined) return code;
	}
	return undefined;
}

/** What to show for a Coding: its display, else its code. */
export function codingText(coding: unknown): string | undefined {
	const c = obj(coding);
	return str(c.display) ?? str(c.code);
}

/**
 * What to show for a CodeableConcept: its text, else the first coding's display, else the
 * first code. A bare string (a `code` element) is itself.
 */
export function conceptText(concept: unknown): string | undefined {
	if (typeof concept === 'string') return str(concept);
	const c = obj(concept);
	const text = str(c.text);
	if (text !== undefined) return text;
	const list = codings(c);
	for (const coding of list) {
		const display = str(coding.display);
		if (display !== undefined) return display;
	}
	for (const coding of list) {
		const code = str(coding.code);
		if (code === undefined) continue;
		// Its codes read as English once unhyphenated: "no-known-food-allergies" → "No known food allergies".
		if (coding.system === SYSTEMS.ipsAbsentUnknown) return code.charAt(0).toUpperCase() + code.slice(1).replace(/-/g, ' ');
		return code;
	}
	return undefined;
}

/** The texts of a list of CodeableConcepts, blanks dropped. */
export function conceptTexts(value: unknown): string[] {
	const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
	return list.map(conceptText).filter((t): t is string => t !== undefined);
}

/** A HumanName as one line: its text, else given names then family name. */
export function humanName(name: unknown): string | undefined {
	const n = obj(name);
	const text = str(n.text);
	if (text !== undefined) return text;
	const given = Array.isArray(n.given) ? n.given.map(str).filter((g) => g !== undefined) : [];
	const parts = [...given, str(n.family)].filter((p) => p !== undefined);
	const prefix = Array.isArray(n.prefix) ? n.prefix.map(str).filter((p) => p !== undefined) : [];
	return parts.length > 0 ? [...prefix, ...parts].join(' ') : undefined;
}

/** The first usable name of a list of HumanNames, preferring official/usual ones. */
export function firstName(names: unknown): string | undefined {
	const list = objects(names);
	const preferred = [...list.filter((n) => n.use === 'official' || n.use === 'usual'), ...list];
	for (const n of preferred) {
		const text = humanName(n);
		if (text !== undefined) return text;
	}
	return undefined;
}

/** The Annotation texts of a `note` list. */
export function noteTexts(value: unknown): string[] {
	return objects(value)
		.map((n) => str(n.text))
		.filter((t): t is string => t !== undefined);
}

/** Values of the extensions with `url` on an element. */
export function extensions(element: unknown, url: string): Json[] {
	return objects(obj(element).extension).filter((e) => e.url === url);
}

const ENTITIES: Readonly<Record<string, string>> = {
	amp: '&',
	lt: '<',
	gt: '>',
	quot: '"',
	apos: "'",
	nbsp: ' '
};

/**
 * XHTML narrative → plain text: tags become spaces, entities are decoded, whitespace is
 * collapsed. The result is text to show as text, never markup.
 */
export function stripXhtml(div: unknown): string | undefined {
	if (typeof div !== 'string') return undefined;
	const text = div
		.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
		.replace(/<[^>]*>/g, ' ')
		.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, name: string) => {
			if (name[0] === '#') {
				const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
				return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
			}
			return ENTITIES[name.toLowerCase()] ?? all;
		})
		.replace(/\s+/g, ' ')
		.trim();
	return text === '' ? undefined : text;
}

/**
 * Finds a bundle's resources by what references them: the entry's fullUrl (`urn:uuid:…`,
 * an absolute URL) or `Type/id`, including the `Type/id` tail of an absolute reference.
 */
export class ResourceIndex {
	readonly resources: readonly FhirResource[];
	private readonly byKey = new Map<string, FhirResource>();

	constructor(entries: unknown) {
		const resources: FhirResource[] = [];
		for (const entry of objects(entries)) {
			const resource = entry.resource;
			if (!isObject(resource) || typeof resource.resourceType !== 'string') continue;
			const r = resource as FhirResource;
			resources.push(r);
			const fullUrl = str(entry.fullUrl);
			if (fullUrl !== undefined && !this.byKey.has(fullUrl)) this.byKey.set(fullUrl, r);
			const id = str(r.id);
			if (id !== undefined) {
				const key = `${r.resourceType}/${id}`;
				if (!this.byKey.has(key)) this.byKey.set(key, r);
			}
		}
		this.resources = resources;
	}

	/** The resource a Reference (or a reference string) points to, inside the bundle. */
	resolve(reference: unknown): FhirResource | undefined {
		const ref = typeof reference === 'string' ? reference : str(obj(reference).reference);
		if (ref === undefined) return undefined;
		const direct = this.byKey.get(ref);
		if (direct !== undefined) return direct;
		// An absolute URL or a versioned reference: match on its Type/id part.
		const m = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
		return m ? this.byKey.get(`${m[1]}/${m[2]}`) : undefined;
	}

	/** The first resource of a type. */
	first(resourceType: string): FhirResource | undefined {
		return this.resources.find((r) => r.resourceType === resourceType);
	}
}
