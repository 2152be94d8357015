import * as Automerge from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { fillSampleRecord } from '../../bench/sample-record';
import {
	ACTIVITY_VIEW_LIMIT,
	DOCUMENT_TYPE_IDS,
	DOCUMENT_TYPES,
	FIELDS,
	LIST_SECTIONS,
	MEASUREMENT_KIND_IDS,
	RecordValidationError,
	SECTIONS,
	addEntry,
	conflicts,
	editEntry,
	initRecord,
	recordView,
	removeEntry,
	setHidden,
	setSingleton,
	validate,
	type Issue,
	type ListSectionId,
	type RecordContext,
	type RecordDoc
} from '../../src/lib/core/record';
import { storedText } from '../../src/lib/core/record/layout';

// Noon UTC: the same calendar day in every time zone the tests may run in.
const NOW = new Date('2026-11-26T12:00:00Z');
const ctx: RecordContext = { author: 'device-A', now: NOW };
const IDENTITY = { givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07' };

/** The context `minutes` after NOW: activity lines sort by time, so tests that read them space operations out. */
function later(minutes: number, author = 'device-A'): RecordContext {
	return { author, now: new Date(NOW.getTime() + minutes * 60_000) };
}

type Doc = Automerge.Doc<RecordDoc>;

function newRecord(): Doc {
	return Automerge.change(Automerge.init<RecordDoc>(), (d) => initRecord(d, IDENTITY, ctx));
}

function add(doc: Doc, section: ListSectionId, input: Record<string, unknown>, at = ctx): [Doc, string] {
	let id = '';
	const next = Automerge.change(doc, (d) => {
		id = addEntry(d, section, input, at);
	});
	return [next, id];
}

function change(doc: Doc, fn: (d: RecordDoc) => void): Doc {
	return Automerge.change(doc, fn);
}

/** Forks a document the way a second device gets it: same history, its own actor. */
function fork(doc: Doc): Doc {
	return Automerge.load<RecordDoc>(Automerge.save(doc));
}

function issuesOf(fn: () => unknown): readonly Issue[] {
	try {
		fn();
	} catch (error) {
		if (error instanceof RecordValidationError) return error.issues;
		throw error;
	}
	throw new Error('expected a RecordValidationError');
}

function issues(section: Parameters<typeof validate>[0], input: unknown): readonly Issue[] {
	const result = validate(section, input, NOW);
	return result.ok ? [] : result.issues;
}

function value(section: Parameters<typeof validate>[0], input: unknown): Record<string, unknown> {
	const result = validate(section, input, NOW);
	if (!result.ok) throw new Error(JSON.stringify(result.issues));
	return result.value;
}

/** Asserts that an operation rejects `input` before writing: thrown out of `change`, or caught inside it. */
function expectUntouched(doc: Doc, op: (d: RecordDoc) => void): readonly Issue[] {
	const before = Automerge.save(doc);
	const found = issuesOf(() => Automerge.change(doc, op));
	expect(Automerge.save(doc)).toEqual(before);
	const after = Automerge.change(doc, (d) => {
		expect(issuesOf(() => op(d))).toEqual(found);
	});
	// Nothing was written before the throw: the change is empty, the document the same.
	expect(after).toBe(doc);
	expect(Automerge.save(after)).toEqual(before);
	return found;
}

describe('field descriptors and tables', () => {
	it('describes every section, required fields as specified', () => {
		expect(Object.keys(FIELDS)).toEqual([...SECTIONS]);
		const required = Object.fromEntries(
			SECTIONS.map((s) => [s, FIELDS[s].filter((f) => f.required).map((f) => f.name)])
		);
		expect(required).toEqual({
			identity: ['givenName', 'familyName', 'birthDate'],
			contacts: ['name', 'phone'],
			allergies: ['substance'],
			history: ['kind', 'name'],
			treatments: ['name'],
			vaccinations: ['vaccine', 'date'],
			measurements: ['kind', 'value', 'date'],
			directives: [],
			visits: ['date', 'professional'],
			documents: ['type', 'title', 'date']
		});
		for (const s of SECTIONS) {
			for (const f of FIELDS[s]) {
				expect(f.kind === 'select', `${s}.${f.name}`).toBe(f.options !== undefined);
			}
		}
		expect(FIELDS.contacts.find((f) => f.name === 'trustedPerson')?.kind).toBe('checkbox');
		expect(FIELDS.identity.find((f) => f.name === 'givenName')?.maxLength).toBe(200);
		expect(FIELDS.measurements.find((f) => f.name === 'kind')?.options).toEqual(MEASUREMENT_KIND_IDS);
	});

	it('maps the DMP document classes to LOINC', () => {
		expect(new Set(DOCUMENT_TYPE_IDS).size).toBe(DOCUMENT_TYPES.length);
		expect(FIELDS.documents.find((f) => f.name === 'type')?.options).toEqual(DOCUMENT_TYPE_IDS);
		const loinc = Object.fromEntries(DOCUMENT_TYPES.map((t) => [t.id, t.loinc.code]));
		expect(loinc).toMatchObject({ 'lab-report': '11502-2', 'imaging-report': '18748-4', summary: '60591-5' });
		for (const t of DOCUMENT_TYPES) {
			expect(t.loinc.code).toMatch(/^\d{1,6}-\d$/);
			expect(t.dmpClass.code).toMatch(/^\d{2}$/);
		}
	});
});

describe('validate', () => {
	it('trims, drops empty values and reads French decimals', () => {
		expect(value('identity', { ...IDENTITY, givenName: '  Marie ', sex: '', phone: null, address: '   ' })).toEqual(IDENTITY);
		expect(value('measurements', { kind: 'weight', value: '72,5', date: '2026-11-25T08:00' })).toMatchObject({ value: 72.5 });
		expect(value('measurements', { kind: 'weight', value: ' 72.5 ', date: '2026-11-25T08:00' })).toMatchObject({ value: 72.5 });
	});

	it('names the missing and the too long', () => {
		expect(issues('identity', { givenName: ' ', birthDate: '1967-11-07' })).toEqual([
			{ field: 'givenName', code: 'required' },
			{ field: 'familyName', code: 'required' }
		]);
		expect(issues('identity', { ...IDENTITY, familyName: 'x'.repeat(201) })).toEqual([
			{ field: 'familyName', code: 'too_long', params: { max: 200 } }
		]);
		expect(issues('contacts', { name: 'A', phone: '0612345678', note: 'x'.repeat(4001) })).toEqual([
			{ field: 'note', code: 'too_long', params: { max: 4000 } }
		]);
	});

	it('checks dates: real, in range, not in the future where it matters', () => {
		for (const birthDate of ['2023-02-29', '2023-13-01', 'hier', '07/11/1967']) {
			expect(issues('identity', { ...IDENTITY, birthDate })).toEqual([{ field: 'birthDate', code: 'invalid_date' }]);
		}
		expect(value('identity', { ...IDENTITY, birthDate: '2024-02-29' })).toBeTruthy();
		expect(value('identity', { ...IDENTITY, birthDate: '2026-11-26' })).toBeTruthy();
		expect(issues('identity', { ...IDENTITY, birthDate: '2026-11-27' })).toEqual([
			{ field: 'birthDate', code: 'date_in_future' }
		]);
		expect(issues('identity', { ...IDENTITY, birthDate: '1899-12-31' })).toEqual([
			{ field: 'birthDate', code: 'out_of_range', params: { min: '1900-01-01', max: '2100-12-31' } }
		]);
		// A visit may be planned.
		expect(value('visits', { date: '2027-01-10', professional: 'Dr Martin' })).toBeTruthy();
		// Reported with the other fields' problems, not after them.
		expect(issues('identity', { givenName: 'M', birthDate: '2030-01-01' })).toEqual([
			{ field: 'familyName', code: 'required' },
			{ field: 'birthDate', code: 'date_in_future' }
		]);
	});

	it('checks local datetimes', () => {
		const m = { kind: 'heart-rate', value: 60 };
		expect(value('measurements', { ...m, date: '2026-11-25T08:00' })).toBeTruthy();
		expect(value('measurements', { ...m, date: '2026-11-25T08:00:30' })).toBeTruthy();
		for (const date of ['2026-11-25 08:00', '2026-11-25T08:00Z', '2026-02-30T08:00', '2026-11-25T24:00']) {
			expect(issues('measurements', { ...m, date })).toEqual([{ field: 'date', code: 'invalid_date' }]);
		}
		expect(issues('measurements', { ...m, date: '2026-11-27T08:00' })).toEqual([{ field: 'date', code: 'date_in_future' }]);
	});

	it('orders dates, naming the later field', () => {
		expect(issues('treatments', { name: 'X', startDate: '2026-03-02', endDate: '2026-03-01' })).toEqual([
			{ field: 'endDate', code: 'date_order', params: { after: 'startDate' } }
		]);
		expect(value('treatments', { name: 'X', startDate: '2026-03-02', endDate: '2026-03-02' })).toBeTruthy();
		expect(value('treatments', { name: 'X', endDate: '2026-03-02' })).toBeTruthy();
		expect(issues('vaccinations', { vaccine: 'DTP', date: '2026-03-02', nextDue: '2025-03-02' })).toEqual([
			{ field: 'nextDue', code: 'date_order', params: { after: 'date' } }
		]);
	});

	it('checks measurements per kind', () => {
		const date = '2026-11-25T08:00';
		expect(issues('measurements', { kind: 'weight', value: 'abc', date })).toEqual([{ field: 'value', code: 'not_a_number' }]);
		expect(issues('measurements', { kind: 'weight', value: 0, date })).toEqual([
			{ field: 'value', code: 'out_of_range', params: { min: 0 } }
		]);
		expect(issues('measurements', { kind: 'weight', value: 900, date })).toEqual([
			{ field: 'value', code: 'out_of_range', params: { min: 0, max: 700 } }
		]);
		expect(value('measurements', { kind: 'weight', value: 70, date })).toMatchObject({ unit: 'kg' });
		expect(issues('measurements', { kind: 'weight', value: 70, unit: 'lb', date })).toEqual([
			{ field: 'unit', code: 'invalid_option', params: { options: 'kg' } }
		]);
		// French laboratories give glucose in g/L; meters may use mmol/L, with their own range.
		expect(value('measurements', { kind: 'glucose', value: 1.1, date })).toMatchObject({ unit: 'g/L' });
		expect(issues('measurements', { kind: 'glucose', value: 12, date })).toEqual([
			{ field: 'value', code: 'out_of_range', params: { min: 0, max: 10 } }
		]);
		expect(value('measurements', { kind: 'glucose', value: 12, unit: 'mmol/L', date })).toMatchObject({ value: 12 });
		expect(issues('measurements', { kind: 'blood-pressure', value: 130, date })).toEqual([{ field: 'value2', code: 'required' }]);
		expect(value('measurements', { kind: 'blood-pressure', value: 130, value2: '85', date })).toMatchObject({
			value2: 85,
			unit: 'mmHg'
		});
		expect(issues('measurements', { kind: 'other', value: 97, date })).toEqual([
			{ field: 'unit', code: 'required' },
			{ field: 'label', code: 'required' }
		]);
		expect(value('measurements', { kind: 'other', value: 97, unit: '%', label: 'SpO2', date })).toMatchObject({ unit: '%' });
	});

	it('checks options, e-mail, phone and types', () => {
		expect(issues('identity', { ...IDENTITY, bloodGroup: 'Z+' })).toEqual([{ field: 'bloodGroup', code: 'invalid_option' }]);
		expect(value('identity', { ...IDENTITY, bloodGroup: 'AB-' })).toMatchObject({ bloodGroup: 'AB-' });
		const contact = { name: 'Paul', phone: '06 12 34 56 78' };
		expect(issues('contacts', { ...contact, email: 'paul@' })).toEqual([{ field: 'email', code: 'invalid_email' }]);
		for (const phone of ['+33 6 12 34 56 78', '01.23.45.67.89', '(01) 23-45-67-89']) {
			expect(value('contacts', { ...contact, phone })).toMatchObject({ phone });
		}
		for (const phone of ['12', 'appelle-moi', '+33 6 12 34 56 78 90 12 34']) {
			expect(issues('contacts', { ...contact, phone })).toEqual([{ field: 'phone', code: 'invalid_phone' }]);
		}
		expect(issues('contacts', { ...contact, trustedPerson: 'oui' })).toEqual([{ field: 'trustedPerson', code: 'invalid_type' }]);
		expect(value('contacts', { ...contact, trustedPerson: true })).toMatchObject({ trustedPerson: true });
	});

	it('rejects unknown fields, metadata and non-objects', () => {
		expect(issues('identity', { ...IDENTITY, nickname: 'M', age: 3 })).toEqual([
			{ field: 'nickname', code: 'unknown_field' },
			{ field: 'age', code: 'unknown_field' }
		]);
		expect(issues('documents', { type: 'lab-report', title: 'T', date: '2026-01-01', hidden: true, id: 'x' })).toEqual([
			{ field: 'hidden', code: 'read_only' },
			{ field: 'id', code: 'read_only' }
		]);
		expect(issues('identity', 'Marie')).toEqual([{ field: '', code: 'invalid_type' }]);
		expect(issues('identity', [IDENTITY])).toEqual([{ field: '', code: 'invalid_type' }]);
		expect(issues('activity' as never, {})).toEqual([{ field: 'section', code: 'invalid_option' }]);
	});

	it("judges the future by the device's clock when no time is given", () => {
		const tomorrow = new Date(Date.now() + 36 * 3600_000).toISOString().slice(0, 10);
		expect(validate('identity', { ...IDENTITY, birthDate: tomorrow })).toMatchObject({ ok: false });
	});
});

describe('operations', () => {
	it('initialises a record with its identity and layout', () => {
		const doc = newRecord();
		const view = recordView(doc, NOW);
		expect(view.identity).toEqual({ ...IDENTITY, updatedAt: NOW.toISOString(), updatedBy: 'device-A' });
		expect(view.directives).toBeNull();
		expect(view.activity).toEqual([
			{ id: expect.any(String), at: NOW.toISOString(), author: 'device-A', action: 'set', section: 'identity' }
		]);
		for (const s of LIST_SECTIONS) expect(Object.keys(doc.sections[s])).toHaveLength(64);
		expect(() => change(doc, (d) => initRecord(d, IDENTITY, ctx))).toThrow('already holds a record');
	});

	it('rejects a bad identity before creating anything', () => {
		const fresh = Automerge.init<RecordDoc>();
		expect(expectUntouched(fresh, (d) => initRecord(d, { givenName: 'M' }, ctx))).toEqual([
			{ field: 'familyName', code: 'required' },
			{ field: 'birthDate', code: 'required' }
		]);
	});

	it('adds an entry with its metadata and an activity line holding only its title', () => {
		const t = later(1);
		const input = { substance: 'Pénicilline', reaction: 'Urticaire', note: 'secret detail' };
		const [doc, id] = add(newRecord(), 'allergies', input, t);
		expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
		const view = recordView(doc, NOW);
		const at = t.now.toISOString();
		expect(view.sections.allergies).toEqual([
			{ ...input, id, createdAt: at, updatedAt: at, createdBy: 'device-A', updatedBy: 'device-A' }
		]);
		expect(view.activity[0]).toEqual({
			id: expect.any(String),
			at,
			author: 'device-A',
			action: 'add',
			section: 'allergies',
			entryId: id,
			summary: 'Pénicilline'
		});
		expect(JSON.stringify(view.activity)).not.toMatch(/secret|Urticaire/);
	});

	it('shortens long titles in the activity log', () => {
		const [doc] = add(newRecord(), 'documents', { type: 'certificate', title: 'é'.repeat(150), date: '2026-01-01' }, later(1));
		const summary = recordView(doc, NOW).activity[0].summary ?? '';
		expect([...summary]).toHaveLength(80);
		expect(summary.endsWith('…')).toBe(true);
	});

	it('rejects invalid input with the field named and the document byte-identical', () => {
		const [doc, id] = add(newRecord(), 'treatments', { name: 'Ramipril', startDate: '2026-01-01' });
		expect(expectUntouched(doc, (d) => addEntry(d, 'treatments', { dose: '5 mg' }, ctx))).toEqual([
			{ field: 'name', code: 'required' }
		]);
		expect(expectUntouched(doc, (d) => editEntry(d, 'treatments', id, { endDate: '2025-12-31' }, ctx))).toEqual([
			{ field: 'endDate', code: 'date_order', params: { after: 'startDate' } }
		]);
		expect(expectUntouched(doc, (d) => setSingleton(d, 'directives', { organDonation: 'maybe' }, ctx))).toEqual([
			{ field: 'organDonation', code: 'invalid_option' }
		]);
	});

	it('edits by merging the patch over the stored entry', () => {
		const [doc, id] = add(newRecord(), 'treatments', { name: 'Ramipril', dose: '5 mg', note: 'le matin' });
		const b = later(60, 'device-B');
		const edited = change(doc, (d) => editEntry(d, 'treatments', id, { dose: '10 mg', note: '' }, b));
		const [entry] = recordView(edited, NOW).sections.treatments;
		expect(entry).toEqual({
			name: 'Ramipril',
			dose: '10 mg',
			id,
			createdAt: NOW.toISOString(),
			createdBy: 'device-A',
			updatedAt: b.now.toISOString(),
			updatedBy: 'device-B'
		});
		expect(recordView(edited, NOW).activity[0]).toMatchObject({ action: 'edit', entryId: id, summary: 'Ramipril', author: 'device-B' });

		// The UI may hand back a view entry: matching metadata is ignored, and nothing changed means nothing written.
		expect(change(edited, (d) => editEntry(d, 'treatments', id, { ...entry }, ctx))).toBe(edited);
		expect(expectUntouched(edited, (d) => editEntry(d, 'treatments', id, { ...entry, createdBy: 'me' }, ctx))).toEqual([
			{ field: 'createdBy', code: 'read_only' }
		]);
	});

	it('reports an unknown id as not_found', () => {
		const [doc, id] = add(newRecord(), 'visits', { date: '2026-01-01', professional: 'Dr Martin' });
		const missing = 'A'.repeat(22);
		const notFound = [{ field: 'id', code: 'not_found' }];
		expect(expectUntouched(doc, (d) => editEntry(d, 'visits', missing, { reason: 'x' }, ctx))).toEqual(notFound);
		expect(expectUntouched(doc, (d) => editEntry(d, 'visits', '../etc', { reason: 'x' }, ctx))).toEqual(notFound);
		expect(expectUntouched(doc, (d) => editEntry(d, 'treatments', id, { name: 'x' }, ctx))).toEqual(notFound);
		expect(expectUntouched(doc, (d) => removeEntry(d, 'visits', missing, ctx))).toEqual(notFound);
		expect(expectUntouched(doc, (d) => setHidden(d, id, true, ctx))).toEqual(notFound);
	});

	it('removes an entry', () => {
		const [doc, id] = add(newRecord(), 'vaccinations', { vaccine: 'DTP', date: '2026-01-01' });
		const removed = change(doc, (d) => removeEntry(d, 'vaccinations', id, later(1)));
		const view = recordView(removed, NOW);
		expect(view.sections.vaccinations).toEqual([]);
		expect(view.activity[0]).toMatchObject({ action: 'remove', section: 'vaccinations', entryId: id, summary: 'DTP' });
		expect(expectUntouched(removed, (d) => removeEntry(d, 'vaccinations', id, ctx))).toEqual([{ field: 'id', code: 'not_found' }]);
	});

	it('hides and shows documents', () => {
		let [doc, id] = add(newRecord(), 'documents', { type: 'lab-report', title: 'Sérologie', date: '2026-01-01' });
		[doc] = add(doc, 'documents', { type: 'prescription', title: 'Ordonnance', date: '2026-02-01' });
		doc = change(doc, (d) => setHidden(d, id, true, later(1)));
		let view = recordView(doc, NOW);
		expect(view.sections.documents.map((d) => [d.title, d.hidden])).toEqual([
			['Ordonnance', false],
			['Sérologie', true]
		]);
		expect(view.summary.documents).toMatchObject({ visible: 1, hidden: 1 });
		expect(view.summary.documents.recent.map((d) => d.title)).toEqual(['Ordonnance']);
		expect(view.activity[0]).toMatchObject({ action: 'hide', entryId: id, summary: 'Sérologie' });
		expect(change(doc, (d) => setHidden(d, id, true, ctx))).toBe(doc);
		doc = change(doc, (d) => setHidden(d, id, false, later(2)));
		view = recordView(doc, NOW);
		expect(view.summary.documents).toMatchObject({ visible: 2, hidden: 0 });
		expect(view.activity[0]).toMatchObject({ action: 'unhide', entryId: id });
		expect(expectUntouched(doc, (d) => setHidden(d, id, 'yes' as never, ctx))).toEqual([{ field: 'hidden', code: 'invalid_type' }]);
	});

	it('sets the singletons as a whole', () => {
		const directives = { organDonation: 'yes', directivesLocation: 'Chez le notaire' };
		let doc = change(newRecord(), (d) => setSingleton(d, 'directives', directives, later(1)));
		doc = change(doc, (d) => setSingleton(d, 'identity', { ...IDENTITY, bloodGroup: 'O+' }, later(2)));
		let view = recordView(doc, NOW);
		expect(view.directives).toMatchObject({ organDonation: 'yes', directivesLocation: 'Chez le notaire', updatedBy: 'device-A' });
		expect(view.identity).toMatchObject({ bloodGroup: 'O+' });
		expect(view.activity.slice(0, 2).map((a) => [a.action, a.section])).toEqual([
			['set', 'identity'],
			['set', 'directives']
		]);
		// Absent fields are cleared; the same value again writes nothing.
		doc = change(doc, (d) => setSingleton(d, 'identity', IDENTITY, ctx));
		view = recordView(doc, NOW);
		expect(view.identity).not.toHaveProperty('bloodGroup');
		expect(change(doc, (d) => setSingleton(d, 'identity', IDENTITY, ctx))).toBe(doc);
		expect(expectUntouched(doc, (d) => setSingleton(d, 'contacts' as never, {}, ctx))).toEqual([
			{ field: 'section', code: 'invalid_option' }
		]);
	});

	it('refuses a bad context as a programming error', () => {
		const doc = newRecord();
		const entry = { vaccine: 'DTP', date: '2026-01-01' };
		expect(() => change(doc, (d) => addEntry(d, 'vaccinations', entry, { author: '', now: NOW }))).toThrow(TypeError);
		expect(() => change(doc, (d) => addEntry(d, 'vaccinations', entry, { author: 'a', now: new Date('x') }))).toThrow(TypeError);
	});
});

describe('views', () => {
	it('orders sections by their date, undated last, then by creation', () => {
		let doc = newRecord();
		const at = (iso: string) => ({ author: 'device-A', now: new Date(iso) });
		[doc] = add(doc, 'history', { kind: 'condition', name: 'Undated, old' }, at('2026-01-01T12:00:00Z'));
		[doc] = add(doc, 'history', { kind: 'condition', name: 'Undated, new' }, at('2026-02-01T12:00:00Z'));
		[doc] = add(doc, 'history', { kind: 'condition', name: '2020', date: '2020-05-01' });
		[doc] = add(doc, 'history', { kind: 'condition', name: '2024', date: '2024-05-01' });
		[doc] = add(doc, 'history', { kind: 'surgery', name: '2024 too, added later', date: '2024-05-01' }, at('2026-11-26T12:30:00Z'));
		expect(recordView(doc, NOW).sections.history.map((h) => h.name)).toEqual([
			'2024 too, added later',
			'2024',
			'2020',
			'Undated, new',
			'Undated, old'
		]);
	});

	it('summarises for the home cards', () => {
		let doc = newRecord();
		const entries: [ListSectionId, Record<string, unknown>][] = [
			['allergies', { substance: 'Low', criticality: 'low' }],
			['allergies', { substance: 'Unknown' }],
			['allergies', { substance: 'High', criticality: 'high' }],
			['allergies', { substance: 'Unsure', criticality: 'unable-to-assess' }],
			['history', { kind: 'condition', name: 'Asthme', status: 'active' }],
			['history', { kind: 'condition', name: 'Migraine' }],
			['history', { kind: 'condition', name: 'Varicelle', status: 'resolved' }],
			['history', { kind: 'surgery', name: 'Appendicectomie' }],
			['history', { kind: 'family', name: 'Diabète', relative: 'Mère' }],
			['treatments', { name: 'Chronic' }],
			['treatments', { name: 'Ends today', startDate: '2026-11-01', endDate: '2026-11-26' }],
			['treatments', { name: 'Ended', startDate: '2026-10-01', endDate: '2026-11-25' }],
			['treatments', { name: 'Planned', startDate: '2026-12-01' }],
			['vaccinations', { vaccine: 'DTP', date: '2005-01-01', nextDue: '2025-01-01' }],
			['vaccinations', { vaccine: 'dtp ', date: '2025-02-01', nextDue: '2045-02-01' }],
			['vaccinations', { vaccine: 'Grippe', date: '2025-10-01', nextDue: '2026-10-01' }],
			['vaccinations', { vaccine: 'Hépatite B', date: '2020-01-01' }],
			['vaccinations', { vaccine: 'Zona', date: '2026-01-01', nextDue: '2027-06-01' }],
			['contacts', { name: 'Zoé', phone: '0600000001' }],
			['contacts', { name: 'Yves', phone: '0600000002', trustedPerson: true }],
			['contacts', { name: 'Anne', phone: '0600000003', trustedPerson: false }],
			['measurements', { kind: 'weight', value: 70, date: '2026-01-01T08:00' }],
			['measurements', { kind: 'weight', value: 71, date: '2026-06-01T08:00' }],
			['measurements', { kind: 'glucose', value: 1.02, date: '2026-06-01T08:00' }],
			['measurements', { kind: 'other', value: 97, unit: '%', label: 'SpO2', date: '2026-06-01T08:00' }],
			['measurements', { kind: 'other', value: 400, unit: 'L/min', label: 'Débit de pointe', date: '2026-06-01T08:00' }],
			['measurements', { kind: 'blood-pressure', value: 120, value2: 80, date: '2026-03-01T08:00' }]
		];
		for (const [section, input] of entries) [doc] = add(doc, section, input);
		const { summary } = recordView(doc, NOW);
		expect(summary.allergies.map((a) => a.substance)).toEqual(['High', 'Unsure', 'Unknown', 'Low']);
		expect(summary.activeConditions.map((h) => h.name).sort()).toEqual(['Asthme', 'Migraine']);
		expect(summary.currentTreatments.map((t) => t.name).sort()).toEqual(['Chronic', 'Ends today']);
		expect(summary.vaccinationsDue.map((v) => [v.entry.vaccine, v.overdue])).toEqual([
			['Grippe', true],
			['Zona', false],
			['dtp', false]
		]);
		expect(summary.contacts.map((c) => c.name)).toEqual(['Yves', 'Anne', 'Zoé']);
		expect(summary.latestMeasurements.map((m) => [m.kind, m.label ?? m.value])).toEqual([
			['weight', 71],
			['blood-pressure', 120],
			['glucose', 1.02],
			['other', 'Débit de pointe'],
			['other', 'SpO2']
		]);
	});

	it('keeps the newest activity lines only', () => {
		let doc = newRecord();
		doc = change(doc, (d) => {
			for (let i = 0; i < ACTIVITY_VIEW_LIMIT + 20; i++) {
				const now = new Date(Date.UTC(2027, 0, 1) + i * 3600_000);
				addEntry(d, 'visits', { date: '2025-12-31', professional: `Dr ${i}` }, { author: 'a', now });
			}
		});
		const { activity } = recordView(doc, NOW);
		expect(activity).toHaveLength(ACTIVITY_VIEW_LIMIT);
		expect(activity[0].summary).toBe(`Dr ${ACTIVITY_VIEW_LIMIT + 19}`);
		expect(activity.every((a, i) => i === 0 || activity[i - 1].at >= a.at)).toBe(true);
	});

	it('skips unreadable entries and counts them', () => {
		let [doc, id] = add(newRecord(), 'allergies', { substance: 'Arachide' });
		const [good] = add(doc, 'allergies', { substance: 'Latex' });
		doc = good;
		const stored = JSON.parse(storedText(doc.sections.allergies[id[0]][id])!);
		const ids = ['B', 'C', 'D', 'E', 'F'].map((c) => c.repeat(22));
		doc = change(doc, (d) => {
			const put = (key: string, value: unknown) => {
				(d.sections.allergies[key[0]] as Record<string, unknown>)[key] = value;
			};
			const json = (value: object) => new Automerge.ImmutableString(JSON.stringify(value));
			put(ids[0], new Automerge.ImmutableString('{not json'));
			put(ids[1], json({ ...stored, criticality: 'deadly' }));
			put(ids[2], json({ ...stored, createdAt: 'yesterday' }));
			put(ids[3], 42);
			put(ids[4], json({ ...stored, extra: 1 }));
			d.identity = new Automerge.ImmutableString('[]');
			const month = Object.keys(d.activity)[0];
			d.activity[month][ids[0]] = new Automerge.ImmutableString('{"id":"nope"}');
		});
		const view = recordView(doc, NOW);
		expect(view.sections.allergies.map((a) => a.substance).sort()).toEqual(['Arachide', 'Latex']);
		expect(view.identity).toBeNull();
		expect(view.unreadable).toBe(7);
		// An unreadable entry is not editable, but it can be removed.
		expect(issuesOf(() => change(doc, (d) => editEntry(d, 'allergies', ids[0], { substance: 'x' }, ctx)))).toEqual([
			{ field: 'id', code: 'not_found' }
		]);
		doc = change(doc, (d) => removeEntry(d, 'allergies', ids[0], ctx));
		expect(recordView(doc, NOW).unreadable).toBe(6);
	});

	it('reads entries stored as bytes or as ImmutableStrings, and only UTF-8 JSON', () => {
		let [doc, id] = add(newRecord(), 'allergies', { substance: 'Arachide' });
		const bytes = doc.sections.allergies[id[0]][id];
		// Entries and activity lines are written as UTF-8 bytes (layout.ts).
		expect(bytes).toBeInstanceOf(Uint8Array);
		const text = storedText(bytes)!;
		const ids = ['G', 'H', 'I', 'J'].map((c) => c.repeat(22));
		doc = change(doc, (d) => {
			const bucket = (key: string) => d.sections.allergies[key[0]] as Record<string, unknown>;
			// As records written before entries became bytes hold them: readable, editable, removable.
			bucket(ids[0])[ids[0]] = new Automerge.ImmutableString(text.replace('Arachide', 'Latex'));
			bucket(ids[1])[ids[1]] = Uint8Array.of(0x7b, 0xff, 0x7d);
			bucket(ids[2])[ids[2]] = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]);
			bucket(ids[3])[ids[3]] = new TextEncoder().encode(text.replace('Arachide', 'Pollen'));
		});
		const view = recordView(doc, NOW);
		expect(view.sections.allergies.map((a) => a.substance).sort()).toEqual(['Arachide', 'Latex', 'Pollen']);
		expect(view.unreadable).toBe(2);
		doc = change(doc, (d) => editEntry(d, 'allergies', ids[0], { substance: 'Latex naturel' }, later(1)));
		expect(doc.sections.allergies[ids[0][0]][ids[0]]).toBeInstanceOf(Uint8Array);
		expect(recordView(doc, NOW).sections.allergies.find((a) => a.id === ids[0])?.substance).toBe('Latex naturel');
		doc = change(doc, (d) => removeEntry(d, 'allergies', ids[1], later(2)));
		expect(recordView(doc, NOW).unreadable).toBe(1);
	});

	it('reads a document that holds no record as empty', () => {
		const view = recordView(Automerge.init<RecordDoc>(), NOW);
		expect(view.identity).toBeNull();
		expect(view.sections.documents).toEqual([]);
		expect(view.activity).toEqual([]);
		expect(view.unreadable).toBe(0);
		expect(() => change(Automerge.init<RecordDoc>(), (d) => addEntry(d, 'visits', { date: '2026-01-01', professional: 'X' }, ctx))).toThrow(
			'Not a Carnet record'
		);
	});

	it('shares frozen arrays and entries between views of the same document', () => {
		const [doc] = add(newRecord(), 'visits', { date: '2026-01-01', professional: 'Dr Martin' });
		const a = recordView(doc, NOW);
		const b = recordView(doc, NOW);
		expect(a.sections.visits).toBe(b.sections.visits);
		expect(a.sections.visits[0]).toBe(b.sections.visits[0]);
		for (const shared of [a, a.sections, a.sections.visits, a.sections.visits[0], a.summary, a.summary.allergies, a.activity, a.activity[0]]) {
			expect(Object.isFrozen(shared)).toBe(true);
		}
		expect(() => (a.sections.visits as unknown[]).push({})).toThrow();
	});

	it('can still be read once its document is freed', () => {
		const [doc] = add(newRecord(), 'visits', { date: '2026-01-01', professional: 'Dr Martin' });
		const view = recordView(doc, NOW);
		// A copy that shares no object with `doc`, freed before its view is read (a record
		// closed under a view the UI still held).
		const copy = fork(doc);
		const unread = recordView(copy, NOW);
		Automerge.free(copy);
		expect(JSON.stringify(unread)).toBe(JSON.stringify(view));
	});

	it('rebuilds only what a change touched, and reflects it', () => {
		let doc = newRecord();
		let visit: string;
		[doc, visit] = add(doc, 'visits', { date: '2026-01-01', professional: 'Dr Martin' });
		[doc] = add(doc, 'allergies', { substance: 'Latex', criticality: 'low' });
		const before = recordView(doc, NOW);
		void before.summary.allergies;
		const [edited] = add(doc, 'allergies', { substance: 'Arachide', criticality: 'high' }, later(1));
		const after = recordView(edited, NOW);
		expect(after.sections.visits).toBe(before.sections.visits);
		expect(after.summary.contacts).toBe(before.summary.contacts);
		expect(after.sections.allergies).not.toBe(before.sections.allergies);
		expect(after.summary.allergies.map((a) => a.substance)).toEqual(['Arachide', 'Latex']);
		expect(after.activity[0]).toMatchObject({ action: 'add', summary: 'Arachide' });
		// The earlier view still shows the earlier document.
		expect(before.summary.allergies.map((a) => a.substance)).toEqual(['Latex']);
		const removed = change(edited, (d) => removeEntry(d, 'visits', visit, later(2)));
		expect(recordView(removed, NOW).sections.visits).toEqual([]);
		expect(recordView(edited, NOW).sections.visits).toHaveLength(1);
	});
});

describe('layout', () => {
	it('keeps every map small on a 5,000-entry record', () => {
		const doc = change(newRecord(), (d) => {
			fillSampleRecord(d, 5000, ctx);
		});
		const view = recordView(doc, NOW);
		const counts = LIST_SECTIONS.map((s) => view.sections[s].length);
		expect(counts.reduce((a, b) => a + b, 0)).toBe(5000);
		expect(Math.min(...counts)).toBeGreaterThan(0);
		expect(view.unreadable).toBe(0);

		const sizes: number[] = [Object.keys(doc).length, Object.keys(doc.sections).length, Object.keys(doc.activity).length];
		for (const s of LIST_SECTIONS) {
			sizes.push(Object.keys(doc.sections[s]).length);
			for (const bucket of Object.values(doc.sections[s])) sizes.push(Object.keys(bucket).length);
		}
		for (const month of Object.values(doc.activity)) sizes.push(Object.keys(month).length);
		// Measurements, the biggest section (~2,300 entries), spread over 64 buckets.
		expect(Math.max(...sizes)).toBeLessThan(150);
	});
});

describe('concurrent devices', () => {
	it('resolves concurrent edits of one entry alike everywhere and keeps the loser as a conflict', () => {
		const [base, id] = add(newRecord(), 'treatments', { name: 'Ramipril', dose: '5 mg' });
		const a = change(fork(base), (d) => editEntry(d, 'treatments', id, { dose: '10 mg' }, ctx));
		const b = change(fork(base), (d) => editEntry(d, 'treatments', id, { dose: '2.5 mg' }, { ...ctx, author: 'device-B' }));
		const ab = Automerge.merge(Automerge.clone(a), b);
		const ba = Automerge.merge(Automerge.clone(b), a);
		expect(recordView(ab, NOW)).toEqual(recordView(ba, NOW));
		const winner = recordView(ab, NOW).sections.treatments[0].dose;
		const lost = conflicts(ab, 'treatments', id);
		expect(lost.map((e) => e.dose)).toEqual([winner === '10 mg' ? '2.5 mg' : '10 mg']);
		expect(conflicts(a, 'treatments', id)).toEqual([]);
		expect(conflicts(ab, 'treatments', 'Z'.repeat(22))).toEqual([]);
	});

	it('keeps both devices activity lines when both start a new month', () => {
		const base = newRecord();
		const december = { author: 'device-A', now: new Date('2026-12-02T12:00:00Z') };
		const [a] = add(fork(base), 'visits', { date: '2026-12-01', professional: 'A' }, december);
		const [b] = add(fork(base), 'visits', { date: '2026-12-01', professional: 'B' }, { ...december, author: 'device-B' });
		const merged = Automerge.merge(Automerge.clone(a), b);
		const { activity, sections } = recordView(merged, december.now);
		expect(sections.visits.map((v) => v.professional).sort()).toEqual(['A', 'B']);
		expect(activity.filter((l) => l.action === 'add').map((l) => l.summary).sort()).toEqual(['A', 'B']);
	});

	it('keeps a document hidden when another device edits or removes it meanwhile', () => {
		const [base, id] = add(newRecord(), 'documents', { type: 'lab-report', title: 'Sérologie', date: '2026-01-01' });
		const hidden = change(fork(base), (d) => setHidden(d, id, true, ctx));
		const edited = change(fork(base), (d) => editEntry(d, 'documents', id, { title: 'Sérologie VIH' }, ctx));
		for (const merged of [Automerge.merge(Automerge.clone(hidden), edited), Automerge.merge(Automerge.clone(edited), hidden)]) {
			expect(recordView(merged, NOW).sections.documents).toMatchObject([{ title: 'Sérologie VIH', hidden: true }]);
		}
		// Removed on one device while edited on another: the edit brings it back, still hidden.
		const removed = change(hidden, (d) => removeEntry(d, 'documents', id, ctx));
		const merged = Automerge.merge(Automerge.clone(removed), edited);
		expect(recordView(merged, NOW).sections.documents).toMatchObject([{ title: 'Sérologie VIH', hidden: true }]);
	});
});
