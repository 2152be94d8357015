/**
 * The client side of sync that needs no relay: device names in the record, the encrypted
 * sync state and outbox, the database migration, relay URLs, and how a session without a
 * relay behaves. The engine against a real relay is tests/integration/sync-*.test.ts.
 */
import 'fake-indexeddb/auto';
import * as Automerge from '@automerge/automerge';
import { IDBFactory } from 'fake-indexeddb';
import { beforeAll, describe, expect, it } from 'vitest';
import { Carnet, OfflineError } from '../../src/lib/client';
import { DB_VERSION, openCarnetDb } from '../../src/lib/client/db';
import { syncUrl } from '../../src/lib/client/sync/socket';
import { emptyState, SyncStore } from '../../src/lib/client/sync/store';
import { randomBytes, ready, signKeyPair, toBase64url } from '../../src/lib/core/crypto';
import {
	checkDeviceName,
	DEVICE_NAME_MAX,
	deviceNames,
	ensureDevices,
	initRecord,
	RecordValidationError,
	setDeviceName,
	type RecordDoc
} from '../../src/lib/core/record';
import { sealEnvelope } from '../../src/lib/core/sync';

const IDENTITY = { givenName: 'Anaïs', familyName: 'Quintard', birthDate: '1984-03-09' };
const PASSPHRASE = 'correct horse battery staple';
const member = () => toBase64url(randomBytes(32));

beforeAll(ready);

describe('device names in the record', () => {
	const fresh = () =>
		Automerge.change(Automerge.init<RecordDoc>(), (d) => initRecord(d, IDENTITY, { author: 'device:test', now: new Date() }));

	it('stores one name per member, trimmed, and reads them back', () => {
		const [a, b] = [member(), member()];
		let doc = Automerge.change(fresh(), (d) => ensureDevices(d));
		doc = Automerge.change(doc, (d) => setDeviceName(d, a, '  Phone  '));
		doc = Automerge.change(doc, (d) => setDeviceName(d, b, 'Laptop'));
		expect(deviceNames(doc)).toEqual(new Map([[a, 'Phone'], [b, 'Laptop']]));
		// The same name again writes nothing; ensureDevices on a record that has the map neither.
		expect(Automerge.getHeads(Automerge.change(doc, (d) => setDeviceName(d, a, 'Phone')))).toEqual(Automerge.getHeads(doc));
		expect(Automerge.getHeads(Automerge.change(doc, (d) => ensureDevices(d)))).toEqual(Automerge.getHeads(doc));
	});

	it('refuses empty and too long names before writing, and a malformed member id', () => {
		expect(() => checkDeviceName('   ')).toThrow(RecordValidationError);
		expect(() => checkDeviceName('x'.repeat(DEVICE_NAME_MAX + 1))).toThrow(RecordValidationError);
		expect(checkDeviceName('😀'.repeat(DEVICE_NAME_MAX))).toBe('😀'.repeat(DEVICE_NAME_MAX));
		let doc = fresh();
		expect(() => Automerge.change(doc, (d) => setDeviceName(d, 'not an id', 'Phone'))).toThrow(TypeError);
		expect(() => (doc = Automerge.change(doc, (d) => setDeviceName(d, member(), '')))).toThrow(
			expect.objectContaining({ issues: [{ field: 'name', code: 'required' }] })
		);
		expect(deviceNames(doc).size).toBe(0);
	});
});

describe('sync state and outbox at rest', () => {
	it('round-trips encrypted, and an altered or foreign value reads as absent', async () => {
		const db = await openCarnetDb(new IDBFactory(), 'sync-store');
		const vault = toBase64url(randomBytes(16));
		const localKey = randomBytes(32);
		const store = new SyncStore(db, vault, localKey);
		const author = signKeyPair();
		const epochKey = randomBytes(32);
		const envelope = sealEnvelope({ vault, epoch: 0, key: epochKey, author, counter: 1, changes: randomBytes(50) });
		const state = { ...emptyState(toBase64url(author.publicKey)), counter: 1, keys: new Map([[0, epochKey]]), lastSeq: 7, knownHeads: ['a'] };
		await store.write(state, { put: [{ envelope, changes: 1 }] });
		expect(await store.load()).toEqual({ state, outbox: [{ envelope, changes: 1 }] });

		// Nothing readable at rest: the epoch key and the envelope's fields are inside ciphertext.
		const raw = Buffer.concat([(await db.get('sync', vault))!, (await db.get('outbox', [vault, 1]))!]);
		expect(raw.includes(Buffer.from(epochKey))).toBe(false);
		expect(raw.includes(Buffer.from(envelope.sig))).toBe(false);

		const other = new SyncStore(db, vault, randomBytes(32));
		expect(await other.load()).toEqual({ state: undefined, outbox: [] });
		const sealed = (await db.get('outbox', [vault, 1]))!;
		sealed[sealed.length - 1] ^= 1;
		await db.put('outbox', sealed, [vault, 1]);
		expect((await store.load()).outbox).toEqual([]);
		await store.write(state, { remove: [1] });
		expect(await db.count('outbox')).toBe(0);
		store.close();
		db.close();
	});

	it('migrates a version 1 database: the sync stores are added, the rest kept', async () => {
		const factory = new IDBFactory();
		await new Promise<void>((resolve, reject) => {
			const request = factory.open('carnet', 1);
			request.onupgradeneeded = () => {
				for (const name of ['device', 'vaults', 'chunks']) request.result.createObjectStore(name);
			};
			request.onsuccess = () => {
				const tx = request.result.transaction('chunks', 'readwrite');
				tx.objectStore('chunks').put(new Uint8Array([1, 2, 3]), ['v', 'k']);
				tx.oncomplete = () => {
					request.result.close();
					resolve();
				};
			};
			request.onerror = () => reject(request.error);
		});
		const db = await openCarnetDb(factory, 'carnet');
		expect(db.version).toBe(DB_VERSION);
		expect([...db.objectStoreNames]).toEqual(expect.arrayContaining(['sync', 'outbox', 'chunks']));
		expect(await db.get('chunks', ['v', 'k'])).toEqual(new Uint8Array([1, 2, 3]));
		db.close();
	});
});

describe('relay URLs', () => {
	it('derives the /sync WebSocket from an origin and keeps a full ws(s) URL', () => {
		expect(syncUrl('http://127.0.0.1:8787')).toBe('ws://127.0.0.1:8787/sync');
		expect(syncUrl('https://carnet.example/')).toBe('wss://carnet.example/sync');
		expect(syncUrl('wss://relay.example/custom')).toBe('wss://relay.example/custom');
		expect(() => syncUrl('ftp://carnet.example')).toThrow(TypeError);
	});
});

describe('a session without a relay', () => {
	it('stays offline, lists this device and the recovery key, and refuses what needs the relay', async () => {
		const carnet = await Carnet.open({ indexedDB: new IDBFactory() });
		const { session } = await carnet.create({ passphrase: PASSPHRASE, identity: IDENTITY });
		const [{ vaultId }] = session.records();
		expect(session.sync.status(vaultId)).toEqual({ state: 'offline', pending: 0 });
		await expect(session.sync.whenSynced(vaultId)).rejects.toBeInstanceOf(OfflineError);
		await expect(session.inviteDevice()).rejects.toBeInstanceOf(OfflineError);
		await expect(session.removeDevice(vaultId, member())).rejects.toBeInstanceOf(OfflineError);

		await session.renameThisDevice('Kitchen tablet');
		await expect(session.renameThisDevice('')).rejects.toBeInstanceOf(RecordValidationError);
		const devices = await session.devices(vaultId);
		expect(devices).toEqual([
			{ memberId: session.deviceId, name: 'Kitchen tablet', role: 'admin', kind: 'device', thisDevice: true },
			{ memberId: expect.any(String), role: 'recovery', kind: 'recovery', thisDevice: false }
		]);
		await session.lock();
		carnet.close();
	});
});
