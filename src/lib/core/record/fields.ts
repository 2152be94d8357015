/**
 * Field builders: each call gives both what a form shows (kind, required, options, maxLength)
 * and the zod schema that checks the value, so a section's form and its validation come from
 * one declaration in `sections.ts` and cannot drift apart.
 */
import { z } from 'zod';

/** How the UI renders a field; the values match HTML input types where one exists. */
export type FieldKind =
	| 'text'
	| 'textarea'
	| 'date'
	| 'datetime'
	| 'number'
	| 'select'
	| 'checkbox'
	| 'tel'
	| 'email';

/**
 * What a generic form needs to render one field. The label is the i18n key
 * `field.<section>.<name>`, each option's label `option.<section>.<name>.<value>`.
 */
export interface FieldDescriptor {
	readonly name: string;
	readonly kind: FieldKind;
	/**
	 * Always required. Fields required only in some cases (a blood pressure's diastolic) say
	 * `false` and fail with `error.required` when the case applies.
	 */
	readonly required: boolean;
	readonly options?: readonly string[];
	/** For text kinds, so the form can set `maxlength` to the same limit validation enforces. */
	readonly maxLength?: number;
}

/** One field of the declarative table; `T` is its value type, `R` whether it is required. */
export interface FieldSpec<T = unknown, R extends boolean = boolean> {
	readonly kind: FieldKind;
	readonly required: R;
	readonly options?: readonly string[];
	readonly maxLength?: number;
	/**
	 * Checked at write time against the operation's clock only: a stored value stays readable
	 * whatever a device's clock says later.
	 */
	readonly notFuture?: boolean;
	readonly schema: z.ZodType<T>;
	/**
	 * `schema.safeParse(value).success` without zod, for any value `JSON.parse` can return.
	 * Reading a stored record checks every entry's fields with this, several times cheaper than
	 * zod (decisions log, 2026-11-26). tests/unit/record-stored-check.test.ts holds the two equal.
	 */
	readonly accepts: (value: unknown) => boolean;
}

/** Earliest date accepted anywhere: catches year typos (0202 for 2020) that date inputs let through. */
export const MIN_DATE = '1900-01-01';
/** Latest date accepted anywhere (a vaccine booster may be due decades ahead, not centuries). */
export const MAX_DATE = '2100-12-31';

/**
 * `YYYY-MM-DDTHH:mm[:ss]` without zone: the wall-clock time the patient read, as
 * `<input type="datetime-local">` gives it.
 */
const LOCAL_DATETIME = /^(\d{4}-\d{2}-\d{2})T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?$/;
/** Digits with the separators people type (spaces, dots, dashes, parentheses) and an optional leading +. */
const PHONE = /^\+?[\d\s().-]+$/;

// Aborts on a malformed date, so the range check below never judges one.
const isoDate = z.iso.date({ abort: true });
/** zod's own patterns, so the checks without zod accept exactly what the schemas accept. */
const DATE_PATTERN = z.regexes.date;
const EMAIL_PATTERN = z.regexes.email;

/** True for a real calendar date in `YYYY-MM-DD` (2023-02-29 is not one): what `isoDate` accepts. */
function isRealDate(value: string): boolean {
	return DATE_PATTERN.test(value);
}

function isLocalDateTime(value: string): boolean {
	const match = LOCAL_DATETIME.exec(value);
	return match !== null && isRealDate(match[1]);
}

function isPhone(value: string): boolean {
	if (!PHONE.test(value)) return false;
	const digits = value.replace(/\D/g, '').length;
	// E.164 allows 15 digits at most; fewer than 3 is not a number anyone can be reached on.
	return digits >= 3 && digits <= 15;
}

/** Keeps every date inside [MIN_DATE, MAX_DATE]; datetimes compare on their date part. */
function inDateRange(value: string): boolean {
	const day = value.slice(0, 10);
	return day >= MIN_DATE && day <= MAX_DATE;
}

const dateRange = { params: { code: 'out_of_range', min: MIN_DATE, max: MAX_DATE } };

function spec<T>(
	kind: FieldKind,
	schema: z.ZodType<T>,
	accepts: (value: unknown) => boolean,
	extra: Omit<FieldSpec<T, false>, 'kind' | 'schema' | 'accepts' | 'required'> = {}
): FieldSpec<T, false> {
	return { kind, schema, accepts, required: false, ...extra };
}

/**
 * A string of at most `maxLength` characters, counted as `z.string().max()` counts them: in
 * code points (a surrogate pair is one), which only matters past `maxLength` UTF-16 units.
 */
export function isText(value: unknown, maxLength: number): value is string {
	return typeof value === 'string' && (value.length <= maxLength || codePoints(value) <= maxLength);
}

/** Code points, a lone surrogate counting as one (zod's `codePointLength`). */
function codePoints(text: string): number {
	let count = text.length;
	for (let i = 0; i < text.length - 1; i++) {
		if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			count--;
			i++;
		}
	}
	return count;
}

/** Marks a field as always required. */
export function required<T>(field: FieldSpec<T, false>): FieldSpec<T, true> {
	return { ...field, required: true };
}

/** A one-line text; 200 characters fit any name or title. */
export function text(maxLength = 200): FieldSpec<string, false> {
	return spec('text', z.string().max(maxLength), (v) => isText(v, maxLength), { maxLength });
}

/** Free text; 4000 characters is a long note, and bounds what one entry can cost in the document. */
export function textarea(maxLength = 4000): FieldSpec<string, false> {
	return spec('textarea', z.string().max(maxLength), (v) => isText(v, maxLength), { maxLength });
}

/** A phone number as typed (kept as typed: French numbers are read back as written). */
export function tel(): FieldSpec<string, false> {
	const maxLength = 30;
	return spec(
		'tel',
		z
			.string()
			.max(maxLength)
			.refine(isPhone, { params: { code: 'invalid_phone' } }),
		(v) => isText(v, maxLength) && isPhone(v),
		{ maxLength }
	);
}

/** An e-mail address; 254 is the longest address SMTP can carry. */
export function email(): FieldSpec<string, false> {
	const maxLength = 254;
	return spec('email', z.email().max(maxLength), (v) => isText(v, maxLength) && EMAIL_PATTERN.test(v), {
		maxLength
	});
}

/** A calendar date `YYYY-MM-DD`. */
export function date(options: { notFuture?: boolean } = {}): FieldSpec<string, false> {
	return spec(
		'date',
		isoDate.refine(inDateRange, dateRange),
		(v) => typeof v === 'string' && isRealDate(v) && inDateRange(v),
		options
	);
}

/** A local date and time `YYYY-MM-DDTHH:mm[:ss]`. */
export function datetime(options: { notFuture?: boolean } = {}): FieldSpec<string, false> {
	return spec(
		'datetime',
		z
			.string()
			.refine(isLocalDateTime, { params: { code: 'invalid_date' }, abort: true })
			.refine(inDateRange, dateRange),
		(v) => typeof v === 'string' && isLocalDateTime(v) && inDateRange(v),
		options
	);
}

/** A strictly positive number (every quantity the record holds is); upper bounds are per section. */
export function positiveNumber(): FieldSpec<number, false> {
	// z.number() refuses NaN and the infinities (JSON.parse('1e999') is Infinity).
	return spec('number', z.number().gt(0), (v) => typeof v === 'number' && Number.isFinite(v) && v > 0);
}

/** One value out of a fixed list; the list is also the set of i18n option keys. */
export function select<const O extends readonly string[]>(
	options: O
): FieldSpec<O[number], false> {
	const allowed = new Set<unknown>(options);
	return spec('select', z.enum(options), (v) => allowed.has(v), { options });
}

/** A yes/no tick box. */
export function checkbox(): FieldSpec<boolean, false> {
	return spec('checkbox', z.boolean(), (v) => typeof v === 'boolean');
}

/** What a form shows for a field named `name`. */
export function descriptorOf(name: string, field: FieldSpec): FieldDescriptor {
	return {
		name,
		kind: field.kind,
		required: field.required,
		...(field.options && { options: field.options }),
		...(field.maxLength !== undefined && { maxLength: field.maxLength })
	};
}
