/**
 * `recordView` is lazy and incremental: it reads stored entries without zod, computes each part
 * on first read and reuses what it computed for the Automerge objects a change left alone.
 * None of that may show: on random histories of edits, removals, hides, corrupt writes and
 * merges between devices, every view must equal the view as first written (eager, zod, no
 * cache: record-view-reference.ts), whatever order its parts are read in.
 */
import * as Automerge from '@automerge/automerge';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
	LIST_SECTIONS,
	addEntry,
	editEntry,
	initRecord,
	recordView,
	removeEntry,
	setHidden,
	setSingleton,
	type ListSectionId,
	type RecordDoc,
	type RecordView
} from '../../src/lib/core/record';
import { fillSampleRecord } from '../../bench/sample-record';
import { BUCKETS } from '../../src/lib/core/record/ids';
import { referenceView } from './record-view-reference';

type Doc = Automerge.Doc<RecordDoc>;

// Near a month's end, so histories cross into a month that devices create concurrently.
const START = Date.UTC(2026, 10, 30, 18);
const HOUR = 3_600_000;

/** A valid input per section, varied by `n`. */
function input(section: ListSectionId, n: number): Record<string, unknown> {
	const day = `202${n % 7}-0${1 + (n % 9)}-1${n % 10}`;
	switch (section) {
		case 'contacts':
			return { name: ['Zoé', 'yves', 'Anne', 'Émile'][n % 4], phone: `06 00 00 00 ${String(n % 100).padStart(2, '0')}`, trustedPerson: n % 3 === 0 };
		case 'allergies':
			return { substance: `Substance ${n % 5}`, ...(n % 4 < 3 && { criticality: ['high', 'low', 'unable-to-assess'][n % 3] }) };
		case 'history':
			return { kind: ['condition', 'surgery', 'family'][n % 3], name: `Event ${n}`, ...(n % 2 === 0 && { date: day }), ...(n % 3 === 1 && { status: 'resolved' }) };
		case 'treatments':
			return { name: `Drug ${n}`, ...(n % 3 > 0 && { startDate: day }), ...(n % 3 === 2 && { endDate: '2026-12-01' }) };
		case 'vaccinations':
			return { vaccine: ['DTP', 'dtp ', 'Grippe', 'Zona'][n % 4], date: day, ...(n % 2 === 0 && { nextDue: `${2021 + (n % 7) + (n % 3)}-0${1 + (n % 9)}-01` }) };
		case 'measurements':
			return n % 4 === 3
				? { kind: 'other', value: 1 + n, unit: '%', label: ['SpO2', 'spo2', 'Débit'][n % 3], date: `${day}T08:00` }
				: { kind: ['weight', 'glucose', 'heart-rate'][n % 3], value: n % 3 === 1 ? 0.8 + (n % 5) / 10 : 50 + (n % 40), date: `${day}T0${n % 10}:00` };
		case 'visits':
			return { date: n % 5 === 0 ? '2026-01-01' : day, professional: `Dr ${n}` };
		case 'documents':
			return { type: 'lab-report', title: `Result ${n}`, date: n % 5 === 0 ? '2026-01-01' : day };
	}
}

type Step =
	| { type: 'add'; section: ListSectionId; n: number }
	| { type: 'edit'; pick: number; n: number }
	| { type: 'remove'; pick: number }
	| { type: 'hide'; pick: number; hidden: boolean }
	| { type: 'singleton'; n: number }
	| { type: 'corrupt'; kind: number; section: ListSectionId; n: number }
	| { type: 'merge'; from: number };

const step: fc.Arbitrary<Step> = fc.oneof(
	{ weight: 4, arbitrary: fc.record({ type: fc.constant('add' as const), section: fc.constantFrom(...LIST_SECTIONS), n: fc.nat(99) }) },
	{ weight: 2, arbitrary: fc.record({ type: fc.constant('edit' as const), pick: fc.nat(), n: fc.nat(99) }) },
	{ weight: 1, arbitrary: fc.record({ type: fc.constant('remove' as const), pick: fc.nat() }) },
	{ weight: 1, arbitrary: fc.record({ type: fc.constant('hide' as const), pick: fc.nat(), hidden: fc.boolean() }) },
	{ weight: 1, arbitrary: fc.record({ type: fc.constant('singleton' as const), n: fc.nat(5) }) },
	{ weight: 1, arbitrary: fc.record({ type: fc.constant('corrupt' as const), kind: fc.nat(8), section: fc.constantFrom(...LIST_SECTIONS), n: fc.nat(999) }) },
	{ weight: 2, arbitrary: fc.record({ type: fc.constant('merge' as const), from: fc.nat(2) }) }
);

const PARTS: (keyof RecordView)[] = ['identity', 'directives', 'sections', 'summary', 'activity', 'unreadable'];

/** Writes what another (buggy, newer or hostile) device could have written. */
function corrupt(d: RecordDoc, kind: number, section: ListSectionId, n: number, at: string): void {
	const id = BUCKETS[n % 64] + String(n).padStart(21, 'q');
	const bucket = d.sections[section][id[0]] as Record<string, unknown>;
	const stored = (value: unknown) => new Automerge.ImmutableString(typeof value === 'string' ? value : JSON.stringify(value));
	const meta = { createdAt: at, updatedAt: at, createdBy: 'device:x', updatedBy: 'device:x' };
	switch (kind) {
		case 0:
			bucket[id] = stored('{not json');
			break;
		case 1:
			bucket[id] = stored({ ...meta, ...input(section, n), extra: 1 });
			break;
		case 2:
			bucket[id] = n % 2 ? 42 : { nested: stored('{}') };
			break;
		case 3:
			// Written around the operations, but valid: readable like any entry (as an
			// ImmutableString, the form records were written in before entries became bytes).
			bucket[id] = stored({ ...input(section, n), ...meta });
			break;
		case 8:
			bucket[id] = n % 2 ? Uint8Array.of(0x7b, 0xc3, 0x7d) : new TextEncoder().encode(JSON.stringify({ ...meta, ...input(section, n) }));
			break;
		case 4:
			d.identity = stored(n % 2 ? '[]' : { givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07', ...meta });
			break;
		case 5:
			d.directives = stored({ organDonation: 'maybe', updatedAt: at, updatedBy: 'x' });
			break;
		case 6: {
			const month = at.slice(0, 7);
			d.activity[month] ??= {};
			d.activity[month][id] = stored(n % 2 ? { at, author: 'x', action: 'fly', section } : { at, author: 'x', action: 'add', section, summary: `Line ${n}` });
			break;
		}
		default:
			d.hiddenDocuments[id] = true;
	}
}

/**
 * Random histories from `base` on three devices; after every step, the view of the device that
 * moved must equal the reference view.
 */
function checkAgainstReference(base: Doc, numRuns: number): void {
	// Edits, removals and hides pick among the entries a device knows: the base's, then its own
	// and those merged in.
	const baseEntries: [ListSectionId, string][] = LIST_SECTIONS.flatMap((section) =>
		Object.values(base.sections[section]).flatMap((bucket) => Object.keys(bucket).map((id) => [section, id] as [ListSectionId, string]))
	);
	fc.assert(
		fc.property(
			fc.array(fc.tuple(fc.nat(2), step), { minLength: 1, maxLength: 25 }),
			fc.array(fc.constantFrom(...PARTS), { maxLength: 6 }),
			fc.integer({ min: -400, max: 400 }),
			(plan, readOrder, dayShift) => {
				const docs: Doc[] = [0, 1, 2].map((i) => Automerge.clone(base, { actor: `0${i + 1}`.padStart(32, '0') }));
				const known = [0, 1, 2].map(() => [...baseEntries]);
				plan.forEach(([device, s], i) => {
					const now = new Date(START + i * 5 * HOUR);
					const ctx = { author: `device-${device}`, now };
					const entries = known[device];
					const target = entries.length > 0 && 'pick' in s ? entries[s.pick % entries.length] : undefined;
					let doc = docs[device];
					if (s.type === 'merge') {
						if (s.from === device) return;
						doc = Automerge.merge(doc, docs[s.from]);
						for (const e of known[s.from]) if (!entries.some(([, id]) => id === e[1])) entries.push(e);
					} else {
						doc = Automerge.change(doc, (d) => {
							if (s.type === 'add') entries.push([s.section, addEntry(d, s.section, input(s.section, s.n), ctx)]);
							else if (s.type === 'singleton') setSingleton(d, 'directives', { organDonation: ['yes', 'no', 'unspecified'][s.n % 3], ...(s.n > 2 && { advanceDirectives: `v${s.n}` }) }, ctx);
							else if (s.type === 'corrupt') corrupt(d, s.kind, s.section, s.n, now.toISOString());
							else if (target === undefined) return;
							else if (s.type === 'edit') {
								try {
									editEntry(d, target[0], target[1], input(target[0], s.n), ctx);
								} catch {
									// Removed meanwhile on a device merged since: not_found.
								}
							} else if (s.type === 'remove') {
								try {
									removeEntry(d, target[0], target[1], ctx);
								} catch {
									// idem
								}
								entries.splice(entries.indexOf(target), 1);
							} else if (target[0] === 'documents') {
								try {
									setHidden(d, target[1], s.hidden, ctx);
								} catch {
									// idem
								}
							}
						});
					}
					docs[device] = doc;
					// The view after each step, its parts read in the order drawn, on a day
					// that moves "today" around the entries' dates.
					const viewNow = new Date(now.getTime() + dayShift * 24 * HOUR);
					const view = recordView(doc, viewNow);
					for (const part of readOrder) void view[part];
					expect(JSON.stringify(view)).toBe(JSON.stringify(referenceView(doc, viewNow)));
				});
				// And from scratch (a fresh copy shares no object with the cached ones).
				for (const doc of docs) {
					const fresh = Automerge.clone(doc);
					expect(JSON.stringify(recordView(fresh, new Date(START)))).toBe(JSON.stringify(referenceView(doc, new Date(START))));
				}
			}
		),
		{ numRuns }
	);
}

describe('lazy, incremental record view', () => {
	it('equals the eager zod view on random histories across devices, read in any order', () => {
		const base = Automerge.change(Automerge.init<RecordDoc>(), (d) =>
			initRecord(d, { givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07' }, { author: 'device-0', now: new Date(START) })
		);
		checkAgainstReference(base, 60);
	});

	it('shows a copy of a month that a third device created, merged after the view was cached', () => {
		const base = Automerge.change(Automerge.init<RecordDoc>(), (d) =>
			initRecord(d, { givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07' }, { author: 'device-0', now: new Date(START) })
		);
		// c has the lowest actor: its copy of December loses to both others.
		const [a, b, c] = [2, 3, 1].map((i) => Automerge.clone(base, { actor: `0${i}`.padStart(32, '0') }));
		const december = (hours: number, author: string) => ({ author, now: new Date(START + hours * HOUR) });
		let merged = Automerge.change(a, (d) => void addEntry(d, 'visits', input('visits', 1), december(10, 'device-a')));
		const other = Automerge.change(b, (d) => void addEntry(d, 'visits', input('visits', 2), december(11, 'device-b')));
		merged = Automerge.merge(merged, other);
		expect(recordView(merged, new Date(START)).activity).toHaveLength(3);
		// The third copy of December loses to the shown one: the activity map object stays the same.
		const third = Automerge.change(c, (d) => void addEntry(d, 'visits', input('visits', 3), december(12, 'device-c')));
		const before = merged;
		merged = Automerge.merge(merged, third);
		expect(merged.activity).toBe(before.activity);
		const view = recordView(merged, new Date(START));
		expect(view.activity.map((l) => l.author)).toEqual(['device-c', 'device-b', 'device-a', 'device-0']);
		expect(JSON.stringify(view)).toBe(JSON.stringify(referenceView(merged, new Date(START))));
	});

	it('equals it on a record with entries in every bucket', () => {
		let base = Automerge.change(Automerge.init<RecordDoc>(), (d) =>
			initRecord(d, { givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07' }, { author: 'device-0', now: new Date(START) })
		);
		base = Automerge.change(base, (d) => void fillSampleRecord(d, 1500, { author: 'device-0', now: new Date(START) }));
		checkAgainstReference(base, 8);
	});
});
