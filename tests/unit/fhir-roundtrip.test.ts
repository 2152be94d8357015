/**
 * Property: any record the patient can write survives toIpsBundle → fromIpsBundle with the
 * same field values, in any time zone; and summarizeIps reads every bundle we produce.
 *
 * Generated values stay inside what the mapping promises to keep (to-ips.ts): a relative only
 * on family history, a status only on conditions, a second value only on blood pressures, a
 * trusted person ticked or absent, and seconds only when not zero.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromIpsBundle, toIpsBundle, type IpsInput } from '../../src/lib/core/fhir';
import { fhirToLocal, localToFhir } from '../../src/lib/core/fhir/time';
import { summarizeIps } from '../../src/lib/core/fhir/summary';
import { DOCUMENT_TYPE_IDS, validate, type SectionId } from '../../src/lib/core/record';
import { content } from './fhir-sample';

const NOW = new Date('2026-11-26T12:00:00Z');
const CHARS = [...'abcdeéèàçôœABCZ0129 ,;:.-\'’&<>"()/\n'];

const text = (max = 60) =>
	fc
		.string({ unit: fc.constantFrom(...CHARS), minLength: 1, maxLength: max })
		.map((s) => s.trim())
		.filter((s) => s.length > 0);
const pastDate = fc
	.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2026-11-25T00:00:00Z'), noInvalidDate: true })
	.map((d) => d.toISOString().slice(0, 10));
const anyDate = fc
	.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true })
	.map((d) => d.toISOString().slice(0, 10));
const pad = (n: number) => String(n).padStart(2, '0');
const wallClock = fc
	.tuple(pastDate, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
	.map(([d, h, m, s]) => `${d}T${pad(h)}:${pad(m)}${s === 0 ? '' : `:${pad(s)}`}`);
const phone = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 3, maxLength: 12 }).map((d) => `0${d.join('')}`);
const email = fc.stringMatching(/^[a-z]{1,10}$/).map((u) => `${u}@example.org`);
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A value the record would store for `section`: validated and completed. */
function valid<S extends SectionId>(section: S, arb: fc.Arbitrary<Record<string, unknown>>) {
	return arb
		.map((v) => validate(section, v, NOW))
		.filter((r) => r.ok)
		.map((r) => (r as { value: Record<string, unknown> }).value);
}

const arbitraries = {
	contacts: valid(
		'contacts',
		fc.record({ name: text(), relationship: opt(text()), phone, email: opt(email), trustedPerson: opt(fc.constant(true)), note: opt(text(200)) })
	),
	allergies: valid(
		'allergies',
		fc.record({
			substance: text(),
			type: opt(fc.constantFrom('allergy', 'intolerance')),
			category: opt(fc.constantFrom('food', 'medication', 'environment', 'biologic')),
			reaction: opt(text()),
			criticality: opt(fc.constantFrom('high', 'low', 'unable-to-assess')),
			onsetDate: opt(pastDate),
			note: opt(text(200))
		})
	),
	history: valid(
		'history',
		fc.oneof(
			fc.record({ kind: fc.constant('condition'), name: text(), date: opt(anyDate), status: opt(fc.constantFrom('active', 'resolved')), note: opt(text(200)) }),
			fc.record({ kind: fc.constant('surgery'), name: text(), date: opt(anyDate), note: opt(text(200)) }),
			fc.record({ kind: fc.constant('family'), name: text(), date: opt(anyDate), relative: opt(text()), note: opt(text(200)) })
		)
	),
	treatments: valid(
		'treatments',
		fc.record({
			name: text(),
			dose: opt(text()),
			schedule: opt(text()),
			startDate: opt(pastDate),
			endDate: opt(anyDate),
			prescriber: opt(text()),
			note: opt(text(200))
		})
	),
	vaccinations: valid(
		'vaccinations',
		fc.record({ vaccine: text(), date: pastDate, lot: opt(text(50)), nextDue: opt(anyDate), administeredBy: opt(text()), note: opt(text(200)) })
	),
	measurements: valid(
		'measurements',
		fc.oneof(
			fc.record({
				kind: fc.constantFrom('weight', 'height', 'heart-rate', 'temperature'),
				value: fc.double({ min: 0.5, max: 45, noNaN: true }),
				label: opt(text()),
				date: wallClock,
				note: opt(text(200))
			}),
			fc.record({
				kind: fc.constant('blood-pressure'),
				value: fc.integer({ min: 40, max: 250 }),
				value2: fc.integer({ min: 20, max: 150 }),
				date: wallClock,
				note: opt(text(200))
			}),
			fc.record({
				kind: fc.constant('glucose'),
				value: fc.double({ min: 0.1, max: 9, noNaN: true }),
				unit: fc.constantFrom('g/L', 'mmol/L'),
				date: wallClock
			}),
			fc.record({
				kind: fc.constant('other'),
				value: fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
				unit: text(20),
				label: text(100),
				date: wallClock,
				note: opt(text(200))
			})
		)
	),
	visits: valid(
		'visits',
		fc.record({ date: anyDate, professional: text(), specialty: opt(text()), reason: opt(text()), place: opt(text()), note: opt(text(200)) })
	)
};

const identityArb = valid(
	'identity',
	fc.record({
		givenName: text(),
		familyName: text(),
		birthDate: pastDate,
		sex: opt(fc.constantFrom('female', 'male', 'other', 'unknown')),
		bloodGroup: opt(fc.constantFrom('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-', 'unknown')),
		phone: opt(phone),
		address: opt(text(200))
	})
);
const directivesArb = valid(
	'directives',
	fc.record({
		advanceDirectives: opt(text(300)),
		directivesLocation: opt(text()),
		organDonation: opt(fc.constantFrom('yes', 'no', 'unspecified')),
		organDonationNote: opt(text())
	})
);
const documentArb = fc.record({
	value: valid(
		'documents',
		fc.record({ type: fc.constantFrom(...DOCUMENT_TYPE_IDS), title: text(), date: pastDate, author: opt(text()), note: opt(text(200)) })
	),
	file: opt(fc.record({ name: text(), contentType: fc.constantFrom('application/pdf', 'image/jpeg'), data: fc.uint8Array({ maxLength: 64 }) })),
	hidden: fc.boolean()
});

let counter = 0;
const withMeta = (value: Record<string, unknown>) => ({
	...value,
	id: `gen${String(counter++).padStart(19, '0')}`,
	createdAt: '2026-01-10T09:00:00.000Z',
	updatedAt: '2026-01-10T09:00:00.000Z',
	createdBy: 'device-A',
	updatedBy: 'device-A'
});

const recordArb = fc.record({
	identity: opt(identityArb),
	directives: opt(directivesArb),
	timeZone: fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Pacific/Chatham', 'Asia/Kolkata'),
	sections: fc.record(
		Object.fromEntries(Object.entries(arbitraries).map(([k, arb]) => [k, opt(fc.array(arb, { maxLength: 4 }))])) as {
			[K in keyof typeof arbitraries]: fc.Arbitrary<Record<string, unknown>[] | undefined>;
		}
	),
	documents: fc.array(documentArb, { maxLength: 3 })
});

const sorted = (values: object[]) => values.map((v) => JSON.stringify(v, Object.keys(v).sort())).sort();

describe('toIpsBundle → fromIpsBundle', () => {
	it('gives back the same field values for any record', () => {
		fc.assert(
			fc.property(recordArb, (record) => {
				const meta = { updatedAt: '2026-01-10T09:00:00.000Z', updatedBy: 'device-A' };
				const sections = Object.fromEntries(
					Object.entries(record.sections).map(([k, list]) => [k, list?.map(withMeta)])
				);
				const input = {
					bundleId: 'property',
					now: NOW,
					timeZone: record.timeZone,
					identity: record.identity && { ...record.identity, ...meta },
					directives: record.directives && { ...record.directives, ...meta },
					sections,
					documents: record.documents.map((d) => ({ entry: { ...withMeta(d.value), hidden: d.hidden }, file: d.file }))
				} as unknown as IpsInput;
				const bundle = toIpsBundle(input);
				const back = fromIpsBundle(JSON.parse(JSON.stringify(bundle)), { timeZone: record.timeZone, now: NOW });
				expect(back.skipped).toEqual([]);
				expect(back.identity).toEqual(record.identity);
				const directives = record.directives && Object.keys(record.directives).length > 0 ? record.directives : undefined;
				expect(back.directives).toEqual(directives);
				for (const [section, list] of Object.entries(record.sections)) {
					const got = back.entries.filter((e) => e.section === section).map((e) => e.value);
					expect(sorted(got), section).toEqual(sorted(list ?? []));
				}
				const visible = record.documents.filter((d) => !d.hidden);
				expect(sorted(back.documents.map((d) => d.value))).toEqual(sorted(visible.map((d) => content(d.value))));
				for (const d of visible) {
					const got = back.documents.find((x) => JSON.stringify(x.value) === JSON.stringify(d.value));
					if (d.file) expect(got?.file).toEqual(d.file);
				}
				// The viewer reads it all without throwing.
				const summary = summarizeIps(bundle);
				expect(summary.documents).toHaveLength(visible.length);
			}),
			{ numRuns: 60 }
		);
	});
});

describe('untrusted bundles', () => {
	const resourceTypes = ['Patient', 'Composition', 'Observation', 'AllergyIntolerance', 'Condition', 'MedicationStatement', 'Immunization', 'DocumentReference', 'Encounter', 'FamilyMemberHistory'];
	const junkResource = fc.tuple(fc.constantFrom(...resourceTypes), fc.dictionary(fc.constantFrom('code', 'name', 'section', 'entry', 'valueQuantity', 'reaction', 'dosage', 'content', 'subject', 'period', 'effectiveDateTime', 'text', 'relationship', 'contact', 'component', 'hasMember', 'status', 'id'), fc.anything(), { maxKeys: 6 }))
		.map(([resourceType, body]) => ({ ...body, resourceType }));
	const junkBundle = fc.record({
		resourceType: fc.constant('Bundle'),
		entry: fc.array(fc.oneof(fc.anything(), fc.record({ fullUrl: fc.string(), resource: junkResource })), { maxLength: 8 })
	});

	it('never make summarizeIps or fromIpsBundle throw', () => {
		fc.assert(
			fc.property(junkBundle, (bundle) => {
				summarizeIps(bundle);
				fromIpsBundle(bundle, { now: NOW });
			}),
			{ numRuns: 300 }
		);
	});
});

describe('wall-clock times', () => {
	it('are written with the zone offset of that instant and read back', () => {
		expect(localToFhir('2026-01-15T10:30', 'Europe/Paris')).toBe('2026-01-15T10:30:00+01:00');
		expect(localToFhir('2026-07-15T10:30', 'Europe/Paris')).toBe('2026-07-15T10:30:00+02:00');
		expect(localToFhir('2026-07-15T10:30:05', 'America/New_York')).toBe('2026-07-15T10:30:05-04:00');
		expect(localToFhir('2026-07-15T10:30', 'Asia/Kolkata')).toBe('2026-07-15T10:30:00+05:30');
		expect(localToFhir('2026-07-15T10:30', 'UTC')).toBe('2026-07-15T10:30:00+00:00');
		expect(localToFhir('2026-07-15', 'Europe/Paris')).toBe('2026-07-15');
		// The hour after the autumn change exists twice: either offset names that wall clock.
		expect(fhirToLocal(localToFhir('2026-10-25T02:30', 'Europe/Paris'), 'Europe/Paris')).toBe('2026-10-25T02:30');
		// A time in the skipped spring hour has no true offset; it still reads back as written.
		expect(fhirToLocal(localToFhir('2026-03-29T02:30', 'Europe/Paris'), 'Europe/Paris')).toBe('2026-03-29T02:30');
		// A historical offset with seconds (Madras time, +05:21:10) cannot be written; still read back.
		expect(fhirToLocal(localToFhir('1906-01-01T00:00', 'Asia/Kolkata'), 'Asia/Kolkata')).toBe('1906-01-01T00:00');
		// Someone else's instant is converted.
		expect(fhirToLocal('2026-03-29T01:30:00Z', 'Europe/Paris')).toBe('2026-03-29T03:30');
	});

	it('read any FHIR date or dateTime in the zone given', () => {
		expect(fhirToLocal('2024-04-10T09:58:00+00:00', 'Europe/Paris')).toBe('2024-04-10T11:58');
		expect(fhirToLocal('2024-04-10T09:58:00.123Z', 'UTC')).toBe('2024-04-10T09:58');
		expect(fhirToLocal('2024-04-10', 'Europe/Paris')).toBe('2024-04-10T00:00');
		expect(fhirToLocal('2015-03', 'UTC')).toBeUndefined();
		expect(fhirToLocal('garbage', 'UTC')).toBeUndefined();
	});
});
