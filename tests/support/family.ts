/**
 * People for the family integration tests (docs/FAMILY.md): each person's devices are real
 * `Carnet`s over their own fake IndexedDB (tests/support/devices.ts), and a device's keys can
 * be taken out of its IndexedDB to act on the relay behind the client's back (a forced write).
 */
import { add, creator, joiner, PASSPHRASE, type TestDevice } from './devices';
import type { Member } from './sync-client';
import type { RecordHandle, Session } from '../../src/lib/client';
import { DEVICE_KEY, openCarnetDb } from '../../src/lib/client/db';
import { unwrapDevice } from '../../src/lib/client/keyring';
import type { Engine } from '../../src/lib/client/sync/engine';
import { memberRef } from '../../src/lib/core/sync';

/** A person's first device: Carnet set up with their own record for `givenName`, this device named `deviceName`. */
export async function firstDevice(relayUrl: string, givenName: string, deviceName: string): Promise<TestDevice & { session: Session; vaultId: string; recoveryPhrase: string }> {
	const device = await creator(relayUrl, givenName);
	await device.session.renameThisDevice(deviceName);
	await device.session.sync.whenSynced(device.vaultId);
	return device;
}

/** A second device of the person of `first`, joined with a device invitation to all of its records. */
export async function nextDevice(relayUrl: string, first: Session, deviceName: string): Promise<TestDevice & { session: Session }> {
	return joiner(relayUrl, (await first.inviteDevice()).link, deviceName);
}

/** Resolves once `check` holds, looking again every 50 ms; fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error('the expected state never came');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Adds a vaccination `vaccine` (given today); returns its entry id. */
export function addVaccination(record: RecordHandle, vaccine: string, lot?: string): Promise<string> {
	return add(record, 'vaccinations', { vaccine, date: '2020-01-15', ...(lot === undefined ? {} : { lot }) });
}

/** The vaccines a record shows, sorted. */
export function vaccines(record: RecordHandle): string[] {
	return record
		.view()
		.sections.vaccinations.map((entry) => entry.vaccine)
		.sort();
}

/** The device's key pairs, unwrapped from its IndexedDB with the test passphrase, as a relay test member. */
export async function keysOf(device: TestDevice): Promise<Member> {
	const db = await openCarnetDb(device.factory, 'carnet');
	try {
		const entry = await db.get('device', DEVICE_KEY);
		const keys = entry === undefined ? undefined : unwrapDevice(entry, PASSPHRASE);
		if (keys === undefined) throw new Error('the device has no keys');
		return { sign: keys.sign, box: keys.box, id: keys.deviceId, ref: memberRef(keys) };
	} finally {
		db.close();
	}
}

/** Every epoch key the session's sync holds for the record (copies). */
export function epochKeysOf(session: Session, vaultId: string): Map<number, Uint8Array> {
	return (session.sync as Engine).epochKeys(vaultId);
}
