/**
 * How the record sits in its Automerge document (decisions log, 2026-11-26):
 *
 *   { schema: 1,
 *     identity?, directives?: ImmutableString(JSON),
 *     sections: { [section]: { [bucket]: { [id]: bytes(UTF-8 JSON of the entry) } } },
 *     hiddenDocuments: { [documentId]: true },
 *     activity: { [yyyy-mm]: { [id]: bytes(UTF-8 JSON of the line) } },
 *     shares?, accessLog?: { [key]: bytes(UTF-8 JSON) } }   (shares.ts)
 *
 * One opaque value per entry loads ~4x faster than a map per entry, and an entry is never
 * co-edited field by field, so a concurrent edit of the same entry resolves last-writer-wins on
 * the whole entry (the loser stays reachable through `conflicts`). Entries and activity lines,
 * the bulk of a record, are written as UTF-8 bytes rather than ImmutableStrings: Automerge
 * builds each ImmutableString through a JavaScript callback when it loads a document, and a
 * 5,000-entry record loads ~25-35% faster with bytes. Readers accept both forms everywhere
 * (records written before hold ImmutableStrings; the singletons still are), so `schema`
 * stays 1.
 *
 * Two things keep concurrent devices from losing each other's writes:
 * - Every section bucket is created once, by `initRecord`. Two devices creating the same map
 *   key concurrently would make two maps, and Automerge shows only one of them.
 * - The `hidden` flag of a document is its own key in `hiddenDocuments`, not a field of the
 *   entry: otherwise hiding a document on one device and editing it on another could resolve
 *   to the edited, visible version. Unhiding deletes the key, and a concurrent hide beats a
 *   delete, so in doubt a document stays hidden.
 * Activity months are created as time passes, so two devices may both create one; readers
 * merge the concurrent month maps (activity lines are never edited, their union is exact).
 */
import * as Automerge from '@automerge/automerge';
import { BUCKETS, bucketOf } from './ids';
import { FILE_META_SCHEMA, STORED_READERS } from './schema';
import { LIST_SECTIONS, type ListSectionId, type SingletonSectionId } from './sections';

/** The layout version written in `schema`. */
export const SCHEMA_VERSION = 1;

/** One stored JSON value: UTF-8 bytes (`toStoredBytes`) or an ImmutableString (`toStored`). */
export type Stored = Uint8Array | Automerge.ImmutableString;

/** A map of ids to stored JSON values. */
export type StringMap = Record<string, Stored>;

/** The record document. */
export interface RecordDoc {
	schema: number;
	identity?: Automerge.ImmutableString;
	directives?: Automerge.ImmutableString;
	sections: Record<ListSectionId, Record<string, StringMap>>;
	hiddenDocuments: Record<string, true>;
	activity: Record<string, StringMap>;
	/** Shares with professionals (shares.ts); absent from records made before sharing. */
	shares?: StringMap;
	/** Who opened which share, keyed `<link id>:<seq>` (shares.ts); absent likewise. */
	accessLog?: StringMap;
}

/** Writes the empty layout into a fresh document; throws if the document already holds a record. */
export function createLayout(doc: RecordDoc): void {
	if (doc.schema !== undefined) throw new Error('This document already holds a record');
	doc.schema = SCHEMA_VERSION;
	doc.sections = Object.fromEntries(
		LIST_SECTIONS.map((section) => [section, Object.fromEntries(BUCKETS.map((b) => [b, {}]))])
	) as RecordDoc['sections'];
	doc.hiddenDocuments = {};
	doc.activity = {};
	// Created with the record, so no two devices ever create them concurrently (shares.ts).
	doc.shares = {};
	doc.accessLog = {};
}

/** The bucket an entry id belongs in; throws on a document that was never initialised. */
export function bucketFor(doc: RecordDoc, section: ListSectionId, id: string): StringMap {
	const bucket = doc.sections?.[section]?.[bucketOf(id)];
	if (bucket === undefined) throw new Error(`Not a Carnet record, or no bucket for ${section}/${id}`);
	return bucket;
}

/** A map of the document (bytes and ImmutableStrings are objects too, but not maps). */
export function isMap(value: unknown): value is Record<string, unknown> {
	return (
		typeof value === 'object' &&
		value !== null &&
		!(value instanceof Uint8Array) &&
		!Automerge.isImmutableString(value)
	);
}

/** Stores a value as one immutable JSON string (the singletons: see the module comment). */
export function toStored(value: object): Automerge.ImmutableString {
	return new Automerge.ImmutableString(JSON.stringify(value));
}

const utf8 = new TextEncoder();
// Strict: bytes that are not UTF-8 (or carry a BOM) are unreadable, not patched up.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Stores a value as UTF-8 JSON bytes: how entries and activity lines are written. */
export function toStoredBytes(value: object): Uint8Array {
	return utf8.encode(JSON.stringify(value));
}

/**
 * The JSON text of a stored value: bytes, an ImmutableString, or a plain string (as
 * `getConflicts` returns ImmutableStrings); `undefined` for anything else.
 */
export function storedText(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	if (value instanceof Uint8Array) {
		try {
			return strictUtf8.decode(value);
		} catch {
			return undefined;
		}
	}
	return Automerge.isImmutableString(value) ? value.val : undefined;
}

/**
 * `values.map(storedText)`, decoding every bytes value in one call: a browser's TextDecoder
 * costs more per call than per byte (a bucket of ~40 entries decodes ~40% faster at once).
 * The bytes are joined with a NUL byte and decoded strictly: that succeeds only when each part
 * is UTF-8 on its own (no character spans a NUL byte), and splitting on NUL gives back each
 * part's text unless a part holds a NUL itself, which only adds parts. Otherwise, one by one.
 */
export function storedTexts(values: readonly unknown[]): (string | undefined)[] {
	const texts: (string | undefined)[] = new Array(values.length);
	const bytes: number[] = [];
	let length = 0;
	for (let i = 0; i < values.length; i++) {
		const value = values[i];
		if (value instanceof Uint8Array) {
			bytes.push(i);
			length += value.length + 1;
		} else texts[i] = storedText(value);
	}
	if (bytes.length === 0) return texts;
	const joined = new Uint8Array(length - 1);
	let offset = 0;
	for (const i of bytes) {
		const value = values[i] as Uint8Array;
		joined.set(value, offset);
		offset += value.length + 1;
	}
	let parts: string[] | undefined;
	try {
		parts = strictUtf8.decode(joined).split('\u0000');
	} catch {
		// Some part is not UTF-8: find which, one by one.
	}
	const ok = parts !== undefined && parts.length === bytes.length;
	for (let k = 0; k < bytes.length; k++) texts[bytes[k]] = ok ? parts![k] : storedText(values[bytes[k]]);
	return texts;
}

/** Parses a stored value; `undefined` for anything that is not JSON text. */
export function parseStored(value: unknown): unknown {
	return parseText(storedText(value));
}

/** Parses JSON text; `undefined` when absent or not JSON. */
export function parseText(text: string | undefined): unknown {
	if (text === undefined) return undefined;
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/**
 * Parsed entries by stored string object. Automerge keeps the objects of unchanged values
 * across document versions, so after a change the next view re-parses only what changed.
 */
const parsedEntries = new WeakMap<object, { section: string; id: string; row: Row | undefined }>();

/** A parsed stored value. */
type Row = Readonly<Record<string, unknown>>;

/**
 * A stored list entry, parsed and checked against its section's schema (without zod, with
 * the same verdict: `STORED_READERS`); `undefined` when unreadable. Frozen, because
 * successive views share it.
 */
export function readEntry(section: ListSectionId, id: string, value: unknown): Row | undefined {
	const cached = typeof value === 'object' && value !== null ? parsedEntries.get(value) : undefined;
	if (cached?.section === section && cached.id === id) return cached.row;
	const row = readStored(section, id, value);
	if (typeof value === 'object' && value !== null) parsedEntries.set(value, { section, id, row });
	return row;
}

/** `readEntry` without its cache, from the stored value's text (`storedText(s)`). */
export function readStoredText(
	section: ListSectionId,
	id: string,
	text: string | undefined
): Row | undefined {
	const parsed = parseText(text);
	const row = STORED_READERS[section](section === 'documents' ? withoutUnreadableFile(parsed) : parsed, id);
	return row === undefined ? undefined : Object.freeze(row);
}

/**
 * A document whose `file` does not parse (an older shape: `{…, sha256}` from before the relay
 * held files, or a newer one) reads without it: the entry itself stays readable and editable,
 * only the file is gone (its bytes were never on the relay).
 */
function withoutUnreadableFile(value: unknown): unknown {
	if (typeof value !== 'object' || value === null || !('file' in value)) return value;
	const { file, ...rest } = value as { file: unknown };
	return file === undefined || FILE_META_SCHEMA.safeParse(file).success ? value : rest;
}

function readStored(section: ListSectionId, id: string, value: unknown): Row | undefined {
	return readStoredText(section, id, storedText(value));
}

/** A stored singleton, parsed and checked; `undefined` when absent or unreadable. */
export function readSingleton(section: SingletonSectionId, value: unknown): Row | undefined {
	return STORED_READERS[section](parseStored(value));
}
