/**
 * The sync of one record (docs/SYNC.md): registration, pushes, pulls, live pushes, snapshots,
 * membership and keys, for one vault on the engine's current socket.
 *
 * Rules that keep it correct across crashes, reloads and concurrent devices:
 * - Outgoing: a batch is `saveSince(doc, knownHeads)` sealed with the next counter; the
 *   document is flushed, then the batch is written to the outbox in the same transaction as
 *   the new counter and `knownHeads`, and only then sent. After a reload the outbox is sent
 *   again with the same counters (the relay acks an identical duplicate again).
 * - Remote changes never go back out: before remote bytes are merged, local changes are cut
 *   into a batch, so after the merge every change in the document is either queued or came
 *   from the relay, and `knownHeads` becomes the document's heads.
 * - `lastSeq` (everything up to it is in the document) is written only after the document
 *   that holds those changes is on disk, so a crash never skips a change.
 * - Nothing from the relay is believed unverified: envelopes and snapshots by their author's
 *   signature and the author's right to write at their epoch, then AEAD; a failure is
 *   reported (`issues`) and the item skipped, and the rest of the record syncs on.
 */
import * as Automerge from '@automerge/automerge';
import { concatBytes, CryptoError, fromBase64url, randomBytes } from '../../core/crypto';
import {
	MAX_ENVELOPE_PLAINTEXT_BYTES,
	MAX_ENVELOPES_PER_BATCH,
	MAX_SNAPSHOT_PLAINTEXT_BYTES,
	VAULT_KEY_BYTES,
	type Envelope,
	type MembershipOp,
	type OpMember,
	type RelayFrame,
	type Snapshot
} from '../../core/protocol';
import { deviceNames, ensureDevices, type RecordDoc } from '../../core/record';
import {
	canWrite,
	createVault,
	makeLockbox,
	memberAt,
	openEnvelope,
	openSnapshot,
	removeMember,
	replayMembership,
	sealEnvelope,
	sealSnapshot,
	addOp,
	type MembershipState
} from '../../core/sync';
import { ForbiddenError, IntegrityError, OfflineError, RelayError } from '../errors';
import { sameHeads } from '../doc-store';
import type { OpenRecord } from '../record-handle';
import { extendChain, fetchChain, fetchKeys, retryOnConflict, type Chain, type Identity } from './chain';
import type { RelaySocket } from './socket';
import { emptyState, type OutboxEntry, type SyncState, type SyncStore } from './store';

/** One synced record's state as the UI shows it. */
export interface SyncStatus {
	state: 'offline' | 'connecting' | 'catching-up' | 'sending' | 'synced' | 'error';
	/** Local changes not yet acknowledged by the relay. */
	pending: number;
	/** While catching up: envelopes received of those the relay had. */
	progress?: { done: number; total: number };
	/**
	 * An error code (i18n key `error.<code>`): why syncing stopped with state `error`, or with
	 * another state the last problem met and skipped (a corrupt envelope, say).
	 */
	error?: string;
}

/** A problem met while syncing a record, kept for the UI's details. */
export interface SyncIssue {
	/** `corrupt_envelope`, `corrupt_snapshot`, `forbidden_author`, `no_key`, `bad_membership`, `quota`… */
	code: string;
	/** The relay sequence number of the envelope or snapshot concerned, if any. */
	seq?: number;
	at: Date;
}

/** A member of a record as the device list shows it. */
export interface MemberInfo {
	memberId: string;
	/** The name the device gave itself (stored encrypted in the record). */
	name?: string;
	role: 'admin' | 'reader' | 'recovery';
	kind: 'device' | 'recovery';
	/** When it last connected to the relay (ISO), when the relay could be asked. */
	lastSeen?: string;
	thisDevice: boolean;
}

/** What a vault needs of the engine and the session it runs in. */
export interface VaultHost {
	/** This device (throws LockedError once the session is locked). */
	device(): Identity;
	/** The recovery key's public keys, as the device entry knows them. */
	recovery(): { id?: string; box: string };
	/** The open record, or undefined while the device holds no document for it yet. */
	record(vaultId: string): Promise<OpenRecord | undefined>;
	/** Stores a document received from the relay as the record and returns it open. */
	adoptDocument(vaultId: string, doc: Automerge.Doc<RecordDoc>): Promise<OpenRecord>;
	/** Something visible changed (status, issues). */
	notify(vaultId: string): void;
	/**
	 * Runs a registration after those asked before it: records register in the order the
	 * device created them, and op 0's time is what orders them on every other device.
	 */
	inTurn(register: () => Promise<void>): Promise<void>;
}

/** Envelopes sent before waiting for their acks. */
const PUSH_WINDOW = 64;
/**
 * A writer uploads a snapshot once the relay's log since the last one passes this many
 * envelopes, so a device far behind downloads one document instead of the whole log.
 */
const SNAPSHOT_EVERY = 200;
/** A reader-only pass also snapshots, later, in case the writers never come back. */
const SNAPSHOT_EVERY_PASSIVE = 2 * SNAPSHOT_EVERY;
/** How long a hole in the received seqs may stay before a pull fills it. */
const GAP_PULL_DELAY_MS = 250;
/** How long the cursor and acks may wait to be written, so a burst costs one write. */
const LAZY_WRITE_DELAY_MS = 200;
/** Most issues kept per record. */
const MAX_ISSUES = 50;

/** An outbox entry with the write that must finish before it is sent. */
interface Pending extends OutboxEntry {
	persisted: Promise<void>;
}

/** See the module comment. */
export class VaultSync {
	readonly id: string;
	readonly #host: VaultHost;
	readonly #store: SyncStore;
	#state: SyncState;
	#chain: Chain | undefined;
	#outbox: Pending[];
	#record: OpenRecord | undefined;
	/** The document being received when the device has none yet (joining, restoring). */
	#draft: Automerge.Doc<RecordDoc> | undefined;
	/** Seqs above lastSeq already in the document. */
	readonly #applied = new Set<number>();
	/** The highest seq the relay is known to have given out. */
	#head = 0;
	#socket: RelaySocket | undefined;
	#started = false;
	/** Why syncing stopped on this socket (not persisted: `not_member` may heal with a recover). */
	#halted: string | undefined;
	#progress: { from: number; done: number; total: number } | undefined;
	readonly #issues: SyncIssue[] = [];
	#toPut: OutboxEntry[] = [];
	#toRemove: number[] = [];
	#persisting: Promise<void> = Promise.resolve();
	#persistQueued: Promise<void> | undefined;
	#pushing: Promise<void> | undefined;
	#pullRun: Promise<void> | undefined;
	#pullSocket: RelaySocket | undefined;
	#pullWanted = false;
	/** Pull passes started and finished: whenSynced waits for a pass that started after it was called. */
	#passesStarted = 0;
	#passesDone = 0;
	#cursorTimer: ReturnType<typeof setTimeout> | undefined;
	/** Pull from 0 on the next pass: the document misses changes a newer snapshot may bring. */
	#repull = false;
	#snapshotting = false;
	#cutTimer: ReturnType<typeof setTimeout> | undefined;
	#gapTimer: ReturnType<typeof setTimeout> | undefined;
	#refreshingChain: { socket: RelaySocket; run: Promise<Chain> } | undefined;
	#refreshingKeys: { socket: RelaySocket; run: Promise<void> } | undefined;
	/** Remote bytes that arrived while a received document was being stored as the record. */
	#arrivedWhileAdopting: Uint8Array[] | undefined;
	#closed = false;

	private constructor(id: string, host: VaultHost, store: SyncStore, state: SyncState, outbox: OutboxEntry[], record: OpenRecord | undefined) {
		this.id = id;
		this.#host = host;
		this.#store = store;
		this.#state = state;
		this.#record = record;
		this.#outbox = outbox.map((entry) => ({ ...entry, persisted: Promise.resolve() }));
		if (state.ops.length > 0) {
			const replayed = replayMembership(state.ops, new Date());
			// A stored chain that no longer replays is fetched again on connect.
			if (replayed.ok) this.#chain = { ops: state.ops, state: replayed.state };
		}
	}

	/**
	 * Loads a record's sync state and outbox. A state written by another identity of this
	 * device (before `recover` re-keyed it) restarts the counters and re-signs the outbox.
	 */
	static async load(id: string, host: VaultHost, store: SyncStore): Promise<VaultSync> {
		const [{ state, outbox }, record] = await Promise.all([store.load(), host.record(id)]);
		const me = host.device().id;
		const vault = new VaultSync(id, host, store, state ?? emptyState(me), outbox, record);
		if (vault.#state.author !== me) {
			vault.#state.author = me;
			vault.#state.counter = 0;
			vault.#reseal(1);
		}
		return vault;
	}

	// --- what the engine and the session ask ----------------------------------------------

	/** The status the UI shows; see SyncStatus. */
	status(online: boolean, connecting: boolean): SyncStatus {
		const pending = this.#pendingChanges();
		const last = this.#issues.at(-1)?.code;
		const error = this.#state.stopped ?? this.#halted;
		if (error !== undefined) return { state: 'error', pending, error };
		const withIssue = (status: SyncStatus): SyncStatus => (last === undefined ? status : { ...status, error: last });
		if (!online || this.#socket === undefined) return withIssue({ state: connecting ? 'connecting' : 'offline', pending });
		if (!this.#started) return withIssue({ state: 'connecting', pending });
		if (this.#progress !== undefined) {
			const { done, total } = this.#progress;
			return withIssue({ state: 'catching-up', pending, progress: { done, total } });
		}
		return withIssue({ state: pending > 0 ? 'sending' : 'synced', pending });
	}

	/** Problems met so far, oldest first. */
	issues(): readonly SyncIssue[] {
		return this.#issues;
	}

	/** Why syncing stopped (`revoked`, `not_member`…), if it did. */
	get stopped(): string | undefined {
		return this.#state.stopped ?? this.#halted;
	}

	/** True once subscribed and caught up once on the current socket. */
	get ready(): boolean {
		return this.#started && this.#socket?.isOpen === true;
	}

	/** True when every local change is acknowledged by the relay. */
	get sent(): boolean {
		return this.#outbox.length === 0 && !this.#hasUncut();
	}

	/** True when every local change is acknowledged and every envelope known of is applied. */
	get idle(): boolean {
		return this.sent && this.#state.lastSeq >= this.#head && this.#applied.size === 0;
	}

	/** The epoch keys this device holds (copies): tests check what a removed device can read. */
	epochKeys(): Map<number, Uint8Array> {
		return new Map([...this.#state.keys].map(([epoch, key]) => [epoch, key.slice()]));
	}

	/**
	 * Runs the record's sync on `socket` (just authenticated as this device): registers it if
	 * it never was, brings the chain and keys up to date, subscribes, catches up, then sends
	 * what is waiting. Failures stop this pass only; the next connection starts over.
	 */
	async start(socket: RelaySocket): Promise<void> {
		// Once per socket: the engine and whoever loaded the record may both ask.
		if (this.#state.stopped !== undefined || this.#closed || this.#socket === socket) return;
		this.#socket = socket;
		this.#started = false;
		this.#halted = undefined;
		this.#applied.clear();
		this.#notify();
		try {
			if (!this.#state.registered) await this.#host.inTurn(() => this.#register(socket));
			await this.#refreshChain(socket);
			if (!this.#state.keys.has(this.#chain!.state.epoch)) await this.#refreshKeys(socket);
			await socket.request({ type: 'subscribe', vault: this.id }, 'ok');
			if (this.#record !== undefined && Automerge.getMissingDeps(this.#record.doc(), []).length > 0) this.#repull = true;
			await this.requestPull();
			if (!this.#current(socket)) return;
			this.#started = true;
			this.#cut();
			this.#pushLoop();
			this.#notify();
		} catch (error) {
			this.#failed(socket, error);
		}
	}

	/** The socket closed: everything in flight is abandoned and resumes on the next one. */
	detach(): void {
		this.#socket = undefined;
		this.#started = false;
		this.#progress = undefined;
		clearTimeout(this.#cutTimer);
		clearTimeout(this.#gapTimer);
		this.#cutTimer = this.#gapTimer = undefined;
	}

	/** A local change happened: batch it (with whatever else follows in the same tick) and send. */
	localChange(): void {
		this.#notify();
		if (!this.ready || this.#cutTimer !== undefined) return;
		this.#cutTimer = setTimeout(() => {
			this.#cutTimer = undefined;
			if (this.ready) this.#cut();
		}, 0);
	}

	/** A push from the relay for this vault. */
	receive(frame: Extract<RelayFrame, { type: 'envelope' | 'membership' | 'revoked' }>): void {
		const socket = this.#socket;
		if (socket === undefined || this.#state.stopped !== undefined) return;
		switch (frame.type) {
			case 'envelope':
				if (frame.seq <= this.#state.lastSeq || this.#applied.has(frame.seq)) return;
				this.#applyBatch(socket, undefined, [{ seq: frame.seq, envelope: frame.envelope }]).catch((e) => this.#failed(socket, e));
				return;
			case 'membership':
				this.#membershipPushed(socket, frame.ops).catch((e) => this.#failed(socket, e));
				return;
			case 'revoked':
				// The relay's word: this pass ends; the chain, fetched on the next one, makes it final.
				this.#halted = 'revoked';
				this.#refreshChain(socket).catch(() => {});
				this.#notify();
				return;
		}
	}

	/**
	 * Pulls until the relay's head as of now (a pass starting after this call), then resolves.
	 * Concurrent calls share passes.
	 */
	requestPull(): Promise<void> {
		const socket = this.#socket;
		if (socket === undefined) return Promise.reject(new OfflineError());
		this.#pullWanted = true;
		if (this.#pullRun === undefined || this.#pullSocket !== socket) {
			// A run on a closed socket ends at once; the new one follows it.
			const previous = this.#pullRun ?? Promise.resolve();
			this.#pullSocket = socket;
			const run: Promise<void> = previous
				.catch(() => {})
				.then(() => this.#pullLoop(socket))
				.finally(() => {
					if (this.#pullRun === run) this.#pullRun = undefined;
				});
			this.#pullRun = run;
		}
		return this.#pullRun;
	}

	/** A mark of the pull passes started so far, for `pulledSince`. */
	get pullMark(): number {
		return this.#passesStarted;
	}

	/** True when a pull pass started after `mark` was taken has finished: caught up as of then. */
	pulledSince(mark: number): boolean {
		return this.#passesDone > mark;
	}

	/** Cuts and sends local changes now (whenSynced wants them out). */
	flushLocal(): void {
		if (this.ready) this.#cut();
	}

	/** The current members, names from the record, last seen from the relay when reachable. */
	async members(): Promise<MemberInfo[]> {
		const me = this.#host.device().id;
		const names = this.#record === undefined ? new Map<string, string>() : deviceNames(this.#record.doc());
		const socket = this.#socket;
		const seen = new Map<string, string>();
		if (this.ready && socket !== undefined) {
			try {
				const answer = await socket.request({ type: 'seen', vault: this.id }, 'seen', 5_000);
				for (const { member, at } of answer.members) seen.set(member, at);
			} catch {
				// Last seen is a nicety: the list shows without it.
			}
		}
		const info = (memberId: string, role: MemberInfo['role']): MemberInfo => ({
			memberId,
			...(names.has(memberId) ? { name: names.get(memberId) } : {}),
			role,
			kind: role === 'recovery' ? 'recovery' : 'device',
			...(seen.has(memberId) ? { lastSeen: seen.get(memberId) } : {}),
			thisDevice: memberId === me
		});
		if (this.#chain === undefined) {
			// Not on the relay yet: this device and the recovery key it will enrol.
			const recovery = this.#host.recovery().id;
			return [info(me, 'admin'), ...(recovery === undefined ? [] : [info(recovery, 'recovery')])];
		}
		const out: MemberInfo[] = [];
		for (const member of this.#chain.state.members.values()) {
			if (member.role !== 'invite') out.push(info(member.id, member.role));
		}
		return out;
	}

	/** The verified membership as this device last saw it; undefined before the record is on the relay. */
	get membership(): MembershipState | undefined {
		return this.#chain?.state;
	}

	/**
	 * Adds `member` (an invitation key pair, a device of this person's, this device's own
	 * recovery key at hand-over), the op signed by this device, with a lockbox of the current
	 * key sealed to it, so an invitation reads at once and a device has its key when it adopts
	 * the record.
	 */
	async addMember(member: OpMember): Promise<void> {
		const socket = this.#requireReady();
		const device = this.#host.device();
		await retryOnConflict(
			async () => {
				const { state } = this.#chain!;
				const key = this.#currentKey();
				const ref = { id: member.id, box: member.box };
				const op = addOp(state, device.sign, member, new Date());
				const lockbox = makeLockbox(device.sign, this.id, state.epoch, ref, key);
				await socket.request({ type: 'append', vault: this.id, op, lockboxes: [lockbox] }, 'ok');
				this.#adoptChain(extendChain(this.#chain!, [op]));
			},
			() => this.#refreshChain(socket, true).then(() => undefined)
		);
		await this.#persistSoon();
	}

	/**
	 * Removes member `memberId` (a device, or an invitation not used yet) and rotates the key:
	 * the new epoch's key is sealed to every remaining member's box key (which never rotates,
	 * so a device offline now gets it later). The recovery key only with `recovery` (hand-over,
	 * which has enrolled another one first): a record without one could not be restored.
	 */
	async removeMember(memberId: string, recovery = false): Promise<void> {
		const socket = this.#requireReady();
		const device = this.#host.device();
		await this.#refreshChain(socket, true);
		const target = this.#chain!.state.members.get(memberId);
		if (target === undefined) throw new ForbiddenError('no such member in this record');
		if (target.role === 'recovery' && !recovery) throw new ForbiddenError('the recovery key cannot be removed');
		if (memberId === device.id) throw new ForbiddenError('a device cannot remove itself');
		await retryOnConflict(
			async () => {
				const { state } = this.#chain!;
				const rotation = removeMember(state, device.sign, memberId, this.#currentKey(), new Date());
				await socket.request({ type: 'rotate', vault: this.id, op: rotation.op, lockboxes: rotation.lockboxes, history: rotation.history }, 'ok');
				this.#state.keys.set(rotation.op.epoch, rotation.vaultKey);
				this.#adoptChain(extendChain(this.#chain!, [rotation.op]));
			},
			() => this.#refreshChain(socket, true).then(() => undefined)
		);
		await this.#persistSoon();
	}

	/** Writes what is pending and wipes the sync subkey; used by lock(). */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.detach();
		clearTimeout(this.#cursorTimer);
		this.#cursorTimer = undefined;
		const last = this.#persistSoon();
		this.#closed = true;
		try {
			await last;
		} catch {
			// Reported as an issue; nothing more to do while locking.
		} finally {
			await this.#persisting;
			this.#store.close();
		}
	}

	// --- registration, chain and keys -------------------------------------------------------

	/**
	 * Registers a record created on this device: op 0 (this device, admin), op 1 (the recovery
	 * key) and the epoch-0 key sealed to both. The epoch-0 key is drawn and stored first, so a
	 * crash after the relay accepted the frame leaves a key that the relay's lockbox confirms.
	 */
	async #register(socket: RelaySocket): Promise<void> {
		const record = this.#record;
		if (record === undefined) throw new IntegrityError('no_key', 'a record joined through the relay has no local document');
		const recovery = this.#host.recovery();
		if (recovery.id === undefined) {
			throw new IntegrityError('recovery_unknown', 'this device does not know the recovery key to enrol; recover with the phrase');
		}
		if (!this.#state.keys.has(0)) {
			this.#state.keys.set(0, randomBytes(VAULT_KEY_BYTES));
			await this.#persistSoon();
		}
		// The device map must exist before a second device can write its name (devices.ts).
		await record.change((doc) => ensureDevices(doc));
		const device = this.#host.device();
		const made = createVault({
			vault: this.id,
			vaultKey: this.#state.keys.get(0)!,
			creator: device,
			recovery: { sign: { publicKey: fromBase64url(recovery.id) }, box: { publicKey: fromBase64url(recovery.box) } },
			at: new Date()
		});
		try {
			await socket.request({ type: 'create', ops: made.ops, lockboxes: made.lockboxes }, 'ok');
			this.#adoptChain(extendChainFrom(made.ops));
		} catch (error) {
			// Created before (an ack lost in a crash): the relay's chain and our lockbox say so.
			if (!(error instanceof RelayError && error.code === 'conflict')) throw error;
			const chain = await fetchChain(socket, this.id);
			if (chain.state.members.get(device.id)?.role !== 'admin') throw new RelayError('not_member', 'the vault exists and this device is not in it');
			this.#adoptChain(chain);
			this.#state.keys = await fetchKeys(socket, chain, device);
		}
		this.#state.registered = true;
		await this.#persistSoon();
	}

	/** Fetches the ops this device has not seen (single flight); `force` starts a new fetch. */
	#refreshChain(socket: RelaySocket, force = false): Promise<Chain> {
		const flight = this.#refreshingChain;
		if (flight !== undefined && flight.socket === socket && !force) return flight.run;
		const run = fetchChain(socket, this.id, this.#chain)
			.then((chain) => {
				this.#adoptChain(chain);
				return chain;
			})
			.finally(() => {
				if (this.#refreshingChain?.run === run) this.#refreshingChain = undefined;
			});
		this.#refreshingChain = { socket, run };
		return run;
	}

	/** Fetches this device's lockboxes and the key history (single flight). */
	#refreshKeys(socket: RelaySocket): Promise<void> {
		const flight = this.#refreshingKeys;
		if (flight !== undefined && flight.socket === socket) return flight.run;
		const run = fetchKeys(socket, this.#chain!, this.#host.device())
			.then((keys) => {
				for (const [epoch, key] of keys) if (!this.#state.keys.has(epoch)) this.#state.keys.set(epoch, key);
				this.#persistSoon().catch(() => {});
			})
			.finally(() => {
				if (this.#refreshingKeys?.run === run) this.#refreshingKeys = undefined;
			});
		this.#refreshingKeys = { socket, run };
		return run;
	}

	/** Takes a verified chain as the vault's; a chain without this device in it stops the sync. */
	#adoptChain(chain: Chain): void {
		this.#chain = chain;
		this.#state.ops = [...chain.ops];
		const me = this.#host.device().id;
		if (chain.state.removed.has(me)) this.#stop('revoked');
		this.#persistSoon().catch(() => {});
	}

	async #membershipPushed(socket: RelaySocket, ops: MembershipOp[]): Promise<void> {
		const chain = this.#chain;
		if (chain !== undefined && ops.length > 0 && ops[0].index === chain.state.index + 1) {
			const replayed = replayMembership(ops, new Date(), chain.state);
			if (replayed.ok) this.#adoptChain({ ops: [...chain.ops, ...ops], state: replayed.state });
			else this.#issue('bad_membership');
		} else {
			await this.#refreshChain(socket);
		}
		if (this.#chain !== undefined && !this.#state.keys.has(this.#chain.state.epoch) && this.#state.stopped === undefined) {
			await this.#refreshKeys(socket);
		}
	}

	/** The key of the current epoch; throws when this device has none usable. */
	#currentKey(): Uint8Array {
		const key = this.#state.keys.get(this.#chain!.state.epoch);
		if (key === undefined) throw new IntegrityError('no_key', "no usable lockbox for the vault's current epoch");
		return key;
	}

	// --- incoming ---------------------------------------------------------------------------

	async #pullLoop(socket: RelaySocket): Promise<void> {
		while (this.#pullWanted && this.#current(socket)) {
			this.#pullWanted = false;
			const pass = ++this.#passesStarted;
			const from = this.#repull ? 0 : this.#state.lastSeq;
			this.#repull = false;
			let since = from;
			for (;;) {
				const batch = await socket.request({ type: 'pull', vault: this.id, since, limit: MAX_ENVELOPES_PER_BATCH }, 'batch');
				if (!this.#current(socket)) return;
				this.#head = Math.max(this.#head, batch.head);
				if (batch.head - from > MAX_ENVELOPES_PER_BATCH || this.#progress !== undefined) {
					this.#progress = { from, done: since - from, total: batch.head - from };
				}
				await this.#applyBatch(socket, batch.snapshot, batch.envelopes);
				const next = Math.max(since, batch.snapshot?.coversSeq ?? 0, batch.envelopes.at(-1)?.seq ?? 0);
				// Everything up to `next` is now in the document or was reported and skipped.
				this.#advanceTo(next);
				if (this.#progress !== undefined) this.#progress.done = next - from;
				this.#notify();
				if (next >= batch.head || next === since) break;
				since = next;
			}
			this.#progress = undefined;
			await this.#materialise();
			this.#passesDone = pass;
			this.#notify();
		}
	}

	/**
	 * Verifies, opens and merges a snapshot and envelopes (a batch, or one live envelope),
	 * fetching the chain or keys first when an author or epoch is unknown.
	 */
	async #applyBatch(socket: RelaySocket, snapshot: Snapshot | undefined, envelopes: readonly { seq: number; envelope: Envelope }[]): Promise<void> {
		const items: (Envelope | Snapshot)[] = envelopes.map((e) => e.envelope);
		if (snapshot !== undefined) items.push(snapshot);
		if (items.some((item) => this.#unknownAuthor(item))) await this.#refreshChain(socket);
		if (items.some((item) => !this.#state.keys.has(item.epoch))) await this.#refreshKeys(socket);
		if (!this.#current(socket)) return;
		if (snapshot !== undefined) {
			const bytes = this.#open('snapshot', snapshot, snapshot.coversSeq);
			if (bytes !== undefined) this.#mergeDocument(bytes);
		}
		const parts: Uint8Array[] = [];
		const seqs: number[] = [];
		for (const { seq, envelope } of envelopes) {
			if (seq <= this.#state.lastSeq || this.#applied.has(seq)) continue;
			seqs.push(seq);
			const bytes = this.#open('envelope', envelope, seq);
			if (bytes !== undefined) parts.push(bytes);
		}
		this.#merge(parts);
		for (const seq of seqs) this.#markApplied(seq);
	}

	#unknownAuthor(item: Envelope | Snapshot): boolean {
		const state = this.#chain?.state;
		return state === undefined || item.epoch > state.epoch || memberAt(state, item.author, item.epoch) === undefined;
	}

	/** The plaintext of a verified envelope or snapshot, or undefined (reported) when it must be skipped. */
	#open(kind: 'envelope' | 'snapshot', item: Envelope | Snapshot, seq: number): Uint8Array | undefined {
		const state = this.#chain?.state;
		if (item.vault !== this.id || state === undefined || !canWrite(state, item.author, item.epoch)) {
			this.#issue('forbidden_author', seq);
			return undefined;
		}
		const key = this.#state.keys.get(item.epoch);
		if (key === undefined) {
			this.#issue('no_key', seq);
			return undefined;
		}
		try {
			return kind === 'envelope' ? openEnvelope(item as Envelope, key) : openSnapshot(item as Snapshot, key);
		} catch (error) {
			if (!(error instanceof CryptoError)) throw error;
			this.#issue(kind === 'envelope' ? 'corrupt_envelope' : 'corrupt_snapshot', seq);
			// Whatever the bad item held is now missing here: a newer snapshot may bring it back.
			if (kind === 'snapshot') this.#repull = true;
			return undefined;
		}
	}

	/** Merges remote bytes into the record (or the draft of a record still arriving). */
	#merge(parts: Uint8Array[]): void {
		if (parts.length === 0) return;
		const bytes = parts.length === 1 ? parts[0] : concatBytes(...parts);
		const record = this.#record;
		if (record === undefined) {
			if (this.#arrivedWhileAdopting !== undefined) return void this.#arrivedWhileAdopting.push(bytes);
			this.#draft = Automerge.loadIncremental(this.#draft ?? Automerge.init<RecordDoc>(), bytes);
			this.#state.knownHeads = Automerge.getHeads(this.#draft);
			return;
		}
		// Local changes go into a batch first, so that the heads after the merge are all known ones.
		const allCut = this.#cut();
		record.applyRemote(bytes);
		if (allCut) this.#state.knownHeads = Automerge.getHeads(record.doc());
	}

	/** Merges a snapshot: loaded as the document when it holds everything the device has. */
	#mergeDocument(bytes: Uint8Array): void {
		const record = this.#record;
		if (record === undefined) {
			if (this.#draft !== undefined || this.#arrivedWhileAdopting !== undefined) return this.#merge([bytes]);
			this.#draft = Automerge.load<RecordDoc>(bytes);
			this.#state.knownHeads = Automerge.getHeads(this.#draft);
			return;
		}
		const allCut = this.#cut();
		record.applyRemoteDocument(bytes);
		if (allCut) this.#state.knownHeads = Automerge.getHeads(record.doc());
	}

	/** The draft becomes the record once it holds something (joining, restoring). */
	async #materialise(): Promise<void> {
		const draft = this.#draft;
		if (this.#record !== undefined || draft === undefined || Automerge.getHeads(draft).length === 0) return;
		this.#draft = undefined;
		this.#arrivedWhileAdopting = [];
		try {
			this.#record = await this.#host.adoptDocument(this.id, draft);
		} catch (error) {
			this.#draft = draft;
			throw error;
		} finally {
			const arrived = this.#arrivedWhileAdopting;
			this.#arrivedWhileAdopting = undefined;
			// Into the record, or back into the draft if storing it failed.
			if (arrived.length > 0) this.#merge(arrived);
		}
		this.#state.knownHeads = Automerge.getHeads(this.#record.doc());
		await this.#persistSoon();
	}

	#markApplied(seq: number): void {
		this.#head = Math.max(this.#head, seq);
		if (seq <= this.#state.lastSeq) return;
		this.#applied.add(seq);
		let last = this.#state.lastSeq;
		while (this.#applied.delete(last + 1)) last++;
		this.#setLastSeq(last);
		if (this.#applied.size > 0 && this.#gapTimer === undefined && this.#started) {
			// Pushes can overtake one another; a hole still open after a moment is pulled.
			this.#gapTimer = setTimeout(() => {
				this.#gapTimer = undefined;
				if (this.#applied.size > 0 && this.ready) this.requestPull().catch(() => {});
			}, GAP_PULL_DELAY_MS);
		}
	}

	/** Everything up to `seq` is accounted for (a pull page). */
	#advanceTo(seq: number): void {
		for (const applied of this.#applied) if (applied <= seq) this.#applied.delete(applied);
		let last = Math.max(this.#state.lastSeq, seq);
		while (this.#applied.delete(last + 1)) last++;
		this.#setLastSeq(last);
	}

	#setLastSeq(seq: number): void {
		if (seq === this.#state.lastSeq) return;
		this.#state.lastSeq = seq;
		this.#persistLater();
		this.#maybeSnapshot(false);
	}

	// --- outgoing ---------------------------------------------------------------------------

	/**
	 * Seals the local changes since `knownHeads` into outbox entries (split to fit envelopes),
	 * queues their write and wakes the pusher. Returns false when local changes remain that
	 * could not be sealed (not registered, no key, not a writer).
	 */
	#cut(): boolean {
		const record = this.#record;
		if (record === undefined || !this.#hasUncut()) return true;
		const chain = this.#chain;
		const device = this.#host.device();
		if (!this.#state.registered || chain === undefined || this.#state.stopped !== undefined || !canWrite(chain.state, device.id)) {
			return false;
		}
		const epoch = chain.state.epoch;
		const key = this.#state.keys.get(epoch);
		if (key === undefined) return false;
		const doc = record.doc();
		const heads = Automerge.getHeads(doc);
		const changes = Automerge.getChangesSince(doc, knownIn(doc, this.#state.knownHeads));
		for (const group of groupChanges(changes, MAX_ENVELOPE_PLAINTEXT_BYTES)) {
			if (group.bytes.length > MAX_ENVELOPE_PLAINTEXT_BYTES) {
				// One change too big for any envelope: it stays on this device (docs/SYNC.md, limits).
				this.#issue('change_too_large');
				continue;
			}
			const counter = ++this.#state.counter;
			const envelope = sealEnvelope({ vault: this.id, epoch, key, author: device.sign, counter, changes: group.bytes });
			const entry: Pending = { envelope, changes: group.count, persisted: Promise.resolve() };
			this.#outbox.push(entry);
			this.#toPut.push(entry);
		}
		this.#state.knownHeads = heads;
		const persisted = this.#persistSoon();
		for (const entry of this.#outbox) if (this.#toPut.includes(entry)) entry.persisted = persisted;
		this.#notify();
		this.#pushLoop();
		return true;
	}

	#hasUncut(): boolean {
		const record = this.#record;
		return record !== undefined && !sameHeads(Automerge.getHeads(record.doc()), this.#state.knownHeads);
	}

	#pendingChanges(): number {
		const queued = this.#outbox.reduce((n, entry) => n + entry.changes, 0);
		if (!this.#hasUncut()) return queued;
		const doc = this.#record!.doc();
		return queued + Automerge.getChangesMetaSince(doc, knownIn(doc, this.#state.knownHeads)).length;
	}

	#pushLoop(): void {
		const socket = this.#socket;
		if (this.#pushing !== undefined || socket === undefined || !this.#started) return;
		this.#pushing = this.#push(socket)
			.catch((error) => this.#failed(socket, error))
			.finally(() => {
				this.#pushing = undefined;
				// Entries cut while the last window was answered, or a socket that replaced this one.
				if (this.#outbox.length > 0 && this.#started && this.#socket?.isOpen) this.#pushLoop();
			});
	}

	async #push(socket: RelaySocket): Promise<void> {
		while (this.#current(socket) && this.#state.stopped === undefined && this.#halted === undefined) {
			const window = this.#outbox.slice(0, PUSH_WINDOW);
			if (window.length === 0) return;
			const answers = await Promise.allSettled(
				window.map(async (entry) => {
					await entry.persisted;
					return socket.request({ type: 'push', envelope: entry.envelope }, 'ack');
				})
			);
			let refusal: unknown;
			answers.forEach((answer, i) => {
				if (answer.status === 'fulfilled') this.#acked(window[i], answer.value.seq);
				else refusal ??= answer.reason;
			});
			if (refusal !== undefined && !(await this.#refused(socket, refusal))) return;
		}
	}

	#acked(entry: Pending, seq: number): void {
		const index = this.#outbox.indexOf(entry);
		if (index < 0) return;
		this.#outbox.splice(index, 1);
		this.#toRemove.push(entry.envelope.counter);
		this.#markApplied(seq);
		this.#maybeSnapshot(true);
		this.#persistLater();
		this.#notify();
	}

	/** Handles a refused push; true when the outbox was fixed and pushing may go on. */
	async #refused(socket: RelaySocket, error: unknown): Promise<boolean> {
		if (!(error instanceof RelayError)) throw error;
		switch (error.code) {
			case 'stale_epoch':
				// A rotation happened: the same batches, same counters, under the new key.
				await this.#refreshChain(socket, true);
				await this.#refreshKeys(socket);
				if (!this.#state.keys.has(this.#chain!.state.epoch)) throw new IntegrityError('no_key', 'no lockbox for the new epoch');
				this.#reseal(this.#outbox[0]?.envelope.counter ?? this.#state.counter + 1);
				return true;
			case 'bad_counter': {
				// The relay knows counters this device forgot (its state was lost): number from there.
				if (error.expected === undefined) throw error;
				this.#reseal(error.expected);
				return true;
			}
			default:
				throw error;
		}
	}

	/**
	 * Re-seals every outbox entry under the current epoch and this device, numbered from
	 * `first`: after a rotation (same counters), a lost counter, or a re-keyed device.
	 */
	#reseal(first: number): void {
		const entries = this.#outbox;
		if (entries.length === 0) {
			this.#state.counter = Math.max(this.#state.counter, first - 1);
			return;
		}
		const epoch = this.#chain?.state.epoch ?? Math.max(...this.#state.keys.keys());
		const key = this.#state.keys.get(epoch);
		if (key === undefined) return;
		const device = this.#host.device();
		const resealed: Pending[] = [];
		for (const entry of entries) {
			const old = this.#state.keys.get(entry.envelope.epoch);
			if (old === undefined) {
				// Sealed under a key this device no longer has (its state was lost): drop the batch
				// and send the whole document again with the next one, which every device ignores.
				this.#state.knownHeads = [];
				continue;
			}
			const changes = openEnvelope(entry.envelope, old);
			const counter = first + resealed.length;
			const envelope = sealEnvelope({ vault: this.id, epoch, key, author: device.sign, counter, changes });
			resealed.push({ envelope, changes: entry.changes, persisted: Promise.resolve() });
		}
		this.#toRemove.push(...entries.map((entry) => entry.envelope.counter));
		this.#toPut.push(...resealed);
		this.#outbox = resealed;
		this.#state.counter = first + resealed.length - 1;
		const persisted = this.#persistSoon();
		for (const entry of resealed) entry.persisted = persisted;
	}

	/**
	 * Uploads an encrypted `save()` once the log since the last snapshot is long: on this
	 * device's own acks at SNAPSHOT_EVERY, on anyone's envelopes only at twice that.
	 */
	#maybeSnapshot(ownWrite: boolean): void {
		const socket = this.#socket;
		const record = this.#record;
		const chain = this.#chain;
		const device = this.#host.device();
		const every = ownWrite ? SNAPSHOT_EVERY : SNAPSHOT_EVERY_PASSIVE;
		if (this.#snapshotting || socket === undefined || record === undefined || chain === undefined) return;
		if (this.#state.lastSeq - this.#state.snapshotSeq < every || !canWrite(chain.state, device.id)) return;
		const key = this.#state.keys.get(chain.state.epoch);
		if (key === undefined) return;
		this.#snapshotting = true;
		const coversSeq = this.#state.lastSeq;
		const document = Automerge.save(record.doc());
		const done = () => {
			this.#state.snapshotSeq = Math.max(this.#state.snapshotSeq, coversSeq);
			this.#persistSoon().catch(() => {});
		};
		if (document.length > MAX_SNAPSHOT_PLAINTEXT_BYTES) {
			// Too big for one frame: the log just keeps growing (docs/SYNC.md, limits).
			done();
			this.#snapshotting = false;
			return;
		}
		const snapshot = sealSnapshot({ vault: this.id, epoch: chain.state.epoch, key, author: device.sign, coversSeq, document });
		socket
			.request({ type: 'snapshot', snapshot }, 'ok')
			.then(done, () => {
				// Refused or lost (stale epoch, socket closed): the next envelope tries again.
			})
			.finally(() => {
				this.#snapshotting = false;
			});
	}

	// --- plumbing ---------------------------------------------------------------------------

	/**
	 * Queues a write of the state (as it is when the write starts) and of the outbox changes,
	 * after the record's document is flushed: what the state claims is applied is then on
	 * disk. Writes run one at a time; calls while one is queued share it.
	 */
	#persistSoon(): Promise<void> {
		// After close the subkey is wiped: nothing may be written under it.
		if (this.#closed) return Promise.resolve();
		if (this.#persistQueued !== undefined) return this.#persistQueued;
		const run = this.#persisting.then(async () => {
			this.#persistQueued = undefined;
			const state: SyncState = { ...this.#state, ops: [...this.#state.ops], keys: new Map(this.#state.keys), knownHeads: [...this.#state.knownHeads] };
			const put = this.#toPut.splice(0);
			const remove = this.#toRemove.splice(0).filter((counter) => !put.some((entry) => entry.envelope.counter === counter));
			await this.#record?.flush();
			await this.#store.write(state, { put: put.map(({ envelope, changes }) => ({ envelope, changes })), remove });
		});
		this.#persistQueued = run;
		// The chain goes on after a failed write; the failure reaches whoever awaited it.
		this.#persisting = run.catch(() => this.#issue('storage'));
		return run;
	}

	/**
	 * Queues a write a little later: for what may be lost in a crash at worst costing a few
	 * duplicates (the cursor, acks), so that a burst of remote changes costs one write, after
	 * the burst, rather than one per envelope.
	 */
	#persistLater(): void {
		if (this.#cursorTimer !== undefined || this.#closed) return;
		this.#cursorTimer = setTimeout(() => {
			this.#cursorTimer = undefined;
			this.#persistSoon().catch(() => {});
		}, LAZY_WRITE_DELAY_MS);
	}

	#current(socket: RelaySocket): boolean {
		return this.#socket === socket && socket.isOpen && !this.#closed;
	}

	#requireReady(): RelaySocket {
		const socket = this.#socket;
		if (this.#state.stopped !== undefined) throw new RelayError(this.#state.stopped, 'this record no longer syncs on this device');
		if (!this.ready || socket === undefined || this.#chain === undefined) throw new OfflineError();
		return socket;
	}

	/** What ends a pass: offline waits for the next socket, refusals and integrity errors are shown. */
	#failed(socket: RelaySocket, error: unknown): void {
		if (!this.#current(socket) || error instanceof OfflineError) return;
		if (error instanceof RelayError && (error.code === 'not_member' || error.code === 'forbidden')) {
			// Only a verified chain stops the record for good; the relay's word halts this pass.
			const me = this.#host.device().id;
			const state = this.#chain?.state;
			if (state?.removed.has(me)) this.#stop('revoked');
			else this.#halted = state?.members.has(me) ? 'revoked' : error.code;
		} else if (error instanceof RelayError || error instanceof IntegrityError) {
			this.#halted = error.code;
			this.#issue(error.code);
		} else {
			this.#halted = 'internal';
			this.#issue('internal');
		}
		this.#notify();
	}

	/** Stops syncing this record for good on this device (removed from it). */
	#stop(reason: string): void {
		if (this.#state.stopped !== undefined) return;
		this.#state.stopped = reason;
		this.#persistSoon().catch(() => {});
		this.#notify();
	}

	#issue(code: string, seq?: number): void {
		if (this.#issues.some((issue) => issue.code === code && issue.seq === seq && seq !== undefined)) return;
		this.#issues.push({ code, ...(seq === undefined ? {} : { seq }), at: new Date() });
		if (this.#issues.length > MAX_ISSUES) this.#issues.shift();
		this.#notify();
	}

	#notify(): void {
		this.#host.notify(this.id);
	}
}

/** The chain of a vault this device just created (ops it built itself). */
function extendChainFrom(ops: MembershipOp[]): Chain {
	const replayed = replayMembership(ops, new Date());
	if (!replayed.ok) throw new IntegrityError('bad_membership', replayed.error.message);
	return { ops, state: replayed.state };
}

/**
 * `heads` if the document has them all, else none (everything is sent again, which every
 * device ignores): a state written ahead of its document would otherwise stop every batch.
 */
function knownIn(doc: Automerge.Doc<unknown>, heads: string[]): string[] {
	return Automerge.hasHeads(doc, heads) ? heads : [];
}

/** Consecutive changes grouped into batches of at most `max` bytes (a bigger change alone). */
function groupChanges(changes: Uint8Array[], max: number): { bytes: Uint8Array; count: number }[] {
	const groups: { bytes: Uint8Array; count: number }[] = [];
	let current: Uint8Array[] = [];
	let size = 0;
	const close = () => {
		if (current.length > 0) groups.push({ bytes: concatBytes(...current), count: current.length });
		current = [];
		size = 0;
	};
	for (const change of changes) {
		if (size + change.length > max) close();
		current.push(change);
		size += change.length;
	}
	close();
	return groups;
}
