/**
 * People on top of devices (docs/FAMILY.md §1): who holds a record, grouped by the person each
 * device's entry names, and who wrote what. Pure: the caller passes the record's current
 * members (the relay's membership chain, which the record knows nothing of).
 */
import { deviceEntries, type DeviceEntry } from './devices';
import type { RecordDoc } from './layout';

/** A member's role in the membership chain. */
export type MemberRole = 'admin' | 'reader' | 'recovery';

/** A person's role in a record: `guardian` when any of their devices is an admin. */
export type PersonRole = 'guardian' | 'reader' | 'recovery';

/** A current member of the record, as the membership chain has it. */
export interface RecordMember {
	readonly memberId: string;
	readonly role: MemberRole;
}

/** One device of a person. */
export interface PersonDevice {
	readonly memberId: string;
	readonly name: string;
	readonly role: MemberRole;
}

/** A person holding the record, with their devices among the members. */
export interface Person {
	/** The member id of the person's first device (docs/FAMILY.md §1). */
	readonly personId: string;
	readonly name: string;
	readonly role: PersonRole;
	/** By name, then member id. */
	readonly devices: readonly PersonDevice[];
}

/** Who wrote an entry or an activity line, for "by Julien (Pixel 8)". */
export interface AuthorName {
	/** A device of the record's people, or a professional through a share (`pro:` authors). */
	readonly kind: 'device' | 'professional';
	/** The person's name; for a device without entry, its member id's first 8 characters. */
	readonly person: string;
	/** The device's name, when its entry is known. */
	readonly device?: string;
}

/** How many characters of a member id name a device nobody named (docs/FAMILY.md §1). */
const SHORT_ID = 8;

// The record is French first; the same collator orders people on every device.
const frenchOrder = new Intl.Collator('fr');

/**
 * Groups the current `members` by person, sorted by name (then person id, so every device
 * lists them alike). A device's person is the one its entry names; a member without entry is
 * its own person named by its member id's first 8 characters. The recovery key is always its
 * own person, role `recovery`: it is the phrase, not a human's device. A person's name is the
 * one written by their first device when it is a member, else by their device of least member
 * id: devices of one person may briefly disagree after a rename, and all must show the same.
 */
export function people(doc: RecordDoc, members: readonly RecordMember[]): Person[] {
	const entries = deviceEntries(doc);
	const groups = new Map<string, { devices: PersonDevice[]; named: { memberId: string; name: string }[] }>();
	const result: Person[] = [];
	for (const { memberId, role } of members) {
		const entry = entries.get(memberId);
		const device = Object.freeze({ memberId, name: entry?.name ?? memberId.slice(0, SHORT_ID), role });
		if (role === 'recovery') {
			result.push(
				Object.freeze({ personId: memberId, name: device.name, role: 'recovery', devices: Object.freeze([device]) })
			);
			continue;
		}
		const personId = entry?.person.id ?? memberId;
		let group = groups.get(personId);
		if (group === undefined) groups.set(personId, (group = { devices: [], named: [] }));
		group.devices.push(device);
		if (entry !== undefined) group.named.push({ memberId, name: entry.person.name });
	}
	for (const [personId, { devices, named }] of groups) {
		const first =
			named.find((n) => n.memberId === personId) ??
			named.reduce<{ memberId: string; name: string } | undefined>(
				(least, n) => (least === undefined || n.memberId < least.memberId ? n : least),
				undefined
			);
		devices.sort((a, b) => frenchOrder.compare(a.name, b.name) || compareIds(a.memberId, b.memberId));
		result.push(
			Object.freeze({
				personId,
				name: first?.name ?? personId.slice(0, SHORT_ID),
				role: devices.some((d) => d.role === 'admin') ? 'guardian' : 'reader',
				devices: Object.freeze(devices)
			})
		);
	}
	return result.sort((a, b) => frenchOrder.compare(a.name, b.name) || compareIds(a.personId, b.personId));
}

/**
 * The name behind an entry's `createdBy` / `updatedBy` or an activity line's `author`:
 * `device:<16 chars>` is the device whose member id starts so (its person and device names;
 * the first 8 characters when it has no entry), `pro:<name> (RPPS <rpps>)` the professional
 * who contributed through a share. `null` for any other author (none is written today).
 */
export function authorName(doc: RecordDoc, author: string): AuthorName | null {
	return authorResolver(deviceEntries(doc))(author);
}

/** `authorName` over read entries, indexing them once for the many authors of a page. */
export function authorResolver(entries: ReadonlyMap<string, DeviceEntry>): (author: string) => AuthorName | null {
	let byPrefix: Map<string, DeviceEntry> | undefined;
	const index = () => {
		if (byPrefix !== undefined) return byPrefix;
		byPrefix = new Map();
		// Least member id first, so that two ids sharing 16 characters (96 bits: never in
		// practice) still resolve alike on every device.
		for (const id of [...entries.keys()].sort(compareIds)) {
			const prefix = id.slice(0, DEVICE_PREFIX);
			if (!byPrefix.has(prefix)) byPrefix.set(prefix, entries.get(id)!);
		}
		return byPrefix;
	};
	return (author) => {
		const device = DEVICE_AUTHOR.exec(author);
		if (device !== null) {
			const entry = index().get(device[1]);
			return Object.freeze(
				entry === undefined
					? { kind: 'device', person: device[1].slice(0, SHORT_ID) }
					: { kind: 'device', person: entry.person.name, device: entry.name }
			);
		}
		const professional = PROFESSIONAL_AUTHOR.exec(author);
		return professional === null ? null : Object.freeze({ kind: 'professional', person: professional[1] });
	};
}

/** How many characters of the member id a device author carries (client/carnet.ts). */
const DEVICE_PREFIX = 16;
const DEVICE_AUTHOR = /^device:([A-Za-z0-9_-]{16})$/;
/** `professionalAuthor` (shares.ts); the name may hold anything, parentheses included. */
const PROFESSIONAL_AUTHOR = /^pro:(.+) \(RPPS \d{11}\)$/s;

/** Code-unit order: ids are ASCII, and the collator would tie `a` and `A`. */
function compareIds(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
