/**
 * Storage adapters: automerge-repo's own conformance suite plus Carnet's contract, written as
 * one function (`storageAdapterSuite`) so every adapter (the encrypted IndexedDB one, the
 * plain in-memory one below, any future one) runs exactly the same checks. Then the checks
 * only an encrypting adapter can pass (tamper detection, key and vault binding, no leaks).
 */
import 'fake-indexeddb/auto';
import * as Automerge from '@automerge/automerge';
import {
	Repo,
	type Chunk,
	type StorageAdapterInterface,
	type StorageKey
} from '@automerge/automerge-repo';
import {
	runStorageAdapterTests,
	type SetupFn
} from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js';
import { IDBFactory } from 'fake-indexeddb';
import type { IDBPDatabase } from 'idb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes, ready, toBase64url } from '../../src/lib/core/crypto';
import { openCarnetDb, type CarnetDB } from '../../src/lib/client/db';
import { CorruptChunkError, LockedError } from '../../src/lib/client/errors';
import { EncryptedStorageAdapter } from '../../src/lib/client/storage-adapter';

/**
 * The same tests for any adapter. automerge-repo's suite registers a file-level `beforeEach`,
 * so each call is wrapped in its own `describe` to keep adapters from overriding each other.
 */
export function storageAdapterSuite(name: string, setup: SetupFn): void {
	describe(`storage adapter: ${name}`, () => {
		runStorageAdapterTests(setup, name);

		describe('Carnet contract', () => {
			let adapter: StorageAdapterInterface;
			let teardown: (() => void | Promise<void>) | undefined;
			beforeEach(async () => {
				({ adapter, teardown } = await setup());
				return () => teardown?.();
			});

			it('matches whole key components only, and the prefix itself', async () => {
				await adapter.save(['AAAAA', 'x'], new Uint8Array([1]));
				await adapter.save(['AAAAAB', 'x'], new Uint8Array([2]));
				await adapter.save(['AAAAA'], new Uint8Array([3]));
				const keys = (await adapter.loadRange(['AAAAA'])).map((c) => c.key);
				expect(keys).toHaveLength(2);
				expect(keys).toContainEqual(['AAAAA', 'x']);
				expect(keys).toContainEqual(['AAAAA']);
			});

			it('returns chunks in write order, whatever their names', async () => {
				const names = ['zeta', 'alpha', 'mu', 'beta', 'omega', 'delta', 'a/b', 'é', ''];
				for (const [i, n] of names.entries()) await adapter.save(['doc', 'incremental', n], new Uint8Array([i]));
				const chunks = await adapter.loadRange(['doc', 'incremental']);
				expect(chunks.map((c) => c.key[2])).toEqual(names);
				expect(chunks.map((c) => c.data?.[0])).toEqual(names.map((_, i) => i));
			});

			it('removeRange leaves siblings and other documents', async () => {
				await adapter.save(['d1', 'snapshot', 'a'], new Uint8Array([1]));
				await adapter.save(['d1', 'incremental', 'b'], new Uint8Array([2]));
				await adapter.save(['d2', 'incremental', 'c'], new Uint8Array([3]));
				await adapter.removeRange(['d1', 'incremental']);
				expect((await adapter.loadRange(['d1'])).map((c) => c.key)).toEqual([['d1', 'snapshot', 'a']]);
				expect(await adapter.load(['d2', 'incremental', 'c'])).toEqual(new Uint8Array([3]));
			});

			it('gives an empty payload back as empty', async () => {
				await adapter.save(['e'], new Uint8Array(0));
				expect(await adapter.load(['e'])).toEqual(new Uint8Array(0));
			});

			it('carries an automerge-repo document from one Repo to the next', async () => {
				const repo1 = new Repo({ storage: adapter, network: [] });
				const handle = repo1.create<{ items: string[] }>({ items: [] });
				for (let i = 0; i < 5; i++) {
					handle.change((d) => {
						d.items.push(`item ${i}`);
					});
					await repo1.flush();
				}
				const repo2 = new Repo({ storage: adapter, network: [] });
				const again = await repo2.find<{ items: string[] }>(handle.documentId);
				expect(again.doc().items).toEqual([0, 1, 2, 3, 4].map((i) => `item ${i}`));
				await repo1.shutdown();
				await repo2.shutdown();
			});
		});
	});
}

/** A plain in-memory adapter: the reference behaviour the encrypted one must match. */
class MemoryStorageAdapter implements StorageAdapterInterface {
	#data = new Map<string, Chunk & { data: Uint8Array }>();
	#id = (key: StorageKey) => JSON.stringify(key);
	#starts = (key: StorageKey, prefix: StorageKey) => prefix.every((p, i) => key[i] === p);
	async load(key: StorageKey) {
		return this.#data.get(this.#id(key))?.data.slice();
	}
	async save(key: StorageKey, data: Uint8Array) {
		// delete + set: an overwrite moves to the end, like the encrypted adapter's write order.
		this.#data.delete(this.#id(key));
		this.#data.set(this.#id(key), { key: [...key], data: data.slice() });
	}
	async remove(key: StorageKey) {
		this.#data.delete(this.#id(key));
	}
	async loadRange(prefix: StorageKey) {
		return [...this.#data.values()]
			.filter((c) => this.#starts(c.key, prefix))
			.map((c) => ({ key: [...c.key], data: c.data.slice() }));
	}
	async removeRange(prefix: StorageKey) {
		for (const [id, c] of this.#data) if (this.#starts(c.key, prefix)) this.#data.delete(id);
	}
}

beforeAll(() => ready());

storageAdapterSuite('in-memory', async () => ({ adapter: new MemoryStorageAdapter() }));

storageAdapterSuite('encrypted IndexedDB', async () => {
	await ready();
	const db = await openCarnetDb(new IDBFactory(), 'adapter-test');
	const adapter = new EncryptedStorageAdapter({
		db,
		vaultId: toBase64url(randomBytes(16)),
		vaultKey: randomBytes(32)
	});
	return { adapter, teardown: () => db.close() };
});

describe('EncryptedStorageAdapter: what only encryption gives', () => {
	let db: IDBPDatabase<CarnetDB>;
	let vaultId: string;
	let vaultKey: Uint8Array;
	let adapter: EncryptedStorageAdapter;
	const secret = 'Amoxicilline — anaphylaxie';

	beforeEach(async () => {
		await ready();
		db = await openCarnetDb(new IDBFactory(), 'adapter-crypto');
		vaultId = toBase64url(randomBytes(16));
		vaultKey = randomBytes(32);
		adapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey });
		return () => db.close();
	});

	async function rawEntries(): Promise<{ key: string[]; value: Uint8Array }[]> {
		const tx = db.transaction('chunks');
		const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
		return keys.map((key, i) => ({ key, value: values[i] }));
	}

	it('stores neither the key names nor the data in clear', async () => {
		const docId = '4NMNnkMhL8jXrdJ9jamS58PAVdXu';
		await adapter.save([docId, 'incremental', 'cafebabe'], new TextEncoder().encode(secret));
		const [entry] = await rawEntries();
		expect(entry.key[0]).toBe(vaultId);
		const text = JSON.stringify(entry.key) + Buffer.from(entry.value).toString('latin1') + Buffer.from(entry.value).toString('utf8');
		for (const leak of [docId, 'incremental', 'cafebabe', secret, 'Amoxicilline']) expect(text).not.toContain(leak);
		expect(await adapter.load([docId, 'incremental', 'cafebabe'])).toEqual(new TextEncoder().encode(secret));
	});

	it('reports a flipped byte and still loads the other chunks', async () => {
		for (const n of ['a', 'b', 'c']) await adapter.save(['doc', 'incremental', n], new TextEncoder().encode(n));
		const entries = await rawEntries();
		const victim = entries[1];
		const bad = victim.value.slice();
		bad[bad.length - 5] ^= 0x01;
		await db.put('chunks', bad, victim.key);

		const errors: CorruptChunkError[] = [];
		const reader = new EncryptedStorageAdapter({ db, vaultId, vaultKey, onError: (e) => errors.push(e) });
		const chunks = await reader.loadRange(['doc']);
		expect(chunks).toHaveLength(2);
		expect(reader.corruptChunks).toHaveLength(1);
		expect(errors).toEqual(reader.corruptChunks);
		expect(reader.corruptChunks[0]).toBeInstanceOf(CorruptChunkError);
		expect(reader.corruptChunks[0].storeKey).toEqual(victim.key);
	});

	it('refuses a value moved to another key of the same vault', async () => {
		await adapter.save(['doc', 'snapshot', 'one'], new Uint8Array([1, 2, 3]));
		await adapter.save(['doc', 'snapshot', 'two'], new Uint8Array([4, 5, 6]));
		const [a, b] = await rawEntries();
		await db.put('chunks', a.value, b.key);
		expect((await adapter.loadRange(['doc'])).map((c) => c.data)).toHaveLength(1);
		expect(adapter.corruptChunks).toHaveLength(1);
	});

	it("cannot read another vault's chunks, even copied under its own vault id", async () => {
		await adapter.save(['doc', 'snapshot', 'x'], new Uint8Array([9]));
		const [entry] = await rawEntries();
		const otherId = toBase64url(randomBytes(16));
		const other = new EncryptedStorageAdapter({ db, vaultId: otherId, vaultKey: randomBytes(32) });
		// Its own range holds nothing of ours...
		expect(await other.loadRange(['doc'])).toEqual([]);
		// ...and our ciphertext planted in its range does not open.
		await db.put('chunks', entry.value, [otherId, ...entry.key.slice(1)]);
		const stranger = new EncryptedStorageAdapter({ db, vaultId: otherId, vaultKey });
		expect(await stranger.loadRange([])).toEqual([]);
		expect(stranger.corruptChunks).toHaveLength(1);
	});

	it('refuses every call once closed, and wipes nothing it does not own', async () => {
		await adapter.save(['k'], new Uint8Array([1]));
		adapter.close();
		await expect(adapter.load(['k'])).rejects.toBeInstanceOf(LockedError);
		await expect(adapter.save(['k'], new Uint8Array([2]))).rejects.toBeInstanceOf(LockedError);
		await expect(adapter.loadRange([])).rejects.toBeInstanceOf(LockedError);
		expect(vaultKey.some((b) => b !== 0)).toBe(true);
	});

	it('loads an Automerge document saved as snapshot + incrementals', async () => {
		const repo = new Repo({ storage: adapter, network: [] });
		// Over 1 KiB of incompressible text, or automerge-repo snapshots on every save.
		const handle = repo.create<{ n: number; pad: string }>({ n: 0, pad: toBase64url(randomBytes(3000)) });
		for (let i = 1; i <= 3; i++) {
			handle.change((d) => {
				d.n = i;
			});
			await repo.flush();
		}
		const chunks = await adapter.loadRange([handle.documentId]);
		expect(chunks.length).toBeGreaterThan(1);
		const doc = Automerge.loadIncremental(Automerge.init<{ n: number; pad: string }>(), Buffer.concat(chunks.map((c) => c.data!)));
		expect(doc.n).toBe(3);
		await repo.shutdown();
	});
});
