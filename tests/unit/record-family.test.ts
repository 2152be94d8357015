/**
 * Family (docs/FAMILY.md §1 and §6) in the pure record: each device's entry names its person,
 * `people` groups the members by person, `authorName` names who wrote what, and
 * `RecordView.conflicts` shows the losing side of a concurrent edit the same way everywhere.
 */
import * as Automerge from '@automerge/automerge';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
	RecordValidationError,
	authorName,
	addEntry,
	deviceEntries,
	deviceNames,
	editEntry,
	ensureDevices,
	initRecord,
	people,
	professionalAuthor,
	recordView,
	setDeviceName,
	type Issue,
	type RecordContext,
	type RecordDoc,
	type RecordMember
} from '../../src/lib/core/record';
import { toStored, toStoredBytes } from '../../src/lib/core/record/layout';

type Doc = Automerge.Doc<RecordDoc>;

const NOW = new Date('2026-11-26T12:00:00Z');
const IDENTITY = { givenName: 'Léa', familyName: 'Martin', birthDate: '2019-03-12' };

/** A member id (43 base64url characters) whose first 16 characters are unique per `tag`. */
const memberId = (tag: string) => `${tag}${'0'.repeat(16 - tag.length)}${'x'.repeat(27)}`;
const authorOf = (id: string) => `device:${id.slice(0, 16)}`;

const JULIEN = { phone: memberId('JulienPhone'), laptop: memberId('JulienLaptop') };
const CLAIRE = { phone: memberId('ClairePhone'), tablet: memberId('ClaireTablet') };
const GRANNY = memberId('Granny');
const RECOVERY = memberId('Recovery');
const UNNAMED = memberId('Zunnamed');

const ctxOf = (id: string, minutes = 0): RecordContext => ({
	author: authorOf(id),
	now: new Date(NOW.getTime() + minutes * 60_000)
});

function newRecord(): Doc {
	return Automerge.change(Automerge.init<RecordDoc>(), (d) => {
		initRecord(d, IDENTITY, ctxOf(JULIEN.phone));
		ensureDevices(d);
	});
}

/** Forks a document the way a second device gets it: same history, its own actor. */
function fork(doc: Doc, actor: string): Doc {
	return Automerge.clone(doc, { actor: actor.padStart(32, '0') });
}

/** The issues `fn` throws, checking that it wrote nothing to `doc` first. */
function refusal(doc: Doc, fn: (d: RecordDoc) => void): readonly Issue[] {
	let issues: readonly Issue[] | undefined;
	const after = Automerge.change(doc, (d) => {
		try {
			fn(d);
		} catch (error) {
			if (!(error instanceof RecordValidationError)) throw error;
			issues = error.issues;
		}
	});
	expect(Automerge.getHeads(after)).toEqual(Automerge.getHeads(doc));
	if (issues === undefined) throw new Error('expected a RecordValidationError');
	return issues;
}

/** The record of Léa held by both parents (two devices each), a grandmother and a device not named yet. */
function familyRecord(): Doc {
	const julien = { id: JULIEN.phone, name: 'Julien Martin' };
	const claire = { id: CLAIRE.phone, name: 'Claire Durand' };
	return Automerge.change(newRecord(), (d) => {
		setDeviceName(d, JULIEN.phone, 'Pixel 8', julien);
		setDeviceName(d, JULIEN.laptop, 'ThinkPad', julien);
		setDeviceName(d, CLAIRE.phone, 'iPhone', claire);
		setDeviceName(d, CLAIRE.tablet, 'iPad', claire);
		setDeviceName(d, GRANNY, 'Tablette', { id: GRANNY, name: 'Mamie Jo' });
	});
}

const MEMBERS: readonly RecordMember[] = [
	{ memberId: JULIEN.phone, role: 'admin' },
	{ memberId: JULIEN.laptop, role: 'admin' },
	{ memberId: CLAIRE.phone, role: 'admin' },
	{ memberId: CLAIRE.tablet, role: 'admin' },
	{ memberId: GRANNY, role: 'reader' },
	{ memberId: RECOVERY, role: 'recovery' },
	{ memberId: UNNAMED, role: 'admin' }
];

describe('device entries with their person', () => {
	it('reads old entries with the fallback person and new ones with theirs', () => {
		const doc = Automerge.change(newRecord(), (d) => {
			// Written before people existed.
			(d as unknown as { devices: Record<string, unknown> }).devices[CLAIRE.phone] = toStored({ name: 'iPhone' });
			setDeviceName(d, JULIEN.phone, '  Pixel 8 ', { id: JULIEN.phone, name: ' Julien Martin ' });
		});
		expect(deviceEntries(doc)).toEqual(
			new Map([
				[CLAIRE.phone, { name: 'iPhone', person: { id: CLAIRE.phone, name: 'iPhone' } }],
				[JULIEN.phone, { name: 'Pixel 8', person: { id: JULIEN.phone, name: 'Julien Martin' } }]
			])
		);
		expect(deviceNames(doc)).toEqual(new Map([[CLAIRE.phone, 'iPhone'], [JULIEN.phone, 'Pixel 8']]));
	});

	it('keeps the person on a rename, writes nothing for the current entry, and takes a new person', () => {
		const person = { id: JULIEN.phone, name: 'Julien Martin' };
		let doc = Automerge.change(newRecord(), (d) => setDeviceName(d, JULIEN.laptop, 'ThinkPad', person));
		doc = Automerge.change(doc, (d) => setDeviceName(d, JULIEN.laptop, 'Laptop'));
		expect(deviceEntries(doc).get(JULIEN.laptop)).toEqual({ name: 'Laptop', person });
		for (const same of [undefined, person, { ...person, name: '  Julien Martin' }]) {
			const again = Automerge.change(doc, (d) => setDeviceName(d, JULIEN.laptop, 'Laptop', same));
			expect(Automerge.getHeads(again)).toEqual(Automerge.getHeads(doc));
		}
		doc = Automerge.change(doc, (d) => setDeviceName(d, JULIEN.laptop, 'Laptop', { ...person, name: 'Julien' }));
		expect(deviceEntries(doc).get(JULIEN.laptop)?.person).toEqual({ id: JULIEN.phone, name: 'Julien' });
		// An old entry renamed stays old: its person keeps following its name.
		doc = Automerge.change(doc, (d) => {
			(d as unknown as { devices: Record<string, unknown> }).devices[CLAIRE.phone] = toStored({ name: 'iPhone' });
		});
		doc = Automerge.change(doc, (d) => setDeviceName(d, CLAIRE.phone, 'iPhone 15'));
		expect(deviceEntries(doc).get(CLAIRE.phone)).toEqual({ name: 'iPhone 15', person: { id: CLAIRE.phone, name: 'iPhone 15' } });
	});

	it('refuses a bad name or person before writing anything', () => {
		const doc = Automerge.change(newRecord(), (d) => setDeviceName(d, JULIEN.phone, 'Pixel 8'));
		const write = (name: unknown, person?: unknown) => (d: RecordDoc) => setDeviceName(d, JULIEN.phone, name, person);
		const good = { id: JULIEN.phone, name: 'Julien' };
		expect(refusal(doc, write('  ', good))).toEqual([{ field: 'name', code: 'required' }]);
		expect(refusal(doc, write('x'.repeat(65), good))).toEqual([{ field: 'name', code: 'too_long', params: { max: 64 } }]);
		expect(refusal(doc, write('Pixel', null))).toEqual([{ field: 'person', code: 'invalid_type' }]);
		expect(refusal(doc, write('Pixel', 'Julien'))).toEqual([{ field: 'person', code: 'invalid_type' }]);
		expect(refusal(doc, write('Pixel', { id: 'short', name: 'Julien' }))).toEqual([{ field: 'person.id', code: 'invalid_type' }]);
		expect(refusal(doc, write('Pixel', { id: JULIEN.phone, name: ' ' }))).toEqual([{ field: 'person.name', code: 'required' }]);
		expect(refusal(doc, write('Pixel', { id: JULIEN.phone }))).toEqual([{ field: 'person.name', code: 'required' }]);
		expect(refusal(doc, write('Pixel', { id: JULIEN.phone, name: '😀'.repeat(65) }))).toEqual([
			{ field: 'person.name', code: 'too_long', params: { max: 64 } }
		]);
		expect(() => Automerge.change(doc, (d) => setDeviceName(d, 'not a member id', 'Pixel', good))).toThrow(TypeError);
		expect(deviceEntries(doc).get(JULIEN.phone)).toEqual({ name: 'Pixel 8', person: { id: JULIEN.phone, name: 'Pixel 8' } });
	});

	it('leaves out entries whose name does not read, and reads a bad person as the fallback', () => {
		const doc = Automerge.change(newRecord(), (d) => {
			const devices = (d as unknown as { devices: Record<string, unknown> }).devices;
			devices[JULIEN.phone] = new Automerge.ImmutableString('not JSON');
			devices[JULIEN.laptop] = toStored({ name: 'x'.repeat(65) });
			devices[CLAIRE.phone] = new Uint8Array([0xff, 0xfe]);
			devices[RECOVERY] = toStored({ person: { id: RECOVERY, name: 'No device name' } });
			// Bytes read like strings, as everywhere in the record.
			devices[UNNAMED] = toStoredBytes({ name: 'Bytes' });
			devices[CLAIRE.tablet] = toStored({ name: 'iPad', person: { id: 'nope', name: 'Claire' } });
			devices[GRANNY] = toStored({ name: 'Tablette', person: { id: GRANNY, name: '' } });
		});
		expect(deviceEntries(doc)).toEqual(
			new Map([
				[CLAIRE.tablet, { name: 'iPad', person: { id: CLAIRE.tablet, name: 'iPad' } }],
				[GRANNY, { name: 'Tablette', person: { id: GRANNY, name: 'Tablette' } }],
				[UNNAMED, { name: 'Bytes', person: { id: UNNAMED, name: 'Bytes' } }]
			])
		);
		expect(deviceEntries(Automerge.change(Automerge.init<RecordDoc>(), (d) => initRecord(d, IDENTITY, ctxOf(GRANNY)))).size).toBe(0);
	});
});

describe('people', () => {
	it('groups two parents with two devices each, a reader, the recovery key and an unnamed device', () => {
		expect(people(familyRecord(), MEMBERS)).toEqual([
			{
				personId: CLAIRE.phone,
				name: 'Claire Durand',
				role: 'guardian',
				devices: [
					{ memberId: CLAIRE.tablet, name: 'iPad', role: 'admin' },
					{ memberId: CLAIRE.phone, name: 'iPhone', role: 'admin' }
				]
			},
			{
				personId: JULIEN.phone,
				name: 'Julien Martin',
				role: 'guardian',
				devices: [
					{ memberId: JULIEN.phone, name: 'Pixel 8', role: 'admin' },
					{ memberId: JULIEN.laptop, name: 'ThinkPad', role: 'admin' }
				]
			},
			{ personId: GRANNY, name: 'Mamie Jo', role: 'reader', devices: [{ memberId: GRANNY, name: 'Tablette', role: 'reader' }] },
			{ personId: RECOVERY, name: 'Recovery', role: 'recovery', devices: [{ memberId: RECOVERY, name: 'Recovery', role: 'recovery' }] },
			{ personId: UNNAMED, name: 'Zunnamed', role: 'guardian', devices: [{ memberId: UNNAMED, name: 'Zunnamed', role: 'admin' }] }
		]);
	});

	it('lists current members only, names a person alike everywhere, and makes guardians of any admin device', () => {
		let doc = familyRecord();
		// Julien renamed himself on his laptop; his phone has not caught up. His phone's entry
		// names him while it is a member, then the least member id's.
		doc = Automerge.change(doc, (d) => setDeviceName(d, JULIEN.laptop, 'ThinkPad', { id: JULIEN.phone, name: 'Julien M.' }));
		const julien = (members: readonly RecordMember[]) => people(doc, members).find((p) => p.personId === JULIEN.phone);
		expect(julien(MEMBERS)?.name).toBe('Julien Martin');
		const withoutPhone = MEMBERS.filter((m) => m.memberId !== JULIEN.phone);
		expect(julien(withoutPhone)).toEqual({
			personId: JULIEN.phone,
			name: 'Julien M.',
			role: 'guardian',
			devices: [{ memberId: JULIEN.laptop, name: 'ThinkPad', role: 'admin' }]
		});
		// A person with one reader device and one admin device is a guardian; with readers only, a reader.
		const mixed = MEMBERS.map((m) => (m.memberId === CLAIRE.phone ? { ...m, role: 'reader' as const } : m));
		expect(people(doc, mixed).find((p) => p.personId === CLAIRE.phone)?.role).toBe('guardian');
		const readers = mixed.map((m) => (m.memberId === CLAIRE.tablet ? { ...m, role: 'reader' as const } : m));
		expect(people(doc, readers).find((p) => p.personId === CLAIRE.phone)?.role).toBe('reader');
		expect(people(doc, [])).toEqual([]);
	});
});

describe('authorName', () => {
	it('names devices, professionals, and nothing else', () => {
		const doc = familyRecord();
		const view = recordView(doc, NOW);
		const pro = professionalAuthor('Dr Anne (Lyon) Dupont', '10101010101');
		const cases: [string, unknown][] = [
			[authorOf(JULIEN.laptop), { kind: 'device', person: 'Julien Martin', device: 'ThinkPad' }],
			[authorOf(CLAIRE.phone), { kind: 'device', person: 'Claire Durand', device: 'iPhone' }],
			[authorOf(UNNAMED), { kind: 'device', person: 'Zunnamed' }],
			[pro, { kind: 'professional', person: 'Dr Anne (Lyon) Dupont' }],
			['device-A', null],
			['device:short', null],
			['pro:Dr Nobody', null],
			['', null]
		];
		for (const [author, expected] of cases) {
			expect(authorName(doc, author)).toEqual(expected);
			expect(view.authorName(author)).toEqual(expected);
		}
	});

	it('names the authors of entries and activity lines through the view', () => {
		let doc = familyRecord();
		doc = Automerge.change(doc, (d) => addEntry(d, 'allergies', { substance: 'Arachide' }, ctxOf(CLAIRE.tablet, 5)));
		const view = recordView(doc, NOW);
		expect(view.authorName(view.sections.allergies[0].createdBy)).toEqual({ kind: 'device', person: 'Claire Durand', device: 'iPad' });
		expect(view.authorName(view.activity[0].author)?.person).toBe('Claire Durand');
		// Methods, so views still compare and serialise as plain data.
		expect(Object.keys(view)).not.toContain('authorName');
		expect(Object.keys(view)).not.toContain('conflicts');
	});
});

describe('conflicts', () => {
	/** The record with one vaccination, forked to Julien's phone and Claire's phone. */
	function forked(): { base: Doc; id: string; julien: Doc; claire: Doc } {
		let id = '';
		const base = Automerge.change(familyRecord(), (d) => {
			id = addEntry(d, 'vaccinations', { vaccine: 'DTP', date: '2026-11-20', lot: 'AA000' }, ctxOf(JULIEN.phone));
		});
		return { base, id, julien: fork(base, 'aa'), claire: fork(base, 'bb') };
	}

	it('shows the losing value and its author on both sides, the same winner everywhere', () => {
		const { id, julien, claire } = forked();
		const j = Automerge.change(julien, (d) => editEntry(d, 'vaccinations', id, { lot: 'AB123' }, ctxOf(JULIEN.phone, 1)));
		const c = Automerge.change(claire, (d) =>
			editEntry(d, 'vaccinations', id, { lot: 'CD456', note: 'Bras gauche' }, ctxOf(CLAIRE.phone, 2))
		);
		const jc = Automerge.merge(Automerge.clone(j), c);
		const cj = Automerge.merge(Automerge.clone(c), j);
		const [viewJC, viewCJ] = [recordView(jc, NOW), recordView(cj, NOW)];
		expect(viewCJ).toEqual(viewJC);
		const shown = viewJC.sections.vaccinations[0];
		expect(['AB123', 'CD456']).toContain(shown.lot);
		const expected =
			shown.lot === 'AB123'
				? [
						{
							author: authorOf(CLAIRE.phone),
							updatedAt: '2026-11-26T12:02:00.000Z',
							differences: [
								{ name: 'lot', value: 'CD456' },
								{ name: 'note', value: 'Bras gauche' }
							]
						}
					]
				: [
						{
							author: authorOf(JULIEN.phone),
							updatedAt: '2026-11-26T12:01:00.000Z',
							// Julien's version has no note: the field it would clear says so.
							differences: [
								{ name: 'lot', value: 'AB123' },
								{ name: 'note', value: undefined }
							]
						}
					];
		expect(viewJC.conflicts('vaccinations', id)).toEqual(expected);
		expect(viewCJ.conflicts('vaccinations', id)).toEqual(expected);
		expect(viewJC.authorName(expected[0].author)?.person).toBe(shown.lot === 'AB123' ? 'Claire Durand' : 'Julien Martin');
		expect(recordView(j, NOW).conflicts('vaccinations', id)).toEqual([]);
		expect(viewJC.conflicts('vaccinations', 'Z'.repeat(22))).toEqual([]);
		expect(viewJC.conflicts('allergies', id)).toEqual([]);

		// A later edit, on either side, settles it for everyone.
		const settled = Automerge.change(jc, (d) => editEntry(d, 'vaccinations', id, { lot: 'EF789' }, ctxOf(CLAIRE.tablet, 3)));
		expect(recordView(settled, NOW).conflicts('vaccinations', id)).toEqual([]);
		const synced = Automerge.merge(Automerge.clone(cj), settled);
		expect(recordView(synced, NOW).conflicts('vaccinations', id)).toEqual([]);
		expect(recordView(synced, NOW).sections.vaccinations[0].lot).toBe('EF789');
	});

	it('shows nothing when both sides wrote the same fields', () => {
		const { id, julien, claire } = forked();
		const j = Automerge.change(julien, (d) => editEntry(d, 'vaccinations', id, { lot: 'AB123' }, ctxOf(JULIEN.phone, 1)));
		const c = Automerge.change(claire, (d) => editEntry(d, 'vaccinations', id, { lot: 'AB123' }, ctxOf(CLAIRE.phone, 2)));
		const merged = Automerge.merge(Automerge.clone(j), c);
		expect(Object.keys(Automerge.getConflicts(merged.sections.vaccinations[id[0]], id) ?? {})).toHaveLength(2);
		expect(recordView(merged, NOW).conflicts('vaccinations', id)).toEqual([]);
	});
});

describe('conflicts converge', () => {
	type Edit = { readonly pick: number; readonly n: number };
	const DEVICES = [JULIEN.phone, CLAIRE.phone, CLAIRE.tablet];

	it('gives equal views and equal conflicts whatever the merge order', () => {
		let ids: string[] = [];
		const base = Automerge.change(familyRecord(), (d) => {
			ids = ['AA1', 'BB2', 'CC3'].map((lot) =>
				addEntry(d, 'vaccinations', { vaccine: 'ROR', date: '2026-11-01', lot }, ctxOf(JULIEN.phone))
			);
		});
		const plan = fc.array(fc.record({ pick: fc.nat(ids.length - 1), n: fc.nat(3) }), { maxLength: 4 });
		// Device `device`'s `i`th edit: a lot of its own, and a note set or cleared.
		const edit = (doc: Doc, device: number, { pick, n }: Edit, i: number) =>
			Automerge.change(doc, (d) =>
				editEntry(d, 'vaccinations', ids[pick], { lot: `L${device}${n}`, note: n % 2 ? 'rappel' : '' }, ctxOf(DEVICES[device], i + 1))
			);
		const permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] as const;
		let conflicted = 0;

		fc.assert(
			fc.property(fc.tuple(plan, plan, plan), fc.array(fc.constantFrom(...permutations), { minLength: 3, maxLength: 3 }), (plans, orders) => {
				const played = plans.map((edits, device) =>
					edits.reduce((doc, e, i) => edit(doc, device, e, i), fork(base, `${device + 1}${device + 1}`))
				);
				const changes = played.map((doc) => Automerge.getChanges(base, doc));
				// A device (the first of the order) receives the two others' changes in that order.
				const results = orders.map(([first, ...others]) =>
					others.reduce((doc, device) => Automerge.applyChanges(doc, changes[device])[0], Automerge.clone(played[first]))
				);
				const seen = results.map((doc) => {
					const view = recordView(doc, NOW);
					return JSON.stringify([view, ids.map((id) => view.conflicts('vaccinations', id))]);
				});
				expect(seen[1]).toBe(seen[0]);
				expect(seen[2]).toBe(seen[0]);
				// Each entry shows at most one losing version per other device that edited it.
				const view = recordView(results[0], NOW);
				if (ids.some((id) => view.conflicts('vaccinations', id).length > 0)) conflicted++;
				for (const id of ids) {
					const editors = new Set(plans.flatMap((edits, device) => (edits.some((e) => ids[e.pick] === id) ? [device] : [])));
					expect(view.conflicts('vaccinations', id).length).toBeLessThanOrEqual(Math.max(0, editors.size - 1));
				}
			}),
			{ numRuns: 40 }
		);
		// The plans do make devices edit the same entries concurrently.
		expect(conflicted).toBeGreaterThan(0);
	});
});
