/**
 * Invariant 3 for the record: devices that saw the same changes show the same record, whatever
 * order the changes arrived in. Three devices fork one record, each applies random operations
 * offline, and every merge order must give the same view, keeping every device's activity.
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
	type RecordDoc
} from '../../src/lib/core/record';

type Doc = Automerge.Doc<RecordDoc>;

const NOW = new Date('2026-11-26T12:00:00Z');

/** A valid input per section, varied by `n`. */
function input(section: ListSectionId, n: number): Record<string, unknown> {
	const day = `2026-0${1 + (n % 9)}-1${n % 10}`;
	switch (section) {
		case 'contacts':
			return { name: `Contact ${n}`, phone: `06 00 00 00 ${String(n % 100).padStart(2, '0')}`, trustedPerson: n % 2 === 0 };
		case 'allergies':
			return { substance: `Substance ${n}`, criticality: ['high', 'low', 'unable-to-assess'][n % 3] };
		case 'history':
			return { kind: ['condition', 'surgery', 'family'][n % 3], name: `Event ${n}`, date: day };
		case 'treatments':
			return { name: `Drug ${n}`, startDate: day };
		case 'vaccinations':
			return { vaccine: `Vaccine ${n % 4}`, date: day, nextDue: `2027-0${1 + (n % 9)}-01` };
		case 'measurements':
			return { kind: 'weight', value: 50 + (n % 50), date: `${day}T08:00` };
		case 'visits':
			return { date: day, professional: `Dr ${n}` };
		case 'documents':
			return { type: 'lab-report', title: `Result ${n}`, date: day };
	}
}

type Op =
	| { type: 'add'; section: ListSectionId; n: number }
	| { type: 'edit'; pick: number; n: number }
	| { type: 'remove'; pick: number }
	| { type: 'hide'; pick: number; hidden: boolean }
	| { type: 'directives'; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
	fc.record({ type: fc.constant('add' as const), section: fc.constantFrom(...LIST_SECTIONS), n: fc.nat(99) }),
	fc.record({ type: fc.constant('edit' as const), pick: fc.nat(), n: fc.nat(99) }),
	fc.record({ type: fc.constant('remove' as const), pick: fc.nat() }),
	fc.record({ type: fc.constant('hide' as const), pick: fc.nat(), hidden: fc.boolean() }),
	fc.record({ type: fc.constant('directives' as const), n: fc.nat(2) })
);

type Target = readonly [ListSectionId, string];

/**
 * Applies `ops` as device `device`, each in its own change, at times that cross a month
 * boundary. `known` are the entries the device sees; edits, removals and hides pick among them.
 */
function play(doc: Doc, device: number, ops: Op[], known: Target[]): { doc: Doc; writes: number } {
	const entries = [...known];
	let writes = 0;
	ops.forEach((o, i) => {
		// Devices write in the same months, so they create the same activity month maps concurrently.
		const ctx = { author: `device-${device}`, now: new Date(Date.UTC(2026, 10 + (i % 2), 27, 10, device, i)) };
		const target = entries.length > 0 && 'pick' in o ? entries[o.pick % entries.length] : undefined;
		const next = Automerge.change(doc, (d) => {
			if (o.type === 'add') entries.push([o.section, addEntry(d, o.section, input(o.section, o.n), ctx)]);
			else if (o.type === 'directives') setSingleton(d, 'directives', { organDonation: ['yes', 'no', 'unspecified'][o.n] }, ctx);
			else if (target === undefined) return;
			else if (o.type === 'edit') editEntry(d, target[0], target[1], input(target[0], o.n), ctx);
			else if (o.type === 'remove') {
				removeEntry(d, target[0], target[1], ctx);
				entries.splice(entries.indexOf(target), 1);
			} else if (target[0] === 'documents') setHidden(d, target[1], o.hidden, ctx);
		});
		if (next !== doc) writes++;
		doc = next;
	});
	return { doc, writes };
}

/** Applies the other devices' changes to `doc` in the order given, as sync would deliver them. */
function receive(doc: Doc, ...batches: Automerge.Change[][]): Doc {
	return batches.reduce((d, changes) => Automerge.applyChanges(d, changes)[0], doc);
}

describe('record convergence', () => {
	it('converges to the same view whatever the order changes arrive in', () => {
		const device0 = { author: 'device-0', now: NOW };
		const known: Target[] = [];
		let base = Automerge.change(Automerge.init<RecordDoc>(), (d) =>
			initRecord(d, { givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07' }, device0)
		);
		base = Automerge.change(base, (d) => {
			for (const [i, s] of LIST_SECTIONS.entries()) known.push([s, addEntry(d, s, input(s, i), device0)]);
		});
		const baseLines = recordView(base, NOW).activity.length;
		const plan = fc.array(op, { maxLength: 6 });

		fc.assert(
			fc.property(fc.tuple(plan, plan, plan), (plans) => {
				// Each device starts from the same history under its own actor.
				const played = plans.map((ops, i) =>
					play(Automerge.clone(base, { actor: `d${i + 1}`.padStart(32, '0') }), i + 1, ops, known)
				);
				const [a, b, c] = played.map((p) => p.doc);
				const [ca, cb, cc] = [a, b, c].map((d) => Automerge.getChanges(base, d));
				const orders = [receive(a, cb, cc), receive(c, ca, cb), receive(b, cc, ca)];
				const views = orders.map((doc) => JSON.stringify(recordView(doc, NOW)));
				expect(views[1]).toBe(views[0]);
				expect(views[2]).toBe(views[0]);
				expect(Automerge.getHeads(orders[1]).sort()).toEqual(Automerge.getHeads(orders[0]).sort());
				// Nothing a device logged is lost, even where devices created the same month concurrently.
				const writes = played.reduce((sum, p) => sum + p.writes, 0);
				expect(recordView(orders[0], NOW).activity).toHaveLength(baseLines + writes);
			}),
			{ numRuns: 100 }
		);
	});
});
