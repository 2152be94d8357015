/**
 * Reading a vault's membership and keys from the relay, and adding a device to it: the steps
 * shared by the sync engine (refreshes), joining with an invitation, restoring from the
 * recovery phrase and enrolling a re-keyed device. Everything the relay serves is verified
 * with core/sync before it is believed: the chain replays, lockboxes are signed by an
 * administrator of their epoch, history entries likewise.
 */
import { CryptoError, type BoxKeyPair, type SignKeyPair } from '../../core/crypto';
import { MAX_OPS_PER_FRAME, type MembershipOp } from '../../core/protocol';
import {
	addOp,
	canAdminister,
	makeLockbox,
	openLockbox,
	replayMembership,
	unwrapHistory,
	verifyLockbox,
	type MemberRef,
	type MembershipState
} from '../../core/sync';
import { IntegrityError, RelayError } from '../errors';
import type { RelaySocket } from './socket';

/** A verified chain: the ops and the state they replay to. */
export interface Chain {
	readonly ops: readonly MembershipOp[];
	readonly state: MembershipState;
}

/** A key set acting on the relay: this device, an invitation, the recovery key. */
export interface Identity {
	/** Member id: base64url of `sign.publicKey`. */
	readonly id: string;
	readonly sign: SignKeyPair;
	readonly box: BoxKeyPair;
}

/** Attempts at an append that keeps meeting a concurrent membership change. */
const APPEND_ATTEMPTS = 4;

/**
 * The vault's chain: the ops after `known` (all of them without it), fetched page by page and
 * replayed on top of it. Throws IntegrityError('bad_membership') when they do not replay,
 * RelayError when the relay refuses (`not_member`).
 */
export async function fetchChain(socket: RelaySocket, vault: string, known?: Chain): Promise<Chain> {
	let state = known?.state;
	const ops = [...(known?.ops ?? [])];
	for (;;) {
		const since = state === undefined ? 0 : state.index + 1;
		const page = await socket.request({ type: 'membership', vault, since }, 'membership');
		if (page.ops.length === 0) break;
		const replayed = replayMembership(page.ops, new Date(), state);
		if (!replayed.ok) throw new IntegrityError('bad_membership', `the membership chain does not verify: ${replayed.error.reason}`);
		state = replayed.state;
		ops.push(...page.ops);
		if (page.ops.length < MAX_OPS_PER_FRAME) break;
	}
	if (state === undefined) throw new RelayError('not_found', 'the relay has no such vault');
	return { ops, state };
}

/** `chain` with `ops` (just accepted by the relay) replayed on top. */
export function extendChain(chain: Chain, ops: readonly MembershipOp[]): Chain {
	const replayed = replayMembership(ops, new Date(), chain.state);
	if (!replayed.ok) throw new IntegrityError('bad_membership', `the membership chain does not verify: ${replayed.error.reason}`);
	return { ops: [...chain.ops, ...ops], state: replayed.state };
}

/**
 * Every epoch key `recipient` can reach: each verified lockbox sealed to it that opens, and
 * the history below each. Lockboxes that do not verify or open are ignored (a relay cannot
 * make a device adopt a key of its own making); an empty map means none was usable.
 */
export async function fetchKeys(
	socket: RelaySocket,
	chain: Chain,
	recipient: { id: string; box: BoxKeyPair }
): Promise<Map<number, Uint8Array>> {
	const answer = await socket.request({ type: 'keys', vault: chain.state.vault }, 'keys');
	const keys = new Map<number, Uint8Array>();
	const mine = answer.lockboxes
		.filter((lockbox) => lockbox.recipient === recipient.id && verifyLockbox(chain.state, lockbox))
		.sort((a, b) => b.epoch - a.epoch);
	for (const lockbox of mine) {
		if (keys.has(lockbox.epoch)) continue;
		let key: Uint8Array;
		try {
			key = openLockbox(lockbox, recipient.box);
		} catch (e) {
			if (e instanceof CryptoError) continue;
			throw e;
		}
		for (const [epoch, value] of unwrapHistory(chain.state, { epoch: lockbox.epoch, key }, answer.history)) {
			if (!keys.has(epoch)) keys.set(epoch, value);
		}
	}
	return keys;
}

/**
 * Runs `attempt` (a membership change built from the chain as the caller knows it); when
 * the relay answers `conflict` (another change got in first), runs `refresh` and tries again,
 * a few times.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, refresh: () => Promise<void>): Promise<T> {
	for (let round = 1; ; round++) {
		try {
			return await attempt();
		} catch (e) {
			if (!(e instanceof RelayError && e.code === 'conflict') || round === APPEND_ATTEMPTS) throw e;
			await refresh();
		}
	}
}

/**
 * Adds `device` to the vault with `role`, the op signed by `signer` (an invitation, the
 * recovery key or an admin), with a lockbox of the current epoch's key. Who signs the lockbox:
 * the device itself when it becomes an admin and its keys are here (joining: the chain after
 * the op accepts that signature, so it never depends on its signer's key again), else an
 * administering signer (an admin adding its person's other devices). A reader added by an
 * invitation gets none: nobody who may sign one is at hand, and it reads with the keys the
 * invitation handed over (`keys`), then with the lockboxes every rotation seals to it. On a
 * concurrent membership change the chain and keys are fetched again and the add retried.
 * Returns the chain with the device in it and every key known then.
 */
export async function addDevice(
	socket: RelaySocket,
	chain: Chain,
	keys: Map<number, Uint8Array>,
	signer: Identity,
	device: MemberRef & { sign?: SignKeyPair },
	role: 'admin' | 'reader'
): Promise<{ chain: Chain; keys: Map<number, Uint8Array> }> {
	const ref: MemberRef = { id: device.id, box: device.box };
	return retryOnConflict(
		async () => {
			const { state } = chain;
			const key = keys.get(state.epoch);
			if (key === undefined) throw new IntegrityError('no_key', "no usable lockbox for the vault's current epoch");
			const op = addOp(state, signer.sign, { ...ref, role }, new Date());
			const sealer = role === 'admin' && device.sign !== undefined ? device.sign : canAdminister(state, signer.id) ? signer.sign : undefined;
			const lockboxes = sealer === undefined ? [] : [makeLockbox(sealer, state.vault, state.epoch, ref, key)];
			await socket.request({ type: 'append', vault: state.vault, op, lockboxes }, 'ok');
			return { chain: extendChain(chain, [op]), keys };
		},
		async () => {
			chain = await fetchChain(socket, chain.state.vault, chain);
			for (const [epoch, value] of await fetchKeys(socket, chain, signer)) if (!keys.has(epoch)) keys.set(epoch, value);
		}
	);
}
