/**
 * Devices and the people using them, kept inside the record document so that they travel
 * encrypted with it: the relay's membership chain names devices by public key only, and the
 * names typed by the patient are record data like any other.
 *
 * Layout: `devices: { [memberId]: ImmutableString(JSON {name, person?: {id, name}}) }` at the
 * root (entries written before docs/FAMILY.md hold `{name}` only). A device writes its own key,
 * and the keys of its own person's other devices it adds to a record (docs/FAMILY.md §3), so
 * writers of one key are one human's devices and concurrent writes of one key are rare and
 * harmless (one whole entry wins). The person lives in each device's entry rather than in a
 * map of people: two devices of one person renaming it concurrently would each rewrite the
 * same key, and one of them would lose what it wrote alongside (decisions log, 2026-11-26).
 *
 * The map must exist before a second device can write to it (two devices creating the same
 * map key would make one of the maps, and the names in it, vanish): the sync engine calls
 * `ensureDevices` before the record first leaves the device that created it, and every other
 * device receives the map with the record.
 */
import type * as Automerge from '@automerge/automerge';
import { RecordValidationError } from './errors';
import { isMap, parseStored, toStored, type RecordDoc } from './layout';

/** Longest device name, in characters. */
export const DEVICE_NAME_MAX = 64;

/** Longest person name, in characters. */
export const PERSON_NAME_MAX = 64;

/** A member id: base64url of an Ed25519 public key. */
const MEMBER_ID = /^[A-Za-z0-9_-]{43}$/;

/** The human behind a device: `id` is the member id of their first device (docs/FAMILY.md §1). */
export interface DevicePerson {
	readonly id: string;
	readonly name: string;
}

/** A device's entry as read: its name and its person (never missing, see `deviceEntries`). */
export interface DeviceEntry {
	readonly name: string;
	readonly person: DevicePerson;
}

/** The record with its device map (absent from records never shared yet). */
type WithDevices = RecordDoc & { devices?: Record<string, Automerge.ImmutableString> };

/** Creates the empty device map if the record has none; call before the record is first shared. */
export function ensureDevices(doc: RecordDoc): void {
	const record = doc as WithDevices;
	if (!isMap(record.devices)) record.devices = {};
}

/**
 * Writes device `memberId`'s entry: its name (trimmed, 1 to DEVICE_NAME_MAX characters) and,
 * when given, its person (`checkPerson`). Without `person` the entry keeps the person it has,
 * so renaming a device never detaches it from its person. Throws RecordValidationError
 * (`required`, `too_long`, `invalid_type`) before writing; writing the current entry writes
 * nothing. Callers write their own device's entry, or one of their own person's devices'.
 */
export function setDeviceName(doc: RecordDoc, memberId: string, name: unknown, person?: unknown): void {
	if (typeof memberId !== 'string' || !MEMBER_ID.test(memberId)) throw new TypeError('memberId must be a member id');
	const trimmed = checkDeviceName(name);
	const newPerson = person === undefined ? undefined : checkPerson(person);
	const stored = storedEntry((doc as WithDevices).devices, memberId);
	// Only a person actually written is kept: the fallback of an old entry stays implicit, so
	// it keeps following the device's name as the contract's fallback does.
	const kept = newPerson ?? stored?.person;
	if (stored !== undefined && stored.name === trimmed && samePerson(stored.person, kept)) return;
	ensureDevices(doc);
	(doc as WithDevices).devices![memberId] = toStored(
		kept === undefined ? { name: trimmed } : { name: trimmed, person: { id: kept.id, name: kept.name } }
	);
}

/**
 * The device name `name` as stored (trimmed); throws RecordValidationError (`required`,
 * `too_long`) when it is not 1 to DEVICE_NAME_MAX characters, so callers can check a name
 * before touching any record.
 */
export function checkDeviceName(name: unknown): string {
	return checkName(name, 'name', DEVICE_NAME_MAX);
}

/**
 * The person `person` as stored (`{id, name}`, name trimmed); throws RecordValidationError
 * before any write: `person.id` `invalid_type` when not a member id, `person.name` `required`
 * or `too_long` when not 1 to PERSON_NAME_MAX characters, `person` `invalid_type` when not an
 * object.
 */
export function checkPerson(person: unknown): DevicePerson {
	if (typeof person !== 'object' || person === null) {
		throw new RecordValidationError([{ field: 'person', code: 'invalid_type' }]);
	}
	const { id, name } = person as { id?: unknown; name?: unknown };
	if (typeof id !== 'string' || !MEMBER_ID.test(id)) {
		throw new RecordValidationError([{ field: 'person.id', code: 'invalid_type' }]);
	}
	return { id, name: checkName(name, 'person.name', PERSON_NAME_MAX) };
}

/** `name` trimmed, when 1 to `max` characters; else RecordValidationError on `field`. */
function checkName(name: unknown, field: string, max: number): string {
	if (typeof name !== 'string' || name.trim() === '') {
		throw new RecordValidationError([{ field, code: 'required' }]);
	}
	const trimmed = name.trim();
	if (!readable(trimmed, max)) {
		throw new RecordValidationError([{ field, code: 'too_long', params: { max } }]);
	}
	return trimmed;
}

/**
 * Every readable device entry by member id. An entry without a person (written before people
 * existed) reads with the fallback person `{id: memberId, name: the device's name}`; an entry
 * whose name does not read is left out, and one whose person does not read gets the fallback,
 * so the device still shows by its name. Read afresh on each call (a few small values): it
 * may be called inside a change, where Automerge's proxies change under a cache.
 */
export function deviceEntries(doc: RecordDoc): ReadonlyMap<string, DeviceEntry> {
	const entries = new Map<string, DeviceEntry>();
	const devices = (doc as WithDevices).devices;
	if (!isMap(devices)) return entries;
	for (const id of Object.keys(devices)) {
		const stored = storedEntry(devices, id);
		if (stored === undefined) continue;
		const person = stored.person ?? { id, name: stored.name };
		entries.set(id, Object.freeze({ name: stored.name, person: Object.freeze(person) }));
	}
	return entries;
}

/** Every readable device name by member id; unreadable entries are left out. */
export function deviceNames(doc: RecordDoc): ReadonlyMap<string, string> {
	return new Map([...deviceEntries(doc)].map(([id, entry]) => [id, entry.name]));
}

/** A stored entry as written: its name, and its person only if one was written and reads. */
function storedEntry(
	devices: Record<string, unknown> | undefined,
	memberId: string
): { name: string; person?: DevicePerson } | undefined {
	if (!isMap(devices) || !Object.hasOwn(devices, memberId)) return undefined;
	const value = parseStored(devices[memberId]) as { name?: unknown; person?: unknown } | undefined;
	if (typeof value !== 'object' || value === null) return undefined;
	if (typeof value.name !== 'string' || !readable(value.name, DEVICE_NAME_MAX)) return undefined;
	const person = value.person as { id?: unknown; name?: unknown } | undefined;
	const personReads =
		typeof person === 'object' &&
		person !== null &&
		typeof person.id === 'string' &&
		MEMBER_ID.test(person.id) &&
		typeof person.name === 'string' &&
		readable(person.name, PERSON_NAME_MAX);
	return personReads
		? { name: value.name, person: { id: person.id as string, name: person.name as string } }
		: { name: value.name };
}

function samePerson(a: DevicePerson | undefined, b: DevicePerson | undefined): boolean {
	return a === b || (a !== undefined && b !== undefined && a.id === b.id && a.name === b.name);
}

/** A name of 1 to `max` characters: what this module writes, and all it shows. */
function readable(name: string, max: number): boolean {
	const length = [...name].length;
	return length > 0 && length <= max;
}
