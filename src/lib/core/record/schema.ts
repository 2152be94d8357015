/**
 * The zod schemas of what the document stores, derived from the section table, and the entry
 * types the views return. The same content schema checks a form on the way in and a stored
 * entry on the way out, so anything a device writes is something every device can read.
 */
import { z } from 'zod';
import { isText } from './fields';
import { ID_PATTERN } from './ids';
import {
	perSection,
	SECTIONS,
	specOf,
	type ListSectionId,
	type SectionId,
	type SectionValue,
	type SingletonSectionId
} from './sections';

/** Who made a change, as the operation's context names them (a device, a professional). */
const author = z.string().min(1).max(200);
const instant = z.iso.datetime();
const entryId = z.string().regex(ID_PATTERN);

// The same three, checked without zod (see `objectReader`).
const INSTANT_PATTERN = z.regexes.datetime({ precision: null, offset: false, local: false });
const isAuthor = (v: unknown) => isText(v, 200) && v.length >= 1;
// An entry's createdAt is often its updatedAt: the last verdict answers the second.
let lastInstant: unknown;
let lastInstantOk = false;
const isInstant = (v: unknown) => {
	if (v !== lastInstant) {
		lastInstantOk = typeof v === 'string' && INSTANT_PATTERN.test(v);
		lastInstant = v;
	}
	return lastInstantOk;
};
const isEntryId = (v: unknown) => typeof v === 'string' && ID_PATTERN.test(v);

// Object types rather than interfaces: they keep an entry assignable to Record<string, unknown>,
// which generic display code takes.

/** What every list entry carries besides its fields; written by the operations only. */
export type EntryMeta = {
	readonly id: string;
	/** ISO instant (UTC). */
	readonly createdAt: string;
	readonly updatedAt: string;
	readonly createdBy: string;
	readonly updatedBy: string;
};

/** What a singleton (identity, directives) carries besides its fields. */
export type SingletonMeta = {
	readonly updatedAt: string;
	readonly updatedBy: string;
};

/**
 * One entry of a list section as the views return it. Documents also say whether they are
 * hidden: the UI shows hidden ones greyed, shares leave them out.
 */
export type Entry<S extends ListSectionId> = SectionValue<S> &
	EntryMeta &
	(S extends 'documents' ? { readonly hidden: boolean } & DocumentExtras : unknown);

/** A singleton section's value as the views return it. */
export type Singleton<S extends SingletonSectionId> = SectionValue<S> & SingletonMeta;

/** The patient's identity. */
export type Identity = Singleton<'identity'>;
/** Advance directives and organ-donation wishes. */
export type Directives = Singleton<'directives'>;

/** Keys the operations own; a form may not set them (`error.read_only`). */
export const META_KEYS: readonly string[] = [
	'id',
	'createdAt',
	'updatedAt',
	'createdBy',
	'updatedBy',
	'hidden',
	// Documents only, written by the sharing and attachment operations (shares.ts).
	'file',
	'contributor'
];

/** A share's link id: 32 random bytes in base64url. */
export const LINK_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 32 bytes in base64url without padding. */
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;
/** The longest `thumb` of a file (characters of base64: about 12 KiB of JPEG). */
export const THUMB_MAX_CHARS = 16384;

/**
 * A document's file (docs/ATTACHMENTS.md, section 3): written by the client's file service,
 * never by a form. The sealed bytes live on the relay and in the devices' blob caches, under
 * `blob`; `key` opens them, so deleting the entry removes the key from the current record.
 */
export const FILE_META_SCHEMA = z.strictObject({
	name: z.string().min(1).max(255),
	contentType: z.string().min(1).max(255),
	size: z.int().nonnegative(),
	/** base64url of BLAKE2b-256 of the file's bytes (checked after decryption). */
	hash: z.string().regex(B64URL_32),
	/** base64url of the file's 32-byte key. */
	key: z.string().regex(B64URL_32),
	/** base64url of BLAKE2b-256 of the sealed blob: its name on the relay and on the devices. */
	blob: z.string().regex(B64URL_32),
	/** A small JPEG preview, standard base64, made by the device that added an image. */
	thumb: z.string().max(THUMB_MAX_CHARS).regex(/^[A-Za-z0-9+/]*={0,2}$/).optional()
});

/** Who contributed a document through a share (not a form field). */
export const CONTRIBUTOR_SCHEMA = z.strictObject({
	name: z.string().min(1).max(200),
	rpps: z.string().regex(/^\d{11}$/),
	share: z.string().regex(LINK_ID_PATTERN)
});

/** A document's file metadata. */
export type FileMeta = z.infer<typeof FILE_META_SCHEMA>;
/** A document's contributor. */
export type Contributor = z.infer<typeof CONTRIBUTOR_SCHEMA>;

/** What documents carry besides their fields and metadata. */
export type DocumentExtras = {
	readonly file?: FileMeta;
	readonly contributor?: Contributor;
};

// No id: the map key is the id, and a random id stored twice would cost a third of the
// document's size (it does not compress).
const entryMetaShape = {
	createdAt: instant,
	updatedAt: instant,
	createdBy: author,
	updatedBy: author
};
const singletonMetaShape = { updatedAt: instant, updatedBy: author };

function contentSchema(section: SectionId) {
	const shape = Object.fromEntries(
		Object.entries(specOf(section).fields).map(([name, field]) => [
			name,
			field.required ? field.schema : field.schema.optional()
		])
	);
	// Strict: a field no form shows is a mistake (or a newer schema) to report, never to store silently.
	return z.strictObject(shape);
}

/** A section's fields, as a form submits them (after trimming). */
export const CONTENT_SCHEMAS = perSection(contentSchema);

/** A stored list entry or singleton: the fields plus the metadata the operations add (an entry's id is its key). */
export const STORED_SCHEMAS = perSection((s) =>
	CONTENT_SCHEMAS[s].extend(
		s === 'identity' || s === 'directives'
			? singletonMetaShape
			: s === 'documents'
				? { ...entryMetaShape, file: FILE_META_SCHEMA.optional(), contributor: CONTRIBUTOR_SCHEMA.optional() }
				: entryMetaShape
	)
);

/** One key of an object checked without zod. */
interface ReaderField {
	readonly required: boolean;
	/** Same verdict as the key's zod schema, for JSON values. */
	readonly accepts: (value: unknown) => boolean;
}

/**
 * Reads a parsed JSON value the way `z.strictObject(shape).safeParse(input)` does, without zod:
 * the value with its keys in shape order (as zod returns it), or `undefined` where zod would
 * fail (not an object, an unknown key, a required key missing, a value its check refuses).
 * With `id`, the value comes out as `{ id, ...value }`, the form the views return.
 * Stored entries are untrusted (another device, another version wrote them) and a record holds
 * thousands: zod 4.6 checks one in ~2-3.5 µs, this in ~0.6 µs (Node, 5,000-entry record).
 * tests/unit/record-stored-check.test.ts holds every reader equal to its schema.
 */
export type ObjectReader = (input: unknown, id?: string) => Record<string, unknown> | undefined;

function objectReader(shape: Readonly<Record<string, ReaderField>>): ObjectReader {
	const names = Object.keys(shape);
	// Both passes read `record[name]` for every name, own or not: no name may be inherited by
	// every object.
	for (const name of names) if (name in Object.prototype) throw new Error(`Reserved field name: ${name}`);
	const required = names.map((name) => shape[name].required);
	const accepts = names.map((name) => shape[name].accepts);
	const requiredCount = required.filter(Boolean).length;
	// A Map, not an object: a stored "__proto__" or "toString" key must read as unknown.
	const fields = new Map(Object.entries(shape));

	/** The exact rules, key by key: for what the fast pass below cannot settle. */
	function exact(record: Record<string, unknown>, id: string | undefined) {
		let present = 0;
		for (const key of Object.keys(record)) {
			const field = fields.get(key);
			if (field === undefined) return undefined;
			const value = record[key];
			// zod lets an optional key hold undefined and counts a required one as missing.
			if (value === undefined) continue;
			if (!field.accepts(value)) return undefined;
			if (field.required) present++;
		}
		if (present !== requiredCount) return undefined;
		const out: Record<string, unknown> = id === undefined ? {} : { id };
		for (const name of names) if (record[name] !== undefined) out[name] = record[name];
		return out;
	}

	return (input, id) => {
		if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
		const record = input as Record<string, unknown>;
		// Fast pass, by the shape's names: it settles every JSON value that holds only known
		// keys (an unknown key, or a key holding undefined, leaves more keys than it counted).
		const out: Record<string, unknown> = id === undefined ? {} : { id };
		let counted = 0;
		for (let i = 0; i < names.length; i++) {
			const value = record[names[i]];
			if (value === undefined) {
				if (required[i]) return undefined;
				continue;
			}
			if (!accepts[i](value)) return undefined;
			out[names[i]] = value;
			counted++;
		}
		let keys = 0;
		for (const _ in record) keys++;
		return keys === counted ? out : exact(record, id);
	};
}

const entryMetaReader: Record<string, ReaderField> = {
	createdAt: { required: true, accepts: isInstant },
	updatedAt: { required: true, accepts: isInstant },
	createdBy: { required: true, accepts: isAuthor },
	updatedBy: { required: true, accepts: isAuthor }
};
const singletonMetaReader: Record<string, ReaderField> = {
	updatedAt: { required: true, accepts: isInstant },
	updatedBy: { required: true, accepts: isAuthor }
};

// Rare (a document with a file), so zod's own verdict is cheap enough and exact.
const documentExtrasReader: Record<string, ReaderField> = {
	file: { required: false, accepts: (v) => FILE_META_SCHEMA.safeParse(v).success },
	contributor: { required: false, accepts: (v) => CONTRIBUTOR_SCHEMA.safeParse(v).success }
};

/** `STORED_SCHEMAS` without zod (see `objectReader`), built from the same field table. */
export const STORED_READERS: Readonly<Record<SectionId, ObjectReader>> = perSection((s) =>
	objectReader({
		...specOf(s).fields,
		...(s === 'identity' || s === 'directives' ? singletonMetaReader : entryMetaReader),
		...(s === 'documents' ? documentExtrasReader : {})
	})
);

/** What the activity log records of an operation. */
export const ACTIVITY_ACTIONS = ['add', 'edit', 'remove', 'hide', 'unhide', 'set'] as const;

/** One operation kind in the activity log. */
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

/** Longest activity summary: a title is enough to recognise the entry. */
export const SUMMARY_MAX = 80;

/** One line of the activity log. `summary` is at most the entry's title, never clinical detail. */
export interface ActivityEntry {
	readonly id: string;
	/** ISO instant (UTC). */
	readonly at: string;
	readonly author: string;
	readonly action: ActivityAction;
	readonly section: SectionId;
	readonly entryId?: string;
	readonly summary?: string;
}

/** A stored activity line (its id is its key). */
export const ACTIVITY_SCHEMA: z.ZodType<Omit<ActivityEntry, 'id'>> = z.strictObject({
	at: instant,
	author,
	action: z.enum(ACTIVITY_ACTIONS),
	section: z.enum(SECTIONS),
	entryId: entryId.optional(),
	summary: z.string().max(SUMMARY_MAX).optional()
});

const sectionIds = new Set<unknown>(SECTIONS);
const actions = new Set<unknown>(ACTIVITY_ACTIONS);

/** `ACTIVITY_SCHEMA` without zod (see `objectReader`). */
export const ACTIVITY_READER: ObjectReader = objectReader({
	at: { required: true, accepts: isInstant },
	author: { required: true, accepts: isAuthor },
	action: { required: true, accepts: (v) => actions.has(v) },
	section: { required: true, accepts: (v) => sectionIds.has(v) },
	entryId: { required: false, accepts: isEntryId },
	summary: { required: false, accepts: (v) => isText(v, SUMMARY_MAX) }
});

/** The operation context's author, checked like the stored metadata it becomes. */
export const AUTHOR_SCHEMA = author;
