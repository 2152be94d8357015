/**
 * The only writers of the record. Each takes the mutable document inside an Automerge `change`
 * callback, checks everything first and throws `RecordValidationError` before its first write,
 * so a rejected input never leaves half an operation in the document. Each appends one line to
 * the activity log.
 */
import { RecordValidationError, type Issue } from './errors';
import { ID_PATTERN, newId } from './ids';
import {
	bucketFor,
	createLayout,
	readEntry,
	readSingleton,
	SCHEMA_VERSION,
	toStored,
	toStoredBytes,
	type RecordDoc
} from './layout';
import { AUTHOR_SCHEMA, FILE_META_SCHEMA, META_KEYS, SUMMARY_MAX, type ActivityAction, type FileMeta } from './schema';
import {
	SINGLETON_SECTIONS,
	specOf,
	type ListSectionId,
	type SectionId,
	type SectionValue,
	type SingletonSectionId
} from './sections';
import { monthOf } from './time';
import { isPlainObject, validate } from './validate';

/** Who is writing and when; `now` is also the clock "in the future" is judged by. */
export interface RecordContext {
	readonly author: string;
	readonly now: Date;
}

function reject(...issues: Issue[]): never {
	throw new RecordValidationError(issues);
}

function checked<S extends SectionId>(section: S, input: unknown, now: Date): SectionValue<S> {
	const result = validate(section, input, now);
	return result.ok ? result.value : reject(...result.issues);
}

/** The instant and author to stamp; a bad context is a programming error, not user input. */
function stamp(ctx: RecordContext): { at: string; author: string } {
	if (!(ctx.now instanceof Date) || Number.isNaN(ctx.now.getTime())) {
		throw new TypeError('ctx.now must be a valid Date');
	}
	const author = AUTHOR_SCHEMA.safeParse(ctx.author);
	if (!author.success) throw new TypeError('ctx.author must be a string of 1 to 200 characters');
	return { at: ctx.now.toISOString(), author: author.data };
}

/** The entry's title for the activity log, shortened: the log names entries, it does not repeat them. */
function titleOf(section: SectionId, value: Record<string, unknown> | undefined): string | undefined {
	const field = specOf(section).titleField;
	const title = field === undefined ? undefined : value?.[field];
	if (typeof title !== 'string') return undefined;
	const chars = [...title];
	return chars.length <= SUMMARY_MAX ? title : `${chars.slice(0, SUMMARY_MAX - 1).join('')}…`;
}

function log(
	doc: RecordDoc,
	at: string,
	author: string,
	action: ActivityAction,
	section: SectionId,
	entryId?: string,
	summary?: string
): void {
	const month = monthOf(at);
	doc.activity[month] ??= {};
	doc.activity[month][newId()] = toStoredBytes({ at, author, action, section, entryId, summary });
}

/** The stored entry's fields without its metadata. */
function contentOf(entry: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(entry).filter(([key]) => !META_KEYS.includes(key)));
}

function sameContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
	return JSON.stringify(a) === JSON.stringify(b);
}

/** Fills a fresh document with the record layout and the patient's identity. */
export function initRecord(doc: RecordDoc, identity: unknown, ctx: RecordContext): void {
	const { at, author } = stamp(ctx);
	const value = checked('identity', identity, ctx.now);
	createLayout(doc);
	doc.identity = toStored({ ...value, updatedAt: at, updatedBy: author });
	log(doc, at, author, 'set', 'identity');
}

/** Adds an entry to a list section; returns its new id. */
export function addEntry<S extends ListSectionId>(
	doc: RecordDoc,
	section: S,
	input: unknown,
	ctx: RecordContext
): string {
	const { at, author } = stamp(ctx);
	const value = checked(section, input, ctx.now);
	const id = newId();
	const bucket = bucketFor(doc, section, id);
	bucket[id] = toStoredBytes({ createdAt: at, updatedAt: at, createdBy: author, updatedBy: author, ...value });
	log(doc, at, author, 'add', section, id, titleOf(section, value));
	return id;
}

/** The bucket and parsed entry for an id, or `not_found`. */
function existing(doc: RecordDoc, section: ListSectionId, id: string) {
	if (typeof id !== 'string' || !ID_PATTERN.test(id)) reject({ field: 'id', code: 'not_found' });
	const bucket = bucketFor(doc, section, id);
	if (!(id in bucket)) reject({ field: 'id', code: 'not_found' });
	return { bucket, entry: readEntry(section, id, bucket[id]) };
}

/**
 * Merges `patch` over the stored entry and stores the result once it validates as a whole. An
 * empty value clears an optional field. Metadata in the patch is ignored when it matches the
 * entry (so the UI may hand back an entry from the view) and rejected otherwise; `hidden`
 * changes through `setHidden` only. A patch that changes nothing writes nothing.
 */
export function editEntry<S extends ListSectionId>(
	doc: RecordDoc,
	section: S,
	id: string,
	patch: unknown,
	ctx: RecordContext
): void {
	const { at, author } = stamp(ctx);
	const { bucket, entry } = existing(doc, section, id);
	// An unreadable entry cannot be merged into: the view does not show it, so nobody edits it.
	if (entry === undefined) reject({ field: 'id', code: 'not_found' });
	if (!isPlainObject(patch)) reject({ field: '', code: 'invalid_type' });
	const current: Record<string, unknown> = { ...entry, hidden: id in doc.hiddenDocuments };
	const changes = Object.fromEntries(
		Object.entries(patch).filter(([key, v]) => !(META_KEYS.includes(key) && sameValue(v, current[key])))
	);
	const content = contentOf(entry);
	const value = checked(section, { ...content, ...changes }, ctx.now);
	if (sameContent(value, content)) return;
	bucket[id] = toStoredBytes({
		createdAt: entry.createdAt,
		updatedAt: at,
		createdBy: entry.createdBy,
		updatedBy: author,
		...value,
		// A document's file and contributor are not form fields: an edit keeps them.
		...extrasOf(entry)
	});
	log(doc, at, author, 'edit', section, id, titleOf(section, value));
}

/** A document's `file` and `contributor`, which only their own operations write. */
function extrasOf(entry: Record<string, unknown>): Record<string, unknown> {
	const extras: Record<string, unknown> = {};
	if (entry.file !== undefined) extras.file = entry.file;
	if (entry.contributor !== undefined) extras.contributor = entry.contributor;
	return extras;
}

/** Metadata handed back by the UI equals the stored value (objects compare by content). */
function sameValue(a: unknown, b: unknown): boolean {
	return a === b || (typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b));
}

/**
 * Sets (or with `null` removes) the metadata of a document's file, whose bytes the client
 * keeps in its attachment store. Not a form field, so the generic forms stay as they are.
 * Setting the current value writes nothing.
 */
export function setDocumentFile(doc: RecordDoc, id: string, file: FileMeta | null, ctx: RecordContext): void {
	const { at, author } = stamp(ctx);
	const parsed = file === null ? undefined : FILE_META_SCHEMA.safeParse(file);
	if (parsed !== undefined && !parsed.success) reject({ field: 'file', code: 'invalid_type' });
	const { bucket, entry } = existing(doc, 'documents', id);
	if (entry === undefined) reject({ field: 'id', code: 'not_found' });
	if (sameValue(parsed?.data, entry.file)) return;
	const { file: _old, contributor: _contributor, id: _id, ...rest } = entry;
	bucket[id] = toStoredBytes({
		...rest,
		updatedAt: at,
		updatedBy: author,
		...(parsed === undefined ? {} : { file: parsed.data }),
		...(entry.contributor === undefined ? {} : { contributor: entry.contributor })
	});
	log(doc, at, author, 'edit', 'documents', id, titleOf('documents', entry));
}

/**
 * Removes an entry (an unreadable one too, so it can be cleaned up). A removed document keeps
 * its hidden flag: if another device edited it meanwhile, the edit brings the document back,
 * and it must come back hidden.
 */
export function removeEntry(doc: RecordDoc, section: ListSectionId, id: string, ctx: RecordContext): void {
	const { at, author } = stamp(ctx);
	const { bucket, entry } = existing(doc, section, id);
	delete bucket[id];
	log(doc, at, author, 'remove', section, id, titleOf(section, entry));
}

/** Hides or shows a document; hidden documents are never shared. Setting the current state writes nothing. */
export function setHidden(doc: RecordDoc, id: string, hidden: boolean, ctx: RecordContext): void {
	const { at, author } = stamp(ctx);
	if (typeof hidden !== 'boolean') reject({ field: 'hidden', code: 'invalid_type' });
	const { entry } = existing(doc, 'documents', id);
	if (hidden === id in doc.hiddenDocuments) return;
	if (hidden) doc.hiddenDocuments[id] = true;
	else delete doc.hiddenDocuments[id];
	log(doc, at, author, hidden ? 'hide' : 'unhide', 'documents', id, titleOf('documents', entry));
}

/** Replaces the identity or the directives with `input` (a full form: absent fields are cleared). */
export function setSingleton(
	doc: RecordDoc,
	section: SingletonSectionId,
	input: unknown,
	ctx: RecordContext
): void {
	const { at, author } = stamp(ctx);
	if (!(SINGLETON_SECTIONS as readonly string[]).includes(section)) {
		reject({ field: 'section', code: 'invalid_option' });
	}
	const value = checked(section, input, ctx.now);
	if (doc.schema !== SCHEMA_VERSION) throw new Error('Not a Carnet record');
	const stored = readSingleton(section, doc[section]);
	if (stored !== undefined && sameContent(value, contentOf(stored))) return;
	doc[section] = toStored({ ...value, updatedAt: at, updatedBy: author });
	log(doc, at, author, 'set', section);
}
