/**
 * A device's side of docs/SYNC.md for relay tests: `Member` key sets, a `TestRecord` that
 * builds signed frames with src/lib/core/sync the way a device would (and tracks the chain,
 * epoch keys and counters), and a `SyncClient` that speaks to a real relay over `ws`. Every
 * frame the relay sends is checked with core/protocol's `parseRelayFrame`, so a test also
 * fails if the relay sends anything off-protocol.
 */
import WebSocket from 'ws';
import {
	boxKeyPair,
	randomBytes,
	recoveryKeys,
	signKeyPair,
	toBase64url,
	utf8Encode,
	type BoxKeyPair,
	type SignKeyPair
} from '../../src/lib/core/crypto';
import {
	parseRelayFrame,
	type ClientFrame,
	type Envelope,
	type Lockbox,
	type MembershipOp,
	type OpMember,
	type RelayFrame,
	type Snapshot
} from '../../src/lib/core/protocol';
import {
	acceptOps,
	addOp,
	createVault,
	makeLockbox,
	memberId,
	memberRef,
	openLockbox,
	removeMember,
	sealEnvelope,
	sealSnapshot,
	signAuth,
	unwrapHistory,
	type MemberRef,
	type MembershipState
} from '../../src/lib/core/sync';

/** One key set: a device, the recovery key or an invitation. */
export interface Member {
	sign: SignKeyPair;
	box: BoxKeyPair;
	id: string;
	ref: MemberRef;
}

/** A fresh device key set (call after `ready()`). */
export function newMember(): Member {
	return memberFrom(signKeyPair(), boxKeyPair());
}

/** The record's recovery key, from its 24-word phrase. */
export function recoveryMember(phrase: string): Member {
	const keys = recoveryKeys(phrase);
	return memberFrom(keys.sign, keys.box);
}

function memberFrom(sign: SignKeyPair, box: BoxKeyPair): Member {
	return { sign, box, id: memberId(sign.publicKey), ref: memberRef({ sign, box }) };
}

/** A frame of `type` as a test builds it: `id` is filled in by the client. */
export type Outgoing<T extends ClientFrame['type'] = ClientFrame['type']> = Omit<Extract<ClientFrame, { type: T }>, 'id'>;

/**
 * One vault as its devices see it: the chain they replayed, every epoch key, and the next
 * counter of each author. Builders advance this model as if the relay accepted the frame;
 * tests of refusals build from the same core functions but keep the model unchanged.
 */
export class TestRecord {
	readonly keys = new Map<number, Uint8Array>();
	state!: MembershipState;
	private readonly counters = new Map<string, number>();

	/** A record with a fresh vault id, or `id` to try registering a vault that exists. */
	constructor(readonly id = toBase64url(randomBytes(16))) {}

	/** The `create` frame: `creator` admin, `recovery` enrolled, epoch-0 key sealed to both. */
	create(creator: Member, recovery: Member): Outgoing<'create'> {
		const key = randomBytes(32);
		const made = createVault({ vault: this.id, vaultKey: key, creator, recovery, at: new Date() });
		this.keys.set(0, key);
		this.advance(made.ops);
		return { type: 'create', ops: made.ops, lockboxes: made.lockboxes };
	}

	/** An `append` frame: `signer` adds `member` with `role`, sealing it the current key unless `signer` is an invite. */
	add(signer: Member, member: Member, role: 'admin' | 'reader' | 'recovery'): Outgoing<'append'> {
		return this.append(signer, member, { ...member.ref, role });
	}

	/** An `append` frame: admin `signer` adds the invitation key `invite`, sealing it the current key. */
	invite(signer: Member, invite: Member, grants: 'admin' | 'reader', expires: Date): Outgoing<'append'> {
		return this.append(signer, invite, { ...invite.ref, role: 'invite', grants, expires: expires.toISOString() });
	}

	private append(signer: Member, member: Member, opMember: OpMember): Outgoing<'append'> {
		// An invite cannot sign lockboxes: its device reads with the invite's key until an admin seals one.
		const sealing = this.state.members.get(signer.id)?.role !== 'invite';
		const op = addOp(this.state, signer.sign, opMember, new Date());
		this.advance([op]);
		return { type: 'append', vault: this.id, op, lockboxes: sealing ? [this.lockbox(signer, member)] : [] };
	}

	/** A `rotate` frame: `signer` removes `member`; a new epoch key for everyone else. */
	remove(signer: Member, member: Member): Outgoing<'rotate'> {
		const rotation = removeMember(this.state, signer.sign, member.id, this.keys.get(this.state.epoch)!, new Date());
		this.advance([rotation.op]);
		this.keys.set(rotation.op.epoch, rotation.vaultKey);
		return { type: 'rotate', vault: this.id, op: rotation.op, lockboxes: rotation.lockboxes, history: rotation.history };
	}

	/** `author`'s next envelope carrying `changes` (text is UTF-8 encoded), at the current epoch unless told. */
	envelope(author: Member, changes: string | Uint8Array, options: { counter?: number; epoch?: number } = {}): Envelope {
		const counter = options.counter ?? (this.counters.get(author.id) ?? 0) + 1;
		this.counters.set(author.id, Math.max(counter, this.counters.get(author.id) ?? 0));
		const epoch = options.epoch ?? this.state.epoch;
		return sealEnvelope({ vault: this.id, epoch, key: this.keys.get(epoch)!, author: author.sign, counter, changes: typeof changes === 'string' ? utf8Encode(changes) : changes });
	}

	/** A snapshot by `author` holding `text`, covering envelopes up to `coversSeq`. */
	snapshot(author: Member, text: string, coversSeq: number): Snapshot {
		const epoch = this.state.epoch;
		return sealSnapshot({ vault: this.id, epoch, key: this.keys.get(epoch)!, author: author.sign, coversSeq, document: utf8Encode(text) });
	}

	/** The current epoch's key sealed to `member` by `signer`. */
	lockbox(signer: Member, member: Member): Lockbox {
		const epoch = this.state.epoch;
		return makeLockbox(signer.sign, this.id, epoch, member.ref, this.keys.get(epoch)!);
	}

	/** Every epoch key `member` can reach from a `keys` answer, as a device computes them. */
	keysFrom(member: Member, answer: RelayFrame): Map<number, Uint8Array> {
		if (answer.type !== 'keys') throw new Error(`expected keys, got ${JSON.stringify(answer)}`);
		const newest = answer.lockboxes[0];
		return unwrapHistory(this.state, { epoch: newest.epoch, key: openLockbox(newest, member.box) }, answer.history);
	}

	private advance(ops: MembershipOp[]): void {
		const result = acceptOps(this.state ?? null, ops, new Date());
		if (!result.ok) throw new Error(`test chain refused: ${result.error.reason} ${result.error.message}`);
		this.state = result.state;
	}
}

/** One WebSocket to the relay's `/sync`, with request/answer matching by `id`. */
export class SyncClient {
	private nextId = 1;
	private readonly waiting = new Map<number, { resolve: (frame: RelayFrame) => void; reject: (error: Error) => void }>();
	/** Frames without a request id (pushes, errors the relay could not tie to a request), not yet taken by `next`. */
	private readonly inbox: RelayFrame[] = [];
	private readonly watchers: { match: (frame: RelayFrame) => boolean; resolve: (frame: RelayFrame) => void }[] = [];
	/** Frames the relay sent that do not parse as relay frames: a test asserts this stays empty. */
	readonly offProtocol: string[] = [];
	/** The close code, once the relay closed the socket. */
	closeCode?: number;
	/** When set, frames without a request id go to it instead of waiting for `next` (a benchmark's subscriber). */
	onPush?: (frame: RelayFrame) => void;

	private constructor(
		readonly ws: WebSocket,
		readonly nonce: string
	) {}

	/** Connects to the relay at `url` (http://…) and waits for its challenge. */
	static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<SyncClient> {
		const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/sync`, options);
		return new Promise((resolve, reject) => {
			ws.once('error', reject);
			ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
			ws.once('message', (data) => {
				const parsed = parseRelayFrame(String(data));
				if (!parsed.ok || parsed.frame.type !== 'challenge') return reject(new Error(`expected a challenge, got ${String(data)}`));
				const client = new SyncClient(ws, parsed.frame.nonce);
				ws.on('message', (next) => client.receive(String(next)));
				ws.on('close', (code) => {
					client.closeCode = code;
					// A request the relay never answered fails now rather than at its timeout.
					for (const { reject } of client.waiting.values()) reject(new Error(`socket closed (${code})`));
					client.waiting.clear();
				});
				resolve(client);
			});
		});
	}

	/** Authenticates `member` (for `vault`, or to list its vaults). */
	auth(member: Member, vault?: string): Promise<RelayFrame> {
		return this.request({ type: 'auth', ...signAuth(member.sign, this.nonce, vault) });
	}

	/** Sends `frame` with a fresh id and resolves with the relay's answer to it. */
	request(frame: Outgoing | Record<string, unknown>, timeoutMs = 10_000): Promise<RelayFrame> {
		const id = this.nextId++;
		this.ws.send(JSON.stringify({ ...frame, id }));
		return this.answer(id, timeoutMs);
	}

	/** Resolves with the answer to request `id` (sent by `sendRaw`, say); rejects if the socket closes first. */
	answer(id: number, timeoutMs = 10_000): Promise<RelayFrame> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no answer to request ${id}`)), timeoutMs);
			const settle = <T>(fn: (value: T) => void) => (value: T) => {
				clearTimeout(timer);
				fn(value);
			};
			this.waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
		});
	}

	/** Sends `text` as is, for malformed-frame tests. */
	sendRaw(text: string | Buffer): void {
		this.ws.send(text);
	}

	/** The next frame without a request id matching `match` (already received or to come). */
	next(match: (frame: RelayFrame) => boolean, timeoutMs = 5_000): Promise<RelayFrame> {
		const index = this.inbox.findIndex(match);
		if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error('no matching push from the relay')), timeoutMs);
			this.watchers.push({
				match,
				resolve: (frame) => {
					clearTimeout(timer);
					resolve(frame);
				}
			});
		});
	}

	/** Frames without a request id received so far and not yet taken by `next`. */
	get unsolicited(): readonly RelayFrame[] {
		return this.inbox;
	}

	/** Closes the socket and waits until it is closed. */
	async close(): Promise<void> {
		if (this.ws.readyState === WebSocket.CLOSED) return;
		const closed = new Promise((resolve) => this.ws.once('close', resolve));
		this.ws.close();
		await closed;
	}

	private receive(text: string): void {
		const parsed = parseRelayFrame(text);
		if (!parsed.ok) {
			this.offProtocol.push(text.slice(0, 200));
			return;
		}
		const frame = parsed.frame;
		const id = 'id' in frame ? frame.id : undefined;
		const waiter = id === undefined ? undefined : this.waiting.get(id);
		if (waiter !== undefined && id !== undefined) {
			this.waiting.delete(id);
			waiter.resolve(frame);
			return;
		}
		if (this.onPush) return this.onPush(frame);
		const watcher = this.watchers.findIndex((w) => w.match(frame));
		if (watcher >= 0) this.watchers.splice(watcher, 1)[0].resolve(frame);
		else this.inbox.push(frame);
	}
}

/** Asserts `frame` is an `error` with `code` and returns it; a readable failure otherwise. */
export function expectError(frame: RelayFrame, code: string): Extract<RelayFrame, { type: 'error' }> {
	if (frame.type !== 'error' || frame.code !== code) {
		throw new Error(`expected error ${code}, got ${JSON.stringify(frame).slice(0, 300)}`);
	}
	return frame;
}

/** Asserts `frame` is of `type` and returns it narrowed. */
export function expectFrame<T extends RelayFrame['type']>(frame: RelayFrame, type: T): Extract<RelayFrame, { type: T }> {
	if (frame.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(frame).slice(0, 300)}`);
	return frame as Extract<RelayFrame, { type: T }>;
}
