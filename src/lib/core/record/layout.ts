/**
 * How the record sits in its Automerge document (decisions log, 2026-11-26):
 *
 *   { schema: 1,
 *     identity?, directives?: ImmutableString(JSON),
 *     sections: { [section]: { [bucket]: { [id]: ImmutableString(JSON of the entry) } } },
 *     hiddenDocuments: { [documentId]: true },
 *     activity: { [yyyy-mm]: { [id]: ImmutableString(JSON) } } }
 *
 * One string per entry loads ~4x faster than a map per entry, and an entry is never co-edited
 * field by field, so a concurrent edit of the same entry resolves last-writer-wins on the whole
 * entry (the loser stays reachable through `conflicts`).
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
import { STORED_SCHEMAS } from './schema';
import { LIST_SECTIONS, type ListSectionId, type SingletonSectionId } from './sections';

/** The layout version written in `schema`. */
export const SCHEMA_VERSION = 1;

/** A map of ids to stored JSON strings. */
export type StringMap = Record<string, Automerge.ImmutableString>;

/** The record document. */
export interface RecordDoc {
	schema: number;
	identity?: Automerge.ImmutableString;
	directives?: Automerge.ImmutableString;
	sections: Record<ListSectionId, Record<string, StringMap>>;
	hiddenDocuments: Record<string, true>;
	activity: Record<string, StringMap>;
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
}

/** The bucket an entry id belongs in; throws on a document that was never initialised. */
export function bucketFor(doc: RecordDoc, section: ListSectionId, id: string): StringMap {
	const bucket = doc.sections?.[section]?.[bucketOf(id)];
	if (bucket === undefined) throw new Error(`Not a Carnet record, or no bucket for ${section}/${id}`);
	return bucket;
}

/** A map of the document (an ImmutableString is an object too, but not a map). */
export function isMap(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && storedText(value) === undefined;
}

/** Stores a value as one immutable JSON string. */
export function toStored(value: object): Automerge.ImmutableString {
	return new Automerge.ImmutableString(JSON.stringify(value));
}

/** The JSON text of a stored value: an ImmutableString, or a plain string (as `getConflicts` returns them). */
export function storedText(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	return Automerge.isImmutableString(value) ? value.val : undefined;
}

/** Parses a stored value; `undefined` for anything that is not JSON text. */
export function parseStored(value: unknown): unknown {
	const text = storedText(value);
	if (text === undefined) return undefined;
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** The activity month maps, merged with any concurrently created copy of the same month. */
export function activityMonths(doc: RecordDoc): Map<string, Record<string, unknown>[]> {
	const months = new Map<string, Record<string, unknown>[]>();
	const activity = doc.activity;
	if (!isMap(activity)) return months;
	for (const month of Object.keys(activity)) {
		// getConflicts answers only when there is more than one value.
		const variants: unknown[] = Object.values(Automerge.getConflicts(activity, month) ?? [activity[month]]);
		months.set(month, variants.filter(isMap));
	}
	return months;
}

/**
 * Parsed entries by stored string object. Automerge keeps the objects of unchanged values
 * across document versions, so after a change the next view re-parses only what changed
 * (checking 5,000 entries with zod costs ~20-40 ms; reusing them costs ~nothing).
 */
const parsedEntries = new WeakMap<object, { section: string; id: string; row: Row | undefined }>();

/** A parsed stored value. */
type Row = Readonly<Record<string, unknown>>;

/**
 * A stored list entry, parsed and checked against its section's schema; `undefined` when
 * unreadable. Frozen, because successive views share it.
 */
export function readEntry(section: ListSectionId, id: string, value: unknown): Row | undefined {
	const cached = typeof value === 'object' && value !== null ? parsedEntries.get(value) : undefined;
	if (cached?.section === section && cached.id === id) return cached.row;
	const parsed = STORED_SCHEMAS[section].safeParse(parseStored(value));
	const row = parsed.success ? Object.freeze({ id, ...parsed.data }) : undefined;
	if (typeof value === 'object' && value !== null) parsedEntries.set(value, { section, id, row });
	return row;
}

/** A stored singleton, parsed and checked; `undefined` when absent or unreadable. */
export function readSingleton(section: SingletonSectionId, value: unknown): Row | undefined {
	const parsed = STORED_SCHEMAS[section].safeParse(parseStored(value));
	return parsed.success ? parsed.data : undefined;
}
