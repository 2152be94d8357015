/**
 * Shares with professionals (docs/SHARING.md, "In the record"): what every device of the
 * record needs to show a share's QR code again, revoke it, republish it and read who opened
 * it, and the documents professionals contributed through it.
 *
 * Layout (decisions log, 2026-11-26), two root maps:
 *
 *   shares:    { [linkId]: bytes(JSON share definition, written once by addShare),
 *                [linkId + ':revoked']: bytes(JSON {at, by}),
 *                [linkId + ':published']: bytes(JSON {at, by, hash}) }
 *   accessLog: { [linkId + ':' + seq]: bytes(JSON {share, seq, at, recipient, outcome}) }
 *
 * - A share's definition never changes after creation; its state lives in keys of its own,
 *   so a revocation can never lose last-writer-wins to a concurrent republish (as hidden
 *   flags live apart from documents). Revoked stays revoked: nothing deletes the key.
 * - Access entries are keyed by the relay's sequence number, so every device that fetches
 *   the same event writes the same key with the same bytes: idempotent, and a concurrent
 *   write of the same entry by two devices is a no-op conflict.
 * - New records get both maps from `createLayout`. Records made before have neither: the
 *   first device to share creates them (`ensureSharing`), and two devices doing that at once
 *   make two copies of a map, one hidden behind the other. Readers therefore merge every
 *   concurrent copy (`Automerge.getConflicts`), as they do for activity months; every value
 *   here is write-once or monotonic, so the union is exact.
 */
import * as Automerge from '@automerge/automerge';
import { z } from 'zod';
import { RecordValidationError, type Issue } from './errors';
import { isText } from './fields';
import { ID_PATTERN, bucketOf } from './ids';
import { isMap, parseStored, toStoredBytes, type RecordDoc, type StringMap } from './layout';
import { AUTHOR_SCHEMA, CONTRIBUTOR_SCHEMA, FILE_META_SCHEMA, LINK_ID_PATTERN, type FileMeta } from './schema';
import { SECTIONS, type SectionId } from './sections';
import { monthOf } from './time';
import { validate } from './validate';

/** What a share is for: drives its default sections and whether its link lives long. */
export const SHARE_KINDS = ['consultation', 'emergency', 'custom'] as const;
/** A share kind. */
export type ShareKind = (typeof SHARE_KINDS)[number];

/** A section a share may carry: every section but documents, which are chosen one by one. */
export type ShareableSection = Exclude<SectionId, 'documents'>;

/** The shareable sections, in the record's order. */
export const SHAREABLE_SECTIONS: readonly ShareableSection[] = Object.freeze(
	SECTIONS.filter((s): s is ShareableSection => s !== 'documents')
);

/**
 * The emergency card's sections: what a first responder needs, nothing more. Its history
 * carries conditions only (not surgeries nor family history) and the identity its blood group.
 */
export const EMERGENCY_SECTIONS: readonly ShareableSection[] = Object.freeze([
	'identity',
	'allergies',
	'history',
	'treatments',
	'contacts',
	'directives'
]);

/** Longest share label, in characters (the SHL payload's limit). */
export const SHARE_LABEL_MAX = 80;

/** What the relay logs of a manifest request. */
export const ACCESS_OUTCOMES = ['opened', 'wrong_passcode', 'refused'] as const;
/** One outcome of a manifest request. */
export type AccessOutcome = (typeof ACCESS_OUTCOMES)[number];

/** A 32-byte key in base64url. */
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const instant = z.iso.datetime();
const linkId = z.string().regex(LINK_ID_PATTERN);
const key = z.string().regex(KEY_PATTERN);

/** A share as stored at creation (its link id is its key). */
export const SHARE_SCHEMA = z.strictObject({
	v: z.literal(1),
	label: z.string().max(SHARE_LABEL_MAX),
	kind: z.enum(SHARE_KINDS),
	sections: z.array(z.enum(SHAREABLE_SECTIONS as [ShareableSection, ...ShareableSection[]])).max(SECTIONS.length),
	documents: z.array(z.string().regex(ID_PATTERN)).max(1000),
	/** The manifest URL the link's payload names (`<origin>/api/shl/<id>`). */
	url: z.url({ protocol: /^https?$/ }).max(256),
	/** The link key (in the URL fragment, never sent to the relay). */
	key,
	/** Epoch seconds, as the payload carries it; null: no expiry. */
	exp: z.int().positive().nullable(),
	flag: z.string().regex(/^L?P?$/),
	maxUses: z.int().positive().optional(),
	passcode: z.string().min(1).max(200).optional(),
	allowContributions: z.boolean(),
	/** The X25519 inbox key pair contributions are sealed to; present iff allowContributions. */
	inbox: z.strictObject({ publicKey: key, secretKey: key }).optional(),
	createdAt: instant,
	createdBy: AUTHOR_SCHEMA
});

/** A stored share definition. */
export type StoredShare = z.infer<typeof SHARE_SCHEMA>;

const REVOKED_SCHEMA = z.strictObject({ at: instant, by: AUTHOR_SCHEMA });
const PUBLISHED_SCHEMA = z.strictObject({ at: instant, by: AUTHOR_SCHEMA, hash: z.string().min(1).max(128) });

/** One stored access event (its key is `<share>:<seq>`). */
export const ACCESS_SCHEMA = z.strictObject({
	share: linkId,
	seq: z.int().positive(),
	at: instant,
	recipient: z.string().max(200),
	outcome: z.enum(ACCESS_OUTCOMES)
});

/** One manifest request to a share's link, as the relay logged it. */
export interface AccessEntry {
	readonly share: string;
	/** The relay's sequence number: unique per record, increasing. */
	readonly seq: number;
	/** ISO instant (UTC). */
	readonly at: string;
	/** The name the viewer sent. */
	readonly recipient: string;
	readonly outcome: AccessOutcome;
}

/** A share as the UI lists it (`RecordView.shares()`). */
export interface ShareInfo {
	/** The link id. */
	readonly id: string;
	readonly label: string;
	readonly kind: ShareKind;
	readonly sections: readonly ShareableSection[];
	readonly documents: readonly string[];
	/** ISO instant. */
	readonly createdAt: string;
	readonly createdBy: string;
	/** ISO instant; null: no expiry. */
	readonly expiresAt: string | null;
	/** SHL flags, letters in alphabetical order ('', 'L', 'P', 'LP'). */
	readonly flag: string;
	readonly maxUses?: number;
	readonly passcode?: string;
	readonly allowContributions: boolean;
	readonly revokedAt?: string;
	/** When the relay last received its files. */
	readonly lastPublishedAt?: string;
	readonly status: 'active' | 'expired' | 'revoked';
	/** Newest first. */
	readonly accesses: readonly AccessEntry[];
}

/** What only the sharing code needs of a share besides its ShareInfo: keys and the last published hash. */
export interface ShareSecrets {
	readonly share: StoredShare;
	readonly publishedHash?: string;
}

/** The record with the sharing maps (absent from records made before sharing). */
export type WithSharing = RecordDoc & { shares?: StringMap; accessLog?: StringMap };

const REVOKED = ':revoked';
const PUBLISHED = ':published';

function reject(...issues: Issue[]): never {
	throw new RecordValidationError(issues);
}

function stamp(now: Date, author: string): { at: string; by: string } {
	if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('ctx.now must be a valid Date');
	const by = AUTHOR_SCHEMA.safeParse(author);
	if (!by.success) throw new TypeError('ctx.author must be a string of 1 to 200 characters');
	return { at: now.toISOString(), by: by.data };
}

/** Creates the sharing maps of a record made before sharing existed; see the module comment. */
export function ensureSharing(doc: RecordDoc): void {
	const record = doc as WithSharing;
	if (!isMap(record.shares)) record.shares = {};
	if (!isMap(record.accessLog)) record.accessLog = {};
}

/** Every concurrent copy of a root map (see the module comment). */
function copiesOf(doc: RecordDoc, name: 'shares' | 'accessLog'): Record<string, unknown>[] {
	let conflicts: Record<string, unknown> | undefined;
	try {
		conflicts = Automerge.getConflicts(doc as WithSharing, name) as Record<string, unknown> | undefined;
	} catch {
		// A freed document or a plain object (tests): the shown copy will do.
	}
	const values = conflicts === undefined ? [(doc as unknown as Record<string, unknown>)[name]] : Object.values(conflicts);
	return values.filter(isMap);
}

/** The first readable value of `key` across copies, by `schema`. */
function readKey<T>(copies: Record<string, unknown>[], key: string, schema: z.ZodType<T>): T | undefined {
	for (const copy of copies) {
		if (!(key in copy)) continue;
		const parsed = schema.safeParse(parseStored(copy[key]));
		if (parsed.success) return parsed.data;
	}
	return undefined;
}

/** The ids of the document entries present, and those hidden. */
function documentState(doc: RecordDoc, id: string): 'visible' | 'hidden' | 'missing' {
	if (typeof id !== 'string' || !ID_PATTERN.test(id)) return 'missing';
	const bucket = doc.sections?.documents?.[bucketOf(id)];
	if (!isMap(bucket) || !(id in bucket)) return 'missing';
	return isMap(doc.hiddenDocuments) && id in doc.hiddenDocuments ? 'hidden' : 'visible';
}

/** What the patient chooses to share, as `checkShareSelection` and `addShare` judge it. */
export interface ShareSelection {
	readonly kind: ShareKind;
	readonly label: string;
	readonly sections: readonly string[];
	readonly documents: readonly string[];
}

/**
 * The issues of a selection: unknown kind or section, a label over 80 characters, nothing
 * selected, a document that is unknown (`not_found`) or hidden (`invalid_option`: hidden
 * documents are never shared, invariant 6). Empty when it can be shared.
 */
export function checkShareSelection(doc: RecordDoc, selection: ShareSelection): Issue[] {
	const issues: Issue[] = [];
	if (!(SHARE_KINDS as readonly string[]).includes(selection.kind)) issues.push({ field: 'kind', code: 'invalid_option' });
	if (!isText(selection.label, SHARE_LABEL_MAX)) {
		issues.push({ field: 'label', code: 'too_long', params: { max: SHARE_LABEL_MAX } });
	}
	if (!Array.isArray(selection.sections) || !Array.isArray(selection.documents)) {
		issues.push({ field: 'sections', code: 'invalid_type' });
		return issues;
	}
	for (const section of selection.sections) {
		if (!(SHAREABLE_SECTIONS as readonly string[]).includes(section)) issues.push({ field: 'sections', code: 'invalid_option', params: { section: String(section) } });
	}
	if (selection.sections.length === 0 && selection.documents.length === 0) issues.push({ field: 'sections', code: 'required' });
	for (const id of selection.documents) {
		const state = documentState(doc, id);
		if (state === 'missing') issues.push({ field: 'documents', code: 'not_found', params: { id: String(id) } });
		else if (state === 'hidden') issues.push({ field: 'documents', code: 'invalid_option', params: { id } });
	}
	return issues;
}

/**
 * Writes a new share (already published: `published` is the hash of what was uploaded).
 * Checks the selection (`checkShareSelection`) and the definition first; throws
 * RecordValidationError before writing. Writing the same link id twice is refused.
 */
export function addShare(
	doc: RecordDoc,
	id: string,
	share: Omit<StoredShare, 'v' | 'createdAt' | 'createdBy'>,
	published: string,
	ctx: { author: string; now: Date }
): void {
	const { at, by } = stamp(ctx.now, ctx.author);
	if (typeof id !== 'string' || !LINK_ID_PATTERN.test(id)) reject({ field: 'id', code: 'invalid_type' });
	const issues = checkShareSelection(doc, share);
	if (issues.length > 0) reject(...issues);
	const parsed = SHARE_SCHEMA.safeParse({ v: 1, ...share, createdAt: at, createdBy: by });
	if (!parsed.success) reject(...parsed.error.issues.map((i): Issue => ({ field: String(i.path[0] ?? ''), code: 'invalid_type' })));
	if (parsed.data.allowContributions !== (parsed.data.inbox !== undefined)) reject({ field: 'inbox', code: 'required' });
	const mark = PUBLISHED_SCHEMA.safeParse({ at, by, hash: published });
	if (!mark.success) reject({ field: 'hash', code: 'invalid_type' });
	ensureSharing(doc);
	const shares = (doc as WithSharing).shares!;
	if (readKey(copiesOf(doc, 'shares'), id, SHARE_SCHEMA) !== undefined || id in shares) reject({ field: 'id', code: 'invalid_option' });
	shares[id] = toStoredBytes(parsed.data);
	shares[id + PUBLISHED] = toStoredBytes(mark.data);
}

/** Marks a share revoked; revoking again (or an unknown share) writes nothing. Returns whether it wrote. */
export function revokeShare(doc: RecordDoc, id: string, ctx: { author: string; now: Date }): boolean {
	const { at, by } = stamp(ctx.now, ctx.author);
	const copies = copiesOf(doc, 'shares');
	if (readKey(copies, id, SHARE_SCHEMA) === undefined) reject({ field: 'id', code: 'not_found' });
	if (readKey(copies, id + REVOKED, REVOKED_SCHEMA) !== undefined) return false;
	ensureSharing(doc);
	(doc as WithSharing).shares![id + REVOKED] = toStoredBytes({ at, by });
	return true;
}

/** Records that the relay now holds the share's files for content `hash`. Same hash: writes nothing. */
export function markPublished(doc: RecordDoc, id: string, hash: string, ctx: { author: string; now: Date }): boolean {
	const { at, by } = stamp(ctx.now, ctx.author);
	const copies = copiesOf(doc, 'shares');
	if (readKey(copies, id, SHARE_SCHEMA) === undefined) reject({ field: 'id', code: 'not_found' });
	const mark = PUBLISHED_SCHEMA.safeParse({ at, by, hash });
	if (!mark.success) reject({ field: 'hash', code: 'invalid_type' });
	if (latestPublished(copies, id)?.hash === hash) return false;
	ensureSharing(doc);
	(doc as WithSharing).shares![id + PUBLISHED] = toStoredBytes(mark.data);
	return true;
}

/**
 * Writes one access event, keyed `<share>:<seq>`: every device fetching it writes the same
 * key and bytes, so it is idempotent. Returns false (writing nothing) when already there.
 * Invalid events are refused (RecordValidationError): they come from the network.
 */
export function recordAccess(doc: RecordDoc, entry: AccessEntry): boolean {
	const parsed = ACCESS_SCHEMA.safeParse(entry);
	if (!parsed.success) reject({ field: 'access', code: 'invalid_type' });
	const keyOf = `${parsed.data.share}:${parsed.data.seq}`;
	if (copiesOf(doc, 'accessLog').some((copy) => keyOf in copy)) return false;
	ensureSharing(doc);
	(doc as WithSharing).accessLog![keyOf] = toStoredBytes(parsed.data);
	return true;
}

// Several copies of `shares` (module comment): the newest publication across them.
function latestPublished(copies: Record<string, unknown>[], id: string): z.infer<typeof PUBLISHED_SCHEMA> | undefined {
	let latest: z.infer<typeof PUBLISHED_SCHEMA> | undefined;
	for (const copy of copies) {
		const parsed = PUBLISHED_SCHEMA.safeParse(parseStored(copy[id + PUBLISHED]));
		if (parsed.success && (latest === undefined || parsed.data.at > latest.at)) latest = parsed.data;
	}
	return latest;
}

/** A share's definition and last published hash (for the sharing code: keys included). */
export function shareSecrets(doc: RecordDoc, id: string): ShareSecrets | undefined {
	const copies = copiesOf(doc, 'shares');
	const share = readKey(copies, id, SHARE_SCHEMA);
	if (share === undefined) return undefined;
	const hash = latestPublished(copies, id)?.hash;
	return hash === undefined ? { share } : { share, publishedHash: hash };
}

/** Every access entry readable, newest first (by time, then sequence). */
export function accessEntries(doc: RecordDoc): readonly AccessEntry[] {
	const seen = new Set<string>();
	const entries: AccessEntry[] = [];
	for (const copy of copiesOf(doc, 'accessLog')) {
		for (const [keyOf, value] of Object.entries(copy)) {
			if (seen.has(keyOf)) continue;
			const parsed = ACCESS_SCHEMA.safeParse(parseStored(value));
			// The key must say what the value says: a value copied under another key is not trusted.
			if (!parsed.success || keyOf !== `${parsed.data.share}:${parsed.data.seq}`) continue;
			seen.add(keyOf);
			entries.push(Object.freeze(parsed.data));
		}
	}
	return entries.sort((a, b) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : b.seq - a.seq));
}

/**
 * Every readable share, newest first. `now` decides `expired`. Unreadable definitions are
 * skipped (another version's format, a corrupt write), as unreadable entries are.
 */
export function readShares(doc: RecordDoc, now: Date): readonly ShareInfo[] {
	const copies = copiesOf(doc, 'shares');
	const ids = new Set<string>();
	for (const copy of copies) for (const k of Object.keys(copy)) if (LINK_ID_PATTERN.test(k)) ids.add(k);
	const byShare = new Map<string, AccessEntry[]>();
	for (const entry of accessEntries(doc)) {
		let list = byShare.get(entry.share);
		if (list === undefined) byShare.set(entry.share, (list = []));
		list.push(entry);
	}
	const shares: ShareInfo[] = [];
	for (const id of ids) {
		const share = readKey(copies, id, SHARE_SCHEMA);
		if (share === undefined) continue;
		const revoked = readKey(copies, id + REVOKED, REVOKED_SCHEMA);
		const published = latestPublished(copies, id);
		const expiresAt = share.exp === null ? null : new Date(share.exp * 1000).toISOString();
		const status = revoked !== undefined ? 'revoked' : share.exp !== null && share.exp * 1000 <= now.getTime() ? 'expired' : 'active';
		shares.push(
			Object.freeze({
				id,
				label: share.label,
				kind: share.kind,
				sections: Object.freeze([...share.sections]),
				documents: Object.freeze([...share.documents]),
				createdAt: share.createdAt,
				createdBy: share.createdBy,
				expiresAt,
				flag: share.flag,
				...(share.maxUses === undefined ? {} : { maxUses: share.maxUses }),
				...(share.passcode === undefined ? {} : { passcode: share.passcode }),
				allowContributions: share.allowContributions,
				...(revoked === undefined ? {} : { revokedAt: revoked.at }),
				...(published === undefined ? {} : { lastPublishedAt: published.at }),
				status,
				accesses: Object.freeze(byShare.get(id) ?? [])
			})
		);
	}
	return Object.freeze(shares.sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.id < b.id ? 1 : -1)));
}

// --- documents with files, contributions ---------------------------------------------------

/** The author string of a professional: `pro:<name> (RPPS <rpps>)`, cut to the author limit. */
export function professionalAuthor(name: string, rpps: string): string {
	const suffix = ` (RPPS ${rpps})`;
	const room = 200 - 'pro:'.length - suffix.length;
	const chars = [...name];
	return `pro:${chars.length <= room ? name : chars.slice(0, room).join('')}${suffix}`;
}

/** A contribution, checked by the sharing code, to import as a document. */
export interface ContributionImport {
	/** The entry id, derived from the contribution id by the caller (the same on every device). */
	readonly id: string;
	readonly share: string;
	/** When the relay received it (ISO instant): the entry's createdAt, the same on every device. */
	readonly at: string;
	readonly type: string;
	readonly title: string;
	readonly date: string;
	readonly note?: string;
	readonly author: { readonly name: string; readonly rpps: string };
	readonly file?: FileMeta;
}

/**
 * Imports a contribution as a documents entry under `input.id`, attributed to the
 * professional; its activity line has the same id. Every device writes the same bytes under
 * the same keys, so importing twice, or on two devices at once, gives one entry. Returns false
 * (writing nothing) when the entry exists. Throws RecordValidationError for content the
 * documents section refuses.
 */
export function importContribution(doc: RecordDoc, input: ContributionImport): boolean {
	if (typeof input.id !== 'string' || !ID_PATTERN.test(input.id)) reject({ field: 'id', code: 'invalid_type' });
	const at = instant.safeParse(input.at);
	if (!at.success) reject({ field: 'at', code: 'invalid_date' });
	const contributor = CONTRIBUTOR_SCHEMA.safeParse({ name: input.author.name, rpps: input.author.rpps, share: input.share });
	if (!contributor.success) reject({ field: 'author', code: 'invalid_type' });
	const file = input.file === undefined ? undefined : FILE_META_SCHEMA.safeParse(input.file);
	if (file !== undefined && !file.success) reject({ field: 'file', code: 'invalid_type' });
	// Judged at the relay's reception time, so every device reaches the same verdict.
	const checked = validate(
		'documents',
		{ type: input.type, title: input.title, date: input.date, note: input.note, author: contributor.data.name },
		new Date(at.data)
	);
	if (!checked.ok) reject(...checked.issues);
	const value = checked.value;
	const bucket = doc.sections?.documents?.[bucketOf(input.id)];
	if (!isMap(bucket)) throw new Error('Not a Carnet record');
	if (input.id in bucket) return false;
	const author = professionalAuthor(contributor.data.name, contributor.data.rpps);
	bucket[input.id] = toStoredBytes({
		createdAt: at.data,
		updatedAt: at.data,
		createdBy: author,
		updatedBy: author,
		...value,
		...(file === undefined ? {} : { file: file.data }),
		contributor: contributor.data
	});
	const month = monthOf(at.data);
	doc.activity[month] ??= {};
	const title = [...String(value.title)];
	const summary = title.length <= 80 ? String(value.title) : `${title.slice(0, 79).join('')}…`;
	doc.activity[month][input.id] = toStoredBytes({ at: at.data, author, action: 'add', section: 'documents', entryId: input.id, summary });
	return true;
}
