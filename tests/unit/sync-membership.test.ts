import { beforeAll, describe, expect, it } from 'vitest';
import {
	CryptoError,
	boxKeyPair,
	randomBytes,
	ready,
	seal,
	signKeyPair,
	toBase64url,
	type BoxKeyPair,
	type SignKeyPair
} from '../../src/lib/core/crypto';
import { MAX_MEMBERS, type KeyHistory, type Lockbox, type MembershipOp, type OpMember } from '../../src/lib/core/protocol';
import {
	MAX_CLOCK_SKEW_MS,
	acceptOps,
	addOp,
	canAdminister,
	canWrite,
	createVault,
	hashOp,
	isMember,
	makeLockbox,
	memberAt,
	memberId,
	memberRef,
	openLockbox,
	removeMember,
	removeOp,
	replayMembership,
	signOp,
	unwrapHistory,
	verifyKeyHistory,
	verifyLockbox,
	wrapPreviousKey,
	type MemberRef,
	type MembershipErrorReason,
	type MembershipResult,
	type MembershipState
} from '../../src/lib/core/sync';

interface Device {
	sign: SignKeyPair;
	box: BoxKeyPair;
	id: string;
	ref: MemberRef;
}

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
/** `minutes` after T0. */
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
/** Replay clock: long after every op below. */
const NOW = at(60 * 24 * 365);

function device(): Device {
	const sign = signKeyPair();
	const box = boxKeyPair();
	return { sign, box, id: memberId(sign.publicKey), ref: memberRef({ sign, box }) };
}

function ok(result: MembershipResult): MembershipState {
	if (!result.ok) throw new Error(`expected ok, got ${result.error.reason}: ${result.error.message}`);
	return result.state;
}

function expectRefused(result: MembershipResult, reason: MembershipErrorReason, index?: number): void {
	expect(result.ok).toBe(false);
	if (result.ok) return;
	expect(result.error.reason).toBe(reason);
	expect(result.error.message.length).toBeGreaterThan(0);
	if (index !== undefined) expect(result.error.index).toBe(index);
}

const as = (member: Device, role: 'admin' | 'reader' | 'recovery'): OpMember => ({ ...member.ref, role });

/** A fresh vault: admin + recovery (ops 0 and 1), its epoch-0 key and lockboxes. */
function newVault() {
	const admin = device();
	const recovery = device();
	const vault = toBase64url(randomBytes(16));
	const key = randomBytes(32);
	const { ops, lockboxes } = createVault({ vault, vaultKey: key, creator: admin, recovery, at: at(0) });
	const state = ok(replayMembership(ops, NOW));
	return { admin, recovery, vault, key, ops: ops as MembershipOp[], lockboxes, state };
}

/** Applies `op` on top of `state` (replay, not freshness-checked). */
const then = (state: MembershipState, op: MembershipOp) => replayMembership([op], NOW, state);

beforeAll(async () => {
	await ready();
});

describe('createVault and replay', () => {
	it('builds op 0 (creator admin) and op 1 (recovery), replayed to epoch 0', () => {
		const { admin, recovery, vault, ops, state } = newVault();
		expect(ops.map((op) => op.type)).toEqual(['create', 'add']);
		expect(state.vault).toBe(vault);
		expect(state.epoch).toBe(0);
		expect(state.index).toBe(1);
		expect(state.head).toBe(hashOp(ops[1]));
		expect(ops[1].prev).toBe(hashOp(ops[0]));
		expect(state.members.get(admin.id)).toMatchObject({ role: 'admin', addedBy: admin.id, since: 0 });
		expect(state.members.get(recovery.id)).toMatchObject({ role: 'recovery', addedBy: admin.id, since: 0 });
		expect(state.removed.size).toBe(0);
	});

	it('refuses an empty chain and never throws on junk', () => {
		expectRefused(replayMembership([], NOW), 'bad_first', 0);
		for (const junk of [null, 42, 'op', [], {}, { type: 'create' }]) {
			expectRefused(replayMembership([junk as unknown as MembershipOp], NOW), 'malformed', 0);
		}
	});

	it('refuses a malformed op (missing sig, bad id length, extra key)', () => {
		const { ops } = newVault();
		const { sig: _sig, ...unsigned } = ops[0];
		expectRefused(replayMembership([unsigned as MembershipOp], NOW), 'malformed');
		expectRefused(replayMembership([{ ...ops[0], by: ops[0].by.slice(1) }], NOW), 'malformed');
		expectRefused(replayMembership([{ ...ops[0], extra: 1 } as unknown as MembershipOp], NOW), 'malformed');
	});

	it('op 0 must be a self-signed create of an admin at epoch 0 with no prev', () => {
		const a = device();
		const b = device();
		const vault = toBase64url(randomBytes(16));
		const base = { v: 1 as const, vault, index: 0, prev: null, epoch: 0, at: at(0).toISOString() };
		const good = signOp({ ...base, type: 'create', member: as(a, 'admin'), by: a.id }, a.sign);
		ok(replayMembership([good], NOW));
		expectRefused(
			replayMembership([signOp({ ...base, type: 'add', member: as(a, 'admin'), by: a.id }, a.sign)], NOW),
			'bad_first'
		);
		expectRefused(
			replayMembership([signOp({ ...base, type: 'create', member: as(a, 'admin'), by: b.id }, b.sign)], NOW),
			'bad_first'
		);
		expectRefused(
			replayMembership([signOp({ ...base, type: 'create', member: as(a, 'reader'), by: a.id }, a.sign)], NOW),
			'bad_first'
		);
		expectRefused(
			replayMembership([signOp({ ...base, epoch: 1, type: 'create', member: as(a, 'admin'), by: a.id }, a.sign)], NOW),
			'bad_epoch'
		);
		expectRefused(
			replayMembership(
				[signOp({ ...base, prev: hashOp(good), type: 'create', member: as(a, 'admin'), by: a.id }, a.sign)],
				NOW
			),
			'bad_prev'
		);
		expectRefused(replayMembership([{ ...good, sig: signOp(good, b.sign).sig }], NOW), 'bad_signature');
		expectRefused(replayMembership([good, { ...good, index: 1 }], NOW), 'bad_prev', 1);
	});

	it('replaying from a state equals replaying the whole chain, and leaves the state alone', () => {
		const { admin, ops, state } = newVault();
		const reader = device();
		const op = addOp(state, admin.sign, as(reader, 'reader'), at(1));
		const incremental = ok(then(state, op));
		const full = ok(replayMembership([...ops, op], NOW));
		expect(incremental).toEqual(full);
		expect(state.members.has(reader.id)).toBe(false);
		expect(state.index).toBe(1);
	});

	it('reports the chain index of the first refused op', () => {
		const { admin, ops, state } = newVault();
		const op2 = addOp(state, admin.sign, as(device(), 'reader'), at(1));
		const bad = { ...addOp(ok(then(state, op2)), admin.sign, as(device(), 'reader'), at(2)), index: 7 };
		expectRefused(replayMembership([...ops, op2, bad], NOW), 'bad_index', 3);
	});
});

describe('chain links and signatures', () => {
	it('refuses a wrong prev, a wrong index and another vault', () => {
		const { admin, state } = newVault();
		const member = as(device(), 'reader');
		expectRefused(then(state, addOp({ ...state, head: hashOp(newVault().ops[0]) }, admin.sign, member, at(1))), 'bad_prev', 2);
		expectRefused(then(state, addOp({ ...state, index: 2 }, admin.sign, member, at(1))), 'bad_index', 2);
		expectRefused(then(state, addOp({ ...state, vault: toBase64url(randomBytes(16)) }, admin.sign, member, at(1))), 'bad_vault');
	});

	it('refuses a forged signature: altered after signing, or signed by another key', () => {
		const { admin, state } = newVault();
		const reader = device();
		const op = addOp(state, admin.sign, as(reader, 'reader'), at(1));
		expectRefused(then(state, { ...op, member: { ...op.member, role: 'admin' } }), 'bad_signature');
		expectRefused(then(state, { ...op, at: at(2).toISOString() }), 'bad_signature');
		const outsider = device();
		const { sig: _sig, ...unsigned } = op;
		expectRefused(then(state, signOp(unsigned, outsider.sign)), 'bad_signature');
	});

	it('refuses an op signed by someone who is not a member', () => {
		const { state } = newVault();
		const outsider = device();
		expectRefused(then(state, addOp(state, outsider.sign, as(device(), 'admin'), at(1))), 'not_member');
	});
});

describe('add', () => {
	it('an admin or the recovery key adds any role; epoch unchanged', () => {
		const { admin, recovery, state } = newVault();
		let s = state;
		for (const [signer, role] of [
			[admin, 'admin'],
			[admin, 'reader'],
			[recovery, 'admin'],
			[recovery, 'recovery']
		] as const) {
			const member = device();
			s = ok(then(s, addOp(s, signer.sign, as(member, role), at(1))));
			expect(s.members.get(member.id)?.role).toBe(role);
			expect(s.epoch).toBe(0);
		}
	});

	it('a reader cannot add members', () => {
		const { admin, state } = newVault();
		const reader = device();
		const s = ok(then(state, addOp(state, admin.sign, as(reader, 'reader'), at(1))));
		expectRefused(then(s, addOp(s, reader.sign, as(device(), 'reader'), at(2))), 'forbidden');
	});

	it('refuses an add that changes the epoch', () => {
		const { admin, state } = newVault();
		const op = addOp({ ...state, epoch: 1 }, admin.sign, as(device(), 'reader'), at(1));
		expectRefused(then(state, op), 'bad_epoch');
	});

	it('refuses adding a current member again', () => {
		const { admin, recovery, state } = newVault();
		expectRefused(then(state, addOp(state, admin.sign, as(recovery, 'admin'), at(1))), 'already_member');
	});

	it(`refuses more than ${MAX_MEMBERS} members`, () => {
		const { admin, state } = newVault();
		let s = state;
		while (s.members.size < MAX_MEMBERS) s = ok(then(s, addOp(s, admin.sign, as(device(), 'reader'), at(1))));
		expectRefused(then(s, addOp(s, admin.sign, as(device(), 'reader'), at(1))), 'limit');
	});
});

describe('invites', () => {
	function withInvite(grants: 'admin' | 'reader' = 'admin', expiresInMinutes = 60) {
		const v = newVault();
		const invite = device();
		const member: OpMember = { ...invite.ref, role: 'invite', grants, expires: at(expiresInMinutes).toISOString() };
		const state = ok(then(v.state, addOp(v.state, v.admin.sign, member, at(1))));
		return { ...v, invite, state };
	}

	it('adds exactly one member with the granted role, then is spent', () => {
		const { invite, state } = withInvite('admin');
		const guest = device();
		const s = ok(then(state, addOp(state, invite.sign, as(guest, 'admin'), at(5))));
		expect(s.members.get(guest.id)).toMatchObject({ role: 'admin', addedBy: invite.id });
		expect(s.members.get(invite.id)?.spent).toBe(true);
		expect(isMember(s, invite.id, at(6))).toBe(false);
		expect(isMember(s, guest.id, at(6))).toBe(true);
		expectRefused(then(s, addOp(s, invite.sign, as(device(), 'admin'), at(6))), 'invite_spent');
	});

	it('refuses a role other than the one granted', () => {
		const { invite, state } = withInvite('reader');
		expectRefused(then(state, addOp(state, invite.sign, as(device(), 'admin'), at(5))), 'forbidden');
	});

	it('refuses an add at or after expiry, and the expired invite is no longer a member', () => {
		const { invite, state } = withInvite('admin', 60);
		expect(isMember(state, invite.id, at(59))).toBe(true);
		expect(isMember(state, invite.id, at(60))).toBe(false);
		expectRefused(then(state, addOp(state, invite.sign, as(device(), 'admin'), at(60))), 'invite_expired');
		ok(then(state, addOp(state, invite.sign, as(device(), 'admin'), at(59))));
	});

	it('an invite cannot remove, and a relay refuses a backdated invite op', () => {
		const { admin, invite, state } = withInvite('admin', 60);
		expectRefused(then(state, removeOp(state, invite.sign, admin.id, at(5))), 'forbidden');
		// The invitee signs `at`; only the relay's clock keeps it honest.
		const backdated = addOp(state, invite.sign, as(device(), 'admin'), at(30));
		expectRefused(acceptOps(state, [backdated], at(120)), 'stale');
		ok(acceptOps(state, [backdated], at(35)));
	});

	it('the invite cannot be itself an invite grant, nor carry grants without expiry', () => {
		const { admin, state } = newVault();
		const invite = device();
		const noExpiry = { ...invite.ref, role: 'invite', grants: 'admin' } as unknown as OpMember;
		expectRefused(then(state, addOp(state, admin.sign, noExpiry, at(1))), 'malformed');
		const grantsInvite = { ...invite.ref, role: 'invite', grants: 'invite', expires: at(9).toISOString() } as unknown as OpMember;
		expectRefused(then(state, addOp(state, admin.sign, grantsInvite, at(1))), 'malformed');
	});
});

describe('remove', () => {
	function withReader() {
		const v = newVault();
		const reader = device();
		const state = ok(then(v.state, addOp(v.state, v.admin.sign, as(reader, 'reader'), at(1))));
		return { ...v, reader, state };
	}

	it('an admin removes a member: epoch + 1, the id moves to removed', () => {
		const { admin, reader, state } = withReader();
		const s = ok(then(state, removeOp(state, admin.sign, reader.id, at(2))));
		expect(s.epoch).toBe(1);
		expect(s.members.has(reader.id)).toBe(false);
		expect(s.removed.get(reader.id)).toMatchObject({ until: 1, removedBy: admin.id, since: 0 });
	});

	it('the recovery key removes a lost admin device', () => {
		const { admin, recovery, state } = newVault();
		const s = ok(then(state, removeOp(state, recovery.sign, admin.id, at(2))));
		expect(s.members.has(admin.id)).toBe(false);
	});

	it('refuses a remove without the epoch bump, or with a jump', () => {
		const { admin, reader, state } = withReader();
		const op = removeOp(state, admin.sign, reader.id, at(2));
		const { sig: _sig, ...unsigned } = op;
		expectRefused(then(state, signOp({ ...unsigned, epoch: state.epoch }, admin.sign)), 'bad_epoch');
		expectRefused(then(state, signOp({ ...unsigned, epoch: state.epoch + 2 }, admin.sign)), 'bad_epoch');
	});

	it('a reader cannot remove; nobody removes itself; the target must be a member', () => {
		const { admin, reader, state } = withReader();
		expectRefused(then(state, removeOp(state, reader.sign, admin.id, at(2))), 'forbidden');
		expectRefused(then(state, removeOp(state, admin.sign, admin.id, at(2))), 'forbidden');
		expectRefused(then(state, removeOp(state, admin.sign, device().id, at(2))), 'no_such_member');
	});

	it('a removed member can no longer sign ops', () => {
		const { admin, recovery, state } = newVault();
		const second = device();
		let s = ok(then(state, addOp(state, admin.sign, as(second, 'admin'), at(1))));
		s = ok(then(s, removeOp(s, recovery.sign, second.id, at(2))));
		const result = then(s, addOp(s, second.sign, as(device(), 'reader'), at(3)));
		expectRefused(result, 'not_member');
		if (!result.ok) expect(result.error.message).toMatch(/removed/);
	});

	it('a removed id cannot be added again', () => {
		const { admin, reader, state } = withReader();
		const s = ok(then(state, removeOp(state, admin.sign, reader.id, at(2))));
		expectRefused(then(s, addOp(s, admin.sign, as(reader, 'reader'), at(3))), 'removed_id');
		expectRefused(then(s, addOp(s, admin.sign, as(reader, 'admin'), at(3))), 'removed_id');
	});
});

describe('time', () => {
	it('refuses an op from the future and one dated well before its predecessor', () => {
		const { admin, state } = newVault();
		const future = addOp(state, admin.sign, as(device(), 'reader'), new Date(NOW.getTime() + MAX_CLOCK_SKEW_MS + 1000));
		expectRefused(then(state, future), 'bad_time');
		const early = addOp(state, admin.sign, as(device(), 'reader'), at(-11));
		expectRefused(then(state, early), 'bad_time');
		ok(then(state, addOp(state, admin.sign, as(device(), 'reader'), at(-9)))); // within the skew
	});

	it('acceptOps wants fresh ops; replay of old ones does not', () => {
		const admin = device();
		const recovery = device();
		const vault = toBase64url(randomBytes(16));
		const { ops } = createVault({ vault, vaultKey: randomBytes(32), creator: admin, recovery, at: at(0) });
		ok(acceptOps(null, ops, at(1)));
		expectRefused(acceptOps(null, ops, at(30)), 'stale', 0);
		ok(replayMembership(ops, at(30)));
	});
});

describe('roles over epochs', () => {
	it('canWrite, canAdminister, isMember and memberAt follow roles and epochs', () => {
		const { admin, recovery, state } = newVault();
		const reader = device();
		const second = device();
		let s = ok(then(state, addOp(state, admin.sign, as(reader, 'reader'), at(1))));
		s = ok(then(s, addOp(s, admin.sign, as(second, 'admin'), at(1))));
		s = ok(then(s, removeOp(s, admin.sign, second.id, at(2))));
		expect(canWrite(s, admin.id)).toBe(true);
		expect(canWrite(s, reader.id)).toBe(false);
		expect(canWrite(s, recovery.id)).toBe(false);
		expect(canAdminister(s, recovery.id)).toBe(true);
		expect(canAdminister(s, reader.id)).toBe(false);
		expect(isMember(s, reader.id, NOW)).toBe(true);
		expect(isMember(s, second.id, NOW)).toBe(false);
		// The removed admin wrote and administered during epoch 0, not after.
		expect(canWrite(s, second.id, 0)).toBe(true);
		expect(canWrite(s, second.id, 1)).toBe(false);
		expect(memberAt(s, second.id, 0)?.role).toBe('admin');
		expect(memberAt(s, second.id, 1)).toBeUndefined();
		expect(memberAt(s, admin.id, 2)).toBeUndefined(); // no such epoch yet
	});
});

describe('lockboxes', () => {
	it('createVault seals the epoch-0 key to the creator and the recovery key', () => {
		const { admin, recovery, key, lockboxes, state } = newVault();
		expect(lockboxes.map((l) => l.recipient).sort()).toEqual([admin.id, recovery.id].sort());
		for (const lockbox of lockboxes) expect(verifyLockbox(state, lockbox)).toBe(true);
		const mine = lockboxes.find((l) => l.recipient === admin.id)!;
		const theirs = lockboxes.find((l) => l.recipient === recovery.id)!;
		expect(openLockbox(mine, admin.box)).toEqual(key);
		expect(openLockbox(theirs, recovery.box)).toEqual(key);
		expect(() => openLockbox(mine, recovery.box)).toThrow(CryptoError);
	});

	it('refuses a lockbox signed by a non-member or by a reader', () => {
		const { admin, vault, state } = newVault();
		const outsider = device();
		const forged = makeLockbox(outsider.sign, vault, 0, admin.ref, randomBytes(32));
		expect(verifyLockbox(state, forged)).toBe(false);
		const reader = device();
		const s = ok(then(state, addOp(state, admin.sign, as(reader, 'reader'), at(1))));
		expect(verifyLockbox(s, makeLockbox(reader.sign, vault, 0, admin.ref, randomBytes(32)))).toBe(false);
	});

	it('refuses a relay-made lockbox: its own key sealed under an admin name', () => {
		const { admin, lockboxes, state } = newVault();
		const genuine = lockboxes.find((l) => l.recipient === admin.id)!;
		const relayKey = randomBytes(32);
		const sealed = toBase64url(seal(admin.box.publicKey, relayKey));
		// Every field looks right; the signature is copied from a genuine lockbox.
		const madeUp: Lockbox = { ...genuine, sealed };
		expect(verifyLockbox(state, madeUp)).toBe(false);
		// It opens (sealing needs only a public key): verification is what stops it.
		expect(openLockbox(madeUp, admin.box)).toEqual(relayKey);
		expect(verifyLockbox(state, { ...genuine, sig: toBase64url(randomBytes(64)) })).toBe(false);
	});

	it('refuses a lockbox for another vault, a future epoch, or a non-member recipient', () => {
		const { admin, vault, key, state } = newVault();
		const other = toBase64url(randomBytes(16));
		expect(verifyLockbox(state, makeLockbox(admin.sign, other, 0, admin.ref, key))).toBe(false);
		expect(verifyLockbox(state, makeLockbox(admin.sign, vault, 1, admin.ref, key))).toBe(false);
		expect(verifyLockbox(state, makeLockbox(admin.sign, vault, 0, device().ref, key))).toBe(false);
	});

	it('a lockbox signed by an admin since removed still verifies for its epoch', () => {
		const { admin, recovery, vault, key, state } = newVault();
		const reader = device();
		let s = ok(then(state, addOp(state, admin.sign, as(reader, 'reader'), at(1))));
		const old = makeLockbox(admin.sign, vault, 0, reader.ref, key);
		s = ok(then(s, removeOp(s, recovery.sign, admin.id, at(2))));
		expect(verifyLockbox(s, old)).toBe(true);
		expect(verifyLockbox(s, makeLockbox(admin.sign, vault, 1, reader.ref, randomBytes(32)))).toBe(false);
	});
});

describe('rotation and key history', () => {
	it('three rotations: every old key opens from the newest; removed members get no new lockbox', () => {
		const v = newVault();
		const readers = [device(), device(), device()];
		const keeper = device();
		let s = v.state;
		for (const r of [...readers, keeper]) s = ok(then(s, addOp(s, v.admin.sign, as(r, 'reader'), at(1))));
		const keys = [v.key];
		const history: KeyHistory[] = [];
		let lastLockboxes: Lockbox[] = [];
		for (const [i, r] of readers.entries()) {
			const rotation = removeMember(s, v.admin.sign, r.id, keys[i], at(2 + i));
			s = ok(acceptOps(s, [rotation.op], at(2 + i)));
			expect(s.epoch).toBe(i + 1);
			expect(rotation.lockboxes.every((l) => verifyLockbox(s, l) && l.epoch === i + 1)).toBe(true);
			expect(verifyKeyHistory(s, rotation.history)).toBe(true);
			const recipients = rotation.lockboxes.map((l) => l.recipient);
			expect(recipients).not.toContain(r.id);
			expect(recipients.sort()).toEqual([...s.members.keys()].sort());
			keys.push(rotation.vaultKey);
			history.push(rotation.history);
			lastLockboxes = rotation.lockboxes;
		}
		const newest = openLockbox(lastLockboxes.find((l) => l.recipient === keeper.id)!, keeper.box);
		expect(newest).toEqual(keys[3]);
		const opened = unwrapHistory(s, { epoch: 3, key: newest }, [...history].reverse());
		expect([...opened.keys()].sort()).toEqual([0, 1, 2, 3]);
		for (let e = 0; e <= 3; e++) expect(opened.get(e)).toEqual(keys[e]);
		// A gap stops the walk; a forged entry is ignored.
		const outsider = device();
		const forged = wrapPreviousKey({ vault: v.vault, epoch: 2, key: keys[2], previousKey: randomBytes(32), signer: outsider.sign });
		expect(verifyKeyHistory(s, forged)).toBe(false);
		const gapped = unwrapHistory(s, { epoch: 3, key: newest }, [history[0], forged, history[2]]);
		expect([...gapped.keys()].sort()).toEqual([2, 3]);
	});

	it('the recovery key rotates after restoring: remove the lost device, reseal to the rest', () => {
		const v = newVault();
		const replacement = device();
		let s = ok(then(v.state, addOp(v.state, v.recovery.sign, as(replacement, 'admin'), at(1))));
		const rotation = removeMember(s, v.recovery.sign, v.admin.id, v.key, at(2));
		s = ok(acceptOps(s, [rotation.op], at(2)));
		const box = rotation.lockboxes.find((l) => l.recipient === replacement.id)!;
		expect(verifyLockbox(s, box)).toBe(true);
		const key = openLockbox(box, replacement.box);
		expect(unwrapHistory(s, { epoch: 1, key }, [rotation.history]).get(0)).toEqual(v.key);
		expect(rotation.lockboxes.some((l) => l.recipient === v.admin.id)).toBe(false);
	});

	it('spent and expired invites get no lockbox on rotation', () => {
		const v = newVault();
		const spent = device();
		const expired = device();
		const pending = device();
		const reader = device();
		const invite = (d: Device, minutes: number): OpMember => ({
			...d.ref,
			role: 'invite',
			grants: 'reader',
			expires: at(minutes).toISOString()
		});
		let s = v.state;
		for (const [d, minutes] of [
			[spent, 60],
			[expired, 3],
			[pending, 600]
		] as const) {
			s = ok(then(s, addOp(s, v.admin.sign, invite(d, minutes), at(1))));
		}
		s = ok(then(s, addOp(s, spent.sign, as(reader, 'reader'), at(2))));
		const rotation = removeMember(s, v.admin.sign, v.recovery.id, v.key, at(10));
		expect(rotation.lockboxes.map((l) => l.recipient).sort()).toEqual([v.admin.id, pending.id, reader.id].sort());
	});

	it('history for another vault or signed by a reader is refused', () => {
		const v = newVault();
		const reader = device();
		const s = ok(then(v.state, addOp(v.state, v.admin.sign, as(reader, 'reader'), at(1))));
		const rotation = removeMember(s, v.admin.sign, v.recovery.id, v.key, at(2));
		const s1 = ok(then(s, rotation.op));
		const byReader = wrapPreviousKey({ vault: v.vault, epoch: 1, key: rotation.vaultKey, previousKey: v.key, signer: reader.sign });
		expect(verifyKeyHistory(s1, byReader)).toBe(false);
		expect(verifyKeyHistory(s1, { ...rotation.history, vault: toBase64url(randomBytes(16)) })).toBe(false);
		expect(unwrapHistory(s1, { epoch: 1, key: rotation.vaultKey }, [byReader]).has(0)).toBe(false);
		// The right entry with the wrong newest key opens nothing older.
		expect([...unwrapHistory(s1, { epoch: 1, key: randomBytes(32) }, [rotation.history]).keys()]).toEqual([1]);
	});
});
