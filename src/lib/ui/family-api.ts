// The part of the client's family API the UI uses (docs/FAMILY.md): roles, people, person
// invitations, removal and hand-over. `familyOf` makes the compiler check that a Session
// still offers them, like `syncOf` (sync-api.ts).
import type { HandOverSummary, PersonInfo, RecordRole, Session } from '$lib/client';
import type { Invitation } from './sync-api';

export type { HandOverSummary, PersonInfo, RecordRole };
export type PersonRole = PersonInfo['role'];

export interface FamilySession {
	role(vaultId: string): RecordRole;
	people(vaultId: string): Promise<PersonInfo[]>;
	inviteMember(vaultId: string, role: RecordRole): Promise<Invitation>;
	removePerson(vaultId: string, personId: string): Promise<void>;
	handOver(vaultId: string): Promise<HandOverSummary>;
	acceptInvite(link: string): Promise<string[]>;
}

/** The session's family side (null when locked). */
export function familyOf(session: Session | null): FamilySession | null {
	return session;
}

/** The i18n key of a person's role badge. */
export function personRoleKey(role: PersonRole): string {
	return `people.role.${role}`;
}

/**
 * People as the page lists them: this person first, then guardians, read-only members and
 * the recovery phrase, each group in the order given (the record's, the same on every device).
 */
export function sortPeople(people: readonly PersonInfo[]): PersonInfo[] {
	const rank: Record<PersonRole, number> = { guardian: 0, reader: 1, recovery: 2 };
	return [...people].sort(
		(x, y) => Number(y.thisPerson) - Number(x.thisPerson) || rank[x.role] - rank[y.role]
	);
}
