/**
 * Client sync benchmarks: the app's own client code (src/lib/client: Carnet, the sync engine,
 * fake-indexeddb as the device store, `ws` as the WebSocket) against the real relay process
 * (tests/support/harness.ts `startRelay`: SQLite in WAL mode with `synchronous = FULL`, one
 * fsync per accepted envelope). Devices and relay share the loopback; of the machine's two
 * cores, one is in practice the relay's and one all the devices'.
 *
 *  - sync_latency_p50_ms / sync_latency_p99_ms: device A commits one small edit (one
 *    `addEntry` through its RecordHandle), device B has it: decrypted, merged, and its record
 *    handle's subscriber called with a view that shows the entry. 50 records active at once:
 *    5 pairs of devices, 10 records each, every record a 50-entry sample record; each A edits
 *    its records in turn, 8 edits/s, 40/s in all (under the relay's DEFAULT limits, which
 *    allow 50 frames/s per socket). 500 samples after 50 of warm-up.
 *  - catchup_ms: device B, 10,000 changes behind, from `connect()` to `whenSynced` (its record
 *    decrypted, merged and loaded, caught up with the relay). Device A wrote the 10,000
 *    changes beforehand as 10,000 envelopes of one edit each (`editEntry` on one measurement),
 *    snapshotting as a writer does (every 200 envelopes), so B downloads the newest snapshot
 *    and the envelopes after it. That relay runs with raised rate limits and, where the
 *    system has one, its files in memory (/dev/shm), for A's setup only (10,000 acks, each an
 *    fsync on disk): B's catch-up itself is a handful of frames, and reads.
 *
 * Every figure notes the load average. `npx tsx bench/sync.ts` prints one JSON line per figure.
 */
import * as Automerge from '@automerge/automerge';
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { Carnet, type RecordHandle, type Session } from '../src/lib/client';
import type { OpenRecord } from '../src/lib/client/record-handle';
import type { WebSocketConstructor } from '../src/lib/client/sync/socket';
import { ready } from '../src/lib/core/crypto';
import { addEntry, editEntry } from '../src/lib/core/record';
import { startRelay, type RelayProcess } from '../tests/support/harness';
import type { Figure } from './figure';
import { IDENTITY, median, round } from './record-scenario';
import { fillSampleRecord } from './sample-record';

const PAIRS = 5;
const RECORDS_PER_PAIR = 10;
const RECORD_ENTRIES = 50;
const EDITS_PER_SECOND_PER_DEVICE = 8;
const WARMUP = 50;
const SAMPLES = 500;
const CATCHUP_CHANGES = 10_000;
const PASSPHRASE = 'bench passphrase';

const load = () => loadavg().map((x) => round(x, 2));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A device of its own: a fresh IndexedDB, the relay at `url`, `ws` for sockets. */
function device(url: string): Promise<Carnet> {
	return Carnet.open({ indexedDB: new IDBFactory(), relayUrl: url, WebSocket: WebSocket as unknown as WebSocketConstructor });
}

/** Device A with `records` sample records, and device B joined to all of them. */
async function pair(url: string, records: number): Promise<{ a: Session; b: Session; vaults: string[] }> {
	const { session: a } = await (await device(url)).create({ passphrase: PASSPHRASE, identity: IDENTITY });
	for (let i = 1; i < records; i++) await a.createRecord(IDENTITY);
	const vaults = a.records().map((r) => r.vaultId);
	for (const vaultId of vaults) {
		const record = await a.open(vaultId);
		await record.change((doc, ctx) => void fillSampleRecord(doc, RECORD_ENTRIES, ctx, 1));
	}
	const { session: b } = await (await device(url)).join((await a.inviteDevice(vaults)).link, PASSPHRASE, 'B');
	for (const vaultId of vaults) await Promise.all([a.sync.whenSynced(vaultId), b.sync.whenSynced(vaultId)]);
	return { a, b, vaults };
}

function quantile(xs: number[], q: number): number {
	const s = [...xs].sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function latency(): Promise<Figure[]> {
	const relay = await startRelay();
	const sessions: Session[] = [];
	try {
		const pairs = [];
		for (let p = 0; p < PAIRS; p++) {
			const made = await pair(relay.url, RECORDS_PER_PAIR);
			sessions.push(made.a, made.b);
			pairs.push(made);
		}
		// B's subscribers: each pending edit resolves when B's view first shows its entry.
		const waiting = new Map<string, Map<string, () => void>>();
		const records: { a: RecordHandle; vaultId: string }[][] = [];
		for (const { a, b, vaults } of pairs) {
			const mine = [];
			for (const vaultId of vaults) {
				const pending = new Map<string, () => void>();
				waiting.set(vaultId, pending);
				(await b.open(vaultId)).subscribe((view) => {
					if (pending.size === 0) return;
					for (const entry of view.sections.allergies) pending.get(entry.id)?.();
				});
				mine.push({ a: await a.open(vaultId), vaultId });
			}
			records.push(mine);
		}

		const samples: number[] = [];
		let started = 0;
		const edit = async ({ a, vaultId }: { a: RecordHandle; vaultId: string }) => {
			const index = started++;
			const start = performance.now();
			let id = '';
			let seen!: () => void;
			const shown = new Promise<void>((resolve) => (seen = resolve));
			// The entry id is known inside the change, before B can possibly see it.
			await a.change((doc, ctx) => {
				id = addEntry(doc, 'allergies', { substance: `Substance ${index}`, criticality: 'low' }, ctx);
				waiting.get(vaultId)!.set(id, () => {
					waiting.get(vaultId)!.delete(id);
					seen();
				});
			});
			await shown;
			if (index >= WARMUP) samples.push(performance.now() - start);
		};
		const inFlight = new Set<Promise<void>>();
		const writer = async (mine: { a: RecordHandle; vaultId: string }[]) => {
			for (let i = 0; started < WARMUP + SAMPLES; i++) {
				const run = edit(mine[i % mine.length]).finally(() => inFlight.delete(run));
				inFlight.add(run);
				await sleep(1000 / EDITS_PER_SECOND_PER_DEVICE);
			}
		};
		const loadBefore = load();
		await Promise.all(records.map(writer));
		await Promise.all(inFlight);
		const details = {
			samples: samples.length,
			records: PAIRS * RECORDS_PER_PAIR,
			devices: PAIRS * 2,
			editsPerSecond: PAIRS * EDITS_PER_SECOND_PER_DEVICE,
			recordEntries: RECORD_ENTRIES,
			medianMs: round(median(samples)),
			maxMs: round(Math.max(...samples)),
			loadAverage: { before: loadBefore, after: load() }
		};
		return [
			{ figure: 'sync_latency_p50_ms', value: round(quantile(samples, 0.5)), unit: 'ms', target: 15, ...details },
			{ figure: 'sync_latency_p99_ms', value: round(quantile(samples, 0.99)), unit: 'ms', target: 60, ...details }
		];
	} finally {
		await Promise.allSettled(sessions.map((s) => s.lock()));
		await relay.stop();
	}
}

async function catchup(): Promise<Figure> {
	// For A's 10,000 pushes only (see the module comment).
	const dataDir = existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', 'carnet-bench-')) : undefined;
	const relay: RelayProcess = await startRelay({
		...(dataDir === undefined ? {} : { DATA_DIR: dataDir }),
		RATE_PER_SECOND: '100000',
		RATE_BURST: '100000'
	});
	const sessions: Session[] = [];
	try {
		const { a, b, vaults } = await pair(relay.url, 1);
		sessions.push(a, b);
		const [vaultId] = vaults;
		const ra = await a.open(vaultId);
		const rb = await b.open(vaultId);
		let measurement = '';
		await ra.change((doc, ctx) => {
			measurement = addEntry(doc, 'measurements', { kind: 'weight', value: 70, date: '2024-01-02T08:00' }, ctx);
		});
		await a.sync.whenSynced(vaultId);
		await b.sync.whenSynced(vaultId);
		b.sync.disconnect();

		const setupStart = performance.now();
		for (let i = 0; i < CATCHUP_CHANGES; i++) {
			await ra.change((doc, ctx) => editEntry(doc, 'measurements', measurement, { value: 60 + (i % 400) / 10 }, ctx));
			// One macrotask: the engine seals this edit alone before the next one is made.
			await sleep(0);
		}
		await a.sync.whenSynced(vaultId);
		const setupMs = performance.now() - setupStart;
		const target = Automerge.getHeads((ra as OpenRecord).doc());

		const loadBefore = load();
		const start = performance.now();
		b.sync.connect();
		await b.sync.whenSynced(vaultId);
		const elapsed = performance.now() - start;
		const heads = Automerge.getHeads((rb as OpenRecord).doc());
		if (heads.length !== target.length || !heads.every((h) => target.includes(h))) throw new Error('B did not catch up');
		return {
			figure: 'catchup_ms',
			value: round(elapsed),
			unit: 'ms',
			target: 1000,
			changesBehind: CATCHUP_CHANGES,
			issues: b.sync.issues(vaultId).length,
			writerSetupS: round(setupMs / 1000),
			relayFiles: dataDir === undefined ? 'disk' : 'memory',
			loadAverage: { before: loadBefore, after: load() }
		};
	} finally {
		await Promise.allSettled(sessions.map((s) => s.lock()));
		await relay.stop();
		if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
	}
}

/** The sync figures: latency p50 and p99 with 50 records active, and the 10,000-change catch-up. */
export async function benchSync(): Promise<Figure[]> {
	await ready();
	return [...(await latency()), await catchup()];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	for (const figure of await benchSync()) console.log(JSON.stringify(figure));
	process.exit(0);
}
