/**
 * The client facade end to end over fake-indexeddb (one fresh IDBFactory per test, so tests
 * share nothing): onboarding, lock/unlock, reload, passphrase change, recovery, several
 * records, what reaches the disk, and how damage and bad input are contained.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
	Carnet,
	COMPACT_AFTER_INCREMENTALS,
	CorruptChunkError,
	DeviceExistsError,
	InvalidPhraseError,
	LockedError,
	NoDeviceError,
	UnknownRecordError,
	WrongPassphraseError,
	WrongRecoveryPhraseError,
	type RecordHandle
} from '../../src/lib/client';
import { openCarnetDb, STORES } from '../../src/lib/client/db';
import { EncryptedStorageAdapter } from '../../src/lib/client/storage-adapter';
import { documentIdOf } from '../../src/lib/client/record-handle';
import { Repo } from '@automerge/automerge-repo';
import { isValidRecoveryPhrase, newRecoveryPhrase, randomBytes, ready, toBase64url } from '../../src/lib/core/crypto';
import {
	addEntry,
	editEntry,
	RecordValidationError,
	recordView,
	type RecordDoc
} from '../../src/lib/core/record';

const DB_NAME = 'carnet-test';
const PASSPHRASE = 'correct horse battery staple';

/** Strings typed into the records; none may ever reach IndexedDB in clear. */
const SECRETS = {
	givenName: 'Anaïs',
	familyName: 'Quintard-Vasseur',
	substance: 'Fluoroquinolones',
	treatment: 'Hydroxychloroquine 200 mg',
	childGiven: 'Léopold',
	childFamily: 'Rochebrune'
};
const IDENTITY = { givenName: SECRETS.givenName, familyName: SECRETS.familyName, birthDate: '1984-03-09' };
const CHILD = { givenName: SECRETS.childGiven, familyName: SECRETS.childFamily, birthDate: '2019-11-02' };
const ALLERGY = { substance: SECRETS.substance, criticality: 'high', reaction: 'Urticaire géante' };
const TREATMENT = { name: SECRETS.treatment, dose: '1 comprimé', schedule: 'matin' };

/** `Carnet.open` over `factory`; calling it again on the same factory simulates a page reload. */
function openCarnet(factory: IDBFactory): Promise<Carnet> {
	return Carnet.open({ indexedDB: factory, dbName: DB_NAME });
}

/** Every (store, key, value) on the device, read straight from IndexedDB. */
async function dumpStores(factory: IDBFactory): Promise<{ store: string; key: unknown; value: unknown }[]> {
	const db = await openCarnetDb(factory, DB_NAME);
	try {
		const out: { store: string; key: unknown; value: unknown }[] = [];
		for (const store of STORES) {
			const tx = db.transaction(store);
			const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
			keys.forEach((key, i) => out.push({ store, key, value: values[i] }));
		}
		return out;
	} finally {
		db.close();
	}
}

/** Everything stored as one string; bytes as latin1 AND UTF-8 so plaintext shows in either encoding. */
function flatten(value: unknown): string {
	if (value instanceof Uint8Array) {
		const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
		return `${b.toString('latin1')}\n${b.toString('utf8')}`;
	}
	if (Array.isArray(value)) return value.map(flatten).join('\n');
	if (typeof value === 'object' && value !== null) {
		return Object.entries(value)
			.map(([k, v]) => `${k}=${flatten(v)}`)
			.join('\n');
	}
	return String(value);
}

/** The chunks store as key -> ciphertext hex, to compare byte for byte. */
async function chunkSnapshot(factory: IDBFactory): Promise<Map<string, string>> {
	const rows = await dumpStores(factory);
	return new Map(
		rows
			.filter((r) => r.store === 'chunks')
			.map((r) => [JSON.stringify(r.key), Buffer.from(r.value as Uint8Array).toString('hex')])
	);
}

/** Onboards a fresh device; returns everything a test needs. */
async function onboard() {
	const factory = new IDBFactory();
	const carnet = await openCarnet(factory);
	const { session, recoveryPhrase } = await carnet.create({ passphrase: PASSPHRASE, identity: IDENTITY });
	const [{ vaultId }] = session.records();
	return { factory, carnet, session, recoveryPhrase, vaultId };
}

/** Adds the sample allergy and treatment; returns their ids once persisted. */
async function addAllergyAndTreatment(record: RecordHandle): Promise<{ allergy: string; treatment: string }> {
	let allergy = '';
	let treatment = '';
	await record.change((doc, ctx) => {
		allergy = addEntry(doc, 'allergies', ALLERGY, ctx);
	});
	await record.flush();
	await record.change((doc, ctx) => {
		treatment = addEntry(doc, 'treatments', TREATMENT, ctx);
	});
	await record.flush();
	return { allergy, treatment };
}

function expectRecordContent(record: RecordHandle): void {
	const view = record.view();
	expect(view.identity?.givenName).toBe(SECRETS.givenName);
	expect(view.sections.allergies.map((a) => a.substance)).toEqual([SECRETS.substance]);
	expect(view.sections.treatments.map((t) => t.name)).toEqual([SECRETS.treatment]);
	expect(view.unreadable).toBe(0);
}

beforeAll(() => ready());

describe('onboarding', () => {
	it('creates the device, the first record and a 24-word recovery phrase', async () => {
		const factory = new IDBFactory();
		const carnet = await openCarnet(factory);
		expect(await carnet.hasDevice()).toBe(false);
		const { session, recoveryPhrase } = await carnet.create({ passphrase: PASSPHRASE, identity: IDENTITY });
		expect(await carnet.hasDevice()).toBe(true);
		expect(recoveryPhrase.split(' ')).toHaveLength(24);
		expect(session.records()).toEqual([
			{ vaultId: expect.any(String), name: `${SECRETS.givenName} ${SECRETS.familyName}` }
		]);
		expect(session.author).toBe(`device:${session.deviceId.slice(0, 16)}`);
		const record = await session.open(session.records()[0].vaultId);
		expect(record.view().identity).toMatchObject({ ...IDENTITY, updatedBy: session.author });
		// Device entry, one vault, and the record's chunks.
		const rows = await dumpStores(factory);
		expect(rows.filter((r) => r.store === 'device')).toHaveLength(1);
		expect(rows.filter((r) => r.store === 'vaults')).toHaveLength(1);
		expect(rows.filter((r) => r.store === 'chunks').length).toBeGreaterThan(0);
		const vault = rows.find((r) => r.store === 'vaults')!.value as { lockboxes: { kind: string; epoch: number }[] };
		expect(vault.lockboxes.map((l) => [l.kind, l.epoch]).sort()).toEqual([
			['device', 0],
			['recovery', 0]
		]);
		await session.lock();
	});

	it('writes nothing at all for a bad identity', async () => {
		const factory = new IDBFactory();
		const carnet = await openCarnet(factory);
		const error = await carnet
			.create({ passphrase: PASSPHRASE, identity: { givenName: 'Anaïs', birthDate: '2999-01-01' } })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RecordValidationError);
		expect((error as RecordValidationError).issues.map((i) => i.field).sort()).toEqual(['birthDate', 'familyName']);
		expect(await carnet.hasDevice()).toBe(false);
		expect(await dumpStores(factory)).toEqual([]);
	});

	it('refuses to onboard over an existing device', async () => {
		const { carnet, session, factory } = await onboard();
		const before = await dumpStores(factory);
		await expect(carnet.create({ passphrase: 'other', identity: CHILD })).rejects.toBeInstanceOf(DeviceExistsError);
		expect(await dumpStores(factory)).toEqual(before);
		await session.lock();
	});

	it('cannot unlock or recover a device that was never set up', async () => {
		const carnet = await openCarnet(new IDBFactory());
		await expect(carnet.unlock(PASSPHRASE)).rejects.toBeInstanceOf(NoDeviceError);
		await expect(carnet.recover(newRecoveryPhrase(), 'x')).rejects.toBeInstanceOf(NoDeviceError);
	});
});

describe('lock, unlock, reload', () => {
	it('keeps an allergy and a treatment across lock/unlock and a reload', async () => {
		const { factory, carnet, session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		await addAllergyAndTreatment(record);
		expectRecordContent(record);
		await session.lock();

		const again = await carnet.unlock(PASSPHRASE);
		expect(again.deviceId).toBe(session.deviceId);
		expectRecordContent(await again.open(vaultId));
		await again.lock();
		carnet.close();

		// A reload: a new Carnet over the same IndexedDB.
		const reloaded = await openCarnet(factory);
		expect(await reloaded.hasDevice()).toBe(true);
		const third = await reloaded.unlock(PASSPHRASE);
		expect(third.records().map((r) => r.vaultId)).toEqual([vaultId]);
		expectRecordContent(await third.open(vaultId));
		await third.lock();
	});

	it('persists a change on lock even without flush()', async () => {
		const { carnet, session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		await record.change((doc, ctx) => void addEntry(doc, 'allergies', ALLERGY, ctx));
		await session.lock();
		const again = await carnet.unlock(PASSPHRASE);
		expect((await again.open(vaultId)).view().sections.allergies).toHaveLength(1);
		await again.lock();
	});

	it('refuses a wrong passphrase and changes nothing', async () => {
		const { factory, carnet, session } = await onboard();
		await session.lock();
		const before = await dumpStores(factory);
		for (const wrong of ['', 'Correct horse battery staple', `${PASSPHRASE} `, 'x'.repeat(500)]) {
			await expect(carnet.unlock(wrong)).rejects.toBeInstanceOf(WrongPassphraseError);
		}
		expect(await dumpStores(factory)).toEqual(before);
	});

	it('gives the same error when the wrapped keys were tampered with', async () => {
		const { factory, carnet, session } = await onboard();
		await session.lock();
		const db = await openCarnetDb(factory, DB_NAME);
		const entry = (await db.get('device', 'device'))!;
		entry.wrapped[30] ^= 1;
		await db.put('device', entry, 'device');
		db.close();
		await expect(carnet.unlock(PASSPHRASE)).rejects.toBeInstanceOf(WrongPassphraseError);
	});

	it('lock wipes the keys and every later call throws LockedError', async () => {
		const { session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		await session.lock();
		expect(session.locked).toBe(true);
		expect(() => session.records()).toThrow(LockedError);
		await expect(session.open(vaultId)).rejects.toBeInstanceOf(LockedError);
		await expect(session.createRecord(CHILD)).rejects.toBeInstanceOf(LockedError);
		await expect(session.changePassphrase(PASSPHRASE, 'new one')).rejects.toBeInstanceOf(LockedError);
		expect(() => record.view()).toThrow(LockedError);
		expect(() => record.subscribe(() => {})).toThrow(LockedError);
		await expect(record.change(() => {})).rejects.toBeInstanceOf(LockedError);
		await expect(record.flush()).rejects.toBeInstanceOf(LockedError);
		await session.lock(); // idempotent
	});

	it('zeroes the key buffers it held', async () => {
		const { session } = await onboard();
		// White-box: grab the buffers through the internal state the session exposes to tests only by reflection.
		const held: Uint8Array[] = [];
		const spy = Uint8Array.prototype.fill;
		Uint8Array.prototype.fill = function (this: Uint8Array, ...args: Parameters<typeof spy>) {
			held.push(this);
			return spy.apply(this, args) as Uint8Array;
		} as typeof spy;
		try {
			await session.lock();
		} finally {
			Uint8Array.prototype.fill = spy;
		}
		// Vault key, device sign + box private keys, the adapter's two subkeys at least.
		expect(held.length).toBeGreaterThanOrEqual(3);
		for (const buffer of held) expect(buffer.every((b) => b === 0)).toBe(true);
	});
});

describe('changing the passphrase', () => {
	it('verifies the old one, then only the new one unlocks; record chunks are not re-encrypted', async () => {
		const { factory, carnet, session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		await addAllergyAndTreatment(record);
		const chunksBefore = await chunkSnapshot(factory);

		await expect(session.changePassphrase('not it', 'new passphrase')).rejects.toBeInstanceOf(WrongPassphraseError);
		await session.changePassphrase(PASSPHRASE, 'new passphrase');
		expect(await chunkSnapshot(factory)).toEqual(chunksBefore);
		await session.lock();

		await expect(carnet.unlock(PASSPHRASE)).rejects.toBeInstanceOf(WrongPassphraseError);
		const again = await carnet.unlock('new passphrase');
		expect(again.deviceId).toBe(session.deviceId);
		expectRecordContent(await again.open(vaultId));
		await again.lock();
		expect(await chunkSnapshot(factory)).toEqual(chunksBefore);
	});

	it('uses a fresh salt', async () => {
		const { factory, session } = await onboard();
		const salt = async () =>
			Buffer.from(((await dumpStores(factory)).find((r) => r.store === 'device')!.value as { kdf: { salt: Uint8Array } }).kdf.salt).toString('hex');
		const before = await salt();
		await session.changePassphrase(PASSPHRASE, 'another');
		expect(await salt()).not.toBe(before);
		await session.lock();
	});
});

describe('recovery', () => {
	it('sets a new passphrase from the recovery phrase and the data is there', async () => {
		const { factory, carnet, session, vaultId, recoveryPhrase } = await onboard();
		const record = await session.open(vaultId);
		await addAllergyAndTreatment(record);
		const childId = await session.createRecord(CHILD);
		const oldDevice = session.deviceId;
		await session.lock();

		// Line breaks and capitals from the paper copy do not matter.
		const typed = recoveryPhrase.toUpperCase().split(' ').join('\n');
		const recovered = await carnet.recover(typed, 'brand new passphrase');
		expect(recovered.deviceId).not.toBe(oldDevice);
		expect(recovered.records().map((r) => r.vaultId)).toEqual([vaultId, childId]);
		expectRecordContent(await recovered.open(vaultId));
		expect((await recovered.open(childId)).view().identity?.givenName).toBe(SECRETS.childGiven);
		await recovered.lock();

		await expect(carnet.unlock(PASSPHRASE)).rejects.toBeInstanceOf(WrongPassphraseError);
		const again = await (await openCarnet(factory)).unlock('brand new passphrase');
		expectRecordContent(await again.open(vaultId));
		// The old device's lockboxes are gone, the recovery ones stay.
		const vaults = (await dumpStores(factory)).filter((r) => r.store === 'vaults');
		for (const v of vaults) {
			const kinds = (v.value as { lockboxes: { kind: string }[] }).lockboxes.map((l) => l.kind).sort();
			expect(kinds).toEqual(['device', 'recovery']);
		}
		await again.lock();
	});

	it('refuses an invalid phrase and a valid phrase of another record, changing nothing', async () => {
		const { factory, carnet, session, recoveryPhrase } = await onboard();
		await session.lock();
		const before = await dumpStores(factory);
		const words = recoveryPhrase.split(' ');
		// The same words with the last one changed: right wordlist, wrong checksum.
		const lastWord = ['abandon', 'ability', 'able'].find((w) => !isValidRecoveryPhrase([...words.slice(0, 23), w].join(' ')))!;
		const invalid = [
			'',
			'not a phrase',
			[...words.slice(0, 23), lastWord].join(' '),
			words.slice(0, 12).join(' '),
			`${recoveryPhrase} zoo`,
			[...words.slice(0, 23), 'carnet'].join(' ')
		];
		for (const bad of invalid) {
			await expect(carnet.recover(bad, 'x')).rejects.toBeInstanceOf(InvalidPhraseError);
		}
		await expect(carnet.recover(newRecoveryPhrase(), 'x')).rejects.toBeInstanceOf(WrongRecoveryPhraseError);
		expect(await dumpStores(factory)).toEqual(before);
		// The original passphrase still works.
		await (await carnet.unlock(PASSPHRASE)).lock();
	});
});

describe('several records', () => {
	it("keeps a child's record apart: own vault key, listed by name, not readable with mine", async () => {
		const { factory, carnet, session, vaultId } = await onboard();
		const childId = await session.createRecord(CHILD);
		expect(childId).not.toBe(vaultId);
		expect(session.records()).toEqual([
			{ vaultId, name: `${SECRETS.givenName} ${SECRETS.familyName}` },
			{ vaultId: childId, name: `${SECRETS.childGiven} ${SECRETS.childFamily}` }
		]);
		const mine = await session.open(vaultId);
		const child = await session.open(childId);
		await mine.change((doc, ctx) => void addEntry(doc, 'allergies', ALLERGY, ctx));
		await child.change((doc, ctx) => void addEntry(doc, 'treatments', TREATMENT, ctx));
		expect(mine.view().sections.treatments).toEqual([]);
		expect(child.view().sections.allergies).toEqual([]);
		expect(child.view().identity?.givenName).toBe(SECRETS.childGiven);
		await session.lock();

		// Open the child's vault key from its lockbox, then try it on my chunks.
		const again = await carnet.unlock(PASSPHRASE);
		expect(again.records()).toHaveLength(2);
		await again.lock();
		const db = await openCarnetDb(factory, DB_NAME);
		const { keys } = await lockboxKeys(db, PASSPHRASE);
		const childKey = keys.get(childId)!;
		const wrongAdapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey: childKey });
		// Same IDB range, child's key: the hashed names differ, so nothing is even found...
		expect(await wrongAdapter.loadRange([documentIdOf(vaultId)])).toEqual([]);
		// ...and under my vault's own hashed names, my ciphertexts do not open with the child's key.
		const rightAdapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey: keys.get(vaultId)! });
		const mineChunks = await rightAdapter.loadRange([]);
		expect(mineChunks.length).toBeGreaterThan(0);
		const tx = db.transaction('chunks');
		const myKeys = (await tx.store.getAllKeys()).filter((k) => k[0] === vaultId);
		const myValues = await Promise.all(myKeys.map((k) => db.get('chunks', k)));
		const { decrypt, deriveSubkey } = await import('../../src/lib/core/crypto');
		const childData = deriveSubkey(childKey, 2, 'carnetsk');
		for (const v of myValues) expect(() => decrypt(childData, v!)).toThrow();
		db.close();
	});

	it('refuses an unknown vault id', async () => {
		const { session } = await onboard();
		await expect(session.open('AAAAAAAAAAAAAAAAAAAAAA')).rejects.toBeInstanceOf(UnknownRecordError);
		await expect(session.open('nope')).rejects.toBeInstanceOf(UnknownRecordError);
		await session.lock();
	});

	it('returns the same handle for the same record and follows identity renames', async () => {
		const { carnet, session, vaultId } = await onboard();
		const a = await session.open(vaultId);
		expect(await session.open(vaultId)).toBe(a);
		const { setSingleton } = await import('../../src/lib/core/record');
		await a.change((doc, ctx) => setSingleton(doc, 'identity', { ...IDENTITY, givenName: 'Anne' }, ctx));
		expect(session.records()[0].name).toBe(`Anne ${SECRETS.familyName}`);
		await session.lock();
		const again = await carnet.unlock(PASSPHRASE);
		expect(again.records()[0].name).toBe(`Anne ${SECRETS.familyName}`);
		await again.lock();
	});
});

describe('subscribe and change', () => {
	it('calls subscribers now and after each change, until unsubscribed', async () => {
		const { session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		const seen: number[] = [];
		const stop = record.subscribe((view) => seen.push(view.sections.allergies.length));
		await record.change((doc, ctx) => void addEntry(doc, 'allergies', ALLERGY, ctx));
		stop();
		await record.change((doc, ctx) => void addEntry(doc, 'allergies', { substance: 'Latex' }, ctx));
		expect(seen).toEqual([0, 1]);
		expect(record.view()).toBe(record.view()); // cached until the next change
		await session.lock();
	});

	it('a validation error inside change stores nothing and propagates', async () => {
		const { factory, session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		const { allergy } = await addAllergyAndTreatment(record);
		const viewBefore = record.view();
		const before = await dumpStores(factory);
		const error = await record
			.change((doc, ctx) => {
				// A valid write first: it must be rolled back with the rest.
				addEntry(doc, 'treatments', { name: 'Doliprane' }, ctx);
				editEntry(doc, 'allergies', allergy, { criticality: 'extreme' }, ctx);
			})
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RecordValidationError);
		await record.flush();
		await new Promise((r) => setTimeout(r, 250)); // past automerge-repo's save throttle
		expect(await dumpStores(factory)).toEqual(before);
		expect(record.view()).toBe(viewBefore);
		expect(record.view().sections.treatments).toHaveLength(1);
		await session.lock();
		expect(await dumpStores(factory)).toEqual(before);
	});
});

describe('what reaches the disk', () => {
	it('no typed string appears in any value or key of any store', async () => {
		const { factory, session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		await addAllergyAndTreatment(record);
		const childId = await session.createRecord(CHILD);
		await (await session.open(childId)).change((doc, ctx) => void addEntry(doc, 'allergies', ALLERGY, ctx));
		await session.changePassphrase(PASSPHRASE, 'second passphrase');
		await session.lock();

		const rows = await dumpStores(factory);
		// Without a relay the sync stores stay empty (tests/integration/sync-*.test.ts search them).
		expect(new Set(rows.map((r) => r.store))).toEqual(new Set(STORES.filter((s) => s !== 'sync' && s !== 'outbox')));
		const everything = rows.map((r) => `${flatten(r.key)}\n${flatten(r.value)}`).join('\n');
		const needles = [
			...Object.values(SECRETS),
			// Also the plain-ASCII core of each, in case of an encoding twist.
			'Quintard',
			'Vasseur',
			'Fluoroquinolone',
			'Hydroxychloroquine',
			'Rochebrune',
			'1984-03-09',
			'2019-11-02',
			PASSPHRASE,
			'second passphrase',
			// automerge-repo's own names would reveal the layout.
			'snapshot',
			'incremental',
			'storage-adapter-id'
		];
		for (const needle of needles) expect(everything, needle).not.toContain(needle);
	});

	it('a flipped byte in one chunk is reported and the rest of the record still loads', async () => {
		const { factory, carnet, session, vaultId } = await onboard();
		const record = await session.open(vaultId);
		// Enough data that automerge-repo keeps incrementals instead of re-snapshotting each time.
		for (let i = 0; i < 40; i++) {
			await record.change((doc, ctx) => void addEntry(doc, 'visits', { date: '2024-01-15', professional: `Dr ${i} ${'x'.repeat(100)}` }, ctx));
		}
		await record.flush();
		await record.change((doc, ctx) => void addEntry(doc, 'allergies', ALLERGY, ctx));
		await record.flush();
		await record.change((doc, ctx) => void addEntry(doc, 'treatments', TREATMENT, ctx));
		await record.flush();
		await session.lock();

		const db = await openCarnetDb(factory, DB_NAME);
		const chunkKeys = (await db.getAllKeys('chunks')).filter((k) => k[0] === vaultId);
		expect(chunkKeys.length).toBeGreaterThan(2);
		// Find the chunk holding the treatment (the last incremental written) by decrypting.
		const { keys } = await lockboxKeys(db, PASSPHRASE);
		const reader = new EncryptedStorageAdapter({ db, vaultId, vaultKey: keys.get(vaultId)! });
		const chunks = await reader.loadRange([documentIdOf(vaultId), 'incremental']);
		expect(chunks.length).toBeGreaterThanOrEqual(2);
		const last = chunks[chunks.length - 1];
		const victimKey = chunkKeys.find(
			(k) => JSON.stringify(k.slice(1)) === JSON.stringify(hashedParts(reader, last.key))
		)!;
		const value = (await db.get('chunks', victimKey))!;
		value[Math.floor(value.length / 2)] ^= 0x10;
		await db.put('chunks', value, victimKey);
		db.close();

		const again = await carnet.unlock(PASSPHRASE);
		const damaged = await again.open(vaultId);
		expect(damaged.corruptChunks).toHaveLength(1);
		expect(damaged.corruptChunks[0]).toBeInstanceOf(CorruptChunkError);
		expect(damaged.corruptChunks[0].storeKey).toEqual(victimKey);
		const view = damaged.view();
		expect(view.identity?.givenName).toBe(SECRETS.givenName);
		expect(view.sections.visits).toHaveLength(40);
		expect(view.sections.allergies.map((a) => a.substance)).toEqual([SECRETS.substance]);
		expect(view.sections.treatments).toEqual([]); // the lost change, and only it
		await again.lock();
	});
});

describe('compaction and automerge-repo compatibility', () => {
	/** A record with a big first snapshot, so size-based compaction stays out of the way. */
	async function bigRecord() {
		const setup = await onboard();
		const record = await setup.session.open(setup.vaultId);
		await record.change((doc, ctx) => {
			for (let i = 0; i < 200; i++) {
				addEntry(doc, 'visits', { date: '2023-01-15', professional: 'Dr Big', note: toBase64url(randomBytes(150)) }, ctx);
			}
		});
		await record.flush();
		return { ...setup, record };
	}

	const countChunks = async (factory: IDBFactory) =>
		(await dumpStores(factory)).filter((r) => r.store === 'chunks').length;

	it('keeps the number of stored chunks bounded across many edits, losing nothing', async () => {
		const { factory, carnet, session, vaultId, record } = await bigRecord();
		let most = 0;
		for (let i = 0; i < 3 * COMPACT_AFTER_INCREMENTALS; i++) {
			await record.change((doc, ctx) => void addEntry(doc, 'visits', { date: '2024-01-15', professional: `Dr ${i}` }, ctx));
			await record.flush();
			most = Math.max(most, await countChunks(factory));
		}
		expect(most).toBeLessThanOrEqual(COMPACT_AFTER_INCREMENTALS + 1);
		await session.lock();
		const again = await carnet.unlock(PASSPHRASE);
		expect((await again.open(vaultId)).view().sections.visits).toHaveLength(200 + 3 * COMPACT_AFTER_INCREMENTALS);
		await again.lock();
	});

	it('opens what an automerge-repo Repo wrote, and compacts its many incrementals', async () => {
		const { factory, carnet, session, vaultId, record } = await bigRecord();
		const ctx = { author: session.author, now: new Date() };
		await session.lock();

		// A Repo over the same encrypted adapter writes 40 small incrementals (its own rule
		// keeps incrementals until they outweigh the snapshot).
		const db = await openCarnetDb(factory, DB_NAME);
		const { keys } = await lockboxKeys(db, PASSPHRASE);
		const adapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey: keys.get(vaultId)! });
		const repo = new Repo({ storage: adapter, network: [] });
		const handle = await repo.find<RecordDoc>(documentIdOf(vaultId));
		for (let i = 0; i < 40; i++) {
			handle.change((doc) => void addEntry(doc, 'visits', { date: '2024-02-01', professional: `Repo ${i}` }, ctx));
			await repo.flush();
		}
		await repo.shutdown();
		adapter.close();
		db.close();
		const before = await countChunks(factory);
		expect(before).toBeGreaterThan(40);

		const again = await carnet.unlock(PASSPHRASE);
		const reopened = await again.open(vaultId);
		expect(reopened.view().sections.visits).toHaveLength(240);
		await again.lock(); // waits for the background compaction
		// One snapshot, plus the storage id automerge-repo stored for itself.
		expect(await countChunks(factory)).toBe(2);
		const third = await carnet.unlock(PASSPHRASE);
		expect((await third.open(vaultId)).view().sections.visits).toHaveLength(240);
		await third.lock();
		void record;
	});

	it('writes chunks a Repo can open', async () => {
		const { factory, session, vaultId, record } = await bigRecord();
		await addAllergyAndTreatment(record);
		const expected = record.view();
		await session.lock();
		const db = await openCarnetDb(factory, DB_NAME);
		const { keys } = await lockboxKeys(db, PASSPHRASE);
		const adapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey: keys.get(vaultId)! });
		const repo = new Repo({ storage: adapter, network: [] });
		const handle = await repo.find<RecordDoc>(documentIdOf(vaultId));
		const view = recordView(handle.doc());
		expect(view.sections).toEqual(expected.sections);
		expect(view.identity).toEqual(expected.identity);
		await repo.shutdown();
		db.close();
	});
});

// --- white-box helpers -------------------------------------------------------------------

/** Unwraps the device and opens every lockbox, the way unlock does, to get raw vault keys. */
async function lockboxKeys(db: Awaited<ReturnType<typeof openCarnetDb>>, passphrase: string) {
	const { unwrapDevice, openLockbox } = await import('../../src/lib/client/keyring');
	const device = unwrapDevice((await db.get('device', 'device'))!, passphrase)!;
	const keys = new Map<string, Uint8Array>();
	for (const vault of await db.getAll('vaults')) keys.set(vault.vaultId, openLockbox(vault, device.box)!.vaultKey);
	return { keys, device };
}

/** The hashed IDB key parts an adapter uses for a storage key (what `save` would write under). */
function hashedParts(adapter: EncryptedStorageAdapter, key: string[]): string[] {
	return adapter.storeKeyOf(key).slice(1);
}
