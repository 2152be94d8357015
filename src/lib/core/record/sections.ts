/**
 * The record's sections, declared once: each field's form descriptor and zod schema come from
 * the same builder call (`fields.ts`), and each section adds only what a field cannot say alone
 * (its sort date, its title for the activity log, its cross-field rules).
 *
 * Section ids and field names are stable: they are stored in the document and are the i18n
 * keys `section.<id>`, `field.<section>.<name>`.
 */
import type { Issue } from './errors';
import { DOCUMENT_TYPE_IDS } from './document-types';
import {
	checkbox,
	date,
	datetime,
	descriptorOf,
	email,
	positiveNumber,
	required,
	select,
	tel,
	text,
	textarea,
	type FieldDescriptor,
	type FieldSpec
} from './fields';

/** The fields of one section, by name. */
type Fields = Readonly<Record<string, FieldSpec>>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The value a set of fields describes: required fields present, the others optional. */
export type ValueOf<F extends Fields> = Simplify<
	{
		[K in keyof F as F[K]['required'] extends true ? K : never]: F[K] extends FieldSpec<infer T>
			? T
			: never;
	} & {
		[K in keyof F as F[K]['required'] extends true ? never : K]?: F[K] extends FieldSpec<infer T>
			? T
			: never;
	}
>;

/** Everything the module knows about one section, typed by its fields. */
interface SectionSpec<F extends Fields> {
	readonly fields: F;
	/** Most recent first by this date; entries without it come after the dated ones. */
	readonly dateField?: keyof F & string;
	/** The one field the activity log may quote: a name or title, never clinical detail. */
	readonly titleField?: keyof F & string;
	/** Rules across fields, applied when writing; stored entries are not re-judged by them. */
	readonly check?: (value: ValueOf<F>) => Issue[];
	/** Fills defaults into a valid value before it is stored. */
	readonly complete?: (value: ValueOf<F>) => ValueOf<F>;
}

/** The same spec as generic code (validation, views) uses it, whatever the section. */
export interface AnySectionSpec {
	readonly fields: Fields;
	readonly dateField?: string;
	readonly titleField?: string;
	readonly check?: (value: Record<string, unknown>) => Issue[];
	readonly complete?: (value: Record<string, unknown>) => Record<string, unknown>;
}

/**
 * Declares a section. The typed rules are wrapped for generic callers: validation calls them
 * only with a value its section's schema has just accepted, which is exactly `ValueOf<F>`.
 */
function section<F extends Fields>(
	spec: SectionSpec<F>
): Omit<AnySectionSpec, 'fields'> & { readonly fields: F } {
	const { check, complete, ...rest } = spec;
	return {
		...rest,
		...(check && { check: (value) => check(value as ValueOf<F>) }),
		...(complete && { complete: (value) => complete(value as ValueOf<F>) })
	};
}

/** `later` must not be before `earlier` when both are given; the issue names `later`, the field to fix. */
function dateOrder<V extends Record<string, unknown>>(
	value: V,
	earlier: keyof V & string,
	later: keyof V & string
): Issue[] {
	const from = value[earlier];
	const to = value[later];
	return typeof from === 'string' && typeof to === 'string' && to < from
		? [{ field: later, code: 'date_order', params: { after: earlier } }]
		: [];
}

/** What a measurement kind accepts. */
interface MeasurementKindSpec {
	/**
	 * Accepted units, each with its plausible maximum; the first is the default. Empty: any
	 * unit, which must then be given.
	 */
	readonly units: Readonly<Record<string, number>>;
	/** Whether the second value (a blood pressure's diastolic) is required. */
	readonly needsValue2?: boolean;
}

/**
 * Measurement kinds and their units. Glucose defaults to g/L because French laboratories
 * report it so; mmol/L is accepted for meters that use it. Units are the symbols people read
 * (mmHg, °C); the FHIR mapping translates them to UCUM.
 */
export const MEASUREMENT_KINDS = {
	weight: { units: { kg: 700 } },
	height: { units: { cm: 300 } },
	'blood-pressure': { units: { mmHg: 300 }, needsValue2: true },
	glucose: { units: { 'g/L': 10, 'mmol/L': 55 } },
	'heart-rate': { units: { '/min': 300 } },
	temperature: { units: { '°C': 45 } },
	other: { units: {} }
} as const satisfies Record<string, MeasurementKindSpec>;

/** A measurement kind id. */
export type MeasurementKind = keyof typeof MEASUREMENT_KINDS;

/** Measurement kinds in display order. */
export const MEASUREMENT_KIND_IDS = Object.keys(MEASUREMENT_KINDS) as MeasurementKind[];

const measurementFields = {
	kind: required(select(MEASUREMENT_KIND_IDS)),
	value: required(positiveNumber()),
	value2: positiveNumber(),
	unit: text(20),
	label: text(100),
	date: required(datetime({ notFuture: true })),
	note: textarea()
};

type Measurement = ValueOf<typeof measurementFields>;

function checkMeasurement(value: Measurement): Issue[] {
	const spec: MeasurementKindSpec = MEASUREMENT_KINDS[value.kind];
	const units = Object.keys(spec.units);
	const issues: Issue[] = [];
	if (spec.needsValue2 && value.value2 === undefined) issues.push({ field: 'value2', code: 'required' });
	if (units.length === 0) {
		// "other": nothing says what was measured or in what, so the patient must.
		if (value.unit === undefined) issues.push({ field: 'unit', code: 'required' });
		if (value.label === undefined) issues.push({ field: 'label', code: 'required' });
		return issues;
	}
	const unit = value.unit ?? units[0];
	const max = spec.units[unit];
	if (max === undefined) {
		issues.push({ field: 'unit', code: 'invalid_option', params: { options: units.join(', ') } });
		return issues;
	}
	for (const field of ['value', 'value2'] as const) {
		const n = value[field];
		if (n !== undefined && n > max) issues.push({ field, code: 'out_of_range', params: { min: 0, max } });
	}
	return issues;
}

function completeMeasurement(value: Measurement): Measurement {
	const [unit] = Object.keys(MEASUREMENT_KINDS[value.kind].units);
	return value.unit === undefined && unit !== undefined ? { ...value, unit } : value;
}

/** The declarative table of every section. */
export const SECTION_SPECS = {
	identity: section({
		fields: {
			givenName: required(text()),
			familyName: required(text()),
			birthDate: required(date({ notFuture: true })),
			sex: select(['female', 'male', 'other', 'unknown']),
			bloodGroup: select(['A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-', 'unknown']),
			phone: tel(),
			address: textarea(500)
		}
	}),
	contacts: section({
		fields: {
			name: required(text()),
			relationship: text(100),
			phone: required(tel()),
			email: email(),
			// The "personne de confiance" of French law (Code de la santé publique, L1111-6).
			trustedPerson: checkbox(),
			note: textarea()
		},
		titleField: 'name'
	}),
	allergies: section({
		fields: {
			substance: required(text()),
			type: select(['allergy', 'intolerance']),
			category: select(['food', 'medication', 'environment', 'biologic']),
			reaction: text(),
			criticality: select(['high', 'low', 'unable-to-assess']),
			onsetDate: date({ notFuture: true }),
			note: textarea()
		},
		dateField: 'onsetDate',
		titleField: 'substance'
	}),
	history: section({
		fields: {
			kind: required(select(['condition', 'surgery', 'family'])),
			name: required(text()),
			date: date(),
			status: select(['active', 'resolved']),
			// Who in the family, for family history.
			relative: text(100),
			note: textarea()
		},
		dateField: 'date',
		titleField: 'name'
	}),
	treatments: section({
		fields: {
			name: required(text()),
			dose: text(),
			schedule: text(),
			startDate: date(),
			endDate: date(),
			prescriber: text(),
			note: textarea()
		},
		dateField: 'startDate',
		titleField: 'name',
		check: (value) => dateOrder(value, 'startDate', 'endDate')
	}),
	vaccinations: section({
		fields: {
			vaccine: required(text()),
			date: required(date({ notFuture: true })),
			lot: text(50),
			nextDue: date(),
			administeredBy: text(),
			note: textarea()
		},
		dateField: 'date',
		titleField: 'vaccine',
		check: (value) => dateOrder(value, 'date', 'nextDue')
	}),
	measurements: section({
		fields: measurementFields,
		dateField: 'date',
		titleField: 'kind',
		check: checkMeasurement,
		complete: completeMeasurement
	}),
	directives: section({
		fields: {
			advanceDirectives: textarea(),
			// Where the signed paper is kept, so someone can fetch it.
			directivesLocation: text(500),
			organDonation: select(['yes', 'no', 'unspecified']),
			organDonationNote: textarea()
		}
	}),
	visits: section({
		fields: {
			date: required(date()),
			professional: required(text()),
			specialty: text(),
			reason: text(),
			place: text(),
			note: textarea()
		},
		dateField: 'date',
		titleField: 'professional'
	}),
	documents: section({
		fields: {
			type: required(select(DOCUMENT_TYPE_IDS)),
			title: required(text()),
			date: required(date({ notFuture: true })),
			author: text(),
			note: textarea()
		},
		dateField: 'date',
		titleField: 'title'
	})
};

type Specs = typeof SECTION_SPECS;

/** Sections holding one value rather than a list. */
export const SINGLETON_SECTIONS = ['identity', 'directives'] as const;

/** Sections holding a list of entries. */
export const LIST_SECTIONS = [
	'contacts',
	'allergies',
	'history',
	'treatments',
	'vaccinations',
	'measurements',
	'visits',
	'documents'
] as const;

/** A singleton section id. */
export type SingletonSectionId = (typeof SINGLETON_SECTIONS)[number];
/** A list section id. */
export type ListSectionId = (typeof LIST_SECTIONS)[number];
/** Any section id the patient edits (the activity log is not one). */
export type SectionId = keyof Specs;

/** Every editable section, in the order the record presents them. */
export const SECTIONS = [
	'identity',
	'contacts',
	'allergies',
	'history',
	'treatments',
	'vaccinations',
	'measurements',
	'directives',
	'visits',
	'documents'
] as const satisfies readonly (SingletonSectionId | ListSectionId)[];

/** The fields' value for a section, without the entry metadata. */
export type SectionValue<S extends SectionId> = ValueOf<Specs[S]['fields']>;

/** The spec of a section, for code that handles every section alike. */
export function specOf(id: SectionId): AnySectionSpec {
	return SECTION_SPECS[id];
}

/** Builds one value per section. */
export function perSection<T>(build: (section: SectionId) => T): Readonly<Record<SectionId, T>> {
	return Object.fromEntries(SECTIONS.map((s) => [s, build(s)])) as Record<SectionId, T>;
}

/** What the forms render, per section, in field order. */
export const FIELDS: Readonly<Record<SectionId, readonly FieldDescriptor[]>> = perSection((id) =>
	Object.entries(specOf(id).fields).map(([name, field]) => descriptorOf(name, field))
);
