/**
 * DocStore: how one Automerge document is persisted through the encrypted adapter
 * (incrementals, compaction, failures, holes left by corrupt chunks).
 */
import 'fake-indexeddb/auto';
import * as Automerge from '@automerge/automerge';
import type { StorageKey } from '@automerge/automerge-repo';
import { IDBFactory } from 'fake-indexeddb';
import type { IDBPDatabase } from 'idb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openCarnetDb, type CarnetDB } from '../../src/lib/client/db';
import { COMPACT_AFTER_INCREMENTALS, DocStore, type DocStorage } from '../../src/lib/client/doc-store';
import { EncryptedStorageAdapter } from '../../src/lib/client/storage-adapter';
import { randomBytes, ready, toBase64url } from '../../src/lib/core/crypto';

type Doc = { items: Record<string, string>; pad?: string };
const DOC_ID = 'doc';

let db: IDBPDatabase<CarnetDB>;
let vaultId: string;
let vaultKey: Uint8Array;
const adapter = () => new EncryptedStorageAdapter({ db, vaultId, vaultKey });

beforeAll(() => ready());
beforeEach(async () => {
	db = await openCarnetDb(new IDBFactory(), 'doc-store');
	vaultId = toBase64url(randomBytes(16));
	vaultKey = randomBytes(32);
	return () => db.close();
});

/** A store holding a document big enough (incompressible padding) that size never forces compaction. */
async function bigStore(storage: DocStorage = adapter()) {
	const doc = Automerge.from<Doc>({ items: {}, pad: toBase64url(randomBytes(20_000)) });
	return DocStore.create<Doc>(storage, DOC_ID, doc);
}

function add(store: DocStore<Doc>, key: string) {
	store.update((doc) =>
		Automerge.change(doc, (d) => {
			d.items[key] = `value ${key}`;
		})
	);
}

async function reload(storage: DocStorage = adapter()) {
	const store = await DocStore.load<Doc>(storage, DOC_ID);
	if (!store) throw new Error('nothing loaded');
	return store;
}

describe('DocStore', () => {
	it('writes one incremental per flushed change, and compacts after COMPACT_AFTER_INCREMENTALS', async () => {
		const store = await bigStore();
		for (let i = 0; i < COMPACT_AFTER_INCREMENTALS; i++) {
			add(store, `k${i}`);
			await store.flush();
		}
		expect(store.chunkCounts).toEqual({ snapshot: 1, incremental: COMPACT_AFTER_INCREMENTALS });
		add(store, 'last');
		await store.flush();
		expect(store.chunkCounts).toEqual({ snapshot: 1, incremental: 0 });
		expect(await db.count('chunks')).toBe(1);
		const again = await reload();
		expect(Object.keys(again.doc.items)).toHaveLength(COMPACT_AFTER_INCREMENTALS + 1);
	});

	it('folds a burst of changes into one save, and a no-op change saves nothing', async () => {
		const store = await bigStore();
		for (let i = 0; i < 10; i++) add(store, `burst${i}`);
		await store.flush();
		expect(store.chunkCounts.incremental).toBe(1);
		expect(store.update((doc) => Automerge.change(doc, () => {}))).toBe(false);
		await store.flush();
		expect(store.chunkCounts.incremental).toBe(1);
	});

	it('an exception in the change leaves the document and the disk as they were', async () => {
		const store = await bigStore();
		const before = store.doc;
		expect(() =>
			store.update((doc) =>
				Automerge.change(doc, (d) => {
					d.items.x = 'written';
					throw new Error('refused');
				})
			)
		).toThrow('refused');
		expect(store.doc).toBe(before);
		expect(store.doc.items).toEqual({});
		await store.flush();
		expect(store.chunkCounts).toEqual({ snapshot: 1, incremental: 0 });
	});

	it('keeps a change made while a save is in flight', async () => {
		const real = adapter();
		let gate: Promise<void> | undefined;
		let release!: () => void;
		const slow = {
			loadRange: (p: StorageKey) => real.loadRange(p),
			remove: (k: StorageKey) => real.remove(k),
			save: async (k: StorageKey, d: Uint8Array) => {
				if (gate) await gate;
				return real.save(k, d);
			}
		};
		const store = await bigStore(slow);
		gate = new Promise<void>((r) => (release = r));
		add(store, 'a');
		const first = store.flush(); // the save of 'a' starts and blocks on the gate
		await new Promise((r) => setTimeout(r, 10));
		add(store, 'b'); // lands while 'a' is being written
		gate = undefined;
		release();
		await first;
		await store.flush();
		expect(Object.keys((await reload()).doc.items).sort()).toEqual(['a', 'b']);
	});

	it('reports a failed save from flush and retries it next time', async () => {
		const real = adapter();
		let fail = false;
		const flaky = {
			loadRange: (p: StorageKey) => real.loadRange(p),
			remove: (k: StorageKey) => real.remove(k),
			save: async (k: StorageKey, d: Uint8Array) => {
				if (fail) throw new Error('disk full');
				return real.save(k, d);
			}
		};
		const store = await bigStore(flaky);
		fail = true;
		add(store, 'x');
		await expect(store.flush()).rejects.toThrow('disk full');
		fail = false;
		await store.flush();
		expect((await reload()).doc.items).toEqual({ x: 'value x' });
	});

	it('with a corrupt incremental in the middle, loads what it can and never compacts over the hole', async () => {
		const store = await bigStore();
		for (const k of ['a', 'b', 'c']) {
			add(store, k);
			await store.flush();
		}
		await store.close();
		// Corrupt the incremental holding 'b' (the second one written).
		const reader = adapter();
		const incrementals = await reader.loadRange([DOC_ID, 'incremental']);
		const victim = reader.storeKeyOf(incrementals[1].key);
		const bytes = (await db.get('chunks', victim))!;
		bytes[bytes.length - 1] ^= 1;
		await db.put('chunks', bytes, victim);

		const damaged = adapter();
		const again = await reload(damaged);
		expect(damaged.corruptChunks).toHaveLength(1);
		// 'c' depends on 'b' (same actor, next change), so only 'a' is visible...
		expect(again.doc.items).toEqual({ a: 'value a' });
		expect(Automerge.getMissingDeps(again.doc, []).length).toBeGreaterThan(0);
		// ...and compaction must not turn that loss into a permanent one.
		const before = await db.count('chunks');
		await again.compact();
		expect(await db.count('chunks')).toBe(before);
		// New work still persists (as incrementals next to the hole).
		add(again, 'd');
		await again.flush();
		expect((await reload()).doc.items).toMatchObject({ a: 'value a', d: 'value d' });
	});

	it('returns undefined when the document has no chunks at all', async () => {
		expect(await DocStore.load(adapter(), 'nothing-here')).toBeUndefined();
	});
});
