import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../relay/store/sqlite';
import { openSqliteShareStore } from '../../relay/store/sqlite-shares';
import { describeShareStore } from './share-store-conformance';

/** A temporary folder holding one SQLite file, as the relay's DATA_DIR does. */
function tempDatabase() {
	const dir = mkdtempSync(join(tmpdir(), 'carnet-shares-'));
	const path = join(dir, 'carnet.sqlite');
	return {
		path,
		open: async () => openSqliteShareStore(path),
		destroy: async () => rmSync(dir, { recursive: true, force: true })
	};
}

describeShareStore('sqlite', async () => tempDatabase());

describe('SQLite share store specifics', () => {
	it('shares the sync store’s file in WAL without touching its schema version', async () => {
		const db = tempDatabase();
		const sync = openSqliteStore(db.path);
		const shares = await db.open();
		const raw = new Database(db.path, { readonly: true });
		expect(raw.pragma('user_version', { simple: true })).toBe(1);
		expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
		expect(raw.prepare('SELECT max(version) FROM shl_schema').pluck().get()).toBe(1);
		raw.close();
		await shares.close();
		await sync.close();
		// Reopening both in the other order migrates nothing twice.
		const again = await db.open();
		const syncAgain = openSqliteStore(db.path);
		await syncAgain.close();
		await again.close();
		await db.destroy();
	});
});
