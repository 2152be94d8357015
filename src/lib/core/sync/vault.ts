/**
 * The two membership changes that move keys: creating a vault (op 0, the recovery key
 * enrolled, their lockboxes) and removing a member (a new epoch key, a lockbox for everyone
 * who stays, the history entry). Each returns exactly what its frame carries.
 */
import { randomBytes, type SignKeyPair } from '../crypto';
import { VAULT_KEY_BYTES, type AddOp, type CreateOp, type KeyHistory, type Lockbox, type RemoveOp } from '../protocol';
import { makeLockbox, memberRef, wrapPreviousKey, type MemberKeys } from './keys';
import { addOp, hashOp, isMember, removeOp, signOp, type MembershipState } from './membership';

/** What a `create` frame carries. */
export interface NewVault {
	ops: [CreateOp, AddOp];
	lockboxes: Lockbox[];
}

/**
 * Registers a vault: op 0 makes the creator its first admin, op 1 enrols the record's
 * recovery key (so the phrase restores it even if this device is lost right after), and
 * the epoch-0 key is sealed to both. `vault` and `vaultKey` may be those of a record made
 * offline earlier; `at` must be now, since the relay refuses stale ops.
 */
export function createVault(params: {
	vault: string;
	vaultKey: Uint8Array;
	creator: MemberKeys & { sign: SignKeyPair };
	recovery: MemberKeys;
	at: Date;
}): NewVault {
	const { vault, vaultKey, creator, recovery, at } = params;
	const signer = creator.sign;
	const admin = memberRef(creator);
	const recoveryMember = memberRef(recovery);
	const create = signOp(
		{ v: 1, vault, index: 0, prev: null, type: 'create', member: { ...admin, role: 'admin' }, epoch: 0, by: admin.id, at: at.toISOString() },
		signer
	);
	const enrol = addOp({ vault, epoch: 0, index: 0, head: hashOp(create) }, signer, { ...recoveryMember, role: 'recovery' }, at);
	return {
		ops: [create, enrol],
		lockboxes: [admin, recoveryMember].map((member) => makeLockbox(signer, vault, 0, member, vaultKey))
	};
}

/** What a `rotate` frame carries, and the new epoch's key for the rotating device to keep. */
export interface Rotation {
	op: RemoveOp;
	lockboxes: Lockbox[];
	history: KeyHistory;
	vaultKey: Uint8Array;
}

/**
 * Removes member `id` and rotates: a fresh key for the next epoch, sealed to every member
 * that may still use the vault (spent and expired invites get none), and the current key
 * (`vaultKey`, of `state.epoch`) wrapped under it so history stays readable.
 */
export function removeMember(
	state: MembershipState,
	signer: SignKeyPair,
	id: string,
	vaultKey: Uint8Array,
	at: Date
): Rotation {
	const op = removeOp(state, signer, id, at);
	const key = randomBytes(VAULT_KEY_BYTES);
	const stay = [...state.members.values()].filter((m) => m.id !== id && isMember(state, m.id, at));
	return {
		op,
		lockboxes: stay.map((member) => makeLockbox(signer, state.vault, op.epoch, member, key)),
		history: wrapPreviousKey({ vault: state.vault, epoch: op.epoch, key, previousKey: vaultKey, signer }),
		vaultKey: key
	};
}
