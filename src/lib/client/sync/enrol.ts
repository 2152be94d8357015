/**
 * Adding this device to records through the relay: with an invitation link (a new phone of
 * the patient, or another record for a phone already set up), or with the recovery key (a
 * new phone restored from the phrase, a device re-keyed by `recover`). Every record is read
 * and checked before any is changed, so a refused link adds the device nowhere.
 */
import { memberId, memberRef, inviteKeys, removeMember, type Invite, type MembershipState } from '../../core/sync';
import { InviteExpiredError, InviteUsedError, RelayError } from '../errors';
import { addDevice, extendChain, fetchChain, fetchKeys, retryOnConflict, type Chain, type Identity } from './chain';
import type { RelaySocket } from './socket';
import { emptyState, type SyncState } from './store';

/** Who may add the device to which record: an invitation key, or the recovery key. */
export interface Grant {
	readonly vaultId: string;
	readonly signer: Identity;
}

/** A record the device is now a member of: its verified chain and every key it can read. */
export interface Joined {
	readonly vaultId: string;
	readonly chain: Chain;
	readonly keys: Map<number, Uint8Array>;
}

/**
 * Authenticates every invitation of `invite` on `socket` and returns the grants. A refused
 * invitation is `invite_expired` past its expiry by this device's clock, else `invite_used`
 * (the relay refuses spent, expired and unknown invitations alike).
 */
export async function authInvites(socket: RelaySocket, invite: Invite): Promise<Grant[]> {
	const grants = invite.vaults.map((vaultId, i): Grant => {
		const keys = inviteKeys(invite.seed, i);
		return { vaultId, signer: { id: memberId(keys.sign.publicKey), ...keys } };
	});
	for (const { vaultId, signer } of grants) {
		try {
			await socket.auth(signer.sign, vaultId);
		} catch (error) {
			if (!(error instanceof RelayError && error.code === 'not_member')) throw error;
			throw Date.now() >= invite.expires.getTime() ? new InviteExpiredError() : new InviteUsedError();
		}
	}
	return grants;
}

/**
 * Adds `device` (authenticated on `socket`) to every record of `grants`: reads each chain
 * and the keys its signer can open, then appends the `add` ops, with the role an invitation
 * grants (`admin` for the recovery key), and the device's own lockboxes when it becomes an
 * admin (addDevice). A record that already lists the device is only read.
 */
export async function joinVaults(socket: RelaySocket, device: Identity, grants: readonly Grant[]): Promise<Joined[]> {
	const read: (Grant & { chain: Chain; keys: Map<number, Uint8Array> })[] = [];
	for (const grant of grants) {
		const chain = await fetchChain(socket, grant.vaultId);
		const keys = await fetchKeys(socket, chain, grant.signer);
		read.push({ ...grant, chain, keys });
	}
	const joined: Joined[] = [];
	for (const { vaultId, signer, chain, keys } of read) {
		if (chain.state.members.has(device.id)) {
			for (const [epoch, key] of await fetchKeys(socket, chain, device)) keys.set(epoch, key);
			joined.push({ vaultId, chain, keys });
			continue;
		}
		const invite = chain.state.members.get(signer.id);
		const role = invite?.role === 'invite' ? invite.grants : 'admin';
		joined.push({ vaultId, ...(await addDevice(socket, chain, keys, signer, { ...memberRef(device), sign: device.sign }, role)) });
	}
	return joined;
}

/**
 * Removes `retired` (a device key this device replaced: `recover`) from a record it just
 * joined, signed by the recovery key; the new epoch's key goes to every remaining member.
 * Returns the record with the chain and keys after the rotation.
 */
export async function retireDevice(socket: RelaySocket, record: Joined, recovery: Identity, retired: string): Promise<Joined> {
	let { chain } = record;
	const keys = new Map(record.keys);
	if (!chain.state.members.has(retired)) return record;
	await retryOnConflict(
		async () => {
			const rotation = removeMember(chain.state, recovery.sign, retired, keys.get(chain.state.epoch)!, new Date());
			await socket.request({ type: 'rotate', vault: record.vaultId, op: rotation.op, lockboxes: rotation.lockboxes, history: rotation.history }, 'ok');
			keys.set(rotation.op.epoch, rotation.vaultKey);
			chain = extendChain(chain, [rotation.op]);
		},
		async () => {
			chain = await fetchChain(socket, record.vaultId, chain);
			for (const [epoch, key] of await fetchKeys(socket, chain, recovery)) if (!keys.has(epoch)) keys.set(epoch, key);
		}
	);
	return { vaultId: record.vaultId, chain, keys };
}

/** The sync state a record just joined starts from, and when it was created (op 0), which orders it. */
export function joinedState(author: string, joined: Joined): { createdAt: number; state: SyncState } {
	return {
		createdAt: Date.parse(joined.chain.ops[0].at),
		state: { ...emptyState(author), registered: true, ops: [...joined.chain.ops], keys: joined.keys }
	};
}

/** A device's role in a chain it is a member of: a reader's, or else an admin's. */
export function roleIn(state: MembershipState, deviceId: string): 'admin' | 'reader' {
	return state.members.get(deviceId)?.role === 'reader' ? 'reader' : 'admin';
}

/** The recovery key a chain enrols (the first member with role recovery), if any. */
export function recoveryOf(chain: Chain): { id: string; box: string } | undefined {
	for (const member of chain.state.members.values()) if (member.role === 'recovery') return { id: member.id, box: member.box };
	return undefined;
}
