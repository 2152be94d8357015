/**
 * The FHIR IPS module (src/lib/core/fhir): record → IPS, IPS → record, and the viewer's
 * summary of any IPS, on Carnet's own bundles and on the HL7 fixtures.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromIpsBundle, toIpsBundle, type Bundle } from '../../src/lib/core/fhir';
import { fromBase64 } from '../../src/lib/core/fhir/bytes';
import { SECTION_CODES, SYSTEMS } from '../../src/lib/core/fhir/codes';
import { summarizeIps } from '../../src/lib/core/fhir/summary';
import { validate, type SectionId } from '../../src/lib/core/record';
import { content, directives, documents, identity, NOW, PDF, sampleInput, sections, TZ } from './fhir-sample';

type Json = Record<string, any>;

const fixture = (name: string): Json =>
	JSON.parse(readFileSync(new URL(`../fixtures/fhir/${name}`, import.meta.url), 'utf8'));

const composition = (bundle: Bundle) => bundle.entry[0].resource as Json;
const sectionByCode = (bundle: Bundle, code: string) =>
	(composition(bundle).section as Json[]).find((s) => s.code.coding[0].code === code);
const resources = (bundle: Bundle, type: string) =>
	bundle.entry.map((e) => e.resource as Json).filter((r) => r.resourceType === type);

/** Every `reference` string anywhere in a value. */
function references(value: unknown, out: string[] = []): string[] {
	if (Array.isArray(value)) value.forEach((v) => references(v, out));
	else if (value && typeof value === 'object') {
		for (const [k, v] of Object.entries(value)) {
			if (k === 'reference' && typeof v === 'string') out.push(v);
			else references(v, out);
		}
	}
	return out;
}

/** Sorted JSON of a list of values, to compare them as multisets. */
const multiset = (values: object[]) => values.map((v) => JSON.stringify(v, Object.keys(v).sort())).sort();

describe('toIpsBundle', () => {
	const bundle = toIpsBundle(sampleInput());

	it('is a document Bundle with a Composition first and a Patient', () => {
		expect(bundle.resourceType).toBe('Bundle');
		expect(bundle.type).toBe('document');
		expect(bundle.identifier?.system).toBe('urn:ietf:rfc:3986');
		expect(bundle.identifier?.value).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
		expect(bundle.timestamp).toBe('2026-11-26T13:00:00+01:00');
		const comp = composition(bundle);
		expect(comp.resourceType).toBe('Composition');
		expect(comp.status).toBe('final');
		expect(comp.type.coding[0]).toMatchObject({ system: SYSTEMS.loinc, code: '60591-5' });
		expect(comp.date).toBe(bundle.timestamp);
		expect(comp.title).toContain('Marie Dupont');
		expect(comp.author).toHaveLength(1);
		const patients = resources(bundle, 'Patient');
		expect(patients).toHaveLength(1);
		expect(comp.subject.reference).toBe(bundle.entry.find((e) => e.resource === patients[0])?.fullUrl);
		expect(patients[0]).toMatchObject({
			name: [{ family: 'Dupont', given: ['Marie'] }],
			birthDate: '1967-11-07',
			gender: 'female',
			telecom: [{ system: 'phone', value: '06 12 34 56 78' }]
		});
		expect(patients[0].contact).toHaveLength(2);
	});

	it('has every entry under a urn:uuid fullUrl matching its id, and every reference resolves inside it', () => {
		const urls = new Set(bundle.entry.map((e) => e.fullUrl));
		expect(urls.size).toBe(bundle.entry.length);
		for (const e of bundle.entry) expect(e.fullUrl).toBe(`urn:uuid:${e.resource.id}`);
		const refs = references(bundle);
		expect(refs.length).toBeGreaterThan(30);
		for (const ref of refs) expect(urls, ref).toContain(ref);
		// Every resource but the Composition is in some section, or is the Patient.
		const inSections = new Set((composition(bundle).section as Json[]).flatMap((s) => (s.entry ?? []).map((e: Json) => e.reference)));
		for (const e of bundle.entry.slice(2)) expect(inSections, e.resource.resourceType).toContain(e.fullUrl);
	});

	it('always has the required sections, each with a generated narrative', () => {
		for (const code of [SECTION_CODES.problems, SECTION_CODES.allergies, SECTION_CODES.medications]) {
			expect(sectionByCode(bundle, code), code).toBeDefined();
		}
		for (const s of composition(bundle).section as Json[]) {
			expect(s.text.status).toBe('generated');
			expect(s.text.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">.*<\/div>$/s);
			expect(s.title).toBeTruthy();
		}
		// Narratives are escaped text.
		const directivesDiv = sectionByCode(bundle, SECTION_CODES.advanceDirectives)?.text.div as string;
		expect(directivesDiv).toContain('&lt;b&gt;Pas&lt;/b&gt; de réanimation &amp; pas');
		expect(directivesDiv).not.toContain('<b>');
	});

	it('says nilknown for a shared empty section and withheld for a required one not shared', () => {
		const empty = toIpsBundle(sampleInput({ sections: { allergies: [], treatments: [] }, identity: undefined }));
		const allergies = sectionByCode(empty, SECTION_CODES.allergies);
		expect(allergies?.entry).toBeUndefined();
		expect(allergies?.emptyReason.coding[0]).toMatchObject({ system: SYSTEMS.listEmptyReason, code: 'nilknown' });
		expect(allergies?.emptyReason.text).toBe('Aucune allergie connue');
		expect(sectionByCode(empty, SECTION_CODES.medications)?.emptyReason.coding[0].code).toBe('nilknown');
		const problems = sectionByCode(empty, SECTION_CODES.problems);
		expect(problems?.emptyReason.coding[0].code).toBe('withheld');
		// Optional sections not shared are left out.
		expect(sectionByCode(empty, SECTION_CODES.immunizations)).toBeUndefined();
		// The Patient is still there, its name and birth date masked.
		const patient = resources(empty, 'Patient')[0];
		expect(patient.name[0].extension[0].valueCode).toBe('masked');
		expect(patient.birthDate).toBeUndefined();
	});

	it('writes the measurement codes, units and wall-clock times with the zone offset', () => {
		const obs = resources(bundle, 'Observation');
		const byCode = (code: string) => obs.filter((o) => o.code.coding?.some((c: Json) => c.code === code));
		expect(byCode('29463-7')[0]).toMatchObject({
			effectiveDateTime: '2026-03-04T10:30:00+01:00',
			valueQuantity: { value: 68.5, unit: 'kg', system: SYSTEMS.ucum, code: 'kg' },
			category: [{ coding: [{ code: 'vital-signs' }] }]
		});
		expect(byCode('8302-2')[0].effectiveDateTime).toBe('2026-03-04T10:31:15+01:00');
		const bp = byCode('85354-9')[0];
		expect(bp.effectiveDateTime).toBe('2026-07-01T08:00:00+02:00');
		expect(bp.valueQuantity).toBeUndefined();
		expect(bp.component.map((c: Json) => [c.code.coding[0].code, c.valueQuantity.value, c.valueQuantity.code])).toEqual([
			['8480-6', 135, 'mm[Hg]'],
			['8462-4', 85, 'mm[Hg]']
		]);
		expect(byCode('2339-0')[0].valueQuantity).toMatchObject({ value: 1.05, code: 'g/L' });
		expect(byCode('15074-8')[0].valueQuantity).toMatchObject({ value: 5.8, code: 'mmol/L' });
		expect(byCode('8867-4')[0].valueQuantity.code).toBe('/min');
		expect(byCode('8310-5')[0].valueQuantity).toMatchObject({ unit: '°C', code: 'Cel' });
		const blood = byCode('882-1')[0];
		expect(blood.valueCodeableConcept.coding[0]).toMatchObject({ system: SYSTEMS.snomed, code: '278149003' });
		// Vital signs and results go to their own sections.
		const vitals = sectionByCode(bundle, SECTION_CODES.vitalSigns)?.entry as Json[];
		expect(vitals).toHaveLength(5);
		const results = sectionByCode(bundle, SECTION_CODES.results)?.entry as Json[];
		expect(results).toHaveLength(4);
	});

	it('writes allergies, conditions, procedures, family history, medications, immunizations and visits', () => {
		const high = resources(bundle, 'AllergyIntolerance').find((a) => a.criticality === 'high');
		expect(high).toMatchObject({
			code: { text: 'Pénicilline' },
			type: 'allergy',
			category: ['medication'],
			reaction: [{ manifestation: [{ text: 'Urticaire' }] }],
			clinicalStatus: { coding: [{ code: 'active' }] }
		});
		expect(resources(bundle, 'Condition')).toHaveLength(3);
		expect(sectionByCode(bundle, SECTION_CODES.problems)?.entry).toHaveLength(2);
		expect(sectionByCode(bundle, SECTION_CODES.pastIllness)?.entry).toHaveLength(1);
		expect(resources(bundle, 'Procedure')[0]).toMatchObject({ code: { text: 'Appendicectomie' }, performedDateTime: '1980-07-14' });
		expect(resources(bundle, 'FamilyMemberHistory')).toHaveLength(2);
		const metformin = resources(bundle, 'MedicationStatement')[0];
		expect(metformin).toMatchObject({
			status: 'active',
			medicationCodeableConcept: { text: 'Metformine 1000 mg' },
			dosage: [{ text: '1 comprimé, matin et soir' }],
			effectivePeriod: { start: '2015-03-10' }
		});
		expect(resources(bundle, 'MedicationStatement')[1].status).toBe('completed');
		const dtp = resources(bundle, 'Immunization')[0];
		expect(dtp).toMatchObject({
			status: 'completed',
			vaccineCode: { text: 'DTPolio' },
			occurrenceDateTime: '2020-02-03',
			lotNumber: 'AB123',
			performer: [{ actor: { display: 'Dr Roux' } }]
		});
		const rec = resources(bundle, 'ImmunizationRecommendation');
		expect(rec).toHaveLength(1);
		expect(rec[0].recommendation[0].dateCriterion[0].value).toBe('2040-02-03');
		expect(resources(bundle, 'Encounter')).toHaveLength(2);
	});

	it('inlines document bytes with size and SHA-1, and never writes a hidden document', () => {
		const refs = resources(bundle, 'DocumentReference');
		expect(refs).toHaveLength(2);
		expect(JSON.stringify(bundle)).not.toContain('Certificat secret');
		const lab = refs.find((r) => r.description === 'Bilan sanguin') as Json;
		const attachment = lab.content[0].attachment;
		expect(attachment).toMatchObject({ contentType: 'application/pdf', title: 'bilan.pdf', size: PDF.length });
		expect(fromBase64(attachment.data)).toEqual(PDF);
		expect(attachment.hash).toBe(createHash('sha1').update(PDF).digest('base64'));
		expect(lab.type.coding[0]).toMatchObject({ system: SYSTEMS.loinc, code: '11502-2' });
		expect(lab.category[0].coding[0]).toMatchObject({ system: SYSTEMS.dmpClass, code: '10' });
		expect(lab.context.period.start).toBe('2026-06-01');
		expect(lab.author).toEqual([{ display: 'Laboratoire Cerba' }]);
		// Even a caller who forgets to filter cannot leak a hidden document.
		const onlyHidden = toIpsBundle(sampleInput({ documents: [documents[2]] }));
		expect(resources(onlyHidden, 'DocumentReference')).toHaveLength(0);
	});

	it('writes the file metadata of a document whose bytes are elsewhere', () => {
		const entry = { ...documents[1].entry, file: { name: 'ordo.jpg', contentType: 'image/jpeg', size: 2048, hash: 'h'.repeat(43), key: 'k'.repeat(43), blob: 'b'.repeat(43) } };
		const b = toIpsBundle(sampleInput({ documents: [{ entry }] }));
		expect(resources(b, 'DocumentReference')[0].content).toEqual([
			{ attachment: { contentType: 'image/jpeg', title: 'ordo.jpg', size: 2048 } }
		]);
		const back = fromIpsBundle(b, { timeZone: TZ, now: NOW }).documents;
		expect(back).toEqual([{ value: content(documents[1].entry) }]);
	});

	it('is deterministic, with ids stable across republishing', () => {
		expect(JSON.stringify(toIpsBundle(sampleInput()))).toBe(JSON.stringify(bundle));
		// A later republish with one entry fewer keeps every other resource's id.
		const later = toIpsBundle(
			sampleInput({ now: new Date('2026-12-01T08:00:00Z'), sections: { ...sections, allergies: sections.allergies.slice(1) } })
		);
		const ids = new Set(later.entry.map((e) => e.fullUrl));
		const missing = bundle.entry.filter((e) => !ids.has(e.fullUrl)).map((e) => e.resource.resourceType);
		expect(missing).toEqual(['AllergyIntolerance']);
	});

	it('is compact: no nulls, no empty strings, arrays or objects', () => {
		const walk = (v: unknown, path: string) => {
			expect(v, path).not.toBeNull();
			expect(v, path).not.toBe('');
			if (Array.isArray(v)) {
				expect(v.length, path).toBeGreaterThan(0);
				v.forEach((x, i) => walk(x, `${path}[${i}]`));
			} else if (typeof v === 'object' && v !== null) {
				expect(Object.keys(v).length, path).toBeGreaterThan(0);
				for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
			}
		};
		walk(bundle, 'bundle');
	});

	it('writes English titles when asked', () => {
		const en = toIpsBundle(sampleInput({ language: 'en', sections: {} }));
		expect(sectionByCode(en, SECTION_CODES.allergies)?.title).toBe('Allergies and intolerances');
		expect(sectionByCode(en, SECTION_CODES.allergies)?.emptyReason.text).toBe('Not shared by the patient');
	});
});

describe('fromIpsBundle', () => {
	const bundle = toIpsBundle(sampleInput());
	const imported = fromIpsBundle(bundle, { timeZone: TZ, now: NOW });

	it('gives back the same field values for every section', () => {
		const { updatedAt, updatedBy, ...identityValues } = identity;
		expect(imported.identity).toEqual(identityValues);
		const { updatedAt: _a, updatedBy: _b, ...directivesValues } = directives;
		expect(imported.directives).toEqual(directivesValues);
		for (const [section, list] of Object.entries(sections)) {
			const back = imported.entries.filter((e) => e.section === section).map((e) => e.value);
			expect(multiset(back), section).toEqual(multiset(list.map(content)));
		}
		expect(imported.skipped).toEqual([]);
	});

	it('gives back the documents and their bytes', () => {
		const visible = documents.filter((d) => !d.entry.hidden);
		expect(multiset(imported.documents.map((d) => d.value))).toEqual(multiset(visible.map((d) => content(d.entry))));
		const lab = imported.documents.find((d) => d.value.title === 'Bilan sanguin');
		expect(lab?.file).toEqual({ name: 'bilan.pdf', contentType: 'application/pdf', data: PDF });
		expect(imported.documents.find((d) => d.value.title === 'Ordonnance')?.file).toBeUndefined();
	});

	it('reads wall-clock times back in the zone given', () => {
		const weight = imported.entries.find((e) => e.section === 'measurements' && e.value.kind === 'weight');
		expect(weight?.value).toMatchObject({ date: '2026-03-04T10:30' });
		const utc = fromIpsBundle(bundle, { timeZone: 'UTC', now: NOW });
		const weightUtc = utc.entries.find((e) => e.section === 'measurements' && e.value.kind === 'weight');
		expect(weightUtc?.value).toMatchObject({ date: '2026-03-04T09:30' });
	});

	it('imports the HL7 fixtures without throwing, every value valid for its section', () => {
		for (const name of ['ips-bundle-01.json', 'ips-all-sections.json']) {
			const result = fromIpsBundle(fixture(name), { now: NOW });
			expect(result.identity, name).toBeDefined();
			expect(result.entries.length, name).toBeGreaterThan(3);
			for (const e of result.entries) expect(validate(e.section as SectionId, e.value, NOW).ok, JSON.stringify(e)).toBe(true);
			for (const d of result.documents) expect(validate('documents', d.value, NOW).ok).toBe(true);
			if (result.identity) expect(validate('identity', result.identity, NOW).ok).toBe(true);
		}
		const b01 = fromIpsBundle(fixture('ips-bundle-01.json'), { now: NOW });
		expect(b01.identity).toMatchObject({ givenName: 'Martha', familyName: 'DeLarosa', birthDate: '1972-05-01', bloodGroup: 'A+' });
		expect(b01.entries.filter((e) => e.section === 'treatments')).toHaveLength(2);
		expect(b01.entries.find((e) => e.section === 'allergies')?.value).toMatchObject({ criticality: 'high', category: 'medication' });
		// "No known food allergies" is a statement, not an allergy.
		expect(b01.skipped).toContainEqual({ resourceType: 'AllergyIntolerance', reason: 'negated' });
		const all = fromIpsBundle(fixture('ips-all-sections.json'), { now: NOW });
		const kinds = all.entries.filter((e) => e.section === 'measurements').map((e) => e.value.kind);
		expect(kinds).toEqual(expect.arrayContaining(['weight', 'blood-pressure', 'other']));
		expect(all.entries.filter((e) => e.section === 'vaccinations')).toHaveLength(8);
		expect(all.entries.find((e) => e.section === 'history' && e.value.kind === 'surgery')?.value).toMatchObject({
			name: 'Total hip replacement',
			date: '2000-04-28'
		});
		expect(all.documents).toHaveLength(1);
		expect(all.skipped.map((s) => s.resourceType)).toEqual(expect.arrayContaining(['Flag', 'Consent', 'CarePlan']));
	});

	it('refuses what is not a Bundle, and survives a broken one', () => {
		expect(() => fromIpsBundle(null)).toThrow('not_a_bundle');
		expect(() => fromIpsBundle({ resourceType: 'Patient' })).toThrow('not_a_bundle');
		const broken = fromIpsBundle({
			resourceType: 'Bundle',
			entry: [null, 3, { resource: { resourceType: 'Observation', valueQuantity: { value: 'x' } } }, { resource: { resourceType: 'Patient', name: 'x' } }]
		});
		expect(broken.entries).toEqual([]);
	});
});

describe('summarizeIps', () => {
	it('shows every Composition section of the all-sections fixture somewhere', () => {
		const bundle = fixture('ips-all-sections.json');
		const summary = summarizeIps(bundle);
		const slots: Record<string, { items: readonly unknown[]; emptyReason?: string }> = {
			[SECTION_CODES.problems]: summary.problems,
			[SECTION_CODES.medications]: summary.medications,
			[SECTION_CODES.immunizations]: summary.immunizations,
			[SECTION_CODES.results]: summary.results
		};
		const sectionsOf = bundle.entry[0].resource.section as Json[];
		expect(sectionsOf.length).toBeGreaterThan(10);
		for (const s of sectionsOf) {
			const code = s.code.coding[0].code as string;
			if (code === SECTION_CODES.allergies) {
				expect(summary.allergies.length > 0 || summary.allergiesEmptyReason !== undefined).toBe(true);
				continue;
			}
			const shown = slots[code] ?? summary.otherSections.find((o) => o.code === code && o.title === s.title);
			expect(shown, `${code} ${s.title}`).toBeDefined();
			expect(shown!.items.length > 0 || shown!.emptyReason !== undefined, `${code} ${s.title}`).toBe(true);
		}
		expect(summary.patient?.name).toBe('Patricia JORDANA');
		expect(summary.immunizations.items).toHaveLength(8);
		const devices = summary.otherSections.find((o) => o.code === SECTION_CODES.devices);
		expect(devices?.items[0].title).toBe('Hip prosthesis');
		const vitals = summary.otherSections.find((o) => o.code === SECTION_CODES.vitalSigns);
		expect(vitals?.items.map((i) => i.detail)).toContain('Systolic blood pressure 140 mmHg, Diastolic blood pressure 80 mmHg');
		expect(summary.documents[0]).toMatchObject({ title: 'Advance Directive Document', contentType: 'application/pdf' });
	});

	it('reads the HL7 bundle-01: patient, allergies high first, medications, results', () => {
		const summary = summarizeIps(fixture('ips-bundle-01.json'));
		expect(summary.title).toBe('Patient Summary as of December 11, 2017 14:30');
		expect(summary.author).toBe('Beetje van Hulp');
		expect(summary.patient).toMatchObject({
			name: 'Martha DeLarosa',
			birthDate: '1972-05-01',
			gender: 'female',
			bloodGroup: 'Blood group A Rh(D) positive'
		});
		expect(summary.patient?.contacts[0]).toMatchObject({ name: 'Martha Mum', relationship: 'Emergency Contact, mother' });
		expect(summary.allergies).toHaveLength(2);
		expect(summary.allergies[0].criticality).toBe('high');
		expect(summary.allergies[0].substance).toContain('penicillin');
		// An IPS "absent or unknown" code without a display reads as the statement it is.
		expect(summary.allergies[1].substance).toBe('No known food allergies');
		const meds = summary.medications.items.map((i) => i.title);
		expect(meds).toEqual(['Product containing anastrozole (medicinal product)', 'Black Cohosh Extract herbal supplement']);
		expect(summary.problems.items[0].title).toBe('Menopausal flushing (finding)');
		expect(summary.results.items[0].detail).toContain('Blood group A Rh(D) positive');
		const plan = summary.otherSections.find((s) => s.code === '18776-5');
		expect(plan?.items).toEqual([]);
		expect(plan?.emptyReason).toMatch(/^Continue hormone medication/);
	});

	it('sorts allergies high criticality first whatever the bundle order', () => {
		// Bundle order: low, high, unspecified. As the record's home card: high, unable to
		// assess, unspecified, low.
		const summary = summarizeIps(toIpsBundle(sampleInput()));
		expect(summary.allergies.map((a) => a.substance)).toEqual(['Pénicilline', 'Lactose', 'Arachide']);
		expect(summary.allergies[0].criticality).toBe('high');
	});

	it('shows our own bundle completely', () => {
		const summary = summarizeIps(toIpsBundle(sampleInput()));
		expect(summary.patient).toMatchObject({ name: 'Marie Dupont', bloodGroup: 'A+', telecom: ['06 12 34 56 78'] });
		expect(summary.patient?.contacts[0].relationship).toContain('Personne de confiance');
		expect(summary.problems.items.map((i) => i.title)).toEqual(['Diabète de type 2', 'Hypertension']);
		expect(summary.medications.items[0]).toMatchObject({ title: 'Metformine 1000 mg', status: 'active' });
		expect(summary.medications.items[0].detail).toContain('1 comprimé, matin et soir');
		expect(summary.immunizations.items).toEqual([
			{ title: 'DTPolio', detail: 'lot AB123 · Dr Roux', status: 'completed', date: '2020-02-03', note: 'Rappel' },
			{ title: 'DTPolio', status: 'Due', date: '2040-02-03' },
			{ title: 'Grippe', status: 'completed', date: '2025-10-15' }
		]);
		expect(summary.results.items.length).toBe(4);
		expect(summary.documents).toHaveLength(2);
		expect(summary.documents[0]).toMatchObject({ title: 'Bilan sanguin', contentType: 'application/pdf', size: PDF.length, date: '2026-06-01' });
		const titles = summary.otherSections.map((s) => s.code);
		expect(titles).toEqual([
			SECTION_CODES.pastIllness,
			SECTION_CODES.procedures,
			SECTION_CODES.familyHistory,
			SECTION_CODES.vitalSigns,
			SECTION_CODES.advanceDirectives,
			SECTION_CODES.encounters
		]);
		const directivesSection = summary.otherSections.find((s) => s.code === SECTION_CODES.advanceDirectives);
		expect(directivesSection?.items[0].detail).toContain('réanimation');
		const withheld = summarizeIps(toIpsBundle(sampleInput({ sections: {}, identity: undefined })));
		expect(withheld.allergies).toEqual([]);
		expect(withheld.allergiesEmptyReason).toBe('Non partagé par le patient');
		expect(withheld.problems.emptyReason).toBe('Non partagé par le patient');
	});

	it('throws only for what is not a Bundle', () => {
		expect(() => summarizeIps('x')).toThrow('not_a_bundle');
		expect(() => summarizeIps([])).toThrow('not_a_bundle');
		const empty = summarizeIps({ resourceType: 'Bundle' });
		expect(empty.problems.items).toEqual([]);
		expect(empty.patient).toBeUndefined();
		const garbage = summarizeIps({
			resourceType: 'Bundle',
			entry: [
				{ resource: { resourceType: 'Composition', section: [{ entry: [{ reference: 'Nope/1' }, 7], text: { div: 5 } }, null] } },
				{ resource: { resourceType: 'AllergyIntolerance', code: 5, reaction: 'x', category: [1] } },
				{ resource: { resourceType: 'Observation', code: { coding: 'x' }, valueQuantity: { value: 'NaN' }, hasMember: [{ reference: 'Observation/self' }], id: 'self' } },
				{ resource: { resourceType: 'Patient', name: [{ given: 'x' }], contact: [{}] } }
			]
		});
		expect(garbage.otherSections).toHaveLength(1);
		// A role that points to itself does not loop.
		const loop = {
			resourceType: 'Bundle',
			entry: [
				{ resource: { resourceType: 'PractitionerRole', id: 'r', practitioner: { reference: 'PractitionerRole/r' } } },
				{ resource: { resourceType: 'Composition', author: [{ reference: 'PractitionerRole/r' }] } },
				{ resource: { resourceType: 'Immunization', vaccineCode: { text: 'X' }, occurrenceDateTime: '2020-01-01', performer: [{ actor: { reference: 'PractitionerRole/r' } }] } }
			]
		};
		expect(summarizeIps(loop).author).toBeUndefined();
		expect(fromIpsBundle(loop, { now: NOW }).entries).toEqual([{ section: 'vaccinations', value: { vaccine: 'X', date: '2020-01-01' } }]);
		expect(garbage.patient?.contacts).toHaveLength(1);
	});

	it('groups a bundle without Composition (a SMART Health Card) by resource type', () => {
		const summary = summarizeIps({
			resourceType: 'Bundle',
			type: 'collection',
			entry: [
				{ fullUrl: 'resource:0', resource: { resourceType: 'Patient', name: [{ family: 'Anyperson', given: ['John', 'B.'] }], birthDate: '1951-01-20' } },
				{ fullUrl: 'resource:1', resource: { resourceType: 'Immunization', status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207' }] }, patient: { reference: 'resource:0' }, occurrenceDateTime: '2021-01-01', lotNumber: '0000001' } }
			]
		});
		expect(summary.patient?.name).toBe('John B. Anyperson');
		expect(summary.immunizations.items).toEqual([{ title: '207', detail: 'lot 0000001', status: 'completed', date: '2021-01-01' }]);
	});

	it('imports nothing but its own small, viewer-safe modules', () => {
		const imports = (file: string) =>
			[...readFileSync(new URL(`../../src/lib/core/fhir/${file}`, import.meta.url), 'utf8').matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map(
				(m) => (m[1] ? 'type ' : '') + m[2]
			);
		expect(imports('summary.ts').filter((i) => !i.startsWith('type '))).toEqual(['./codes', './read']);
		expect(imports('read.ts')).toEqual(['./codes']);
		expect(imports('codes.ts')).toEqual([]);
	});
});
