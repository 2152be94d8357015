/**
 * Record benchmarks on the encrypted device store (fake-indexeddb in Node), with a
 * 5,000-entry sample record spread over the sections:
 *  - unlock_kdf_ms        Argon2id with the default parameters (the cost of every unlock)
 *  - record_open_ms       opening the record with keys already derived: read + decrypt chunks,
 *                         Automerge load, build recordView (median of >= 7 fresh opens)
 *  - record_edit_ms       one small validated edit on that record, persistence excluded
 *  - record_stored_bytes  every IndexedDB value of the vault once compacted to a snapshot
 * Run directly (`npx tsx bench/record.ts`) it prints one JSON line per figure.
 */
import * as Automerge from '@automerge/automerge';
import { Repo } from '@automerge/automerge-repo';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Carnet } from '../src/lib/client';
import { openCarnetDb } from '../src/lib/client/db';
import { openLockbox, unwrapDevice } from '../src/lib/client/keyring';
import { documentIdOf } from '../src/lib/client/record-handle';
import { EncryptedStorageAdapter } from '../src/lib/client/storage-adapter';
import { deriveKey, newKdfParams, ready } from '../src/lib/core/crypto';
import { addEntry, recordView, type RecordDoc } from '../src/lib/core/record';
import type { Figure } from './figure';
import {
	DB_NAME,
	ENTRIES,
	PASSPHRASE,
	fillRecord,
	median,
	readHome,
	round,
	rounded,
	timeOpens,
	timed
} from './record-scenario';

const OPEN_RUNS = 9;
const EDIT_RUNS = 21;
const KDF_RUNS = 3;

/**
 * A full garbage collection between samples, so one sample does not pay for the garbage of the
 * previous one (a 5k-entry load leaves tens of MB). Falls back to nothing where unavailable.
 */
const collectGarbage: () => void = (() => {
	try {
		setFlagsFromString('--expose_gc');
		return runInNewContext('gc') as () => void;
	} catch {
		return () => {};
	}
})();

/** Bytes of every stored value of one vault: its chunks and its vault entry. */
async function storedBytes(factory: IDBFactory, vaultId: string) {
	const db = await openCarnetDb(factory, DB_NAME);
	try {
		const tx = db.transaction('chunks');
		const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
		const mine = values.filter((_, i) => keys[i][0] === vaultId);
		const chunkBytes = mine.reduce((n, v) => n + v.byteLength, 0);
		const vault = await db.get('vaults', vaultId);
		const vaultBytes = vault ? vault.meta.byteLength + vault.lockboxes.reduce((n, l) => n + l.sealed.byteLength + l.recipient.length, 0) : 0;
		return { total: chunkBytes + vaultBytes, chunks: mine.length, chunkBytes, vaultBytes };
	} finally {
		db.close();
	}
}

/** Measures the figures listed in the module comment. */
export async function benchRecord(): Promise<Figure[]> {
	// idb needs the IndexedDB classes as globals; in Node they come from fake-indexeddb.
	const fake = await import('fake-indexeddb');
	const globals = globalThis as Record<string, unknown>;
	for (const [name, value] of Object.entries(fake)) if (name.startsWith('IDB') && !(name in globals)) globals[name] = value;
	const { IDBFactory } = fake;
	await ready();
	const factory = new IDBFactory();
	const figures: Figure[] = [];

	// --- KDF -------------------------------------------------------------------------------
	const kdf: number[] = [];
	for (let i = 0; i < KDF_RUNS; i++) {
		const params = newKdfParams();
		kdf.push((await timed(() => deriveKey(PASSPHRASE, params)))[1]);
	}
	figures.push({
		figure: 'unlock_kdf_ms',
		value: round(median(kdf)),
		unit: 'ms',
		samples: rounded(kdf),
		params: { opsLimit: newKdfParams().opsLimit, memLimit: newKdfParams().memLimit }
	});

	// --- fill ------------------------------------------------------------------------------
	const carnet = await Carnet.open({ indexedDB: factory, dbName: DB_NAME });
	const { session, record, vaultId, fillMs } = await fillRecord(carnet);
	const asFilled = { ...(await storedBytes(factory, vaultId)), counts: record.chunkCounts() };
	const [, compactMs] = await timed(() => record.compact());
	await session.lock();
	const compacted = await storedBytes(factory, vaultId);
	const stored = { ...compacted, afterFill: asFilled, fillMs: round(fillMs, 0), compactMs: round(compactMs) };

	// --- open ------------------------------------------------------------------------------
	const { open, load: openRecordOnly, view: viewOnly, home, entries } = await timeOpens(
		() => Carnet.open({ indexedDB: factory, dbName: DB_NAME }),
		vaultId,
		OPEN_RUNS,
		collectGarbage
	);

	// Breakdown, and the automerge-repo path for comparison (same bytes, same adapter).
	const db = await openCarnetDb(factory, DB_NAME);
	const device = unwrapDevice((await db.get('device', 'device'))!, PASSPHRASE)!;
	const vaultKey = openLockbox((await db.get('vaults', vaultId))!, device.box)!.vaultKey;
	const docId = documentIdOf(vaultId);
	const phase: Record<string, number[]> = { readDecrypt: [], automergeLoad: [], loadIncremental: [], repoFind: [] };
	for (let i = 0; i < OPEN_RUNS; i++) {
		const adapter = new EncryptedStorageAdapter({ db, vaultId, vaultKey });
		collectGarbage();
		const [chunks, readMs] = await timed(() => adapter.loadRange([docId]));
		phase.readDecrypt.push(readMs);
		const bytes = chunks.find((c) => c.key[1] === 'snapshot')!.data!;
		const [doc, loadMs] = await timed(() => Automerge.load<RecordDoc>(bytes));
		phase.automergeLoad.push(loadMs);
		Automerge.free(doc);
		collectGarbage();
		const [doc2, incMs] = await timed(() => Automerge.loadIncremental(Automerge.init<RecordDoc>(), bytes));
		phase.loadIncremental.push(incMs);
		Automerge.free(doc2);
		collectGarbage();
		const repo = new Repo({ storage: adapter, network: [] });
		const [handle, findMs] = await timed(() => repo.find<RecordDoc>(docId));
		phase.repoFind.push(findMs);
		void recordView(handle.doc());
		await repo.shutdown();
		adapter.close();
	}
	db.close();
	figures.push({
		figure: 'record_open_ms',
		value: round(median(open)),
		unit: 'ms',
		target: 150,
		entries,
		samples: rounded(open),
		details: {
			'openRecord_ms (read+decrypt+load)': round(median(openRecordOnly)),
			'recordView_ms': round(median(viewOnly)),
			'home_reads_ms (summary + unreadable + identity of that view, included)': round(median(home)),
			'readDecrypt_ms': round(median(phase.readDecrypt)),
			'automergeLoad_ms': round(median(phase.automergeLoad)),
			'automergeLoadIncremental_ms': round(median(phase.loadIncremental)),
			'automergeRepoFind_ms (not used: for comparison)': round(median(phase.repoFind)),
			snapshotBytes: compacted.chunkBytes,
			// Two cores shared with other jobs: read the figures against the load at the time.
			loadAverage1m: round(loadavg()[0], 2)
		}
	});

	// --- edit ------------------------------------------------------------------------------
	const editor = await Carnet.open({ indexedDB: factory, dbName: DB_NAME });
	const s = await editor.unlock(PASSPHRASE);
	const r = await s.open(vaultId);
	const edit: number[] = [];
	const editFlush: number[] = [];
	const editView: number[] = [];
	const editHome: number[] = [];
	for (let i = 0; i < EDIT_RUNS; i++) {
		collectGarbage();
		const input = { substance: `Substance ${i}`, criticality: 'low' };
		edit.push((await timed(() => r.change((doc, ctx) => void addEntry(doc, 'allergies', input, ctx))))[1]);
		const [view, viewMs] = await timed(() => r.view());
		editView.push(viewMs);
		editHome.push((await timed(() => readHome(view)))[1]);
		await r.flush();
		const both = await timed(async () => {
			await r.change((doc, ctx) => void addEntry(doc, 'allergies', { ...input, substance: `Other ${i}` }, ctx));
			await r.flush();
		});
		editFlush.push(both[1]);
	}
	await s.lock();
	editor.close();
	figures.push({
		figure: 'record_edit_ms',
		value: round(median(edit), 2),
		unit: 'ms',
		target: 5,
		samples: edit.map((x) => round(x, 2)),
		details: {
			'edit_plus_flush_ms': round(median(editFlush), 2),
			'view_rebuild_after_edit_ms (what a subscribed UI pays)': round(median(editView), 1),
			'view_plus_home_reads_after_edit_ms (the home page subscribed)': round(median(editView.map((v, i) => v + editHome[i])), 2)
		}
	});

	figures.push({
		figure: 'record_stored_bytes',
		value: stored.total,
		unit: 'bytes',
		target: 3 * 1024 * 1024,
		entries: ENTRIES,
		details: stored
	});
	carnet.close();
	return figures;
}

// `npx tsx bench/record.ts`: print one JSON line per figure.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	for (const figure of await benchRecord()) console.log(JSON.stringify(figure));
}
