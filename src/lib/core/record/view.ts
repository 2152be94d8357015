/**
 * What the UI reads: plain frozen objects built from the document. Stored entries are read
 * defensively: an entry that is not JSON or fails its schema is skipped and counted in
 * `unreadable`, so one bad write (or a newer device's format) never takes the record down.
 *
 * Views are lazy and incremental (decisions log, 2026-11-26):
 * - every part (a section's sorted list, each summary card, the activity lines, the count of
 *   unreadable values) is computed when first read, so the home page never sorts the 2,300
 *   measurements or the visits, and the activity log is only ever read as far as its newest
 *   ~200 lines (for the activity page, and for `unreadable`);
 * - what was computed is cached on the Automerge objects it came from (WeakMaps). A change
 *   gives new objects along the path it touched only, and the same objects everywhere else,
 *   so the view after an edit re-reads one bucket, rebuilds one section and re-reads the
 *   current activity month. A merge from another device works alike: whatever it changed is
 *   a new object, read afresh.
 * An object's identity stands for what it shows, its winning values, and nothing more: a
 * losing concurrent value merged in later leaves it as it was (a clone shares it too). So
 * only what the winning values decide is cached that way; what `getConflicts` decides (the
 * concurrent copies of an activity month) is asked again for every view.
 * Views of one document share their arrays and entries, all frozen.
 */
import * as Automerge from '@automerge/automerge';
import { deviceEntries } from './devices';
import { bucketOf } from './ids';
import {
	isMap,
	parseText,
	readEntry,
	readSingleton,
	readStoredText,
	storedText,
	storedTexts,
	type RecordDoc
} from './layout';
import { authorResolver, type AuthorName } from './people';
import {
	ACTIVITY_READER,
	type ActivityEntry,
	type Directives,
	type Entry,
	type Identity
} from './schema';
import {
	FIELDS,
	LIST_SECTIONS,
	MEASUREMENT_KIND_IDS,
	specOf,
	type ListSectionId,
	type SingletonSectionId
} from './sections';
import { readShares, type ShareInfo } from './shares';
import { localDay } from './time';

/** How many activity lines the view carries: the newest, enough for the activity page. */
export const ACTIVITY_VIEW_LIMIT = 200;

/** How many recent visible documents the home card lists. */
export const RECENT_DOCUMENTS = 5;

/** A vaccination to repeat, from the latest shot of each vaccine. */
export interface VaccinationDue {
	readonly entry: Entry<'vaccinations'>;
	/** `nextDue` is before today. */
	readonly overdue: boolean;
}

/** What the home cards show. */
export interface RecordSummary {
	/** High criticality first, then unable-to-assess, unspecified, low. */
	readonly allergies: readonly Entry<'allergies'>[];
	/** Conditions (not surgeries nor family history) not marked resolved. */
	readonly activeConditions: readonly Entry<'history'>[];
	/** Started (or undated) treatments with no end date or one not past. */
	readonly currentTreatments: readonly Entry<'treatments'>[];
	/** Soonest first; per vaccine, only the latest shot's `nextDue` counts. */
	readonly vaccinationsDue: readonly VaccinationDue[];
	/** Trusted person first, then by name. */
	readonly contacts: readonly Entry<'contacts'>[];
	/** The latest measurement of each kind, in kind order ("other" once per label). */
	readonly latestMeasurements: readonly Entry<'measurements'>[];
	readonly documents: {
		readonly visible: number;
		readonly hidden: number;
		/** The most recent visible documents. */
		readonly recent: readonly Entry<'documents'>[];
	};
}

/**
 * Everything the UI reads of a record. Each property is computed on first read (see the module
 * comment); all are enumerable, so a view compares and serialises like a plain object.
 */
export interface RecordView {
	/** `null` when missing or unreadable. */
	readonly identity: Identity | null;
	readonly directives: Directives | null;
	/** Most recent first by the section's date, then by creation. Documents include hidden ones, marked. */
	readonly sections: { readonly [S in ListSectionId]: readonly Entry<S>[] };
	readonly summary: RecordSummary;
	/** Newest first, at most `ACTIVITY_VIEW_LIMIT` lines. */
	readonly activity: readonly ActivityEntry[];
	/**
	 * Stored entries, singletons and activity lines (of the months the view reads) skipped
	 * because they could not be read.
	 */
	readonly unreadable: number;
	/**
	 * The record's shares, newest first, each with its access entries (newest first); status
	 * judged at the view's `now`. A method, not enumerable: computed only when a sharing page
	 * asks, and left out of the view's comparisons and serialisation.
	 */
	shares(): readonly ShareInfo[];
	/**
	 * The versions of entry `id` that lost a concurrent edit, which the entry shows ("Also
	 * changed at the same time by Claire: Lot: AB123") until someone edits it again. The same
	 * on every device that has the same changes. A method, not enumerable, like `shares`.
	 */
	conflicts(section: ListSectionId, id: string): readonly EntryConflict[];
	/**
	 * Who `author` (an entry's `createdBy` / `updatedBy`, an activity line's `author`) is, from
	 * the record's device entries (people.ts `authorName`); `null` when not a known kind of author.
	 */
	authorName(author: string): AuthorName | null;
}

/** A losing concurrent version of an entry. */
export interface EntryConflict {
	/** Its `updatedBy`: `authorName` names it. */
	readonly author: string;
	readonly updatedAt: string;
	/** Its form fields (`FIELDS` order) whose value differs from the shown version's; never empty. */
	readonly differences: readonly FieldDifference[];
}

/** A form field's value in a losing version; `undefined` when that version had it empty. */
export interface FieldDifference {
	readonly name: string;
	readonly value: string | number | boolean | undefined;
}

type Row = Readonly<Record<string, unknown>>;
type Rows = readonly Row[];

/** The readable rows of a map of entries, in the map's order, and how many were not. */
interface Read {
	readonly rows: Rows;
	readonly unreadable: number;
}

const NO_ROWS: Rows = Object.freeze([]);
const EMPTY_READ: Read = Object.freeze({ rows: NO_ROWS, unreadable: 0 });
const NO_FLAGS: Record<string, unknown> = Object.freeze({});

/**
 * `compute(key, arg)`, cached on `key` (an immutable Automerge object or a frozen array derived
 * from one) for the last `arg` it was called with (today's date, the hidden flags...).
 */
function cachedOn<K extends object, A, V>(compute: (key: K, arg: A) => V): (key: K, arg: A) => V {
	const cache = new WeakMap<K, { arg: A; value: V }>();
	return (key, arg) => {
		const hit = cache.get(key);
		if (hit !== undefined && hit.arg === arg) return hit.value;
		const value = compute(key, arg);
		cache.set(key, { arg, value });
		return value;
	};
}

/** Defines `key` as an enumerable property computed on first read. */
function lazy<T extends object, K extends keyof T>(target: T, key: K, compute: () => T[K]): void {
	let value: T[K];
	let done = false;
	Object.defineProperty(target, key, {
		enumerable: true,
		get() {
			if (!done) {
				value = compute();
				done = true;
			}
			return value;
		}
	});
}

// --- sections ------------------------------------------------------------------------------

/**
 * One bucket map's entries. `arg` is the section: a bucket object only ever sits in one. After
 * a change, only the changed bucket is read again (~40 entries: no per-entry cache needed).
 */
const readBucket = cachedOn(function readBucket(
	bucket: Record<string, unknown>,
	section: ListSectionId
): Read {
	const rows: Row[] = [];
	let unreadable = 0;
	const ids = Object.keys(bucket);
	const texts = storedTexts(ids.map((id) => bucket[id]));
	for (let i = 0; i < ids.length; i++) {
		const row = readStoredText(section, ids[i], texts[i]);
		if (row === undefined) unreadable++;
		else rows.push(row);
	}
	return { rows: Object.freeze(rows), unreadable };
});

/** Every bucket of a section map, unsorted. */
const readBuckets = cachedOn(function readBuckets(
	buckets: Record<string, unknown>,
	section: ListSectionId
): Read {
	const rows: Row[] = [];
	let unreadable = 0;
	for (const name of Object.keys(buckets)) {
		const bucket = buckets[name];
		if (!isMap(bucket)) continue;
		const read = readBucket(bucket, section);
		for (const row of read.rows) rows.push(row);
		unreadable += read.unreadable;
	}
	return { rows: Object.freeze(rows), unreadable };
});

function readSection(doc: RecordDoc, section: ListSectionId): Read {
	const buckets: unknown = (doc.sections as unknown as Record<string, unknown> | undefined)?.[section];
	return isMap(buckets) ? readBuckets(buckets, section) : EMPTY_READ;
}

/**
 * Most recent first on the section's date, dated entries before undated ones; ties by creation
 * then id, so every device orders the same entries alike.
 */
function recentFirst(dateField: string | undefined): (a: Row, b: Row) => number {
	return (a, b) =>
		compareRecent(
			dateField === undefined ? undefined : (a[dateField] as string | undefined),
			a.createdAt as string,
			a.id as string,
			dateField === undefined ? undefined : (b[dateField] as string | undefined),
			b.createdAt as string,
			b.id as string
		);
}

function compareRecent(
	da: string | undefined,
	ca: string,
	ia: string,
	db: string | undefined,
	cb: string,
	ib: string
): number {
	if (da !== db) {
		if (da === undefined) return 1;
		if (db === undefined) return -1;
		return da < db ? 1 : -1;
	}
	if (ca !== cb) return ca < cb ? 1 : -1;
	return ia < ib ? 1 : ia > ib ? -1 : 0;
}

/** The sort keys of a row, in an object of one shape (rows have many: sorting them directly is slower). */
interface Keyed {
	readonly row: Row;
	readonly date: string | undefined;
	readonly createdAt: string;
	readonly id: string;
}

const byKeys = (a: Keyed, b: Keyed) => compareRecent(a.date, a.createdAt, a.id, b.date, b.createdAt, b.id);

/** A section's rows, most recent first (a stable sort: equal rows keep their map order). */
const sortRows = cachedOn((rows: Rows, dateField: string | undefined): Rows => {
	const keyed: Keyed[] = rows.map((row) => ({
		row,
		date: dateField === undefined ? undefined : (row[dateField] as string | undefined),
		createdAt: row.createdAt as string,
		id: row.id as string
	}));
	keyed.sort(byKeys);
	return Object.freeze(keyed.map((k) => k.row));
});

/** The hidden flags, or none on a malformed document. */
function hiddenFlags(doc: RecordDoc): Record<string, unknown> {
	return isMap(doc.hiddenDocuments) ? doc.hiddenDocuments : NO_FLAGS;
}

/** A document row with its `hidden` mark; one frozen object per row and state, shared by every view. */
const marked = new WeakMap<Row, { visible?: Row; hidden?: Row }>();
function withHidden(row: Row, hidden: boolean): Row {
	let variants = marked.get(row);
	if (variants === undefined) marked.set(row, (variants = {}));
	const key = hidden ? 'hidden' : 'visible';
	return (variants[key] ??= Object.freeze({ ...row, hidden }));
}

const markDocuments = cachedOn((sorted: Rows, flags: Record<string, unknown>): Rows =>
	Object.freeze(sorted.map((row) => withHidden(row, (row.id as string) in flags)))
);

function sortedSection(doc: RecordDoc, section: ListSectionId): Rows {
	const sorted = sortRows(readSection(doc, section).rows, specOf(section).dateField);
	return section === 'documents' ? markDocuments(sorted, hiddenFlags(doc)) : sorted;
}

// --- summary -------------------------------------------------------------------------------

const descending = (x: string, y: string) => (x < y ? 1 : x > y ? -1 : 0);
const CRITICALITY_RANK: Record<string, number> = { high: 0, 'unable-to-assess': 1, low: 3 };
// `localeCompare(b, 'fr')` is defined as this collator's compare, which V8 would look up per call.
const frenchOrder = new Intl.Collator('fr');

const allergiesByCriticality = cachedOn((sorted: Rows, _: undefined) =>
	Object.freeze(
		[...(sorted as readonly Entry<'allergies'>[])].sort(
			(a, b) =>
				(CRITICALITY_RANK[a.criticality ?? ''] ?? 2) - (CRITICALITY_RANK[b.criticality ?? ''] ?? 2)
		)
	)
);

const activeConditions = cachedOn((sorted: Rows, _: undefined) =>
	Object.freeze(
		(sorted as readonly Entry<'history'>[]).filter((h) => h.kind === 'condition' && h.status !== 'resolved')
	)
);

const currentTreatments = cachedOn((sorted: Rows, today: string) =>
	Object.freeze(
		(sorted as readonly Entry<'treatments'>[]).filter(
			(t) =>
				(t.startDate === undefined || t.startDate <= today) &&
				(t.endDate === undefined || t.endDate >= today)
		)
	)
);

const vaccinationsDue = cachedOn((sorted: Rows, today: string): readonly VaccinationDue[] => {
	// Shots come newest first, so the first one seen per vaccine is the one whose nextDue counts.
	const latestShot = new Map<string, Entry<'vaccinations'>>();
	for (const shot of sorted as readonly Entry<'vaccinations'>[]) {
		const vaccine = shot.vaccine.toLocaleLowerCase('fr').replace(/\s+/g, ' ');
		if (!latestShot.has(vaccine)) latestShot.set(vaccine, shot);
	}
	return Object.freeze(
		[...latestShot.values()]
			.filter((entry) => entry.nextDue !== undefined)
			.map((entry) => Object.freeze({ entry, overdue: (entry.nextDue as string) < today }))
			.sort(
				(a, b) =>
					descending(b.entry.nextDue as string, a.entry.nextDue as string) ||
					descending(b.entry.id, a.entry.id)
			)
	);
});

const contactsByTrust = cachedOn((sorted: Rows, _: undefined) =>
	Object.freeze(
		[...(sorted as readonly Entry<'contacts'>[])].sort(
			(a, b) =>
				Number(b.trustedPerson === true) - Number(a.trustedPerson === true) ||
				frenchOrder.compare(a.name, b.name)
		)
	)
);

/**
 * The latest measurement per kind, found in one pass over the unsorted rows: the first one per
 * kind in the section's order is the least under that order, the first such in map order on a
 * tie, exactly what a stable sort would put first.
 */
const latestMeasurements = cachedOn((rows: Rows, _: undefined) => {
	const before = recentFirst(specOf('measurements').dateField);
	const latest = new Map<string, Entry<'measurements'>>();
	for (const m of rows as readonly Entry<'measurements'>[]) {
		const key = m.kind === 'other' ? `other:${m.label ?? ''}` : m.kind;
		const current = latest.get(key);
		if (current === undefined || before(m, current) < 0) latest.set(key, m);
	}
	const kindRank = (m: Entry<'measurements'>) => MEASUREMENT_KIND_IDS.indexOf(m.kind);
	// Ties (two "other" labels the collator deems equal) in the section's order, as when this
	// list was built by walking the sorted section.
	return Object.freeze(
		[...latest.values()].sort(
			(a, b) =>
				kindRank(a) - kindRank(b) || frenchOrder.compare(a.label ?? '', b.label ?? '') || before(a, b)
		)
	);
});

/** Counts and the most recent visible documents, in one pass (no sort of every document). */
const documentsSummary = cachedOn((rows: Rows, flags: Record<string, unknown>): RecordSummary['documents'] => {
	const before = recentFirst(specOf('documents').dateField);
	const recent: Row[] = [];
	let hidden = 0;
	for (const row of rows) {
		if ((row.id as string) in flags) {
			hidden++;
			continue;
		}
		// Insertion after every row not after it keeps map order on ties, as the stable sort does.
		let i = recent.length;
		while (i > 0 && before(row, recent[i - 1]) < 0) i--;
		if (i < RECENT_DOCUMENTS) {
			recent.splice(i, 0, row);
			if (recent.length > RECENT_DOCUMENTS) recent.pop();
		}
	}
	return Object.freeze({
		visible: rows.length - hidden,
		hidden,
		recent: Object.freeze(recent.map((row) => withHidden(row, false))) as readonly Entry<'documents'>[]
	});
});

function summaryOf(view: RecordView, doc: RecordDoc, today: string): RecordSummary {
	const sorted = <S extends ListSectionId>(section: S) => view.sections[section] as Rows;
	const summary = {} as RecordSummary;
	const part = <K extends keyof RecordSummary>(key: K, compute: () => unknown) =>
		lazy(summary, key, compute as () => RecordSummary[K]);
	part('allergies', () => allergiesByCriticality(sorted('allergies'), undefined));
	part('activeConditions', () => activeConditions(sorted('history'), undefined));
	part('currentTreatments', () => currentTreatments(sorted('treatments'), today));
	part('vaccinationsDue', () => vaccinationsDue(sorted('vaccinations'), today));
	part('contacts', () => contactsByTrust(sorted('contacts'), undefined));
	// The two big sections are scanned, not sorted.
	part('latestMeasurements', () =>
		latestMeasurements(readSection(doc, 'measurements').rows, undefined)
	);
	part('documents', () => documentsSummary(readSection(doc, 'documents').rows, hiddenFlags(doc)));
	return Object.freeze(summary);
}

// --- activity ------------------------------------------------------------------------------

function readLine(id: string, text: string | undefined): ActivityEntry | undefined {
	const data = ACTIVITY_READER(parseText(text), id);
	return data === undefined ? undefined : (Object.freeze(data) as unknown as ActivityEntry);
}

interface ActivityRead {
	readonly activity: readonly ActivityEntry[];
	readonly unreadable: number;
}

/** The month keys, newest first. */
const monthsOf = cachedOn((activityMap: Record<string, unknown>, _: undefined): readonly string[] =>
	Object.freeze(Object.keys(activityMap).sort((a, b) => (a < b ? 1 : -1)))
);

/** One month map's lines in key order, `undefined` where unreadable. */
const readMonth = cachedOn(
	(map: Record<string, unknown>, _: undefined): readonly (readonly [string, ActivityEntry | undefined])[] => {
		const ids = Object.keys(map);
		const texts = storedTexts(ids.map((id) => map[id]));
		return Object.freeze(ids.map((id, i) => [id, readLine(id, texts[i])] as const));
	}
);

/**
 * The newest lines, reading months newest first until the limit is reached. Two devices may
 * both have created a month (layout.ts): the month's concurrent maps are merged, their union
 * is exact since lines are never edited.
 *
 * Not cached on the activity map: a concurrent copy of a month merged in later leaves the
 * activity map object as it was (it shows the winning copy only), so only `getConflicts` can
 * tell. Each month map is cached, and the few months read are merged again for every view.
 */
function readActivity(activityMap: Record<string, unknown>): ActivityRead {
	const lines: ActivityEntry[] = [];
	let unreadable = 0;
	for (const month of monthsOf(activityMap, undefined)) {
		// Months go newest first, so once the limit is reached older months cannot contribute.
		if (lines.length >= ACTIVITY_VIEW_LIMIT) break;
		const variants = monthCopies(activityMap, month);
		const seen = new Set<string>();
		for (const map of variants) {
			if (!isMap(map)) continue;
			for (const [id, line] of readMonth(map, undefined)) {
				if (seen.has(id)) continue;
				seen.add(id);
				if (line === undefined) unreadable++;
				else lines.push(line);
			}
		}
	}
	lines.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id < b.id ? 1 : -1));
	return { activity: Object.freeze(lines.slice(0, ACTIVITY_VIEW_LIMIT)), unreadable };
}

/** Every concurrent copy of a month map (or whatever else is stored under its key). */
function monthCopies(activityMap: Record<string, unknown>, month: string): unknown[] {
	let conflicts: Record<string, unknown> | undefined;
	try {
		// getConflicts answers only when there is more than one value.
		conflicts = Automerge.getConflicts(activityMap, month);
	} catch {
		// The document was freed (its record closed) before this view was read: the materialized
		// objects are still readable, Automerge's memory is not. The shown copy will do.
	}
	return conflicts === undefined ? [activityMap[month]] : Object.values(conflicts);
}

const NO_ACTIVITY: ActivityRead = Object.freeze({ activity: Object.freeze([]), unreadable: 0 });

function activityOf(doc: RecordDoc): ActivityRead {
	return isMap(doc.activity) ? readActivity(doc.activity) : NO_ACTIVITY;
}

// --- the view ------------------------------------------------------------------------------

/** A singleton's stored value, parsed once per stored string object. */
const singletons = cachedOn(
	(stored: object, section: SingletonSectionId): Row | undefined => {
		const value = readSingleton(section, stored);
		return value === undefined ? undefined : Object.freeze(value);
	}
);

/** `null` when absent, `undefined` when unreadable. */
function singletonOf(doc: RecordDoc, section: SingletonSectionId): Row | null | undefined {
	const stored: unknown = doc[section];
	if (stored === undefined) return null;
	if (typeof stored === 'object' && stored !== null) return singletons(stored, section);
	const value = readSingleton(section, stored);
	return value === undefined ? undefined : Object.freeze(value);
}

/**
 * The view of a record (see the module comment: it is lazy, and cheap to rebuild after a
 * change). `now` sets "today" for the summary (current treatments, overdue vaccinations); it
 * defaults to the device clock at the time of the call.
 */
export function recordView(doc: RecordDoc, now: Date = new Date()): RecordView {
	const today = localDay(now);
	const view = {} as RecordView;
	const sections = {} as { [S in ListSectionId]: readonly Entry<S>[] };
	for (const section of LIST_SECTIONS) {
		// Every row passed its section's stored reader, the runtime form of `Entry<S>`.
		lazy(sections, section, () => sortedSection(doc, section) as never);
	}
	Object.freeze(sections);
	lazy(view, 'identity', () => (singletonOf(doc, 'identity') ?? null) as Identity | null);
	lazy(view, 'directives', () => (singletonOf(doc, 'directives') ?? null) as Directives | null);
	lazy(view, 'sections', () => sections);
	lazy(view, 'summary', () => summaryOf(view, doc, today));
	// One read of the activity per view, shared by `activity` and `unreadable`.
	let activity: ActivityRead | undefined;
	const activityRead = () => (activity ??= activityOf(doc));
	lazy(view, 'activity', () => activityRead().activity);
	lazy(view, 'unreadable', () => {
		let unreadable = activityRead().unreadable;
		for (const section of LIST_SECTIONS) unreadable += readSection(doc, section).unreadable;
		for (const section of ['identity', 'directives'] as const) {
			if (singletonOf(doc, section) === undefined) unreadable++;
		}
		return unreadable;
	});
	let shares: readonly ShareInfo[] | undefined;
	Object.defineProperty(view, 'shares', { enumerable: false, value: () => (shares ??= readShares(doc, now)) });
	// Kept per view, whose document is one version, never on Automerge objects: what
	// getConflicts says is not cached on objects (module comment). One array per entry also
	// lets the UI compare what it got last time.
	const conflictsOf = new Map<string, readonly EntryConflict[]>();
	Object.defineProperty(view, 'conflicts', {
		enumerable: false,
		value: (section: ListSectionId, id: string) => {
			const key = `${section}/${id}`;
			let found = conflictsOf.get(key);
			if (found === undefined) conflictsOf.set(key, (found = entryConflicts(doc, section, id)));
			return found;
		}
	});
	let resolve: ((author: string) => AuthorName | null) | undefined;
	Object.defineProperty(view, 'authorName', {
		enumerable: false,
		value: (author: string) => (resolve ??= authorResolver(deviceEntries(doc)))(author)
	});
	return Object.freeze(view);
}

/**
 * The values of an entry that lost a concurrent edit (last-writer-wins on the whole entry),
 * for a history view. Empty when there was no conflict or the entry is gone.
 */
export function conflicts<S extends ListSectionId>(doc: RecordDoc, section: S, id: string): Entry<S>[] {
	const hidden = section === 'documents' ? { hidden: id in hiddenFlags(doc) } : {};
	return losingVersions(doc, section, id).losers.map((entry) => ({ ...entry, ...hidden }) as unknown as Entry<S>);
}

/** The readable losing versions of an entry, and the shown one (`undefined` when unreadable). */
function losingVersions(doc: RecordDoc, section: ListSectionId, id: string): { winner: Row | undefined; losers: Row[] } {
	const bucket = doc.sections?.[section]?.[bucketOf(id)];
	if (!isMap(bucket) || !Object.hasOwn(bucket, id)) return { winner: undefined, losers: [] };
	let values: Record<string, unknown> | undefined;
	try {
		// getConflicts answers only when there is more than one value.
		values = Automerge.getConflicts(bucket, id);
	} catch {
		// The document was freed (its record closed): the shown version is all there is to read.
	}
	const current = storedText(bucket[id]);
	const losers = Object.values(values ?? {})
		.filter((value) => storedText(value) !== current)
		.map((value) => readEntry(section, id, value))
		.filter((entry) => entry !== undefined);
	return { winner: readEntry(section, id, bucket[id]), losers };
}

/**
 * `RecordView.conflicts`: each readable losing version with the form fields it would change
 * in the shown one. Versions differing in metadata only (both devices typed the same thing)
 * are left out, and none are shown beside an unreadable winner (the view does not show the
 * entry). Ordered newest first, then by author and content: getConflicts' order is not
 * promised, and every device must list them alike.
 */
function entryConflicts(doc: RecordDoc, section: ListSectionId, id: string): readonly EntryConflict[] {
	const { winner, losers } = losingVersions(doc, section, id);
	if (winner === undefined) return NO_CONFLICTS;
	const found: { conflict: EntryConflict; key: string }[] = [];
	for (const loser of losers) {
		const differences = FIELDS[section]
			.filter(({ name }) => JSON.stringify(loser[name]) !== JSON.stringify(winner[name]))
			.map(({ name }) => Object.freeze({ name, value: loser[name] as FieldDifference['value'] }));
		if (differences.length === 0) continue;
		const conflict = Object.freeze({
			author: loser.updatedBy as string,
			updatedAt: loser.updatedAt as string,
			differences: Object.freeze(differences)
		});
		found.push({ conflict, key: JSON.stringify(differences) });
	}
	found.sort(
		(a, b) =>
			descending(a.conflict.updatedAt, b.conflict.updatedAt) ||
			ascending(a.conflict.author, b.conflict.author) ||
			ascending(a.key, b.key)
	);
	return Object.freeze(found.map((f) => f.conflict));
}

const NO_CONFLICTS: readonly EntryConflict[] = Object.freeze([]);
const ascending = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
