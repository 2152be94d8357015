/**
 * Validation issues: stable codes the UI turns into messages (`error.<code>`), never zod's
 * own wording, so the messages can be translated and zod can be upgraded without the UI moving.
 */

/** Every code an issue can carry; each is an i18n key `error.<code>`. */
export const ISSUE_CODES = [
	'required',
	'too_long',
	'invalid_date',
	'date_in_future',
	'date_order',
	'not_a_number',
	'out_of_range',
	'invalid_option',
	'invalid_email',
	'invalid_phone',
	'invalid_type',
	'unknown_field',
	'read_only',
	'not_found'
] as const;

/** A stable issue code. */
export type IssueCode = (typeof ISSUE_CODES)[number];

/**
 * One problem with one field. `field` is the field name (`id` for an unknown entry, the empty
 * string when the input is not an object at all); `params` fill the message, e.g. `{ max: 200 }`.
 */
export interface Issue {
	readonly field: string;
	readonly code: IssueCode;
	readonly params?: Readonly<Record<string, string | number>>;
}

/** Thrown by every operation before it writes anything, so a rejected input leaves the document untouched. */
export class RecordValidationError extends Error {
	readonly issues: readonly Issue[];

	constructor(issues: readonly Issue[]) {
		super(`Invalid record input: ${issues.map((i) => `${i.field || '(input)'} ${i.code}`).join(', ')}`);
		this.name = 'RecordValidationError';
		this.issues = issues;
	}
}
