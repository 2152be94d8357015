/**
 * The client sync engine (docs/SYNC.md): one relay connection per unlocked session, shared by
 * every record of the device, with reconnection (exponential backoff with jitter, and at once
 * when the browser says it is back online), discovery of records this device was added to,
 * and the device operations that need the relay (invite, remove). Each record's sync itself
 * is a VaultSync (vault.ts).
 */
import type { IDBPDatabase } from 'idb';
import type * as Automerge from '@automerge/automerge';
import { randomBytes } from '../../core/crypto';
import type { RecordDoc } from '../../core/record';
import type { OpMember } from '../../core/protocol';
import { INVITE_SEED_BYTES, MAX_INVITE_VAULTS, inviteKeys, inviteLink, memberRef, type MembershipState } from '../../core/sync';
import type { CarnetDB } from '../db';
import { CarnetError, LockedError, OfflineError, UnknownRecordError } from '../errors';
import type { OpenRecord } from '../record-handle';
import { fetchChain, fetchKeys, type Identity } from './chain';
import { joinedState, roleIn, type Joined } from './enrol';
import { RelaySocket, syncUrl, type PushFrame, type WebSocketConstructor } from './socket';
import { SyncStore, type SyncState } from './store';
import { VaultSync, type MemberInfo, type SyncIssue, type SyncStatus, type VaultHost } from './vault';

export type { MemberInfo, SyncIssue, SyncStatus } from './vault';

/** What the UI drives and watches (docs/ARCHITECTURE.md, "src/lib/client"). */
export interface SyncEngine {
	/** The record's sync state now. */
	status(vaultId: string): SyncStatus;
	/**
	 * Calls `fn` with every record's status now, then whenever one changes; returns the
	 * unsubscriber.
	 */
	subscribe(fn: (vaultId: string, status: SyncStatus) => void): () => void;
	/** Connects now (again after `disconnect`, or without waiting for the next retry). */
	connect(): void;
	/** Closes the connection and stops reconnecting until `connect`. */
	disconnect(): void;
	/**
	 * Resolves once every local change of the record is acknowledged and the record is caught
	 * up with the relay's head; waits through disconnections. Rejects (CarnetError with the
	 * status's error code) when the record stops syncing, LockedError when the session locks.
	 */
	whenSynced(vaultId: string): Promise<void>;
	/** Problems met while syncing the record (skipped envelopes, refusals), oldest first. */
	issues(vaultId: string): readonly SyncIssue[];
}

/** Where and how to reach the relay. */
export interface EngineOptions {
	/** The relay's `/sync` WebSocket URL; without one the engine stays offline. */
	url?: string;
	WebSocket?: WebSocketConstructor;
	/** The origin invitation links open (the app's). */
	appOrigin?: string;
}

/** What the engine needs of the session (Session provides it over its private fields). */
export interface SessionPort extends Omit<VaultHost, 'notify' | 'inTurn'> {
	readonly db: IDBPDatabase<CarnetDB>;
	/** The records of the session, oldest first (the order they register in). */
	vaultIds(): string[];
	/** The record's local at-rest key (the session owns it). */
	localKey(vaultId: string): Uint8Array | undefined;
	/**
	 * Adds a record this device joined through the relay: a new local key sealed to this
	 * device and the recovery key, and `state`, in one transaction. `createdAt` orders it;
	 * `role` is this device's in the record (a reader's writes are refused before storing).
	 */
	addVault(vaultId: string, createdAt: number, state: SyncState, role: 'admin' | 'reader'): Promise<void>;
	/** Stores a document received from the relay as the record and returns it open. */
	adoptDocument(vaultId: string, doc: Automerge.Doc<RecordDoc>): Promise<OpenRecord>;
}

/**
 * What the sharing side hears from the relay connection: a share notice for a vault, or
 * `connected` (each time a socket is authenticated), when devices catch up on what they
 * missed while offline (docs/SHARING.md, "Live").
 */
export type RelayEvent = { type: 'notice'; vault: string; kind: 'access' | 'contribution'; seq: number } | { type: 'connected' };

/**
 * What an invitation grants: a new device of this person (every record, admin, 10 minutes)
 * or another person (one record, the role chosen, 30 minutes, the link marked `p: 1`).
 */
export interface InviteTerms {
	grants: 'admin' | 'reader';
	ttlMs: number;
	forPerson: boolean;
}

/** First retry delay; doubles on every failure up to RETRY_MAX_MS, then jittered. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 30_000;
/** How long an operation that needs the relay (invite, remove) waits for it before OfflineError. */
const RELAY_WAIT_MS = 15_000;
/** How often whenSynced looks again when nothing was notified. */
const WHEN_SYNCED_POLL_MS = 1_000;

/** See the module comment. */
export class Engine implements SyncEngine {
	readonly #port: SessionPort;
	readonly #url: string | undefined;
	readonly #WebSocket: WebSocketConstructor | undefined;
	readonly #appOrigin: string | undefined;
	readonly #vaults = new Map<string, VaultSync>();
	readonly #loading = new Map<string, Promise<VaultSync>>();
	readonly #subscribers = new Set<(vaultId: string, status: SyncStatus) => void>();
	readonly #relayListeners = new Set<(event: RelayEvent) => void>();
	readonly #shown = new Map<string, string>();
	#socket: RelaySocket | undefined;
	#dialing = false;
	#wanted = true;
	#stopped = false;
	#attempt = 0;
	#retry: ReturnType<typeof setTimeout> | undefined;
	#tick: { promise: Promise<void>; resolve(): void } = deferred();
	#registrations: Promise<void> = Promise.resolve();
	readonly #online = () => {
		if (this.#wanted && this.#socket === undefined) this.connect();
	};

	constructor(port: SessionPort, options: EngineOptions) {
		this.#port = port;
		this.#url = options.url;
		this.#WebSocket = options.WebSocket;
		this.#appOrigin = options.appOrigin;
	}

	/** Loads every record's sync state, then connects, if a relay is known; without one does nothing. */
	start(): void {
		if (this.#url === undefined || this.#WebSocket === undefined) return;
		for (const vaultId of this.#port.vaultIds()) this.#load(vaultId).catch(() => {});
		globalThis.addEventListener?.('online', this.#online);
		this.#dial();
	}

	// --- SyncEngine -------------------------------------------------------------------------

	/** See SyncEngine.status. */
	status(vaultId: string): SyncStatus {
		const vault = this.#vaults.get(vaultId);
		const online = this.#socket !== undefined;
		if (vault === undefined) return { state: this.#dialing ? 'connecting' : 'offline', pending: 0 };
		return vault.status(online, this.#dialing);
	}

	/** See SyncEngine.subscribe. */
	subscribe(fn: (vaultId: string, status: SyncStatus) => void): () => void {
		this.#subscribers.add(fn);
		for (const vaultId of this.#vaults.keys()) fn(vaultId, this.status(vaultId));
		return () => {
			this.#subscribers.delete(fn);
		};
	}

	/** See SyncEngine.connect. */
	connect(): void {
		if (this.#stopped) return;
		this.#wanted = true;
		this.#attempt = 0;
		clearTimeout(this.#retry);
		this.#retry = undefined;
		this.#dial();
	}

	/** See SyncEngine.disconnect. */
	disconnect(): void {
		this.#wanted = false;
		clearTimeout(this.#retry);
		this.#retry = undefined;
		this.#socket?.close();
	}

	/** True while a socket to the relay is open and authenticated. */
	get online(): boolean {
		return this.#socket !== undefined;
	}

	/**
	 * Calls `fn` with every share notice and every (re)connection; returns the unsubscriber.
	 * Listener errors are contained: a notice never disturbs the sync.
	 */
	onRelayEvent(fn: (event: RelayEvent) => void): () => void {
		this.#relayListeners.add(fn);
		return () => {
			this.#relayListeners.delete(fn);
		};
	}

	#emitRelay(event: RelayEvent): void {
		for (const fn of [...this.#relayListeners]) {
			try {
				fn(event);
			} catch {
				// A listener's failure is its own (see onRelayEvent).
			}
		}
	}

	/** See SyncEngine.whenSynced. */
	async whenSynced(vaultId: string): Promise<void> {
		await this.#whenSynced(vaultId, true, Infinity);
	}

	/**
	 * Waits until the record is `ready` on a socket and, with `synced`, until its changes are
	 * out and it is caught up. Past `deadline` (epoch ms) rejects with OfflineError.
	 */
	async #whenSynced(vaultId: string, synced: boolean, deadline: number): Promise<VaultSync> {
		if (this.#url === undefined || this.#WebSocket === undefined) throw new OfflineError();
		const mark = this.#vaults.get(vaultId)?.pullMark ?? 0;
		for (;;) {
			if (this.#stopped) throw new LockedError();
			const vault = this.#vaults.get(vaultId) ?? (await this.#loading.get(vaultId));
			if (vault === undefined) throw new UnknownRecordError();
			if (vault.stopped !== undefined) throw new CarnetError(vault.stopped, 'this record does not sync');
			if (vault.ready) {
				if (!synced) return vault;
				vault.flushLocal();
				if (vault.sent) {
					// Caught up with the relay's head as of this call: a pull that started after it.
					if (vault.pulledSince(mark) && vault.idle) return vault;
					try {
						await vault.requestPull();
					} catch {
						// Offline meanwhile: wait for the next connection.
					}
					if (vault.idle && vault.ready) return vault;
				}
			}
			const left = deadline - Date.now();
			if (left <= 0) throw new OfflineError();
			await this.#nextTick(Math.min(left, WHEN_SYNCED_POLL_MS));
		}
	}

	/** See SyncEngine.issues. */
	issues(vaultId: string): readonly SyncIssue[] {
		return this.#vaults.get(vaultId)?.issues() ?? [];
	}

	// --- for the session --------------------------------------------------------------------

	/** A record was created on this device: register it now if connected. */
	track(vaultId: string): void {
		if (this.#url === undefined || this.#WebSocket === undefined) return;
		this.#load(vaultId)
			.then((vault) => this.#socket && vault.start(this.#socket))
			.catch(() => {});
	}

	/** The record changed on this device. */
	localChange(vaultId: string): void {
		this.#vaults.get(vaultId)?.localChange();
	}

	/** The record's current members (device list). */
	async members(vaultId: string): Promise<MemberInfo[]> {
		return (await this.#vault(vaultId)).members();
	}

	/**
	 * Invites into `vaultIds` on `terms`: one seed, one invitation key pair per record, each
	 * added (granting `terms.grants` until `terms.ttlMs` from now) with a lockbox of the
	 * current key. The records' pending changes go out first, so the newcomer finds them on
	 * the relay.
	 */
	async invite(vaultIds: readonly string[], terms: InviteTerms): Promise<{ link: string; expiresAt: Date }> {
		if (vaultIds.length === 0) throw new UnknownRecordError();
		if (vaultIds.length > MAX_INVITE_VAULTS) throw new CarnetError('too_many_records', `one invitation adds at most ${MAX_INVITE_VAULTS} records`);
		const appOrigin = this.#appOrigin;
		if (this.#url === undefined || appOrigin === undefined) throw new OfflineError();
		const deadline = Date.now() + RELAY_WAIT_MS;
		const vaults = await Promise.all(vaultIds.map((id) => this.#whenSynced(id, true, deadline)));
		const seed = randomBytes(INVITE_SEED_BYTES);
		// Whole seconds: the link carries the expiry in seconds and the ops must agree with it.
		const expiresAt = new Date(Math.floor((Date.now() + terms.ttlMs) / 1000) * 1000);
		for (const [i, vault] of vaults.entries()) {
			const keys = inviteKeys(seed, i);
			await vault.addMember({ ...memberRef(keys), role: 'invite', grants: terms.grants, expires: expiresAt.toISOString() });
		}
		const relay = this.#url === syncUrl(appOrigin) ? undefined : this.#url;
		const link = inviteLink(appOrigin, {
			vaults: vaultIds,
			seed,
			expires: expiresAt,
			...(relay === undefined ? {} : { relay }),
			...(terms.forPerson ? { forPerson: true } : {})
		});
		seed.fill(0);
		return { link, expiresAt };
	}

	/** Removes a member from the record and rotates its key; the recovery key only with `recovery` (VaultSync.removeMember). */
	async removeMember(vaultId: string, memberId: string, recovery = false): Promise<void> {
		const vault = await this.#whenSynced(vaultId, false, Date.now() + RELAY_WAIT_MS);
		await vault.removeMember(memberId, recovery);
	}

	/** Adds `member` to the record, signed by this device, with a lockbox of the current key. */
	async addMember(vaultId: string, member: OpMember): Promise<void> {
		const vault = await this.#whenSynced(vaultId, false, Date.now() + RELAY_WAIT_MS);
		await vault.addMember(member);
	}

	/**
	 * The record's verified membership as last seen, without waiting for the relay; undefined
	 * while the record was never on it.
	 */
	async membership(vaultId: string): Promise<MembershipState | undefined> {
		return (await this.#vault(vaultId)).membership;
	}

	/**
	 * Adds a record this device was just made a member of (its chain verified, its keys
	 * opened) and starts syncing it, which brings its document. Resolves once it is stored.
	 */
	async adopt(joined: Joined): Promise<void> {
		const { vaultId } = joined;
		if (this.#vaults.has(vaultId) || this.#loading.has(vaultId)) return;
		const me = this.#port.device().id;
		const { createdAt, state } = joinedState(me, joined);
		await this.#port.addVault(vaultId, createdAt, state, roleIn(joined.chain.state, me));
		const vault = await this.#load(vaultId);
		if (this.#socket !== undefined) void vault.start(this.#socket);
	}

	/** Where the relay is (join and acceptInvite check an invitation's relay against it). */
	get relay(): EngineOptions {
		return { url: this.#url, WebSocket: this.#WebSocket, appOrigin: this.#appOrigin };
	}

	/** The epoch keys this device holds for a record (tests check what a removed device can read). */
	epochKeys(vaultId: string): Map<number, Uint8Array> {
		return this.#vaults.get(vaultId)?.epochKeys() ?? new Map();
	}

	/**
	 * Waits until the record is registered and ready on a socket, so that the relay accepts this
	 * device's signed requests about it (sharing, right after creating a record, must wait for
	 * that); OfflineError after RELAY_WAIT_MS.
	 */
	async whenReady(vaultId: string): Promise<void> {
		await this.#whenSynced(vaultId, false, Date.now() + RELAY_WAIT_MS);
	}

	/** Closes the connection for good and writes what is pending (lock). */
	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		this.#wanted = false;
		clearTimeout(this.#retry);
		globalThis.removeEventListener?.('online', this.#online);
		this.#socket?.close();
		await Promise.allSettled(this.#loading.values());
		await Promise.allSettled([...this.#vaults.values()].map((vault) => vault.close()));
		this.#tick.resolve();
	}

	// --- connection -------------------------------------------------------------------------

	async #dial(): Promise<void> {
		const url = this.#url;
		const Impl = this.#WebSocket;
		if (this.#dialing || this.#socket !== undefined || this.#stopped || !this.#wanted || url === undefined || Impl === undefined) return;
		this.#dialing = true;
		this.#notifyAll();
		let socket: RelaySocket | undefined;
		try {
			socket = await RelaySocket.open(url, Impl);
			if (this.#stopped || !this.#wanted) throw new OfflineError();
			const opened = socket;
			opened.listen(
				(frame) => this.#pushed(opened, frame),
				() => this.#closed(opened),
				(frame) => {
					if (opened === this.#socket) this.#emitRelay({ type: 'notice', vault: frame.vault, kind: frame.kind, seq: frame.seq });
				}
			);
			const listed = await opened.auth(this.#port.device().sign);
			await Promise.allSettled(this.#loading.values());
			if (!opened.isOpen || this.#stopped) throw new OfflineError();
			// From here on, a record loaded later is started by whoever loaded it (track, adopt).
			this.#socket = opened;
			this.#attempt = 0;
			this.#dialing = false;
			// In the session's order, so that records not yet registered register oldest first.
			const order = this.#port.vaultIds();
			const vaults = [...this.#vaults.values()].sort((x, y) => order.indexOf(x.id) - order.indexOf(y.id));
			for (const vault of vaults) void vault.start(opened);
			for (const vaultId of listed) if (!this.#loading.has(vaultId)) this.#discover(opened, vaultId).catch(() => {});
			this.#emitRelay({ type: 'connected' });
		} catch {
			this.#dialing = false;
			socket?.close();
			this.#scheduleRetry();
		}
		this.#notifyAll();
	}

	#closed(socket: RelaySocket): void {
		if (this.#socket === socket) {
			this.#socket = undefined;
			for (const vault of this.#vaults.values()) vault.detach();
			this.#notifyAll();
			this.#scheduleRetry();
		}
	}

	#scheduleRetry(): void {
		if (this.#stopped || !this.#wanted || this.#retry !== undefined) return;
		const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** this.#attempt);
		this.#attempt++;
		// Half fixed, half random: devices dropped together by a relay restart come back spread out.
		const delay = ceiling / 2 + Math.random() * (ceiling / 2);
		this.#retry = setTimeout(() => {
			this.#retry = undefined;
			void this.#dial();
		}, delay);
	}

	#pushed(socket: RelaySocket, frame: PushFrame): void {
		if (socket !== this.#socket) return;
		const vaultId = frame.type === 'envelope' ? frame.envelope.vault : frame.vault;
		this.#vaults.get(vaultId)?.receive(frame);
	}

	/** A vault the relay lists for this device but the device does not hold: adopt it if a lockbox opens. */
	async #discover(socket: RelaySocket, vaultId: string): Promise<void> {
		const device: Identity = this.#port.device();
		const chain = await fetchChain(socket, vaultId);
		if (chain.state.members.get(device.id)?.role !== 'admin' && chain.state.members.get(device.id)?.role !== 'reader') return;
		const keys = await fetchKeys(socket, chain, device);
		if (keys.size > 0 && socket === this.#socket) await this.adopt({ vaultId, chain, keys });
	}

	// --- vaults -----------------------------------------------------------------------------

	#load(vaultId: string): Promise<VaultSync> {
		let loading = this.#loading.get(vaultId);
		if (loading === undefined) {
			const localKey = this.#port.localKey(vaultId);
			if (localKey === undefined) return Promise.reject(new UnknownRecordError());
			const host: VaultHost = {
				device: () => this.#port.device(),
				recovery: () => this.#port.recovery(),
				record: (id) => this.#port.record(id),
				adoptDocument: (id, doc) => this.#port.adoptDocument(id, doc),
				notify: (id) => this.#notify(id),
				inTurn: (register) => {
					const turn = this.#registrations.then(register);
					this.#registrations = turn.catch(() => {});
					return turn;
				}
			};
			loading = VaultSync.load(vaultId, host, new SyncStore(this.#port.db, vaultId, localKey)).then((vault) => {
				this.#vaults.set(vaultId, vault);
				this.#notify(vaultId);
				return vault;
			});
			this.#loading.set(vaultId, loading);
			loading.catch(() => this.#loading.delete(vaultId));
		}
		return loading;
	}

	/** The record's sync, loaded on demand (a session without a relay loads none at start). */
	async #vault(vaultId: string): Promise<VaultSync> {
		if (this.#stopped) throw new LockedError();
		return this.#vaults.get(vaultId) ?? this.#load(vaultId);
	}

	#notify(vaultId: string): void {
		this.#tick.resolve();
		this.#tick = deferred();
		if (this.#subscribers.size === 0) return;
		const status = this.status(vaultId);
		const shown = JSON.stringify(status);
		if (this.#shown.get(vaultId) === shown) return;
		this.#shown.set(vaultId, shown);
		for (const fn of [...this.#subscribers]) fn(vaultId, status);
	}

	#notifyAll(): void {
		for (const vaultId of this.#vaults.keys()) this.#notify(vaultId);
		this.#tick.resolve();
		this.#tick = deferred();
	}

	#nextTick(timeoutMs: number): Promise<void> {
		return new Promise((resolve) => {
			const timer = setTimeout(resolve, timeoutMs);
			this.#tick.promise.then(() => {
				clearTimeout(timer);
				resolve();
			});
		});
	}
}

function deferred(): { promise: Promise<void>; resolve(): void } {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => (resolve = r));
	return { promise, resolve };
}
