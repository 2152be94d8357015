/**
 * The behaviour every relay `BlobStore` must have (relay/store/blobs.ts), as one vitest suite
 * each implementation runs on its own storage: `describeBlobStore('fs', …)`. A store trusts
 * its caller and does not know sealed lengths, so blobs here are random bytes of any length,
 * named by their BLAKE2b-256 like the real ones.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hash, ready, toBase64url } from '../../src/lib/core/crypto';
import type { BlobStore } from '../../relay/store/blobs';

/** One empty storage for one test; `open` may be called again (after `close`) to reopen it. */
export interface TestBlobStorage {
	open(): Promise<BlobStore>;
	destroy(): Promise<void>;
}

const newVault = () => randomBytes(16).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Filesystem timestamps are coarser than Date.now(): a margin either side of a cutoff. */
const TICK_MS = 30;

/** A blob of `size` random bytes and its id. */
function newBlob(size: number): { bytes: Uint8Array; id: string } {
	const bytes = new Uint8Array(randomBytes(size));
	return { bytes, id: toBase64url(hash(bytes)) };
}

/** Everything a stream yields, as hex (vitest compares long strings fast, long arrays slowly). */
async function readAll(stream: Readable): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('hex');
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

/** Registers the suite for one implementation; `makeStorage` makes a fresh, empty storage per test. */
export function describeBlobStore(name: string, makeStorage: () => Promise<TestBlobStorage>): void {
	describe(`BlobStore conformance: ${name}`, () => {
		let storage: TestBlobStorage;
		let store: BlobStore;
		let open: BlobStore[];

		beforeAll(async () => {
			await ready();
		});
		beforeEach(async () => {
			storage = await makeStorage();
			store = await storage.open();
			open = [store];
		});
		afterEach(async () => {
			await Promise.all(open.map((s) => s.close()));
			await storage.destroy();
		});

		/** Uploads `bytes` in parts of `part` bytes; returns the last append's result. */
		async function upload(vault: string, id: string, bytes: Uint8Array, part = bytes.length) {
			let result;
			for (let offset = 0; offset < bytes.length; offset += part) {
				result = await store.append(vault, id, { offset, length: bytes.length, bytes: bytes.subarray(offset, offset + part) });
				expect(result).toEqual({ state: 'partial', offset: Math.min(bytes.length, offset + part), written: Math.min(part, bytes.length - offset) });
			}
			return result;
		}

		async function stored(vault: string, size = 5000): Promise<{ bytes: Uint8Array; id: string }> {
			const blob = newBlob(size);
			await upload(vault, blob.id, blob.bytes);
			expect(await store.complete(vault, blob.id)).toBe('complete');
			return blob;
		}

		it('appends in parts, tells where an upload stands, completes once the bytes hash to the id', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(10_000);
			expect(await store.status(vault, id)).toEqual({ state: 'absent' });
			expect(await store.append(vault, id, { offset: 0, length: 10_000, bytes: bytes.subarray(0, 4000) })).toEqual({ state: 'partial', offset: 4000, written: 4000 });
			expect(await store.status(vault, id)).toEqual({ state: 'partial', offset: 4000, length: 10_000 });
			expect(await store.complete(vault, id)).toBe('incomplete');
			expect(await store.append(vault, id, { offset: 4000, length: 10_000, bytes: bytes.subarray(4000, 9999) })).toEqual({ state: 'partial', offset: 9999, written: 5999 });
			expect(await store.append(vault, id, { offset: 9999, length: 10_000, bytes: bytes.subarray(9999) })).toEqual({ state: 'partial', offset: 10_000, written: 1 });
			expect(await store.status(vault, id)).toEqual({ state: 'partial', offset: 10_000, length: 10_000 });
			expect(await store.complete(vault, id)).toBe('complete');
			expect(await store.status(vault, id)).toEqual({ state: 'complete', length: 10_000 });
			const reader = await store.read(vault, id, 0);
			expect(reader?.length).toBe(10_000);
			expect(await readAll(reader!.stream)).toEqual(hex(bytes));
		});

		it('writes a part only at the offset the upload holds; a retried part is refused with that offset', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(3000);
			expect(await store.append(vault, id, { offset: 1000, length: 3000, bytes: bytes.subarray(1000, 2000) })).toEqual({ error: 'offset_mismatch', held: 0 });
			expect(await store.status(vault, id)).toEqual({ state: 'absent' });
			await store.append(vault, id, { offset: 0, length: 3000, bytes: bytes.subarray(0, 1000) });
			// The answer was lost; the device sends the same part again.
			expect(await store.append(vault, id, { offset: 0, length: 3000, bytes: bytes.subarray(0, 1000) })).toEqual({ error: 'offset_mismatch', held: 1000 });
			expect(await store.append(vault, id, { offset: 2000, length: 3000, bytes: bytes.subarray(2000) })).toEqual({ error: 'offset_mismatch', held: 1000 });
			await store.append(vault, id, { offset: 1000, length: 3000, bytes: bytes.subarray(1000) });
			expect(await store.complete(vault, id)).toBe('complete');
			expect(await readAll((await store.read(vault, id, 0))!.stream)).toEqual(hex(bytes));
		});

		it('refuses another length than the upload’s or the blob’s, and a part past the length', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(3000);
			expect(await store.append(vault, id, { offset: 0, length: 100, bytes: bytes.subarray(0, 101) })).toEqual({ error: 'length_mismatch' });
			expect(await store.status(vault, id)).toEqual({ state: 'absent' });
			await store.append(vault, id, { offset: 0, length: 3000, bytes: bytes.subarray(0, 1000) });
			expect(await store.append(vault, id, { offset: 1000, length: 4000, bytes: bytes.subarray(1000, 2000) })).toEqual({ error: 'length_mismatch' });
			expect(await store.append(vault, id, { offset: 1000, length: 3000, bytes: new Uint8Array(2001) })).toEqual({ error: 'length_mismatch' });
			expect(await store.status(vault, id)).toEqual({ state: 'partial', offset: 1000, length: 3000 });
			await store.append(vault, id, { offset: 1000, length: 3000, bytes: bytes.subarray(1000) });
			await store.complete(vault, id);
			expect(await store.append(vault, id, { offset: 0, length: 2999, bytes: bytes.subarray(0, 10) })).toEqual({ error: 'length_mismatch' });
		});

		it('writes nothing to a complete blob', async () => {
			const vault = newVault();
			const { bytes, id } = await stored(vault, 2000);
			const { used } = await store.usage(vault);
			expect(await store.append(vault, id, { offset: 0, length: 2000, bytes: new Uint8Array(2000) })).toEqual({ state: 'complete', length: 2000 });
			expect(await store.append(vault, id, { offset: 1500, length: 2000, bytes: new Uint8Array(10) })).toEqual({ state: 'complete', length: 2000 });
			expect(await store.usage(vault)).toEqual({ used, count: 1 });
			expect(await readAll((await store.read(vault, id, 0))!.stream)).toEqual(hex(bytes));
		});

		it('discards an upload whose bytes do not hash to its id', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(4000);
			const altered = bytes.slice();
			altered[3999] ^= 1;
			await upload(vault, id, altered, 1500);
			expect(await store.usage(vault)).toEqual({ used: 4000, count: 0 });
			expect(await store.complete(vault, id)).toBe('hash_mismatch');
			expect(await store.status(vault, id)).toEqual({ state: 'absent' });
			expect(await store.read(vault, id, 0)).toBeNull();
			expect(await store.usage(vault)).toEqual({ used: 0, count: 0 });
			expect(await store.complete(vault, id)).toBe('incomplete');
			// The right bytes can be uploaded afterwards.
			await upload(vault, id, bytes, 1500);
			expect(await store.complete(vault, id)).toBe('complete');
		});

		it('completes idempotently, also when called twice at once', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(3000);
			await upload(vault, id, bytes);
			expect(await Promise.all([store.complete(vault, id), store.complete(vault, id)])).toEqual(['complete', 'complete']);
			expect(await store.complete(vault, id)).toBe('complete');
			expect(await store.usage(vault)).toEqual({ used: 3000, count: 1 });
			expect(await store.complete(vault, newBlob(10).id)).toBe('incomplete');
		});

		it('reports an upload that holds every byte but was not completed, so its caller completes it', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(2000);
			await upload(vault, id, bytes, 1000);
			// The last part again (its answer was lost before the completion ran).
			expect(await store.append(vault, id, { offset: 1000, length: 2000, bytes: bytes.subarray(1000) })).toEqual({ state: 'partial', offset: 2000, written: 0 });
			expect(await store.complete(vault, id)).toBe('complete');
		});

		it('lets one of two parts sent at once to the same offset in, never both', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(4000);
			const results = await Promise.all([
				store.append(vault, id, { offset: 0, length: 4000, bytes: bytes.subarray(0, 2000) }),
				store.append(vault, id, { offset: 0, length: 4000, bytes: new Uint8Array(2000).fill(7) })
			]);
			expect(results).toContainEqual({ error: 'offset_mismatch', held: 2000 });
			expect(await store.status(vault, id)).toEqual({ state: 'partial', offset: 2000, length: 4000 });
			if ('error' in results[1]) {
				// Parts in flight on different offsets are written in turn too.
				const rest = await Promise.all([
					store.append(vault, id, { offset: 2000, length: 4000, bytes: bytes.subarray(2000, 3000) }),
					store.append(vault, id, { offset: 3000, length: 4000, bytes: bytes.subarray(3000) })
				]);
				expect(rest).toEqual([
					{ state: 'partial', offset: 3000, written: 1000 },
					{ state: 'partial', offset: 4000, written: 1000 }
				]);
				expect(await store.complete(vault, id)).toBe('complete');
			} else expect(await store.usage(vault)).toEqual({ used: 2000, count: 0 });
		});

		it('reads from any offset, nothing from the end on, and not an upload', async () => {
			const vault = newVault();
			const { bytes, id } = await stored(vault, 200_000);
			for (const from of [0, 1, 65_536, 199_999]) {
				const reader = await store.read(vault, id, from);
				expect(reader?.length).toBe(200_000);
				expect(await readAll(reader!.stream)).toEqual(hex(bytes.subarray(from)));
			}
			const end = await store.read(vault, id, 200_000);
			expect(end?.length).toBe(200_000);
			expect(await readAll(end!.stream)).toBe('');
			const partial = newBlob(100);
			await store.append(vault, partial.id, { offset: 0, length: 100, bytes: partial.bytes.subarray(0, 50) });
			expect(await store.read(vault, partial.id, 0)).toBeNull();
			expect(await store.read(vault, newBlob(1).id, 0)).toBeNull();
		});

		it('keeps blobs apart per vault', async () => {
			const [a, b] = [newVault(), newVault()];
			const { id } = await stored(a, 1000);
			expect(await store.status(b, id)).toEqual({ state: 'absent' });
			expect(await store.read(b, id, 0)).toBeNull();
			expect(await store.delete(b, id)).toBe(false);
			expect(await store.usage(b)).toEqual({ used: 0, count: 0 });
			expect(await store.status(a, id)).toEqual({ state: 'complete', length: 1000 });
		});

		it('deletes complete blobs and uploads at once, idempotently; a read already open finishes', async () => {
			const vault = newVault();
			const { bytes, id } = await stored(vault, 100_000);
			const reader = await store.read(vault, id, 0);
			expect(await store.delete(vault, id)).toBe(true);
			expect(await store.status(vault, id)).toEqual({ state: 'absent' });
			expect(await store.read(vault, id, 0)).toBeNull();
			expect(await readAll(reader!.stream)).toEqual(hex(bytes));
			expect(await store.delete(vault, id)).toBe(false);
			const partial = newBlob(100);
			await store.append(vault, partial.id, { offset: 0, length: 100, bytes: partial.bytes.subarray(0, 50) });
			expect(await store.delete(vault, partial.id)).toBe(true);
			expect(await store.status(vault, partial.id)).toEqual({ state: 'absent' });
			expect(await store.usage(vault)).toEqual({ used: 0, count: 0 });
			// Deleted, it can be uploaded again from the start.
			await upload(vault, partial.id, partial.bytes);
			expect(await store.complete(vault, partial.id)).toBe('complete');
		});

		it('counts complete blobs and every byte held, uploads included', async () => {
			const vault = newVault();
			expect(await store.usage(vault)).toEqual({ used: 0, count: 0 });
			await stored(vault, 1000);
			await stored(vault, 2000);
			const partial = newBlob(5000);
			await store.append(vault, partial.id, { offset: 0, length: 5000, bytes: partial.bytes.subarray(0, 300) });
			expect(await store.usage(vault)).toEqual({ used: 3300, count: 2 });
		});

		it('refuses a part that would take the vault past its quota, counting the whole upload', async () => {
			const vault = newVault();
			await stored(vault, 1000);
			const { bytes, id } = newBlob(3000);
			expect(await store.append(vault, id, { offset: 0, length: 3000, bytes: bytes.subarray(0, 10), quota: 3999 })).toEqual({ error: 'quota', used: 1000 });
			expect(await store.status(vault, id)).toEqual({ state: 'absent' });
			await store.append(vault, id, { offset: 0, length: 3000, bytes: bytes.subarray(0, 1000), quota: 4000 });
			// What the upload holds already counts once.
			await store.append(vault, id, { offset: 1000, length: 3000, bytes: bytes.subarray(1000), quota: 4000 });
			expect(await store.complete(vault, id)).toBe('complete');
			const other = newBlob(10);
			expect(await store.append(vault, other.id, { offset: 0, length: 10, bytes: other.bytes, quota: 4000 })).toEqual({ error: 'quota', used: 4000 });
			// Two uploads that fit apart but not together: the one that would pass the quota is
			// refused at its next part, whatever the interleaving.
			const [x, y] = [newBlob(600), newBlob(600)];
			const vault2 = newVault();
			const first = await Promise.all([x, y].map((b) => store.append(vault2, b.id, { offset: 0, length: 600, bytes: b.bytes.subarray(0, 100), quota: 1000 })));
			expect(first.every((r) => 'state' in r)).toBe(true);
			expect(await store.append(vault2, x.id, { offset: 100, length: 600, bytes: x.bytes.subarray(100), quota: 1000 })).toMatchObject({ offset: 600 });
			expect(await store.append(vault2, y.id, { offset: 100, length: 600, bytes: y.bytes.subarray(100), quota: 1000 })).toEqual({ error: 'quota', used: 700 });
		});

		it('retains the listed blobs and the recent ones, deletes the others', async () => {
			const vault = newVault();
			const listed = await stored(vault, 1000);
			const old = await stored(vault, 1000);
			const oldUpload = newBlob(1000);
			await store.append(vault, oldUpload.id, { offset: 0, length: 1000, bytes: oldUpload.bytes.subarray(0, 10) });
			await sleep(TICK_MS);
			const cutoff = new Date();
			await sleep(TICK_MS);
			const recent = await stored(vault, 1000);
			const other = await stored(newVault(), 1000);
			expect(await store.retain(vault, new Set([listed.id, other.id]), cutoff)).toBe(2);
			expect(await store.status(vault, old.id)).toEqual({ state: 'absent' });
			expect(await store.status(vault, oldUpload.id)).toEqual({ state: 'absent' });
			expect(await store.status(vault, listed.id)).toEqual({ state: 'complete', length: 1000 });
			expect(await store.status(vault, recent.id)).toEqual({ state: 'complete', length: 1000 });
			expect(await store.usage(vault)).toEqual({ used: 2000, count: 2 });
			expect(await store.retain(vault, new Set(), new Date(Date.now() + 60_000))).toBe(2);
			expect(await store.usage(vault)).toEqual({ used: 0, count: 0 });
			expect(await store.retain(newVault(), new Set(), new Date())).toBe(0);
		});

		it('dates a blob from its completion, not its upload', async () => {
			const vault = newVault();
			const { bytes, id } = newBlob(1000);
			await upload(vault, id, bytes);
			await sleep(TICK_MS);
			const cutoff = new Date();
			await sleep(TICK_MS);
			expect(await store.complete(vault, id)).toBe('complete');
			expect(await store.retain(vault, new Set(), cutoff)).toBe(0);
		});

		it('sweeps the uploads untouched since a time, in every vault, and nothing else', async () => {
			const [a, b] = [newVault(), newVault()];
			const complete = await stored(a, 1000);
			const stale = [newBlob(1000), newBlob(1000)];
			await store.append(a, stale[0].id, { offset: 0, length: 1000, bytes: stale[0].bytes.subarray(0, 100) });
			await store.append(b, stale[1].id, { offset: 0, length: 1000, bytes: stale[1].bytes.subarray(0, 200) });
			const touched = newBlob(1000);
			await store.append(a, touched.id, { offset: 0, length: 1000, bytes: touched.bytes.subarray(0, 100) });
			await sleep(TICK_MS);
			const cutoff = new Date();
			await sleep(TICK_MS);
			await store.append(a, touched.id, { offset: 100, length: 1000, bytes: touched.bytes.subarray(100, 200) });
			expect(await store.sweepPartials(cutoff)).toBe(2);
			expect(await store.status(a, stale[0].id)).toEqual({ state: 'absent' });
			expect(await store.status(b, stale[1].id)).toEqual({ state: 'absent' });
			expect(await store.status(a, touched.id)).toEqual({ state: 'partial', offset: 200, length: 1000 });
			expect(await store.status(a, complete.id)).toEqual({ state: 'complete', length: 1000 });
			expect(await store.usage(a)).toEqual({ used: 1200, count: 1 });
			expect(await store.usage(b)).toEqual({ used: 0, count: 0 });
			expect(await store.sweepPartials(cutoff)).toBe(0);
		});

		it('keeps complete blobs and uploads across a close and a reopen', async () => {
			const vault = newVault();
			const { bytes, id } = await stored(vault, 70_000);
			const partial = newBlob(2000);
			await store.append(vault, partial.id, { offset: 0, length: 2000, bytes: partial.bytes.subarray(0, 700) });
			await store.close();
			await expect(store.status(vault, id)).rejects.toThrow();
			await expect(store.append(vault, partial.id, { offset: 700, length: 2000, bytes: partial.bytes.subarray(700) })).rejects.toThrow();
			store = await storage.open();
			open.push(store);
			expect(await store.status(vault, id)).toEqual({ state: 'complete', length: 70_000 });
			expect(await readAll((await store.read(vault, id, 5))!.stream)).toEqual(hex(bytes.subarray(5)));
			expect(await store.status(vault, partial.id)).toEqual({ state: 'partial', offset: 700, length: 2000 });
			expect(await store.usage(vault)).toEqual({ used: 70_700, count: 1 });
			await store.append(vault, partial.id, { offset: 700, length: 2000, bytes: partial.bytes.subarray(700) });
			expect(await store.complete(vault, partial.id)).toBe('complete');
		});

		it('refuses malformed ids and numbers', async () => {
			const vault = newVault();
			const { id } = newBlob(10);
			for (const bad of ['..', '../x', `${id}/`, id.slice(1), `${id}.10.part`]) {
				await expect(store.status(vault, bad)).rejects.toThrow(TypeError);
				await expect(store.append(vault, bad, { offset: 0, length: 10, bytes: new Uint8Array(10) })).rejects.toThrow(TypeError);
			}
			await expect(store.usage('../../etc')).rejects.toThrow(TypeError);
			await expect(store.append(vault, id, { offset: -1, length: 10, bytes: new Uint8Array(1) })).rejects.toThrow(RangeError);
			await expect(store.append(vault, id, { offset: 0, length: 1.5, bytes: new Uint8Array(1) })).rejects.toThrow(RangeError);
			await expect(store.append(vault, id, { offset: 0, length: 10, bytes: new Uint8Array(0) })).rejects.toThrow(TypeError);
			await expect(store.read(vault, id, -1)).rejects.toThrow(RangeError);
		});
	});
}
