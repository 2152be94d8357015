/**
 * A realistic record for benchmarks and tests: `count` entries spread over ten years and over
 * the sections the way a real record fills up (mostly measurements, visits and documents),
 * written through the public operations so it exercises exactly what the app writes.
 * Deterministic for a given seed, except the entry ids, which are random by design.
 */
import {
	addEntry,
	type ListSectionId,
	type RecordContext,
	type RecordDoc
} from '../src/lib/core/record';

/** How a real record's entries split across sections (weights, not counts). */
const WEIGHTS: readonly [ListSectionId, number][] = [
	['measurements', 45],
	['visits', 16],
	['documents', 15],
	['treatments', 9],
	['vaccinations', 6],
	['history', 4],
	['allergies', 3],
	['contacts', 2]
];

const DAY_MS = 86_400_000;
const TEN_YEARS_MS = 3652.5 * DAY_MS;

/** mulberry32: a small seeded PRNG, good enough to vary sample data reproducibly. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const pad = (n: number) => String(n).padStart(2, '0');
const day = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const dayTime = (d: Date) => `${day(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

const PEOPLE = ['Dr Claire Martin', 'Dr Paul Bernard', 'Dr Inès Moreau', 'Dr Karim Haddad', 'Sophie Leroy'];
const SPECIALTIES = ['Médecine générale', 'Cardiologie', 'Dermatologie', 'Ophtalmologie', 'Kiné'];
const DRUGS = ['Paracétamol 1 g', 'Amoxicilline 1 g', 'Lévothyroxine 75 µg', 'Metformine 850 mg', 'Ramipril'];
const VACCINES = ['DTP', 'Grippe saisonnière', 'COVID-19', 'Hépatite B', 'Pneumocoque'];
const SUBSTANCES = ['Pénicilline', 'Arachide', 'Pollen de graminées', 'Acariens', 'Latex'];
const CONDITIONS = ['Asthme', 'Hypertension artérielle', 'Diabète de type 2', 'Migraine', 'Appendicectomie'];
const DOC_TYPES = ['consultation-report', 'lab-report', 'imaging-report', 'prescription', 'certificate'];

/** One form's worth of input for `section`, dated `when`. */
function sampleInput(section: ListSectionId, when: Date, rand: () => number): Record<string, unknown> {
	const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)];
	const between = (min: number, max: number, decimals = 0) =>
		Number((min + rand() * (max - min)).toFixed(decimals));
	switch (section) {
		case 'measurements': {
			// Blood pressure twice: it is the one people log most.
			const kind = pick(['weight', 'blood-pressure', 'blood-pressure', 'glucose', 'heart-rate', 'temperature']);
			const values: Record<string, Record<string, unknown>> = {
				weight: { value: between(58, 92, 1) },
				'blood-pressure': { value: between(105, 150), value2: between(62, 95) },
				glucose: { value: between(0.8, 1.4, 2), label: pick(['à jeun', 'après repas']) },
				'heart-rate': { value: between(55, 95) },
				temperature: { value: between(36.2, 38.6, 1) }
			};
			return { kind, ...values[kind], date: dayTime(when) };
		}
		case 'visits':
			return {
				date: day(when),
				professional: pick(PEOPLE),
				specialty: pick(SPECIALTIES),
				reason: 'Suivi'
			};
		case 'documents':
			return {
				type: pick(DOC_TYPES),
				title: `Compte rendu ${day(when)}`,
				date: day(when),
				author: pick(PEOPLE)
			};
		case 'treatments':
			return {
				name: pick(DRUGS),
				dose: '1 comprimé',
				schedule: 'matin et soir',
				startDate: day(when),
				endDate: day(new Date(when.getTime() + between(5, 60) * DAY_MS))
			};
		case 'vaccinations':
			return {
				vaccine: pick(VACCINES),
				date: day(when),
				lot: `L${between(1000, 9999)}`,
				nextDue: day(new Date(when.getTime() + between(1, 10) * 365 * DAY_MS)),
				administeredBy: pick(PEOPLE)
			};
		case 'history':
			return { kind: 'condition', name: pick(CONDITIONS), date: day(when), status: pick(['active', 'resolved']) };
		case 'allergies':
			return {
				substance: pick(SUBSTANCES),
				criticality: pick(['high', 'low', 'unable-to-assess']),
				onsetDate: day(when)
			};
		case 'contacts':
			return {
				name: pick(PEOPLE),
				relationship: 'Proche',
				phone: `06 ${[1, 2, 3, 4].map(() => between(10, 99)).join(' ')}`
			};
	}
}

/**
 * Adds `count` sample entries to an initialised record (see `initRecord`), oldest first over the
 * ten years before `ctx.now`, each written as of its own date so the activity log spreads over
 * the months like a real one. Call it inside a `change` callback; returns the new ids.
 */
export function fillSampleRecord(
	doc: RecordDoc,
	count: number,
	ctx: RecordContext,
	seed = 1
): string[] {
	const rand = prng(seed);
	const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
	const ids: string[] = [];
	for (let i = 0; i < count; i++) {
		let r = rand() * total;
		const [section] = WEIGHTS.find(([, w]) => (r -= w) < 0) ?? WEIGHTS[0];
		const when = new Date(ctx.now.getTime() - ((count - i) / count) * TEN_YEARS_MS);
		const input = sampleInput(section, when, rand);
		ids.push(addEntry(doc, section, input, { author: ctx.author, now: new Date(when.getTime() + 3600_000) }));
	}
	return ids;
}
