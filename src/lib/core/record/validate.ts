/**
 * Form input -> a section value, or issues with stable codes. zod checks the shape; this file
 * prepares form input for it (trim, empty means absent, French decimal commas) and turns zod's
 * issues into the codes the UI translates.
 */
import type { z } from 'zod';
import type { Issue, IssueCode } from './errors';
import { ISSUE_CODES } from './errors';
import { CONTENT_SCHEMAS, META_KEYS } from './schema';
import { SECTIONS, specOf, type SectionId, type SectionValue } from './sections';
import { localDay } from './time';

/** Result of `validate`: the value to store, or every issue found. */
export type ValidationResult<T> =
	| { readonly ok: true; readonly value: T }
	| { readonly ok: false; readonly issues: readonly Issue[] };

/** A decimal as people type it, with a point or the French comma. */
const DECIMAL = /^[+-]?\d+(?:[.,]\d+)?$/;

/** An object a form could have produced (not null, not an array). */
export function isPlainObject(input: unknown): input is Record<string, unknown> {
	return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/**
 * Trims text, drops empty and null values (an empty form field means "not given", so an edit
 * can clear an optional field), reads numbers typed as text. Unknown keys pass through for zod
 * to report.
 */
function normalize(section: SectionId, input: Record<string, unknown>): Record<string, unknown> {
	const fields = specOf(section).fields;
	const out: Record<string, unknown> = {};
	for (const [key, raw] of Object.entries(input)) {
		if (raw === undefined || raw === null) continue;
		if (typeof raw !== 'string') {
			out[key] = raw;
			continue;
		}
		const text = raw.trim().normalize('NFC');
		if (text === '') continue;
		out[key] = fields[key]?.kind === 'number' && DECIMAL.test(text) ? Number(text.replace(',', '.')) : text;
	}
	return out;
}

function isIssueCode(code: unknown): code is IssueCode {
	return (ISSUE_CODES as readonly unknown[]).includes(code);
}

/** zod issue -> our issues; `values` tells a missing field (`required`) from a wrong one. */
function fromZod(issue: z.core.$ZodIssue, values: Record<string, unknown>): Issue[] {
	const field = String(issue.path[0] ?? '');
	switch (issue.code) {
		case 'unrecognized_keys':
			return issue.keys.map((key) => ({ field: key, code: 'unknown_field' }));
		case 'invalid_type':
			if (values[field] === undefined) return [{ field, code: 'required' }];
			return [{ field, code: issue.expected === 'number' ? 'not_a_number' : 'invalid_type' }];
		case 'too_big':
			return issue.origin === 'string'
				? [{ field, code: 'too_long', params: { max: Number(issue.maximum) } }]
				: [{ field, code: 'out_of_range', params: { max: Number(issue.maximum) } }];
		case 'too_small':
			return [{ field, code: 'out_of_range', params: { min: Number(issue.minimum) } }];
		case 'invalid_value':
			return [{ field, code: 'invalid_option' }];
		case 'invalid_format':
			if (issue.format === 'email') return [{ field, code: 'invalid_email' }];
			return [{ field, code: issue.format === 'date' ? 'invalid_date' : 'invalid_type' }];
		case 'custom': {
			// Our refinements carry their code and message parameters in `params`.
			const { code, ...params } = issue.params ?? {};
			if (!isIssueCode(code)) return [{ field, code: 'invalid_type' }];
			return [Object.keys(params).length > 0 ? { field, code, params } : { field, code }];
		}
		default:
			return [{ field, code: 'invalid_type' }];
	}
}

/**
 * Checks form input for a section. Returns the value to store (trimmed, defaults filled in) or
 * every issue, each naming its field. `now` decides what "in the future" means; operations pass
 * their context's clock.
 */
export function validate<S extends SectionId>(
	section: S,
	input: unknown,
	now: Date = new Date()
): ValidationResult<SectionValue<S>> {
	if (!(SECTIONS as readonly string[]).includes(section)) {
		return { ok: false, issues: [{ field: 'section', code: 'invalid_option' }] };
	}
	if (!isPlainObject(input)) return { ok: false, issues: [{ field: '', code: 'invalid_type' }] };

	const spec = specOf(section);
	const values = normalize(section, input);
	const issues: Issue[] = Object.keys(values)
		.filter((key) => META_KEYS.includes(key))
		.map((field) => ({ field, code: 'read_only' }));
	for (const field of META_KEYS) delete values[field];

	const parsed = CONTENT_SCHEMAS[section].safeParse(values);
	if (!parsed.success) issues.push(...parsed.error.issues.flatMap((i) => fromZod(i, values)));

	// Judged even when other fields failed, so the patient sees every problem at once.
	const today = localDay(now);
	const failed = new Set(issues.map((i) => i.field));
	for (const [field, { notFuture }] of Object.entries(spec.fields)) {
		const value = values[field];
		if (notFuture && !failed.has(field) && typeof value === 'string' && value.slice(0, 10) > today) {
			issues.push({ field, code: 'date_in_future' });
		}
	}

	if (parsed.success && issues.length === 0) {
		// Cross-field rules need every field well-typed, so they run once the fields pass.
		issues.push(...(spec.check?.(parsed.data) ?? []));
	}
	if (!parsed.success || issues.length > 0) return { ok: false, issues };
	const value = spec.complete?.(parsed.data) ?? parsed.data;
	return { ok: true, value: value as SectionValue<S> };
}
