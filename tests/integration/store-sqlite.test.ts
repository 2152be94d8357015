import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../relay/store/sqlite';
import type { Store } from '../../relay/store/store';
import { runStoreConformance } from './store-conformance';

/** A temporary folder holding one SQLite file, as the relay's DATA_DIR does. */
function tempDatabase() {
	const dir = mkdtempSync(join(tmpdir(), 'carnet-store-'));
	const path = join(dir, 'carnet.sqlite');
	return {
		path,
		open: async () => openSqliteStore(path),
		destroy: async () => rmSync(dir, { recursive: true, force: true })
	};
}

runStoreConformance('sqlite', async () => tempDatabase());

describe('SQLite store specifics', () => {
	let db: ReturnType<typeof tempDatabase>;
	let store: Store;
	beforeEach(async () => {
		db = tempDatabase();
		store = await db.open();
	});
	afterEach(async () => {
		await store.close();
		await db.destroy();
	});

	it('uses WAL and records its schema version', () => {
		const raw = new Database(db.path, { readonly: true });
		expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
		expect(raw.pragma('user_version', { simple: true })).toBe(1);
		raw.close();
	});

	it('stores ciphertext, sealed keys and signatures as BLOBs, not base64 text', async () => {
		const vault = Buffer.alloc(16, 1).toString('base64url');
		const admin = Buffer.alloc(32, 2).toString('base64url');
		const sig = Buffer.alloc(64, 3).toString('base64url');
		const ciphertext = Buffer.from('opaque bytes').toString('base64url');
		await store.appendOps(vault, {
			after: null,
			ops: [{ v: 1, vault, index: 0, prev: null, type: 'create', member: { id: admin, box: admin, role: 'admin' }, epoch: 0, by: admin, at: '2026-11-26T10:00:00.000Z', sig }],
			head: admin,
			lockboxes: [{ v: 1, vault, epoch: 0, recipient: admin, sealed: Buffer.alloc(80, 4).toString('base64url'), by: admin, sig }]
		});
		await store.appendEnvelope({ v: 1, vault, epoch: 0, author: admin, counter: 1, ciphertext, sig });
		const raw = new Database(db.path, { readonly: true });
		const envelope = raw.prepare('SELECT typeof(ciphertext) AS c, typeof(sig) AS s, ciphertext FROM envelopes').get() as { c: string; s: string; ciphertext: Buffer };
		expect([envelope.c, envelope.s]).toEqual(['blob', 'blob']);
		expect(envelope.ciphertext.toString()).toBe('opaque bytes');
		expect(raw.prepare('SELECT typeof(sealed) FROM lockboxes').pluck().get()).toBe('blob');
		raw.close();
	});

	it('refuses a database written by a newer relay', async () => {
		await store.close();
		const raw = new Database(db.path);
		raw.pragma('user_version = 99');
		raw.close();
		expect(() => openSqliteStore(db.path)).toThrow(/newer/);
	});
});
