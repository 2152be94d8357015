/**
 * The membership chain (docs/SYNC.md, "Membership chain"): building, hashing and replaying
 * the signed, hash-chained ops. The relay and every device run the same `replayMembership`,
 * so they agree on who may read, write and administer at every epoch.
 */
import { hash, toBase64url, type SignKeyPair } from '../crypto';
import {
	MAX_MEMBERS,
	membershipOpSchema,
	type AddOp,
	type MembershipOp,
	type OpMember,
	type RemoveOp
} from '../protocol';
import { canonicalBytes } from './canonical';
import { DOMAINS, signObject, verifyObject } from './signing';

/**
 * How far an op's `at` may be ahead of the replaying clock, or behind the op before it.
 * Device clocks drift; a few minutes is what NTP-less phones stay within.
 */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** A current member: what its op said, and when and by whom it was added. */
export type MemberEntry = OpMember & {
	readonly addedAt: string;
	readonly addedBy: string;
	/** The epoch in force when it was added: it holds keys from this one on. */
	readonly since: number;
	/** Invites only: set once the invite has added its member. */
	readonly spent?: boolean;
};

/** A removed member, kept so that lockboxes, history and envelopes of its epochs still verify. */
export type RemovedMember = MemberEntry & {
	/** The epoch its removal opened: the first whose key it never gets. */
	readonly until: number;
	readonly removedAt: string;
	readonly removedBy: string;
};

/** The outcome of replaying a chain. */
export interface MembershipState {
	readonly vault: string;
	/** The current key epoch. */
	readonly epoch: number;
	/** `hashOp` of the last op: the next op's `prev`. */
	readonly head: string;
	/** Index of the last op. */
	readonly index: number;
	/** `at` of the last op. */
	readonly headAt: string;
	readonly members: ReadonlyMap<string, MemberEntry>;
	/** Ids that left; `has(id)` answers "was removed", the entry tells which epochs it had. */
	readonly removed: ReadonlyMap<string, RemovedMember>;
}

/** The part of a state a new op links to. */
export type ChainHead = Pick<MembershipState, 'vault' | 'epoch' | 'head' | 'index'>;

/** Why a chain was refused. */
export const MEMBERSHIP_ERRORS = [
	'malformed',
	'bad_first',
	'bad_vault',
	'bad_index',
	'bad_prev',
	'bad_time',
	'stale',
	'not_member',
	'bad_signature',
	'forbidden',
	'invite_spent',
	'invite_expired',
	'already_member',
	'removed_id',
	'no_such_member',
	'bad_epoch',
	'limit'
] as const;
/** A refusal reason. */
export type MembershipErrorReason = (typeof MEMBERSHIP_ERRORS)[number];

/**
 * `replayMembership`'s verdict. On failure `index` is the chain index of the first refused
 * op; `bad_prev` and `bad_index` on a new op mean someone else appended first (`conflict`).
 */
export type MembershipResult =
	| { ok: true; state: MembershipState }
	| { ok: false; error: { index: number; reason: MembershipErrorReason; message: string } };

/** An op before signing. */
export type UnsignedOp = MembershipOp extends infer T ? (T extends unknown ? Omit<T, 'sig'> : never) : never;

/** A member id: base64url of the Ed25519 public key. */
export function memberId(signPublicKey: Uint8Array): string {
	return toBase64url(signPublicKey);
}

/** Signs an op as `signer` (who must be the op's `by`). */
export function signOp<T extends UnsignedOp>(op: T, signer: SignKeyPair): T & { sig: string } {
	return signObject(DOMAINS.membership, op, signer);
}

/** The chain link to an op: base64url(BLAKE2b-256(canonicalBytes(op including sig))). */
export function hashOp(op: MembershipOp): string {
	return toBase64url(hash(canonicalBytes(op)));
}

/** The signed `add` op for `member` after `head`, at time `at`. */
export function addOp(head: ChainHead, signer: SignKeyPair, member: OpMember, at: Date): AddOp {
	return signOp({ ...next(head, signer, at), type: 'add', member, epoch: head.epoch }, signer);
}

/** The signed `remove` op for member `id` after `head`; it opens epoch `head.epoch + 1`. */
export function removeOp(head: ChainHead, signer: SignKeyPair, id: string, at: Date): RemoveOp {
	return signOp({ ...next(head, signer, at), type: 'remove', member: { id }, epoch: head.epoch + 1 }, signer);
}

function next(head: ChainHead, signer: SignKeyPair, at: Date) {
	return {
		v: 1 as const,
		vault: head.vault,
		index: head.index + 1,
		prev: head.head,
		by: memberId(signer.publicKey),
		at: at.toISOString()
	};
}

/**
 * Replays `ops` from the empty chain, or after `from` (ops then start at `from.index + 1`),
 * applying every rule of docs/SYNC.md. `now` bounds how far in the future an op may be
 * dated. Pure and total: malformed input is refused, never thrown on; `from` is not changed.
 */
export function replayMembership(
	ops: readonly MembershipOp[],
	now: Date,
	from?: MembershipState
): MembershipResult {
	return fold(from ?? null, ops, now, false);
}

/**
 * What the relay runs on ops it receives (`create`, `append`, `rotate`): the replay rules,
 * plus every op must be fresh (`at` within MAX_CLOCK_SKEW_MS of `now`), so an invitee cannot
 * backdate its op to before the invite's expiry.
 */
export function acceptOps(
	state: MembershipState | null,
	ops: readonly MembershipOp[],
	now: Date
): MembershipResult {
	return fold(state, ops, now, true);
}

/**
 * True when `id` may use the vault now: a current member, and for an invite one that is
 * neither spent nor expired (a used or stale invitation QR must open nothing).
 */
export function isMember(state: MembershipState, id: string, now: Date): boolean {
	const member = state.members.get(id);
	if (member === undefined) return false;
	return member.role !== 'invite' || (!member.spent && now.getTime() < Date.parse(member.expires));
}

/** The member `id` as it was during `epoch`, current or since removed; undefined if it was not one then. */
export function memberAt(state: MembershipState, id: string, epoch: number): MemberEntry | undefined {
	if (epoch > state.epoch) return undefined;
	const current = state.members.get(id);
	if (current !== undefined) return current.since <= epoch ? current : undefined;
	const former = state.removed.get(id);
	return former !== undefined && former.since <= epoch && epoch < former.until ? former : undefined;
}

/** True when `id` was an admin during `epoch` (default: now): only admins write envelopes and snapshots. */
export function canWrite(state: MembershipState, id: string, epoch: number = state.epoch): boolean {
	return memberAt(state, id, epoch)?.role === 'admin';
}

/** True when `id` was an admin or the recovery key during `epoch` (default: now): who may sign ops and lockboxes. */
export function canAdminister(state: MembershipState, id: string, epoch: number = state.epoch): boolean {
	const role = memberAt(state, id, epoch)?.role;
	return role === 'admin' || role === 'recovery';
}

type Draft = {
	-readonly [K in keyof MembershipState]: K extends 'members'
		? Map<string, MemberEntry>
		: K extends 'removed'
			? Map<string, RemovedMember>
			: MembershipState[K];
};

class Refusal extends Error {
	constructor(
		readonly reason: MembershipErrorReason,
		message: string
	) {
		super(message);
	}
}

function refuse(reason: MembershipErrorReason, message: string): never {
	throw new Refusal(reason, message);
}

function fold(from: MembershipState | null, ops: readonly MembershipOp[], now: Date, fresh: boolean): MembershipResult {
	// One copy up front, then steps mutate it: replay stays linear in the chain's length.
	let draft: Draft | null = from && { ...from, members: new Map(from.members), removed: new Map(from.removed) };
	const first = from === null ? 0 : from.index + 1;
	for (let i = 0; i < ops.length; i++) {
		try {
			draft = step(draft, ops[i], first + i, now.getTime(), fresh);
		} catch (e) {
			if (!(e instanceof Refusal)) throw e;
			return { ok: false, error: { index: first + i, reason: e.reason, message: e.message } };
		}
	}
	if (draft === null) {
		return { ok: false, error: { index: 0, reason: 'bad_first', message: 'a chain starts with a create op' } };
	}
	return { ok: true, state: draft };
}

function step(state: Draft | null, raw: unknown, index: number, now: number, fresh: boolean): Draft {
	const parsed = membershipOpSchema.safeParse(raw);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		refuse('malformed', `op ${issue.path.join('.') || '(root)'}: ${issue.message}`);
	}
	const op = parsed.data;
	if (op.index !== index) refuse('bad_index', `op index must be ${index}`);
	const at = Date.parse(op.at);
	if (Number.isNaN(at)) refuse('bad_time', 'at is not a valid date');
	if (at > now + MAX_CLOCK_SKEW_MS) refuse('bad_time', 'at is in the future');
	if (fresh && at < now - MAX_CLOCK_SKEW_MS) refuse('stale', 'a new op must be signed when it is sent (at is too old)');
	if (state === null) return create(op);

	if (op.vault !== state.vault) refuse('bad_vault', 'op names another vault');
	if (op.prev !== state.head) refuse('bad_prev', 'prev is not the hash of the previous op');
	if (at < Date.parse(state.headAt) - MAX_CLOCK_SKEW_MS) refuse('bad_time', 'at is before the previous op');
	const signer = state.members.get(op.by);
	if (signer === undefined) {
		refuse('not_member', state.removed.has(op.by) ? 'the signer was removed' : 'the signer is not a member');
	}
	if (!verifyObject(DOMAINS.membership, op, op.by)) refuse('bad_signature', 'op signature is not valid');
	switch (op.type) {
		case 'create':
			refuse('bad_first', 'only op 0 may be a create op');
			break;
		case 'add':
			add(state, op, signer, at);
			break;
		case 'remove':
			remove(state, op, signer);
			break;
	}
	state.index = index;
	state.head = hashOp(op);
	state.headAt = op.at;
	return state;
}

function create(op: MembershipOp): Draft {
	if (op.type !== 'create') refuse('bad_first', 'op 0 must be a create op');
	if (op.prev !== null) refuse('bad_prev', 'op 0 has no prev');
	if (op.epoch !== 0) refuse('bad_epoch', 'op 0 opens epoch 0');
	if (op.member.role !== 'admin') refuse('bad_first', 'the creator must be an admin');
	if (op.by !== op.member.id) refuse('bad_first', 'op 0 must be signed by the member it creates');
	if (!verifyObject(DOMAINS.membership, op, op.by)) refuse('bad_signature', 'op signature is not valid');
	return {
		vault: op.vault,
		epoch: 0,
		head: hashOp(op),
		index: 0,
		headAt: op.at,
		members: new Map([[op.member.id, { ...op.member, addedAt: op.at, addedBy: op.by, since: 0 }]]),
		removed: new Map()
	};
}

function add(state: Draft, op: AddOp, signer: MemberEntry, at: number): void {
	if (op.epoch !== state.epoch) refuse('bad_epoch', 'an add op keeps the epoch');
	const id = op.member.id;
	if (state.members.has(id)) refuse('already_member', 'the member is already in the vault');
	if (state.removed.has(id)) refuse('removed_id', 'a removed member cannot be added again under the same id');
	if (state.members.size >= MAX_MEMBERS) refuse('limit', `a vault has at most ${MAX_MEMBERS} members`);
	if (signer.role === 'invite') {
		if (signer.spent) refuse('invite_spent', 'the invite has already added its member');
		if (at >= Date.parse(signer.expires)) refuse('invite_expired', 'the invite has expired');
		if (op.member.role !== signer.grants) refuse('forbidden', `the invite grants the role ${signer.grants} only`);
		state.members.set(signer.id, { ...signer, spent: true });
	} else if (signer.role !== 'admin' && signer.role !== 'recovery') {
		refuse('forbidden', `a ${signer.role} cannot add members`);
	}
	state.members.set(id, { ...op.member, addedAt: op.at, addedBy: op.by, since: state.epoch });
}

function remove(state: Draft, op: RemoveOp, signer: MemberEntry): void {
	if (signer.role !== 'admin' && signer.role !== 'recovery') refuse('forbidden', `a ${signer.role} cannot remove members`);
	if (op.epoch !== state.epoch + 1) refuse('bad_epoch', 'a remove op opens the next epoch');
	const target = state.members.get(op.member.id);
	if (target === undefined) refuse('no_such_member', 'the member to remove is not in the vault');
	// The remover signs the new epoch's lockboxes and history, so it must stay a member.
	if (target.id === signer.id) refuse('forbidden', 'a member cannot remove itself');
	state.members.delete(target.id);
	state.removed.set(target.id, { ...target, until: op.epoch, removedAt: op.at, removedBy: op.by });
	state.epoch = op.epoch;
}
