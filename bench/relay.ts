/**
 * Relay benchmarks against the real relay process (tests/support/harness.ts `startRelay`:
 * `tsx relay/main.ts` on a random loopback port, a fresh SQLite file in WAL mode with
 * `synchronous = FULL`; envelopes arriving together share one group commit, acked only once it
 * is durable), started with its DEFAULT limits.
 * The clients live in this process (of the machine's two cores, one is in practice the
 * relay's and one the clients'), speak docs/SYNC.md through tests/support/sync-client.ts, and
 * connect from 127.0.0.2, .3, … so that no source address holds more than the relay's default
 * 32 sockets per IP. Loopback only.
 *
 *  - relay_envelopes_per_s: envelopes acknowledged to their writer AND pushed to both other
 *    subscribed devices of their vault, per second, over a 5 s window after 1 s of warm-up.
 *    160 vaults in parallel, each with one writer socket and two subscriber sockets (three
 *    members). Writers pipeline up to 8 pushes and pace themselves just under the relay's
 *    default per-socket rate limit (50 frames/s), so the relay's throughput comes from many
 *    vaults, as in production, not from a raised limit; the details give the offered rate
 *    (7,200/s), so a result at that ceiling reads as "at least", and the relay's CPU use and
 *    the disk's fsync latency at the time, which bound it. Envelopes are real: a
 *    one-entry Automerge edit of a 50-entry record (`saveSince`), sealed and signed with
 *    core/sync, all sealed BEFORE the timed window so client crypto is not measured.
 *  - relay_rss_mb_per_1k_idle_sockets: growth of the relay's VmRSS (/proc/<pid>/status) per
 *    1,000 idle sockets, each authenticated as its own device and subscribed to its vault
 *    (two devices per vault). The vaults are created first, then the relay is restarted so
 *    their membership state, cached when a device connects, counts with the sockets. After a
 *    warm-up of a few sockets, 2,000 are opened 500 at a time, VmRSS read 2 s after each
 *    step; the figure is the least-squares slope of those readings, per 1,000 sockets (one
 *    reading moves by tens of MB with garbage collection; the details have them all).
 *  - plain_sync_latency_p50_ms (p99 in the details): what `sync_latency_p50_ms` measures (device
 *    A commits one small edit, device B has applied it; loopback; 50 records active) through a
 *    plain automerge-repo setup with no encryption: a sync server process
 *    (bench/plain-sync-server.ts: `Repo` + `NodeWSServerAdapter`, no storage) and, here, one
 *    client `Repo` (`WebSocketClientAdapter`, no storage) per device, 50 documents with two
 *    devices each, every document a record of 50 sample entries. A sample is the time from
 *    A's `change` (one `addEntry`) to B's `change` event carrying A's new head.
 *
 * Every figure notes the load average (`uptime`). `npx tsx bench/relay.ts` prints one JSON line
 * per figure. Every process started here is ended when the benchmark ends, fails, or is told
 * to stop (SIGINT, SIGTERM, SIGHUP), and the plain server also exits if this process dies.
 */
import * as Automerge from '@automerge/automerge';
import { Repo, type DocHandle, type DocHandleChangePayload } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { constants, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_LIMITS } from '../relay/sync-server';
import { ready } from '../src/lib/core/crypto';
import type { Envelope } from '../src/lib/core/protocol';
import { addEntry, initRecord, type RecordDoc } from '../src/lib/core/record';
import { startRelay, startServer, type RelayProcess } from '../tests/support/harness';
import { expectFrame, newMember, SyncClient, TestRecord, type Member } from '../tests/support/sync-client';
import type { Figure } from './figure';
import { IDENTITY, median, round } from './record-scenario';
import { fillSampleRecord } from './sample-record';

/** Entries in every record the benchmarks carry (the edit is one more). */
const RECORD_ENTRIES = 50;

const LANES = 160;
const PIPELINE = 8;
/** Frames per second each writer sends: under the relay's default limit, which stays in force. */
const PACE_PER_S = DEFAULT_LIMITS.ratePerSecond * 0.9;
const WARMUP_MS = 1000;
const WINDOW_MS = 5000;
/** A push waits this long for its ack: a saturated relay queues PIPELINE pushes per writer. */
const PUSH_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 30_000;

const IDLE_STEPS = 4;
const IDLE_SOCKETS_PER_STEP = 500;
const WARMUP_SOCKETS = 40;
const SETTLE_MS = 2000;

const PLAIN_DOCS = 50;
const PLAIN_SAMPLES = 600;
/**
 * Least time between two edits of one document: automerge-repo syncs a changed document at
 * most every 100 ms (DocSynchronizer.syncDebounceRate), so samples this far apart are never
 * held back by that throttle: the plain setup is measured at its best.
 */
const PLAIN_GAP_MS = 200;

const SETUP_CONCURRENCY = 16;
const STEP_TIMEOUT_MS = 30_000;

// --- process hygiene ---------------------------------------------------------------------

/** Ends what was started and not yet stopped; run on exit, however this process exits. */
const live = new Set<() => void>();
const endLive = () => {
	for (const end of live) end();
	live.clear();
};
const onSignal = (signal: NodeJS.Signals) => process.exit(128 + constants.signals[signal]);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** A relay with default limits for `use`; stopped, its data folder deleted, whatever happens. */
async function withRelay<R>(use: (relay: RelayProcess, restart: () => Promise<RelayProcess>) => Promise<R>): Promise<R> {
	let relay = await startRelay();
	const end = () => {
		relay.process.kill('SIGKILL');
		rmSync(relay.dataDir, { recursive: true, force: true });
	};
	live.add(end);
	try {
		return await use(relay, async () => (relay = await relay.restart()));
	} finally {
		live.delete(end);
		await relay.stop();
	}
}

// --- helpers -------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
	return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** `fn(0 … count-1)`, at most `concurrency` at a time, results in order. */
async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
	const results: T[] = new Array(count);
	let next = 0;
	const worker = async () => {
		while (next < count) {
			const i = next++;
			results[i] = await fn(i);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
	return results;
}

/** Nearest-rank percentile. */
function percentile(xs: number[], p: number): number {
	const sorted = [...xs].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Least-squares slope of `ys` over `xs`. */
function slope(xs: number[], ys: number[]): number {
	const mean = (vs: number[]) => vs.reduce((a, b) => a + b, 0) / vs.length;
	const [mx, my] = [mean(xs), mean(ys)];
	const num = xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i] - my), 0);
	return num / xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
}

/** `uptime`'s load averages (1, 5, 15 min): two cores shared with other jobs, read the figures against them. */
const load = () => loadavg().map((x) => round(x, 2));

/**
 * Source addresses for client sockets, 127.0.0.2 upwards, each handed out at most the relay's
 * default sockets-per-IP times, so the relay keeps that limit.
 */
function loopbackSources(): () => string {
	let used = 0;
	return () => {
		const host = 2 + Math.floor(used++ / DEFAULT_LIMITS.connectionsPerIp);
		if (host > 254) throw new Error('out of loopback source addresses');
		return `127.0.0.${host}`;
	};
}

/** The relay's resident memory, in MB. */
function rssMb(pid: number): number {
	const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	if (!kb) throw new Error(`no VmRSS for process ${pid}`);
	return Number(kb[1]) / 1024;
}

/** CPU seconds (user + system) a process has used; /proc counts in USER_HZ = 100 ticks per second. */
function cpuSeconds(pid: number): number {
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Median latency of writing and fdatasync-ing 4 KiB in `dir`: the relay pays one such sync per
 * accepted envelope, and on this shared disk it varies from tenths of a millisecond to several.
 */
function fsyncMs(dir: string): number {
	const file = join(dir, 'fsync-probe');
	const fd = openSync(file, 'w');
	try {
		const block = Buffer.alloc(4096, 1);
		const times: number[] = [];
		for (let i = 0; i < 40; i++) {
			const start = performance.now();
			writeSync(fd, block, 0, block.length, 0);
			fdatasyncSync(fd);
			times.push(performance.now() - start);
		}
		return round(median(times), 2);
	} finally {
		closeSync(fd);
		rmSync(file, { force: true });
	}
}

/** This process's soft limit on open files. */
function openFilesLimit(): number {
	const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
	return line && line[1] !== 'unlimited' ? Number(line[1]) : Infinity;
}

/** A counter or gauge of the relay's /metrics. */
async function metric(relay: RelayProcess, name: string): Promise<number> {
	const text = await (await fetch(`${relay.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
	return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
}

/** A 50-entry sample record, initialised and filled in one change. */
function sampleRecord(doc: RecordDoc, seed: number): void {
	const ctx = { author: 'bench', now: new Date() };
	initRecord(doc, IDENTITY, ctx);
	fillSampleRecord(doc, RECORD_ENTRIES, ctx, seed);
}

/** One small edit: what a device commits when the patient adds an allergy. */
function smallEdit(doc: RecordDoc, i: number): void {
	addEntry(doc, 'allergies', { substance: `Substance ${i}`, criticality: 'low' }, { author: 'bench', now: new Date() });
}

/** The bytes a device pushes for one small edit of a 50-entry record: `saveSince` its last pushed heads. */
function smallEditChanges(): Uint8Array {
	const base = Automerge.change(Automerge.init<RecordDoc>(), (doc) => sampleRecord(doc, 1));
	const edited = Automerge.change(base, (doc) => smallEdit(doc, 0));
	return Automerge.saveSince(edited, Automerge.getHeads(base));
}

/** Closes sockets without letting a stuck one hold the benchmark. */
async function closeAll(clients: SyncClient[]): Promise<void> {
	await withTimeout(Promise.all(clients.map((client) => client.close())), STEP_TIMEOUT_MS, 'closing sockets').catch(() => {
		for (const client of clients) client.ws.terminate();
	});
}

// --- relay_envelopes_per_s -----------------------------------------------------------------

/** One vault under load: a writer socket, two subscriber sockets, the writer's sealed envelopes. */
interface Lane {
	record: TestRecord;
	writer: Member;
	socket: SyncClient;
	envelopes: Envelope[];
	sent: number;
	inFlight: number;
	allowance: number;
	/** Per seq: how many of the ack and the two pushes have arrived. */
	arrivals: Uint8Array;
	/** Per seq: when the push was sent (performance.now()). */
	sentAt: Float64Array;
}

async function envelopesPerSecond(): Promise<Figure> {
	return withRelay(async (relay) => {
		const source = loopbackSources();
		const clients: SyncClient[] = [];
		const connect = async () => {
			const client = await SyncClient.connect(relay.url, { localAddress: source() });
			clients.push(client);
			return client;
		};
		const problems = new Map<string, number>();
		const count = (problem: string) => void problems.set(problem, (problems.get(problem) ?? 0) + 1);
		// The timed window, set once the pushes start.
		let windowStart = Infinity;
		let windowEnd = Infinity;
		let completed = 0;
		let completedInWindow = 0;
		const windowLatencies: number[] = [];
		const arrive = (lane: Lane, seq: number) => {
			if (seq >= lane.arrivals.length) return count('unexpected seq');
			if (++lane.arrivals[seq] < 3) return;
			completed++;
			const now = performance.now();
			if (now >= windowStart && now < windowEnd) {
				completedInWindow++;
				windowLatencies.push(now - lane.sentAt[seq]);
			}
		};
		try {
			const perLane = Math.ceil((PACE_PER_S * (WARMUP_MS + WINDOW_MS)) / 1000) + PIPELINE;
			const lanes = await withTimeout(
				pool(LANES, SETUP_CONCURRENCY, async (): Promise<Lane> => {
					const writer = newMember();
					const devices = [newMember(), newMember()];
					const record = new TestRecord();
					const socket = await connect();
					expectFrame(await socket.auth(writer), 'ok');
					expectFrame(await socket.request(record.create(writer, newMember())), 'ok');
					for (const device of devices) expectFrame(await socket.request(record.add(writer, device, 'admin')), 'ok');
					const subscribers = [];
					for (const device of devices) {
						const subscriber = await connect();
						expectFrame(await subscriber.auth(device, record.id), 'ok');
						expectFrame(await subscriber.request({ type: 'subscribe', vault: record.id }), 'ok');
						subscribers.push(subscriber);
					}
					const lane: Lane = { record, writer, socket, envelopes: [], sent: 0, inFlight: 0, allowance: 0, arrivals: new Uint8Array(perLane + 1), sentAt: new Float64Array(perLane + 1) };
					for (const subscriber of subscribers) {
						subscriber.onPush = (frame) => (frame.type === 'envelope' ? arrive(lane, frame.seq) : count(`subscriber got ${frame.type}`));
					}
					socket.onPush = (frame) => count(frame.type === 'error' ? frame.code : `writer got ${frame.type}`);
					return lane;
				}),
				STEP_TIMEOUT_MS * 2,
				'setting up the vaults'
			);

			const changes = smallEditChanges();
			const sealStart = performance.now();
			for (const lane of lanes) {
				lane.envelopes = Array.from({ length: perLane }, () => lane.record.envelope(lane.writer, changes));
				// Seconds of sealing in all: let sockets answer the relay's pings, and signals through.
				await new Promise(setImmediate);
			}
			const sealMs = performance.now() - sealStart;

			const fsyncBefore = fsyncMs(relay.dataDir);
			const start = performance.now();
			windowStart = start + WARMUP_MS;
			windowEnd = windowStart + WINDOW_MS;
			let last = start;
			const pacer = setInterval(() => {
				const now = performance.now();
				for (const lane of lanes) {
					lane.allowance = Math.min(2, lane.allowance + ((now - last) * PACE_PER_S) / 1000);
					while (now < windowEnd && lane.allowance >= 1 && lane.inFlight < PIPELINE && lane.sent < perLane) {
						lane.allowance--;
						lane.inFlight++;
						const envelope = lane.envelopes[lane.sent++];
						lane.sentAt[envelope.counter] = now;
						lane.socket.request({ type: 'push', envelope }, PUSH_TIMEOUT_MS).then(
							(answer) => {
								lane.inFlight--;
								if (answer.type === 'ack' && answer.seq === envelope.counter) arrive(lane, answer.seq);
								else count(answer.type === 'error' ? answer.code : `${answer.type} out of order`);
							},
							(error: Error) => {
								lane.inFlight--;
								count(error.message.replace(/\d+/g, 'n'));
							}
						);
					}
				}
				last = now;
			}, 5);
			let cpu: { relay: number; client: NodeJS.CpuUsage };
			let windowLoad: number[];
			try {
				await sleep(windowStart - performance.now());
				const relayCpu = cpuSeconds(relay.process.pid!);
				const clientCpu = process.cpuUsage();
				await sleep(windowEnd - performance.now());
				cpu = { relay: cpuSeconds(relay.process.pid!) - relayCpu, client: process.cpuUsage(clientCpu) };
				windowLoad = load();
			} finally {
				clearInterval(pacer);
			}
			const sent = lanes.reduce((n, lane) => n + lane.sent, 0);
			const drainBy = performance.now() + DRAIN_TIMEOUT_MS;
			while (completed + [...problems.values()].reduce((a, b) => a + b, 0) < sent && performance.now() < drainBy) await sleep(50);
			const windowS = WINDOW_MS / 1000;
			return {
				figure: 'relay_envelopes_per_s',
				value: Math.round(completedInWindow / windowS),
				unit: 'envelopes/s',
				target: 3000,
				details: {
					what: `envelopes acked to the writer and pushed to both subscribers, ${windowS} s window after ${WARMUP_MS / 1000} s warm-up`,
					relayLimits: 'defaults (50 frames/s and bursts of 200 per socket, 32 sockets per IP): sockets spread over 127.0.0.2+',
					vaults: LANES,
					sockets: clients.length,
					offeredPerS: Math.round(LANES * PACE_PER_S),
					'atOfferedCeiling (then read the value as a lower bound)': completedInWindow / windowS >= 0.97 * LANES * PACE_PER_S,
					pipelinePerWriter: PIPELINE,
					envelopeCiphertextBytes: Buffer.byteLength(lanes[0].envelopes[0].ciphertext, 'base64url'),
					'presealed (not timed)': { envelopes: lanes.length * perLane, sealMs: Math.round(sealMs) },
					// Mostly queueing when the relay is the bottleneck (PIPELINE pushes wait per writer).
					pushToFannedOut_p50_ms: round(median(windowLatencies)),
					pushToFannedOut_p99_ms: round(percentile(windowLatencies, 99)),
					relayCpuCores: round(cpu.relay / windowS, 2),
					clientCpuCores: round((cpu.client.user + cpu.client.system) / 1e6 / windowS, 2),
					sent,
					completed,
					relayCountedAccepted: await metric(relay, 'carnet_sync_envelopes_accepted_total'),
					problems: Object.fromEntries(problems),
					durability: 'SQLite WAL, synchronous = FULL: group commit, every ack after its fsync',
					diskFsyncMs: { before: fsyncBefore, after: fsyncMs(relay.dataDir) },
					loadAverage: windowLoad
				}
			};
		} finally {
			await closeAll(clients);
		}
	});
}

// --- relay_rss_mb_per_1k_idle_sockets ------------------------------------------------------

async function rssPerThousandIdleSockets(): Promise<Figure> {
	const total = IDLE_STEPS * IDLE_SOCKETS_PER_STEP;
	const filesLimit = openFilesLimit();
	if (total + WARMUP_SOCKETS + 256 > filesLimit) throw new Error(`ulimit -n is ${filesLimit}: too low for ${total} sockets`);
	return withRelay(async (first, restart) => {
		// Two devices per vault, every device its own member.
		const devices: { member: Member; vault: string }[] = [];
		const setupSource = loopbackSources();
		await withTimeout(
			pool(total / 2, SETUP_CONCURRENCY, async (i) => {
				const [admin, other] = [newMember(), newMember()];
				const record = new TestRecord();
				const client = await SyncClient.connect(first.url, { localAddress: setupSource() });
				try {
					expectFrame(await client.auth(admin), 'ok');
					expectFrame(await client.request(record.create(admin, newMember())), 'ok');
					expectFrame(await client.request(record.add(admin, other, 'admin')), 'ok');
				} finally {
					await client.close();
				}
				devices[2 * i] = { member: admin, vault: record.id };
				devices[2 * i + 1] = { member: other, vault: record.id };
			}),
			STEP_TIMEOUT_MS * 2,
			'creating the vaults'
		);

		// A fresh relay process on the same database: nothing of the setup stays in its memory.
		const relay = await restart();
		const source = loopbackSources();
		const idle: SyncClient[] = [];
		const open = async ({ member, vault }: { member: Member; vault: string }) => {
			const client = await SyncClient.connect(relay.url, { localAddress: source() });
			idle.push(client);
			expectFrame(await client.auth(member, vault), 'ok');
			expectFrame(await client.request({ type: 'subscribe', vault }), 'ok');
		};
		const settledRss = async (sockets: number) => {
			await sleep(SETTLE_MS);
			const open = await metric(relay, 'carnet_sync_sockets_open');
			if (open !== sockets) throw new Error(`the relay counts ${open} open sockets, expected ${sockets}`);
			return rssMb(relay.process.pid!);
		};
		try {
			// Warm-up (code paths compiled, buffers allocated once), not counted: these sockets close again.
			await withTimeout(pool(WARMUP_SOCKETS, SETUP_CONCURRENCY, (i) => open(devices[i])), STEP_TIMEOUT_MS, 'warm-up sockets');
			await closeAll(idle.splice(0));
			const rss = [await settledRss(0)];
			for (let step = 0; step < IDLE_STEPS; step++) {
				const from = step * IDLE_SOCKETS_PER_STEP;
				await withTimeout(
					pool(IDLE_SOCKETS_PER_STEP, SETUP_CONCURRENCY, (i) => open(devices[from + i])),
					STEP_TIMEOUT_MS * 2,
					`opening sockets ${from}-${from + IDLE_SOCKETS_PER_STEP}`
				);
				rss.push(await settledRss(idle.length));
			}
			return {
				figure: 'relay_rss_mb_per_1k_idle_sockets',
				value: round(slope(rss.map((_, step) => step * IDLE_SOCKETS_PER_STEP), rss) * 1000, 2),
				unit: 'MB',
				target: 30,
				details: {
					what: `relay VmRSS per 1,000 idle sockets: least-squares slope of VmRSS over 0, ${IDLE_SOCKETS_PER_STEP}, … ${total} sockets (after ${WARMUP_SOCKETS} warm-up sockets opened and closed), each authenticated as its own device and subscribed; single readings move by tens of MB with garbage collection`,
					endpointMbPer1k: round(((rss[IDLE_STEPS] - rss[0]) / total) * 1000, 2),
					vaults: total / 2,
					devicesPerVault: 2,
					relayLimits: 'defaults: sockets spread over 127.0.0.2+ (32 per source address)',
					rssMb: rss.map((mb) => round(mb)),
					stepsMbPer1k: rss.slice(1).map((mb, i) => round(((mb - rss[i]) / IDLE_SOCKETS_PER_STEP) * 1000, 2)),
					settleMsBeforeEachReading: SETTLE_MS,
					openFilesLimit: filesLimit,
					loadAverage: load()
				}
			};
		} finally {
			await closeAll(idle);
		}
	});
}

// --- plain_sync_latency_p50_ms --------------------------------------------------------------

/** One document and its two devices, each a client Repo of the plain sync server. */
interface PlainPair {
	a: DocHandle<RecordDoc>;
	b: DocHandle<RecordDoc>;
	/** When the last sample of this document was seen on B (performance.now()). */
	idleSince: number;
}

/** Resolves once `handle` emits a change whose document has `head`. */
function changeWithHead(handle: DocHandle<RecordDoc>, head: () => string | undefined): Promise<void> {
	return new Promise((resolve) => {
		const check = ({ doc }: DocHandleChangePayload<RecordDoc>) => {
			const wanted = head();
			if (wanted !== undefined && Automerge.getHeads(doc).includes(wanted)) {
				handle.off('change', check);
				resolve();
			}
		};
		handle.on('change', check);
	});
}

/** B's `find`, repeated while the server has not yet received the document from A. */
async function findOnServer(repo: Repo, handle: DocHandle<RecordDoc>): Promise<DocHandle<RecordDoc>> {
	for (let attempt = 0; ; attempt++) {
		try {
			return await repo.find<RecordDoc>(handle.url);
		} catch (error) {
			if (attempt >= 50) throw error;
			await sleep(100);
		}
	}
}

async function plainSyncLatency(): Promise<Figure> {
	const server = await startServer('bench/plain-sync-server.ts');
	const end = () => server.process.kill('SIGKILL');
	live.add(end);
	const repos: Repo[] = [];
	const newRepo = () => {
		const repo = new Repo({ network: [new WebSocketClientAdapter(server.url)] });
		repos.push(repo);
		return repo;
	};
	try {
		const pairs = await withTimeout(
			pool(PLAIN_DOCS, SETUP_CONCURRENCY, async (i): Promise<PlainPair> => {
				const a = newRepo().create<RecordDoc>();
				a.change((doc) => sampleRecord(doc, i + 1));
				const b = await findOnServer(newRepo(), a);
				const heads = Automerge.getHeads(a.doc());
				if (!heads.every((head) => Automerge.getHeads(b.doc()).includes(head))) {
					await changeWithHead(b, () => heads[0]);
				}
				return { a, b, idleSince: performance.now() };
			}),
			STEP_TIMEOUT_MS * 2,
			'opening the documents on both devices'
		);
		const latencies: number[] = [];
		for (let i = 0; i < PLAIN_SAMPLES; i++) {
			const pair = pairs[i % PLAIN_DOCS];
			await sleep(pair.idleSince + PLAIN_GAP_MS - performance.now());
			let head: string | undefined;
			const applied = changeWithHead(pair.b, () => head);
			const start = performance.now();
			pair.a.change((doc) => smallEdit(doc, i));
			head = Automerge.getHeads(pair.a.doc())[0];
			await withTimeout(applied, 5000, `sample ${i} reaching device B`);
			pair.idleSince = performance.now();
			latencies.push(pair.idleSince - start);
		}
		return {
			figure: 'plain_sync_latency_p50_ms',
			value: round(median(latencies), 2),
			unit: 'ms',
			details: {
				what: "device A's change() to device B's change event with A's head, through a plain automerge-repo sync server process (no encryption, no storage)",
				plain_sync_latency_p99_ms: round(percentile(latencies, 99), 2),
				mean_ms: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 2),
				samples: latencies.length,
				documents: PLAIN_DOCS,
				entriesPerRecord: RECORD_ENTRIES,
				setup: 'server: Repo + NodeWSServerAdapter, sharePolicy false (like automerge-repo-sync-server); one client Repo + WebSocketClientAdapter per device, no storage',
				[`samples of one document >= ${PLAIN_GAP_MS} ms apart`]: "automerge-repo's 100 ms per-document sync throttle never delays a sample: the plain setup at its best",
				loadAverage: load()
			}
		};
	} finally {
		await withTimeout(Promise.all(repos.map((repo) => repo.shutdown())), STEP_TIMEOUT_MS, 'shutting the client repos down').catch(() => {});
		live.delete(end);
		await server.kill('SIGTERM');
	}
}

/** Measures the figures listed in the module comment. */
export async function benchRelay(): Promise<Figure[]> {
	await ready();
	process.on('exit', endLive);
	for (const signal of SIGNALS) process.on(signal, onSignal);
	try {
		// The latency first, while this process has little garbage to collect.
		const plain = await plainSyncLatency();
		return [await envelopesPerSecond(), await rssPerThousandIdleSockets(), plain];
	} finally {
		for (const signal of SIGNALS) process.off(signal, onSignal);
		process.off('exit', endLive);
	}
}

// `npx tsx bench/relay.ts`: print one JSON line per figure.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	for (const figure of await benchRelay()) console.log(JSON.stringify(figure));
}
