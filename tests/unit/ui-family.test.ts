// The family screens' pure helpers: the People page's order and role badges, and the identity
// a new record (mine or a child's) starts with.
import { describe, expect, it } from 'vitest';
import { personRoleKey, sortPeople, type PersonInfo } from '../../src/lib/ui/family-api';
import { checkIdentity } from '../../src/lib/ui/identity';

const person = (personId: string, role: PersonInfo['role'], thisPerson = false): PersonInfo => ({
	personId,
	name: personId,
	role,
	devices: [],
	thisPerson
});

describe('sortPeople', () => {
	it('puts this person first, then guardians, readers and the recovery phrase, keeping the given order within each', () => {
		const list = [
			person('recovery', 'recovery'),
			person('grandma', 'reader'),
			person('claire', 'guardian'),
			person('nanny', 'reader'),
			person('julien', 'guardian', true),
			person('paul', 'guardian')
		];
		expect(sortPeople(list).map((p) => p.personId)).toEqual(['julien', 'claire', 'paul', 'grandma', 'nanny', 'recovery']);
		expect(list[0].personId).toBe('recovery');
	});

	it('names the role badges with i18n keys', () => {
		expect(personRoleKey('guardian')).toBe('people.role.guardian');
		expect(personRoleKey('reader')).toBe('people.role.reader');
		expect(personRoleKey('recovery')).toBe('people.role.recovery');
	});
});

describe('checkIdentity (onboarding and "Add a child")', () => {
	it('trims the names and keeps the first issue of each field', () => {
		const ok = checkIdentity({ givenName: '  Léa ', familyName: ' Martin', birthDate: '2012-03-12' });
		expect(ok).toEqual({ identity: { givenName: 'Léa', familyName: 'Martin', birthDate: '2012-03-12' }, issues: {} });
		const bad = checkIdentity({ givenName: ' ', familyName: 'Martin', birthDate: '' });
		expect(Object.keys(bad.issues).sort()).toEqual(['birthDate', 'givenName']);
		expect(bad.issues.givenName?.code).toBe('required');
	});
});
