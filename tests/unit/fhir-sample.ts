/**
 * A rich sample record for the FHIR tests: every section, every field, the awkward cases
 * (a trusted person, a blood pressure, glucose in mmol/L, an "other" measurement, a hidden
 * document, a document with bytes). Values are what the record stores (validated, completed).
 */
import type { Directives, Entry, Identity } from '../../src/lib/core/record';
import type { IpsInput } from '../../src/lib/core/fhir';

export const NOW = new Date('2026-11-26T12:00:00Z');
export const TZ = 'Europe/Paris';

let counter = 0;
/** Metadata of a stored entry; ids are 22 base64url characters like the record's. */
export function meta(seed?: string) {
	const n = String(counter++).padStart(4, '0');
	const id = (seed ?? 'entry') + 'x'.repeat(18 - (seed ?? 'entry').length) + n;
	return {
		id: id.slice(0, 22),
		createdAt: '2026-01-10T09:00:00.000Z',
		updatedAt: '2026-01-10T09:00:00.000Z',
		createdBy: 'device-A',
		updatedBy: 'device-A'
	};
}

export const identity: Identity = {
	givenName: 'Marie',
	familyName: 'Dupont',
	birthDate: '1967-11-07',
	sex: 'female',
	bloodGroup: 'A+',
	phone: '06 12 34 56 78',
	address: '12 rue des Lilas\n75011 Paris',
	updatedAt: '2026-01-10T09:00:00.000Z',
	updatedBy: 'device-A'
};

export const directives: Directives = {
	advanceDirectives: 'Pas d’acharnement thérapeutique. <b>Pas</b> de réanimation & pas d’intubation.',
	directivesLocation: 'Chez mon notaire, Me Martin',
	organDonation: 'yes',
	organDonationNote: 'Tous les organes',
	updatedAt: '2026-01-10T09:00:00.000Z',
	updatedBy: 'device-A'
};

export const sections = {
	contacts: [
		{ ...meta('contact'), name: 'Jean Dupont', relationship: 'époux', phone: '+33 6 98 76 54 32', email: 'jean@example.org', trustedPerson: true, note: 'Joignable le soir' },
		{ ...meta('contact'), name: 'Claire Martin', phone: '01 23 45 67 89' }
	] as Entry<'contacts'>[],
	allergies: [
		{ ...meta('allergy'), substance: 'Arachide', type: 'allergy', category: 'food', reaction: 'Œdème de Quincke', criticality: 'low', onsetDate: '1990-05-01', note: 'Trousse d’urgence' },
		{ ...meta('allergy'), substance: 'Pénicilline', type: 'allergy', category: 'medication', reaction: 'Urticaire', criticality: 'high' },
		{ ...meta('allergy'), substance: 'Lactose', type: 'intolerance' }
	] as Entry<'allergies'>[],
	history: [
		{ ...meta('history'), kind: 'condition', name: 'Diabète de type 2', date: '2015-03-01', status: 'active', note: 'Suivi par Dr Roux' },
		{ ...meta('history'), kind: 'condition', name: 'Hypertension' },
		{ ...meta('history'), kind: 'condition', name: 'Hépatite A', date: '1995-06-01', status: 'resolved' },
		{ ...meta('history'), kind: 'surgery', name: 'Appendicectomie', date: '1980-07-14', note: 'Sans complication' },
		{ ...meta('history'), kind: 'family', name: 'Cancer du sein', relative: 'mère', date: '2001-01-01' },
		{ ...meta('history'), kind: 'family', name: 'Infarctus' }
	] as Entry<'history'>[],
	treatments: [
		{ ...meta('treatment'), name: 'Metformine 1000 mg', dose: '1 comprimé', schedule: 'matin et soir', startDate: '2015-03-10', prescriber: 'Dr Roux', note: 'Pendant les repas' },
		{ ...meta('treatment'), name: 'Amoxicilline', dose: '1 g', startDate: '2026-01-01', endDate: '2026-01-07' },
		{ ...meta('treatment'), name: 'Doliprane', schedule: 'si douleur, 3 fois par jour au plus' }
	] as Entry<'treatments'>[],
	vaccinations: [
		{ ...meta('vaccine'), vaccine: 'DTPolio', date: '2020-02-03', lot: 'AB123', nextDue: '2040-02-03', administeredBy: 'Dr Roux', note: 'Rappel' },
		{ ...meta('vaccine'), vaccine: 'Grippe', date: '2025-10-15' }
	] as Entry<'vaccinations'>[],
	measurements: [
		{ ...meta('measure'), kind: 'weight', value: 68.5, unit: 'kg', date: '2026-03-04T10:30' },
		{ ...meta('measure'), kind: 'height', value: 165, unit: 'cm', date: '2026-03-04T10:31:15' },
		{ ...meta('measure'), kind: 'blood-pressure', value: 135, value2: 85, unit: 'mmHg', date: '2026-07-01T08:00', note: 'Au réveil' },
		{ ...meta('measure'), kind: 'glucose', value: 1.05, unit: 'g/L', date: '2026-07-02T07:45' },
		{ ...meta('measure'), kind: 'glucose', value: 5.8, unit: 'mmol/L', date: '2026-07-03T07:45' },
		{ ...meta('measure'), kind: 'heart-rate', value: 72, unit: '/min', date: '2026-10-25T02:30' },
		{ ...meta('measure'), kind: 'temperature', value: 37.8, unit: '°C', date: '2026-11-01T18:00', label: 'Fièvre' },
		{ ...meta('measure'), kind: 'other', value: 420, unit: 'L/min', label: 'Débit expiratoire de pointe', date: '2026-11-02T09:00' }
	] as Entry<'measurements'>[],
	visits: [
		{ ...meta('visit'), date: '2026-02-01', professional: 'Dr Roux', specialty: 'Médecine générale', reason: 'Renouvellement', place: 'Cabinet, Paris 11e', note: 'RAS' },
		{ ...meta('visit'), date: '2025-12-01', professional: 'Dr Blanc' }
	] as Entry<'visits'>[]
};

export const PDF = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a, 0x00, 0xff, 0xfe, 0x80]);

export const documents = [
	{
		entry: { ...meta('document'), type: 'lab-report', title: 'Bilan sanguin', date: '2026-06-01', author: 'Laboratoire Cerba', note: 'À jeun', hidden: false },
		file: { name: 'bilan.pdf', contentType: 'application/pdf', data: PDF }
	},
	{ entry: { ...meta('document'), type: 'prescription', title: 'Ordonnance', date: '2026-02-01', hidden: false } },
	{
		entry: { ...meta('hiddendoc'), type: 'certificate', title: 'Certificat secret', date: '2026-01-01', hidden: true },
		file: { name: 'secret.pdf', contentType: 'application/pdf', data: new Uint8Array([1, 2, 3]) }
	}
] as IpsInput['documents'] & object;

/** The sample as toIpsBundle's input: everything shared. */
export function sampleInput(overrides: Partial<IpsInput> = {}): IpsInput {
	return {
		bundleId: 'Qx3_link-id-0123456789abcdefghijklmnopqrstu',
		now: NOW,
		timeZone: TZ,
		language: 'fr',
		identity,
		sections,
		directives,
		documents,
		...overrides
	};
}

const META = new Set(['id', 'createdAt', 'updatedAt', 'createdBy', 'updatedBy', 'hidden']);

/** An entry's field values, without its metadata. */
export function content(entry: object): Record<string, unknown> {
	return Object.fromEntries(Object.entries(entry).filter(([k, v]) => !META.has(k) && v !== undefined));
}
