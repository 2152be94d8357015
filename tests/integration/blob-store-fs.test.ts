import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hash, ready, toBase64url } from '../../src/lib/core/crypto';
import { openFsBlobStore } from '../../relay/store/fs-blobs';
import { describeBlobStore } from './blob-store-conformance';

/** A temporary folder standing for DATA_DIR/blobs. */
function tempStorage() {
	const dir = mkdtempSync(join(tmpdir(), 'carnet-blobs-'));
	return {
		dir,
		open: async () => openFsBlobStore(dir),
		destroy: async () => rmSync(dir, { recursive: true, force: true })
	};
}

describeBlobStore('fs', async () => tempStorage());

describe('filesystem blob store specifics', () => {
	it('lays out one folder per vault: `<id>.<length>.part` while uploading, `<id>` once complete', async () => {
		await ready();
		const storage = tempStorage();
		const store = await storage.open();
		const vault = 'AAAAAAAAAAAAAAAAAAAAAA';
		const bytes = new Uint8Array(3000).fill(1);
		const id = toBase64url(hash(bytes));
		await store.append(vault, id, { offset: 0, length: 3000, bytes: bytes.subarray(0, 1000) });
		expect(readdirSync(join(storage.dir, vault))).toEqual([`${id}.3000.part`]);
		expect(statSync(join(storage.dir, vault, `${id}.3000.part`)).size).toBe(1000);
		await store.append(vault, id, { offset: 1000, length: 3000, bytes: bytes.subarray(1000) });
		expect(await store.complete(vault, id)).toBe('complete');
		expect(readdirSync(join(storage.dir, vault))).toEqual([id]);
		await store.close();
		await storage.destroy();
	});
});
