/**
 * Vault keys per epoch (docs/SYNC.md, "Keys per epoch"): lockboxes hand one epoch's key to
 * one member, key history entries chain each epoch's key to the previous one. Both are
 * signed, and a device trusts them only when the signer was an admin or the recovery key
 * at that epoch: a relay cannot slip a device a key of its own making.
 */
import {
	CryptoError,
	decrypt,
	encrypt,
	fromBase64url,
	openSealed,
	seal,
	toBase64url,
	type BoxKeyPair,
	type SignKeyPair
} from '../crypto';
import { VAULT_KEY_BYTES, type KeyHistory, type Lockbox } from '../protocol';
import { canAdminister, memberAt, memberId, type MembershipState } from './membership';
import { DOMAINS, associatedData, signObject, verifyObject } from './signing';

/** Who a lockbox is for: a member id and its X25519 public key (base64url), as in its op. */
export interface MemberRef {
	readonly id: string;
	readonly box: string;
}

/** A member's public keys as key pairs carry them (device keys, `recoveryKeys(phrase)`). */
export interface MemberKeys {
	readonly sign: { readonly publicKey: Uint8Array };
	readonly box: { readonly publicKey: Uint8Array };
}

/** The id and box key of a member, as ops and lockboxes name them. */
export function memberRef(keys: MemberKeys): MemberRef {
	return { id: memberId(keys.sign.publicKey), box: toBase64url(keys.box.publicKey) };
}

/** Seals `vaultKey` (the key of `epoch`) to `recipient`, signed by `signer`. */
export function makeLockbox(
	signer: SignKeyPair,
	vault: string,
	epoch: number,
	recipient: MemberRef,
	vaultKey: Uint8Array
): Lockbox {
	expectVaultKey(vaultKey, 'makeLockbox');
	const sealed = toBase64url(seal(fromBase64url(recipient.box), vaultKey));
	return signObject(
		DOMAINS.lockbox,
		{ v: 1 as const, vault, epoch, recipient: recipient.id, sealed, by: memberId(signer.publicKey) },
		signer
	);
}

/**
 * True when the lockbox belongs to this vault, its signer was an admin or the recovery key
 * and its recipient a member during its epoch, and the signature holds. It cannot tell what
 * was sealed: that only the recipient learns, by opening it.
 */
export function verifyLockbox(state: MembershipState, lockbox: Lockbox): boolean {
	return (
		lockbox.vault === state.vault &&
		canAdminister(state, lockbox.by, lockbox.epoch) &&
		memberAt(state, lockbox.recipient, lockbox.epoch) !== undefined &&
		verifyObject(DOMAINS.lockbox, lockbox, lockbox.by)
	);
}

/**
 * The vault key in a lockbox sealed to `keyPair`. Check it with `verifyLockbox` first.
 * Throws CryptoError('decrypt_failed') if it is not sealed to this key pair, altered, or
 * does not hold a vault key.
 */
export function openLockbox(lockbox: Lockbox, keyPair: BoxKeyPair): Uint8Array {
	const key = openSealed(keyPair, fromBase64url(lockbox.sealed));
	if (key.length !== VAULT_KEY_BYTES) {
		key.fill(0);
		throw new CryptoError('decrypt_failed', 'openLockbox: the lockbox does not hold a vault key');
	}
	return key;
}

/** The history entry wrapping `previousKey` (epoch - 1) under `key` (epoch), signed by the rotating member. */
export function wrapPreviousKey(params: {
	vault: string;
	epoch: number;
	key: Uint8Array;
	previousKey: Uint8Array;
	signer: SignKeyPair;
}): KeyHistory {
	const { vault, epoch, key, previousKey, signer } = params;
	expectVaultKey(previousKey, 'wrapPreviousKey');
	const entry = { v: 1 as const, vault, epoch, by: memberId(signer.publicKey) };
	const wrapped = encrypt(key, previousKey, associatedData(DOMAINS.keyHistory, entry, 'wrapped'));
	return signObject(DOMAINS.keyHistory, { ...entry, wrapped: toBase64url(wrapped) }, signer);
}

/** True when the entry belongs to this vault, its signer was an admin or the recovery key at its epoch, and the signature holds. */
export function verifyKeyHistory(state: MembershipState, entry: KeyHistory): boolean {
	return (
		entry.vault === state.vault &&
		canAdminister(state, entry.by, entry.epoch) &&
		verifyObject(DOMAINS.keyHistory, entry, entry.by)
	);
}

/**
 * Every epoch key reachable from `newest` through `entries`: newest.epoch -> its key, then
 * each older epoch down to the first gap. Entries that do not verify are ignored, and one that
 * verifies but does not open ends the walk, so a caller learns which epochs it can read by
 * which keys the map holds. The map holds `newest.key` itself, not a copy.
 */
export function unwrapHistory(
	state: MembershipState,
	newest: { epoch: number; key: Uint8Array },
	entries: readonly KeyHistory[]
): Map<number, Uint8Array> {
	const byEpoch = new Map<number, KeyHistory>();
	for (const entry of entries) {
		if (!byEpoch.has(entry.epoch) && verifyKeyHistory(state, entry)) byEpoch.set(entry.epoch, entry);
	}
	const keys = new Map([[newest.epoch, newest.key]]);
	let key = newest.key;
	for (let epoch = newest.epoch; epoch > 0; epoch--) {
		const entry = byEpoch.get(epoch);
		if (entry === undefined) break;
		let previous: Uint8Array;
		try {
			previous = decrypt(key, fromBase64url(entry.wrapped), associatedData(DOMAINS.keyHistory, entry, 'wrapped'));
		} catch (e) {
			if (e instanceof CryptoError) break;
			throw e;
		}
		if (previous.length !== VAULT_KEY_BYTES) break;
		keys.set(epoch - 1, previous);
		key = previous;
	}
	return keys;
}

function expectVaultKey(key: Uint8Array, what: string): void {
	if (!(key instanceof Uint8Array) || key.length !== VAULT_KEY_BYTES) {
		throw new CryptoError('bad_input', `${what}: a vault key must be ${VAULT_KEY_BYTES} bytes`);
	}
}
