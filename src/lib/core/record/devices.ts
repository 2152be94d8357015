/**
 * Device names ("Anaïs's phone"), kept inside the record document so that they travel
 * encrypted with it: the relay's membership chain names devices by public key only, and a
 * name typed by the patient is record data like any other.
 *
 * Layout: `devices: { [memberId]: ImmutableString(JSON {name}) }` at the root. A device only
 * ever writes its own key, so concurrent renames of two devices never meet; a device renamed
 * on itself twice concurrently is impossible. The map must exist before a second device can
 * write to it (two devices creating the same map key would make one of the maps, and the
 * names in it, vanish): the sync engine calls `ensureDevices` before the record first leaves
 * the device that created it, and every other device receives the map with the record.
 */
import type * as Automerge from '@automerge/automerge';
import { RecordValidationError } from './errors';
import { isMap, parseStored, toStored, type RecordDoc } from './layout';

/** Longest device name, in characters. */
export const DEVICE_NAME_MAX = 64;

/** A member id: base64url of an Ed25519 public key. */
const MEMBER_ID = /^[A-Za-z0-9_-]{43}$/;

/** The record with its device map (absent from records never shared yet). */
type WithDevices = RecordDoc & { devices?: Record<string, Automerge.ImmutableString> };

/** Creates the empty device map if the record has none; call before the record is first shared. */
export function ensureDevices(doc: RecordDoc): void {
	const record = doc as WithDevices;
	if (!isMap(record.devices)) record.devices = {};
}

/**
 * Names device `memberId` (trimmed, 1 to DEVICE_NAME_MAX characters). Throws
 * RecordValidationError (`required`, `too_long`) before writing; setting the current name
 * writes nothing.
 */
export function setDeviceName(doc: RecordDoc, memberId: string, name: unknown): void {
	if (typeof memberId !== 'string' || !MEMBER_ID.test(memberId)) throw new TypeError('memberId must be a member id');
	const trimmed = checkDeviceName(name);
	if (deviceNames(doc).get(memberId) === trimmed) return;
	ensureDevices(doc);
	(doc as WithDevices).devices![memberId] = toStored({ name: trimmed });
}

/**
 * The device name `name` as stored (trimmed); throws RecordValidationError (`required`,
 * `too_long`) when it is not 1 to DEVICE_NAME_MAX characters, so callers can check a name
 * before touching any record.
 */
export function checkDeviceName(name: unknown): string {
	if (typeof name !== 'string' || name.trim() === '') {
		throw new RecordValidationError([{ field: 'name', code: 'required' }]);
	}
	const trimmed = name.trim();
	if (!readable(trimmed)) {
		throw new RecordValidationError([{ field: 'name', code: 'too_long', params: { max: DEVICE_NAME_MAX } }]);
	}
	return trimmed;
}

/** Every readable device name by member id; unreadable entries are left out. */
export function deviceNames(doc: RecordDoc): ReadonlyMap<string, string> {
	const names = new Map<string, string>();
	const devices = (doc as WithDevices).devices;
	if (!isMap(devices)) return names;
	for (const [id, stored] of Object.entries(devices)) {
		const value = parseStored(stored) as { name?: unknown } | undefined;
		if (typeof value?.name === 'string' && readable(value.name)) names.set(id, value.name);
	}
	return names;
}

/** A name of 1 to DEVICE_NAME_MAX characters: what this module writes, and all it shows. */
function readable(name: string): boolean {
	const length = [...name].length;
	return length > 0 && length <= DEVICE_NAME_MAX;
}
