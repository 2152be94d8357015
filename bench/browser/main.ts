// The record-open scenario in the browser, on Chromium's real IndexedDB.
import * as Automerge from '@automerge/automerge';
import { Carnet } from '../../src/lib/client';

import { openCarnetDb } from '../../src/lib/client/db';
import { openLockbox, unwrapDevice } from '../../src/lib/client/keyring';
import { documentIdOf } from '../../src/lib/client/record-handle';
import { EncryptedStorageAdapter } from '../../src/lib/client/storage-adapter';
import { recordView, type RecordDoc } from '../../src/lib/core/record';
import { DB_NAME, PASSPHRASE, fillRecord, readHome, timeOpens, timed } from '../record-scenario';

// No relay here: without a WebSocket the sync engine stays idle, so it cannot open the record
// in the background while the open is being timed.
Reflect.deleteProperty(globalThis, 'WebSocket');

/** The phases of an open, timed apart on the same stored record (breakdown details only). */
async function breakdown(vaultId: string, runs: number) {
	const db = await openCarnetDb(indexedDB, DB_NAME);
	const device = unwrapDevice((await db.get('device', 'device'))!, PASSPHRASE)!;
	const vaultKey = openLockbox((await db.get('vaults', vaultId))!, device.box)!.vaultKey;
	const docId = documentIdOf(vaultId);
	const phase: Record<string, number[]> = { readDecrypt: [], automergeLoad: [], viewAndHomeReads: [] };
	for (let i = 0; i < runs; i++) {
		const adapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey });
		const [chunks, readMs] = await timed(() => adapter.loadRange([docId]));
		phase.readDecrypt.push(readMs);
		const bytes = chunks.find((c) => c.key[1] === 'snapshot')!.data!;
		const [doc, loadMs] = await timed(() => Automerge.load<RecordDoc>(bytes));
		phase.automergeLoad.push(loadMs);
		phase.viewAndHomeReads.push((await timed(() => readHome(recordView(doc))))[1]);
		Automerge.free(doc);
		adapter.close();
	}
	db.close();
	return phase;
}

async function run(runs: number) {
	const carnet = await Carnet.open({ dbName: DB_NAME });
	const { session, vaultId, fillMs } = await fillRecord(carnet);
	await session.lock();
	carnet.close();
	const timings = await timeOpens(() => Carnet.open({ dbName: DB_NAME }), vaultId, runs);
	return { ...timings, fillMs, phase: await breakdown(vaultId, runs) };
}

(globalThis as unknown as { carnetBench: typeof run }).carnetBench = run;
