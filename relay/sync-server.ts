/**
 * The sync endpoint (docs/SYNC.md): a WebSocket on `/sync` of the relay's HTTP server. It
 * stores and forwards ciphertext for the members of each vault and checks, on every frame,
 * everything it can without a key: size, shape (core/protocol), who is authenticated on the
 * socket, membership and role from the replayed chain (core/sync), signatures, counters and
 * epochs. The checks that must be atomic with a write (chain head, counter, epoch) are the
 * store's, so two relay instances on one database cannot both accept conflicting frames.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ready } from '../src/lib/core/crypto';
import {
	MAX_ENVELOPES_PER_BATCH,
	MAX_ERROR_MESSAGE_LENGTH,
	MAX_FRAME_BYTES,
	MAX_LOCKBOXES_PER_FRAME,
	MAX_OPS_PER_FRAME,
	MAX_VAULTS_PER_MEMBER,
	NONCE_BYTES,
	parseClientFrame,
	type ClientFrame,
	type ErrorCode,
	type KeyHistory,
	type Lockbox,
	type MembershipOp,
	type RelayFrame
} from '../src/lib/core/protocol';
import {
	acceptOps,
	canWrite,
	isMember,
	replayMembership,
	verifyAuth,
	verifyEnvelope,
	verifyKeyHistory,
	verifyLockbox,
	verifySnapshot,
	type MembershipResult,
	type MembershipState
} from '../src/lib/core/sync';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { Store } from './store/store';

/** The relay's operational limits; every one has an environment variable in relay/main.ts. */
export interface SyncLimits {
	/** Frames per second a socket may sustain (token bucket refill rate). */
	ratePerSecond: number;
	/** Frames a socket may send in a burst (token bucket size). */
	rateBurst: number;
	/** Open sync sockets per client IP address. */
	connectionsPerIp: number;
	/** Ciphertext bytes one vault may hold (envelopes and snapshot). */
	vaultQuotaBytes: number;
	/** Interval of the ping that finds dead sockets: one unanswered ping and the socket is dropped. */
	heartbeatMs: number;
	/** How long a socket may stay open without authenticating. */
	authTimeoutMs: number;
}

/**
 * Defaults sized for a family or a clinic: a device syncing normally sends a few frames a
 * second, a catch-up pulls in pages of 256, and a 10-year record with scans stays far below
 * 200 MB of change batches (attachments are stored apart).
 */
export const DEFAULT_LIMITS: SyncLimits = {
	ratePerSecond: 50,
	rateBurst: 200,
	connectionsPerIp: 32,
	vaultQuotaBytes: 200 * 1024 * 1024,
	heartbeatMs: 30_000,
	authTimeoutMs: 30_000
};

/** Frames above this are refused by `ws` itself with close code 1009; up to it we answer `too_large`. */
const MAX_PAYLOAD_BYTES = 2 * MAX_FRAME_BYTES;
/** Frames a socket may have waiting for processing before we stop reading from it (TCP backpressure). */
const MAX_PENDING_FRAMES = 16;
/** Identities one socket may authenticate (a device with its record's invite or recovery key, …). */
const MAX_MEMBERS_PER_SOCKET = 16;
/** Replayed chains kept in memory, least recently used dropped first. */
const MEMBERSHIP_CACHE_SIZE = 1024;
/** Unsent bytes after which a socket that does not read is dropped rather than buffered for. */
const MAX_BUFFERED_BYTES = 16 * MAX_FRAME_BYTES;
/** Room in a `batch` frame for everything but the snapshot and the envelopes. */
const BATCH_OVERHEAD_BYTES = 256;
/** How long `close()` waits for clients to acknowledge the close handshake. */
const CLOSE_GRACE_MS = 1000;
/** `ws` sends a Buffer as a binary frame unless told otherwise; every relay frame is JSON text. */
const TEXT_FRAME = { binary: false } as const;

/** The sync endpoint attached to an HTTP server. */
export interface SyncServer {
	/** Stops accepting sockets, lets frames in progress finish, closes every socket. */
	close(): Promise<void>;
	/**
	 * Pushes `frame` (a `notice`) to every socket subscribed to `vault` on which a current
	 * member is authenticated, right after the event it announces was stored (docs/SHARING.md).
	 */
	notify(vault: string, frame: RelayFrame): Promise<void>;
	/**
	 * The vault's replayed membership chain, from the cache the sync endpoint keeps (so HTTP
	 * requests see a removal as soon as sockets do); undefined for an unknown vault.
	 */
	membership(vault: string): Promise<MembershipState | undefined>;
}

/** What `attachSync` needs. */
export interface SyncOptions {
	store: Store;
	limits: SyncLimits;
	metrics: Metrics;
	log: Logger;
}

/** A frame refused with a protocol error code; the message is English and safe to send. */
class Refusal extends Error {
	constructor(
		readonly code: ErrorCode,
		message: string,
		/** With `bad_counter`: the author's next counter. */
		readonly expected?: number
	) {
		super(message);
	}
}

/** One sync WebSocket. */
interface Connection {
	readonly ws: WebSocket;
	/** The `challenge` this socket was sent: `auth` frames sign it. */
	readonly nonce: string;
	/** Member ids that proved their key on this socket. */
	readonly members: Set<string>;
	/** Vaults this socket gets `envelope` and `membership` pushes for. */
	readonly subscriptions: Set<string>;
	tokens: number;
	refilledAt: number;
	/** Frames are handled one at a time, in order: a device's pushes must reach the store in counter order. */
	queue: Promise<void>;
	pending: number;
	/** Answered the last ping. */
	alive: boolean;
	authTimer?: NodeJS.Timeout;
}

type FrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

/** Attaches the `/sync` WebSocket endpoint to `server`. */
export function attachSync(server: Server, options: SyncOptions): SyncServer {
	const { store, limits, metrics, log } = options;
	const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES, perMessageDeflate: false });
	const connections = new Set<Connection>();
	const perIp = new Map<string, number>();
	const subscribers = new Map<string, Set<Connection>>();
	const states = new Map<string, MembershipState>();
	const sodium = ready();
	let closing = false;

	server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		socket.on('error', () => socket.destroy());
		const refuse = (status: string) => {
			socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
		};
		if (new URL(req.url ?? '/', 'http://relay').pathname !== '/sync') return refuse('404 Not Found');
		if (closing) return refuse('503 Service Unavailable');
		const ip = req.socket.remoteAddress ?? '';
		if ((perIp.get(ip) ?? 0) >= limits.connectionsPerIp) {
			log.warn('connection refused', { reason: 'per_ip_limit' });
			return refuse('429 Too Many Requests');
		}
		perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
		wss.handleUpgrade(req, socket, head, (ws) => open(ws, ip));
	});

	const heartbeat = setInterval(() => {
		for (const conn of connections) {
			if (!conn.alive) {
				log.info('socket dropped', { reason: 'heartbeat' });
				conn.ws.terminate();
				continue;
			}
			conn.alive = false;
			conn.ws.ping();
		}
	}, limits.heartbeatMs);
	heartbeat.unref();

	function open(ws: WebSocket, ip: string): void {
		const conn: Connection = {
			ws,
			nonce: randomBytes(NONCE_BYTES).toString('base64url'),
			members: new Set(),
			subscriptions: new Set(),
			tokens: limits.rateBurst,
			refilledAt: Date.now(),
			queue: Promise.resolve(),
			pending: 0,
			alive: true
		};
		connections.add(conn);
		metrics.openSockets++;
		conn.authTimer = setTimeout(() => {
			if (conn.members.size === 0) ws.close(1008, 'authentication timeout');
		}, limits.authTimeoutMs);
		ws.on('pong', () => (conn.alive = true));
		ws.on('message', (data, isBinary) => receive(conn, data, isBinary));
		ws.on('error', (error) => log.debug('socket error', { error: error.message }));
		ws.on('close', () => {
			clearTimeout(conn.authTimer);
			connections.delete(conn);
			metrics.openSockets--;
			const left = (perIp.get(ip) ?? 1) - 1;
			if (left === 0) perIp.delete(ip);
			else perIp.set(ip, left);
			for (const vault of conn.subscriptions) unsubscribe(conn, vault);
			log.debug('socket closed', { members: conn.members.size });
		});
		send(conn, { type: 'challenge', nonce: conn.nonce });
		log.debug('socket opened');
	}

	/** Cheap checks on arrival (rate, kind, size), then the frame joins the socket's queue. */
	function receive(conn: Connection, data: RawData, isBinary: boolean): void {
		const now = Date.now();
		conn.tokens = Math.min(limits.rateBurst, conn.tokens + ((now - conn.refilledAt) * limits.ratePerSecond) / 1000);
		conn.refilledAt = now;
		if (conn.tokens < 1) return sendError(conn, undefined, 'rate_limited', 'too many frames; slow down');
		conn.tokens -= 1;
		const bytes = data as Buffer; // binaryType 'nodebuffer': always one Buffer
		if (isBinary) return sendError(conn, undefined, 'bad_frame', 'a frame must be JSON text');
		if (bytes.length > MAX_FRAME_BYTES) {
			return sendError(conn, undefined, 'too_large', `a frame must be at most ${MAX_FRAME_BYTES} bytes`);
		}
		const text = bytes.toString('utf8');
		conn.pending++;
		if (conn.pending >= MAX_PENDING_FRAMES) conn.ws.pause();
		conn.queue = conn.queue
			.then(() => handle(conn, text))
			// `handle` answers every refusal itself; this keeps the queue alive if a bug slips through.
			.catch((error: unknown) => log.error('frame crashed', { error: error instanceof Error ? error.message : String(error) }))
			.finally(() => {
				conn.pending--;
				if (conn.pending < MAX_PENDING_FRAMES / 2 && conn.ws.isPaused) conn.ws.resume();
			});
	}

	async function handle(conn: Connection, text: string): Promise<void> {
		await sodium;
		const parsed = parseClientFrame(text);
		if (!parsed.ok) return sendError(conn, parsed.error.id, parsed.error.code, parsed.error.message);
		const frame = parsed.frame;
		try {
			if (frame.type !== 'auth' && conn.members.size === 0) {
				throw new Refusal('unauthenticated', 'authenticate first (answer the challenge with an auth frame)');
			}
			send(conn, await dispatch(conn, frame));
		} catch (error) {
			if (error instanceof Refusal) {
				log.info('frame refused', { type: frame.type, code: error.code });
				return sendError(conn, frame.id, error.code, error.message, error.expected);
			}
			log.error('frame failed', { type: frame.type, error: error instanceof Error ? error.message : String(error) });
			sendError(conn, frame.id, 'internal', 'the relay could not handle this frame; try again later');
		}
	}

	function dispatch(conn: Connection, frame: ClientFrame): Promise<RelayFrame> {
		switch (frame.type) {
			case 'auth':
				return auth(conn, frame);
			case 'create':
				return create(conn, frame);
			case 'membership':
				return membershipPage(conn, frame);
			case 'append':
				return append(conn, frame);
			case 'rotate':
				return rotate(conn, frame);
			case 'keys':
				return keys(conn, frame);
			case 'push':
				return push(conn, frame);
			case 'pull':
				return pull(conn, frame);
			case 'snapshot':
				return snapshot(conn, frame);
			case 'subscribe':
				return subscribe(conn, frame);
			case 'seen':
				return seen(conn, frame);
		}
	}

	// --- membership state -------------------------------------------------------------------

	/** The vault's replayed chain, from the cache or the store; undefined if there is no such vault. */
	async function membership(vault: string): Promise<MembershipState | undefined> {
		const cached = states.get(vault);
		if (cached !== undefined) {
			remember(cached);
			return cached;
		}
		const ops = await store.ops(vault, 0);
		if (ops.length === 0) return undefined;
		const replayed = replayMembership(ops, new Date());
		if (!replayed.ok) throw new Error(`the stored chain of a vault does not replay: ${replayed.error.reason}`);
		return remember(replayed.state);
	}

	/**
	 * Caches `state` unless a newer one is cached: a replay that started before an append
	 * finishes after it, and must not bring back the older chain.
	 */
	function remember(state: MembershipState): MembershipState {
		const cached = states.get(state.vault);
		if (cached !== undefined && cached.index > state.index) return cached;
		states.delete(state.vault);
		states.set(state.vault, state);
		if (states.size > MEMBERSHIP_CACHE_SIZE) states.delete(states.keys().next().value!);
		return state;
	}

	/** True when one of the socket's members may read the vault now. */
	function mayRead(conn: Connection, state: MembershipState, now: Date): boolean {
		for (const member of conn.members) if (isMember(state, member, now)) return true;
		return false;
	}

	/** The vault's state, if one of the socket's members may read it; else `not_member`. */
	async function readable(conn: Connection, vault: string): Promise<MembershipState> {
		const state = await membership(vault);
		// An unknown vault and a vault of others answer alike: existence is not for strangers.
		if (state === undefined || !mayRead(conn, state, new Date())) {
			throw new Refusal('not_member', 'no member of this vault is authenticated on this socket');
		}
		return state;
	}

	/** The vault's state for a frame signed by `signer`, who must be authenticated here and a current member. */
	async function actingAs(conn: Connection, vault: string, signer: string): Promise<MembershipState> {
		if (!conn.members.has(signer)) throw new Refusal('unauthenticated', 'authenticate as the signer of this frame first');
		const state = await membership(vault);
		if (state === undefined || !isMember(state, signer, new Date())) {
			throw new Refusal('not_member', 'the signer is not a member of this vault');
		}
		return state;
	}

	/**
	 * Validates ops after `state` (null: a new vault) with core/sync's `acceptOps`, checks the
	 * keys they hand out against the resulting chain, then stores all of it at once if the
	 * chain has not moved meanwhile. `history` comes with a rotation only.
	 */
	async function commitOps(
		vault: string,
		state: MembershipState | null,
		ops: MembershipOp[],
		lockboxes: Lockbox[],
		history?: KeyHistory
	): Promise<MembershipState> {
		const now = new Date();
		const next = chainVerdict(acceptOps(state, ops, now));
		if (!lockboxes.every((lockbox) => verifyLockbox(next, lockbox))) {
			throw new Refusal('bad_signature', 'a lockbox is not signed by an administrator for a member of its epoch');
		}
		if (history !== undefined) {
			if (!verifyKeyHistory(next, history)) {
				throw new Refusal('bad_signature', 'the key history entry is not signed by an administrator of its epoch');
			}
			// The relay cannot check what a lockbox holds, but it can refuse a rotation that would
			// leave a remaining member without the new key (locked out of everything written next).
			const sealedTo = new Set(lockboxes.map((lockbox) => lockbox.recipient));
			if ([...next.members.keys()].some((id) => isMember(next, id, now) && !sealedTo.has(id))) {
				throw new Refusal('bad_frame', "the new epoch's key must be sealed to every remaining member");
			}
		}
		const after = state && { index: state.index, hash: state.head };
		const outcome = await store.appendOps(vault, { after, ops, head: next.head, lockboxes, history });
		if (outcome === 'conflict') {
			states.delete(vault);
			throw new Refusal('conflict', state ? 'another membership change got in first; fetch the chain and retry' : 'this vault already exists');
		}
		remember(next);
		log.info('membership changed', { vault, ops: ops.length, epoch: next.epoch });
		return next;
	}

	// --- handlers ---------------------------------------------------------------------------

	async function auth(conn: Connection, frame: FrameOf<'auth'>): Promise<RelayFrame> {
		const { member, vault, sig } = frame;
		if (!verifyAuth(conn.nonce, { member, vault, sig })) {
			throw new Refusal('bad_signature', "the signature does not answer this socket's challenge");
		}
		const now = new Date();
		if (vault !== undefined) {
			const state = await membership(vault);
			if (state === undefined || !isMember(state, member, now)) throw new Refusal('not_member', 'not a member of this vault');
		}
		if (!conn.members.has(member) && conn.members.size >= MAX_MEMBERS_PER_SOCKET) {
			throw new Refusal('forbidden', `a socket may authenticate at most ${MAX_MEMBERS_PER_SOCKET} members`);
		}
		conn.members.add(member);
		clearTimeout(conn.authTimer);
		await store.seen(member, now);
		log.info('authenticated', { member, vault });
		if (vault !== undefined) return { type: 'ok', id: frame.id };
		// Restore from the recovery phrase: which vaults does this key open?
		const vaults: string[] = [];
		for (const candidate of await store.vaultsOf(member, MAX_VAULTS_PER_MEMBER)) {
			const state = await membership(candidate);
			if (state !== undefined && isMember(state, member, now)) vaults.push(candidate);
		}
		return { type: 'ok', id: frame.id, vaults };
	}

	async function create(conn: Connection, frame: FrameOf<'create'>): Promise<RelayFrame> {
		const [first] = frame.ops;
		if (!conn.members.has(first.by)) throw new Refusal('unauthenticated', 'authenticate as the creator first');
		await commitOps(first.vault, null, frame.ops, frame.lockboxes);
		return { type: 'ok', id: frame.id };
	}

	async function membershipPage(conn: Connection, frame: FrameOf<'membership'>): Promise<RelayFrame> {
		await readable(conn, frame.vault);
		const ops = await store.ops(frame.vault, frame.since, MAX_OPS_PER_FRAME);
		return { type: 'membership', id: frame.id, vault: frame.vault, ops };
	}

	async function append(conn: Connection, frame: FrameOf<'append'>): Promise<RelayFrame> {
		const state = await actingAs(conn, frame.vault, frame.op.by);
		const next = await commitOps(frame.vault, state, [frame.op], frame.lockboxes ?? []);
		deliver(next, { type: 'membership', vault: frame.vault, ops: [frame.op] }, conn);
		return { type: 'ok', id: frame.id };
	}

	async function rotate(conn: Connection, frame: FrameOf<'rotate'>): Promise<RelayFrame> {
		const { op, lockboxes, history } = frame;
		const state = await actingAs(conn, frame.vault, op.by);
		const next = await commitOps(frame.vault, state, [op], lockboxes, history);
		revoke(next, op.member.id);
		deliver(next, { type: 'membership', vault: frame.vault, ops: [op] }, conn);
		return { type: 'ok', id: frame.id };
	}

	async function keys(conn: Connection, frame: FrameOf<'keys'>): Promise<RelayFrame> {
		const state = await readable(conn, frame.vault);
		const now = new Date();
		const callers = [...conn.members].filter((member) => isMember(state, member, now));
		const sealed = (await Promise.all(callers.map((member) => store.lockboxesFor(frame.vault, member)))).flat();
		// Newest first: the newest key opens every older one through the history.
		const lockboxes = sealed.sort((a, b) => b.epoch - a.epoch).slice(0, MAX_LOCKBOXES_PER_FRAME);
		return { type: 'keys', id: frame.id, lockboxes, history: await store.history(frame.vault) };
	}

	/** The vault's state for an envelope or snapshot by `author`, who must be authenticated here and an admin. */
	async function asWriter(conn: Connection, vault: string, author: string): Promise<MembershipState> {
		const state = await actingAs(conn, vault, author);
		if (!canWrite(state, author)) throw new Refusal('forbidden', 'only an admin member writes to the record');
		return state;
	}

	async function push(conn: Connection, frame: FrameOf<'push'>): Promise<RelayFrame> {
		const envelope = frame.envelope;
		const state = await asWriter(conn, envelope.vault, envelope.author);
		if (!verifyEnvelope(envelope)) throw new Refusal('bad_signature', "the envelope does not carry its author's signature");
		const result = await store.appendEnvelope(envelope, limits.vaultQuotaBytes);
		switch (result.status) {
			case 'stored':
				metrics.envelopesAccepted++;
				log.debug('envelope stored', { vault: envelope.vault, seq: result.seq });
				deliver(state, { type: 'envelope', seq: result.seq, envelope }, conn);
				return { type: 'ack', id: frame.id, seq: result.seq };
			case 'duplicate':
				return { type: 'ack', id: frame.id, seq: result.seq };
			case 'bad_counter':
				throw new Refusal('bad_counter', `this author's next counter is ${result.expected}`, result.expected);
			case 'stale_epoch':
				throw staleEpoch(result.epoch);
			case 'quota':
				throw new Refusal('quota', "the vault's storage quota is used up; a snapshot frees what it covers");
		}
	}

	async function pull(conn: Connection, frame: FrameOf<'pull'>): Promise<RelayFrame> {
		const { vault, since } = frame;
		await readable(conn, vault);
		const head = await store.head(vault);
		// Envelopes before the snapshot: a snapshot stored in between can only cover more, so
		// the answer never has a hole where envelopes were pruned without their snapshot.
		const rows = await store.envelopes(vault, since, frame.limit ?? MAX_ENVELOPES_PER_BATCH);
		const latest = await store.snapshot(vault);
		const snapshot = latest !== undefined && latest.coversSeq > since ? latest : undefined;
		let room = MAX_FRAME_BYTES - BATCH_OVERHEAD_BYTES - (snapshot ? JSON.stringify(snapshot).length : 0);
		const envelopes = [];
		for (const row of rows) {
			room -= JSON.stringify(row).length + 1;
			if (room < 0) break;
			envelopes.push(row);
		}
		return snapshot
			? { type: 'batch', id: frame.id, snapshot, envelopes, head }
			: { type: 'batch', id: frame.id, envelopes, head };
	}

	async function snapshot(conn: Connection, frame: FrameOf<'snapshot'>): Promise<RelayFrame> {
		const taken = frame.snapshot;
		await asWriter(conn, taken.vault, taken.author);
		if (!verifySnapshot(taken)) throw new Refusal('bad_signature', "the snapshot does not carry its author's signature");
		// No quota check: a snapshot replaces the envelopes it covers, it is how a full vault shrinks.
		const result = await store.putSnapshot(taken);
		switch (result.status) {
			case 'stored':
				log.info('snapshot stored', { vault: taken.vault, coversSeq: taken.coversSeq, pruned: result.pruned });
				return { type: 'ok', id: frame.id };
			case 'older':
				return { type: 'ok', id: frame.id };
			case 'ahead':
				throw new Refusal('conflict', `the snapshot covers envelopes past the head (${result.head})`);
			case 'stale_epoch':
				throw staleEpoch(result.epoch);
		}
	}

	async function subscribe(conn: Connection, frame: FrameOf<'subscribe'>): Promise<RelayFrame> {
		await readable(conn, frame.vault);
		conn.subscriptions.add(frame.vault);
		let set = subscribers.get(frame.vault);
		if (set === undefined) subscribers.set(frame.vault, (set = new Set()));
		set.add(conn);
		return { type: 'ok', id: frame.id };
	}

	/** When each current member of the vault last authenticated: the device list's "last seen". */
	async function seen(conn: Connection, frame: FrameOf<'seen'>): Promise<RelayFrame> {
		const state = await readable(conn, frame.vault);
		const members = [];
		for (const member of state.members.keys()) {
			const at = await store.lastSeen(member);
			if (at !== undefined) members.push({ member, at: at.toISOString() });
		}
		return { type: 'seen', id: frame.id, vault: frame.vault, members };
	}

	// --- fan-out ----------------------------------------------------------------------------

	/** Pushes `frame` to the vault's subscribers other than `except`, dropping any that may no longer read it. */
	function deliver(state: MembershipState, frame: RelayFrame, except?: Connection): void {
		const now = new Date();
		// Serialised and UTF-8 encoded once for all subscribers, and only if one is there to get it.
		let encoded: Buffer | undefined;
		for (const conn of subscribers.get(state.vault) ?? []) {
			if (conn === except) continue;
			if (mayRead(conn, state, now)) sendText(conn, (encoded ??= Buffer.from(JSON.stringify(frame))));
			else unsubscribe(conn, state.vault);
		}
	}

	/** Tells every socket of a just-removed member, and ends its subscription unless another member of the socket stays. */
	function revoke(state: MembershipState, removed: string): void {
		const now = new Date();
		for (const conn of connections) {
			if (!conn.members.has(removed)) continue;
			send(conn, { type: 'revoked', vault: state.vault });
			if (!mayRead(conn, state, now)) unsubscribe(conn, state.vault);
		}
		log.info('member revoked', { vault: state.vault, member: removed });
	}

	function unsubscribe(conn: Connection, vault: string): void {
		conn.subscriptions.delete(vault);
		const set = subscribers.get(vault);
		set?.delete(conn);
		if (set?.size === 0) subscribers.delete(vault);
	}

	function send(conn: Connection, frame: RelayFrame): void {
		sendText(conn, JSON.stringify(frame));
	}

	/** Sends a frame already serialised (as a string or its UTF-8 bytes), unless the socket is gone or has stopped reading. */
	function sendText(conn: Connection, text: string | Buffer): void {
		if (conn.ws.readyState !== WebSocket.OPEN) return;
		if (conn.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
			log.warn('socket dropped', { reason: 'not_reading' });
			conn.ws.terminate();
			return;
		}
		conn.ws.send(text, TEXT_FRAME);
	}

	function sendError(conn: Connection, id: number | undefined, code: ErrorCode, message: string, expected?: number): void {
		metrics.rejected(code);
		send(conn, {
			type: 'error',
			...(id === undefined ? {} : { id }),
			code,
			message: message.slice(0, MAX_ERROR_MESSAGE_LENGTH),
			...(expected === undefined ? {} : { expected })
		});
	}

	return {
		async notify(vault, frame) {
			if (!subscribers.has(vault)) return;
			const state = await membership(vault);
			if (state !== undefined) deliver(state, frame);
		},
		membership,
		async close() {
			closing = true;
			clearInterval(heartbeat);
			for (const conn of connections) conn.ws.close(1001, 'relay shutting down');
			await Promise.all([...connections].map((conn) => conn.queue));
			const closed = [...connections].map((conn) => new Promise((resolve) => conn.ws.once('close', resolve)));
			const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
			await Promise.race([Promise.all(closed), grace]);
			for (const conn of connections) conn.ws.terminate();
			wss.close();
		}
	};
}

/** What a device is told when it wrote with an old key: fetch the new lockbox and send the same change again. */
function staleEpoch(epoch: number): Refusal {
	return new Refusal('stale_epoch', `the vault is at epoch ${epoch}; fetch its keys and encrypt again`);
}

/** The chain after valid ops; a refused op becomes the protocol error that tells the device what to do. */
function chainVerdict(result: MembershipResult): MembershipState {
	if (result.ok) return result.state;
	const { reason, message } = result.error;
	switch (reason) {
		case 'bad_prev':
		case 'bad_index':
			throw new Refusal('conflict', 'another membership change got in first; fetch the chain and retry');
		case 'bad_signature':
			throw new Refusal('bad_signature', message);
		case 'not_member':
			throw new Refusal('not_member', message);
		case 'malformed':
		case 'bad_first':
		case 'bad_vault':
		case 'bad_epoch':
			throw new Refusal('bad_frame', message);
		default:
			throw new Refusal('forbidden', message);
	}
}
