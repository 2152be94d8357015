/**
 * Devices for the sync integration tests: each is a real `Carnet` (the client code the app
 * runs) over its own fake-indexeddb factory, talking to a real relay process through `ws`.
 * Reopening a device on the same factory is a page reload.
 */
import 'fake-indexeddb/auto';
import { createServer } from 'node:net';
import * as Automerge from '@automerge/automerge';
import { IDBFactory } from 'fake-indexeddb';
import WebSocket from 'ws';
import { Carnet, type RecordHandle, type Session } from '../../src/lib/client';
import type { OpenRecord } from '../../src/lib/client/record-handle';
import type { WebSocketConstructor } from '../../src/lib/client/sync/socket';
import { addEntry, type ListSectionId } from '../../src/lib/core/record';

/** The passphrase every test device uses. */
export const PASSPHRASE = 'correct horse battery staple';

/** `ws` as the client's WebSocket class (the browser's in the app). */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** One simulated device: its IndexedDB and the Carnet opened on it. */
export interface TestDevice {
	readonly factory: IDBFactory;
	carnet: Carnet;
	session?: Session;
	/** Closes and reopens the Carnet on the same IndexedDB (a reload); the session is gone. */
	reload(): Promise<Carnet>;
}

/** A blank device pointed at the relay at `relayUrl`. */
export async function blankDevice(relayUrl: string): Promise<TestDevice> {
	const factory = new IDBFactory();
	const open = () => Carnet.open({ indexedDB: factory, dbName: 'carnet', relayUrl, WebSocket: NodeWebSocket });
	const device: TestDevice = {
		factory,
		carnet: await open(),
		async reload() {
			await device.session?.lock();
			device.session = undefined;
			device.carnet.close();
			device.carnet = await open();
			return device.carnet;
		}
	};
	return device;
}

/** A device that created a record for `givenName`; returns it with the record's id and recovery phrase. */
export async function creator(
	relayUrl: string,
	givenName = 'Anaïs'
): Promise<TestDevice & { session: Session; vaultId: string; recoveryPhrase: string }> {
	const device = await blankDevice(relayUrl);
	const { session, recoveryPhrase } = await device.carnet.create({
		passphrase: PASSPHRASE,
		identity: { givenName, familyName: 'Quintard', birthDate: '1984-03-09' }
	});
	device.session = session;
	return Object.assign(device, { session, vaultId: session.records()[0].vaultId, recoveryPhrase });
}

/** A new device joined through `link`. */
export async function joiner(relayUrl: string, link: string, name = 'Second phone'): Promise<TestDevice & { session: Session }> {
	const device = await blankDevice(relayUrl);
	const { session } = await device.carnet.join(link, PASSPHRASE, name);
	device.session = session;
	return Object.assign(device, { session });
}

/** Adds an allergy `substance` to the record; returns its entry id. */
export async function addAllergy(record: RecordHandle, substance: string): Promise<string> {
	return add(record, 'allergies', { substance, criticality: 'low' });
}

/** Adds an entry to a list section; returns its id. */
export async function add(record: RecordHandle, section: ListSectionId, input: unknown): Promise<string> {
	let id = '';
	await record.change((doc, ctx) => {
		id = addEntry(doc, section, input, ctx);
	});
	return id;
}

/** The allergy substances a record shows, sorted. */
export function allergies(record: RecordHandle): string[] {
	return record
		.view()
		.sections.allergies.map((entry) => String((entry as { substance?: unknown }).substance))
		.sort();
}

/** Resolves once `check` holds for the record's view (subscribers are told of remote changes). */
export function until(record: RecordHandle, check: () => boolean, timeoutMs = 10_000): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			stop();
			reject(new Error('the record never reached the expected state'));
		}, timeoutMs);
		let stop = () => {};
		stop = record.subscribe(() => {
			if (!check()) return;
			clearTimeout(timer);
			queueMicrotask(() => stop());
			resolve();
		});
	});
}

/**
 * Waits until every session has sent all its changes of the record and caught up with the
 * relay: twice round, since a device's last acks can land after another's catch-up.
 */
export async function settle(sessions: readonly Session[], vaultId: string): Promise<void> {
	for (let round = 0; round < 2; round++) {
		for (const session of sessions) await session.sync.whenSynced(vaultId);
	}
}

/** The record's Automerge heads (sorted) and view, to compare devices. */
export function snapshotOf(record: RecordHandle): { heads: string[]; view: string } {
	const doc = (record as OpenRecord).doc();
	return { heads: [...Automerge.getHeads(doc)].sort(), view: JSON.stringify(record.view()) };
}

/** A TCP port free now, so that a relay restarted on the same data keeps its address. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}
