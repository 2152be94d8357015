/**
 * The record view as it was first written (eager, zod on every entry, no cache), kept as the
 * oracle the lazy and incremental `recordView` must agree with (record-view.test.ts).
 * Only the helpers it imported from layout.ts are inlined; the logic is unchanged.
 */
import * as Automerge from '@automerge/automerge';
import { ACTIVITY_VIEW_LIMIT, RECENT_DOCUMENTS, type RecordSummary, type RecordView } from '../../src/lib/core/record';
import { isMap, parseStored, type RecordDoc } from '../../src/lib/core/record/layout';
import {
	ACTIVITY_SCHEMA,
	STORED_SCHEMAS,
	type ActivityEntry,
	type Directives,
	type Entry,
	type Identity
} from '../../src/lib/core/record/schema';
import { LIST_SECTIONS, MEASUREMENT_KIND_IDS, specOf, type ListSectionId, type SingletonSectionId } from '../../src/lib/core/record/sections';
import { localDay } from '../../src/lib/core/record/time';

type Row = Record<string, unknown>;

function readEntry(section: ListSectionId, id: string, value: unknown): Row | undefined {
	const parsed = STORED_SCHEMAS[section].safeParse(parseStored(value));
	return parsed.success ? Object.freeze({ id, ...parsed.data }) : undefined;
}

function readSingleton(section: SingletonSectionId, value: unknown): Row | undefined {
	const parsed = STORED_SCHEMAS[section].safeParse(parseStored(value));
	return parsed.success ? parsed.data : undefined;
}

function activityMonths(doc: RecordDoc): Map<string, Record<string, unknown>[]> {
	const months = new Map<string, Record<string, unknown>[]>();
	const activity = doc.activity;
	if (!isMap(activity)) return months;
	for (const month of Object.keys(activity)) {
		const variants: unknown[] = Object.values(Automerge.getConflicts(activity, month) ?? [activity[month]]);
		months.set(month, variants.filter(isMap));
	}
	return months;
}

type Sections = { [S in ListSectionId]: Entry<S>[] };

const descending = (x: string, y: string) => (x < y ? 1 : x > y ? -1 : 0);

/**
 * Most recent first on the section's date, dated entries before undated ones; ties by creation
 * then id, so every device orders the same entries alike.
 */
function byRecent(dateField: string | undefined): (a: Row, b: Row) => number {
	return (a, b) => {
		const da = dateField === undefined ? undefined : (a[dateField] as string | undefined);
		const db = dateField === undefined ? undefined : (b[dateField] as string | undefined);
		if (da !== db) {
			if (da === undefined) return 1;
			if (db === undefined) return -1;
			return descending(da, db);
		}
		return (
			descending(a.createdAt as string, b.createdAt as string) ||
			descending(a.id as string, b.id as string)
		);
	};
}

/** The hidden flags, or none on a malformed document. */
function hiddenFlags(doc: RecordDoc): Record<string, unknown> {
	return isMap(doc.hiddenDocuments) ? doc.hiddenDocuments : {};
}

function readSections(doc: RecordDoc): { sections: Sections; unreadable: number } {
	const sections: Partial<Record<ListSectionId, Row[]>> = {};
	const hiddenDocuments = hiddenFlags(doc);
	let unreadable = 0;
	for (const section of LIST_SECTIONS) {
		const rows: Row[] = [];
		const buckets = doc.sections?.[section];
		for (const bucket of isMap(buckets) ? Object.values(buckets) : []) {
			if (!isMap(bucket)) continue;
			for (const [id, value] of Object.entries(bucket)) {
				const row = readEntry(section, id, value);
				if (row === undefined) unreadable++;
				else rows.push(section === 'documents' ? { ...row, hidden: id in hiddenDocuments } : row);
			}
		}
		sections[section] = rows.sort(byRecent(specOf(section).dateField));
	}
	// Every row passed its section's stored schema, the runtime form of `Entry<S>`.
	return { sections: sections as unknown as Sections, unreadable };
}

function readActivity(doc: RecordDoc): { activity: ActivityEntry[]; unreadable: number } {
	const activity: ActivityEntry[] = [];
	let unreadable = 0;
	const months = [...activityMonths(doc)].sort(([a], [b]) => (a < b ? 1 : -1));
	for (const [, maps] of months) {
		// Months go newest first, so once the limit is reached older months cannot contribute.
		if (activity.length >= ACTIVITY_VIEW_LIMIT) break;
		const seen = new Set<string>();
		for (const map of maps) {
			for (const [id, value] of Object.entries(map)) {
				if (seen.has(id)) continue;
				seen.add(id);
				const parsed = ACTIVITY_SCHEMA.safeParse(parseStored(value));
				if (parsed.success) activity.push({ id, ...parsed.data });
				else unreadable++;
			}
		}
	}
	activity.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id < b.id ? 1 : -1));
	return { activity: activity.slice(0, ACTIVITY_VIEW_LIMIT), unreadable };
}

const CRITICALITY_RANK: Record<string, number> = { high: 0, 'unable-to-assess': 1, low: 3 };

function summarize(sections: Sections, today: string): RecordSummary {
	const allergies = [...sections.allergies].sort(
		(a, b) => (CRITICALITY_RANK[a.criticality ?? ''] ?? 2) - (CRITICALITY_RANK[b.criticality ?? ''] ?? 2)
	);

	// Shots come newest first, so the first one seen per vaccine is the one whose nextDue counts.
	const latestShot = new Map<string, Entry<'vaccinations'>>();
	for (const shot of sections.vaccinations) {
		const vaccine = shot.vaccine.toLocaleLowerCase('fr').replace(/\s+/g, ' ');
		if (!latestShot.has(vaccine)) latestShot.set(vaccine, shot);
	}
	const vaccinationsDue = [...latestShot.values()]
		.filter((entry) => entry.nextDue !== undefined)
		.map((entry) => ({ entry, overdue: (entry.nextDue as string) < today }))
		.sort(
			(a, b) =>
				descending(b.entry.nextDue as string, a.entry.nextDue as string) ||
				descending(b.entry.id, a.entry.id)
		);

	const latestMeasurement = new Map<string, Entry<'measurements'>>();
	for (const m of sections.measurements) {
		const key = m.kind === 'other' ? `other:${m.label ?? ''}` : m.kind;
		if (!latestMeasurement.has(key)) latestMeasurement.set(key, m);
	}
	const kindRank = (m: Entry<'measurements'>) => MEASUREMENT_KIND_IDS.indexOf(m.kind);

	const documents = sections.documents;
	const visible = documents.filter((d) => !d.hidden);

	return {
		allergies,
		activeConditions: sections.history.filter((h) => h.kind === 'condition' && h.status !== 'resolved'),
		currentTreatments: sections.treatments.filter(
			(t) =>
				(t.startDate === undefined || t.startDate <= today) &&
				(t.endDate === undefined || t.endDate >= today)
		),
		vaccinationsDue,
		contacts: [...sections.contacts].sort(
			(a, b) =>
				Number(b.trustedPerson === true) - Number(a.trustedPerson === true) ||
				a.name.localeCompare(b.name, 'fr')
		),
		latestMeasurements: [...latestMeasurement.values()].sort(
			(a, b) => kindRank(a) - kindRank(b) || (a.label ?? '').localeCompare(b.label ?? '', 'fr')
		),
		documents: {
			visible: visible.length,
			hidden: documents.length - visible.length,
			recent: visible.slice(0, RECENT_DOCUMENTS)
		}
	};
}

/**
 * Builds the view of a record. `now` sets "today" for the summary (current treatments, overdue
 * vaccinations); it defaults to the device clock. Shares are left out: the real view reads
 * them with `readShares`, tested on its own.
 */
export function referenceView(doc: RecordDoc, now: Date): Omit<RecordView, 'shares' | 'conflicts' | 'authorName'> {
	const { sections, unreadable: badEntries } = readSections(doc);
	const { activity, unreadable: badLines } = readActivity(doc);
	let unreadable = badEntries + badLines;
	const singleton = <S extends 'identity' | 'directives'>(section: S) => {
		if (doc[section] === undefined) return null;
		const value = readSingleton(section, doc[section]);
		if (value === undefined) unreadable++;
		return value ?? null;
	};
	const identity = singleton('identity') as Identity | null;
	const directives = singleton('directives') as Directives | null;
	return { identity, directives, sections, summary: summarize(sections, localDay(now)), activity, unreadable };
}

