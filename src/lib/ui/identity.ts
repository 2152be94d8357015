// The identity a new record starts with, checked before anything is created (onboarding and
// "Add a child" share it).
import { validate, type Issue } from '$lib/core/record';

export interface NewIdentity {
	givenName: string;
	familyName: string;
	birthDate: string;
}

export const IDENTITY_FIELDS = ['givenName', 'familyName', 'birthDate'] as const;

export function emptyIdentity(): NewIdentity {
	return { givenName: '', familyName: '', birthDate: '' };
}

/** The identity trimmed, and the first issue of each of its fields (the record's own rules). */
export function checkIdentity(input: NewIdentity): { identity: NewIdentity; issues: Partial<Record<keyof NewIdentity, Issue>> } {
	const identity = { givenName: input.givenName.trim(), familyName: input.familyName.trim(), birthDate: input.birthDate };
	const issues: Partial<Record<keyof NewIdentity, Issue>> = {};
	const result = validate('identity', identity);
	if (!result.ok) {
		for (const issue of result.issues) {
			const field = IDENTITY_FIELDS.find((name) => name === issue.field);
			if (field && !issues[field]) issues[field] = issue;
		}
	}
	return { identity, issues };
}
