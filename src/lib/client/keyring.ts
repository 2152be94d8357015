/**
 * Device keys and vault lockboxes: the pure key-handling steps of the facade, kept apart
 * from IndexedDB so each rule (what is wrapped under what, with which associated data) is
 * stated once.
 */
import {
	boxKeyPair,
	CryptoError,
	decrypt,
	deriveKey,
	deriveSubkey,
	encrypt,
	openSealed,
	randomBytes,
	seal,
	signKeyPair,
	toBase64url,
	utf8Decode,
	utf8Encode,
	type BoxKeyPair,
	type SignKeyPair
} from '../core/crypto';
import type { DeviceEntry, Lockbox, LockboxKind, VaultEntry } from './db';
import { SUBKEY_META, VAULT_SUBKEY_CONTEXT } from './storage-adapter';

/** Associated-data prefix of the wrapped device secrets; the device id follows it. */
export const DEVICE_AD = 'carnet/device/v1';
/** Associated-data prefix of a vault's encrypted metadata; the vault id follows it. */
export const VAULT_META_AD = 'carnet/vault-meta/v1/';
/** The epoch of a new vault's key (rotation comes with sync membership). */
export const FIRST_EPOCH = 0;

const SIGN_PRIVATE_BYTES = 64;
const BOX_PRIVATE_BYTES = 32;
const VAULT_KEY_BYTES = 32;
const VAULT_ID_BYTES = 16;

/** This device's key pairs, in memory only while unlocked. */
export interface DeviceKeys {
	deviceId: string;
	sign: SignKeyPair;
	box: BoxKeyPair;
}

/** The display metadata of a vault (encrypted at rest). */
export interface VaultMeta {
	name: string;
	/** ms since the epoch; orders the record picker (encrypted like the name: it is a birth-ish date). */
	createdAt: number;
	/**
	 * Set when this device joined the record as a read-only member. Kept here so that the
	 * role answers synchronously at unlock (a member's role never changes: the chain has no
	 * op for it), for the UI and for refusing a reader's writes before they are stored.
	 */
	role?: 'reader';
}

/** The person this device belongs to (docs/FAMILY.md §1). */
export interface PersonRef {
	id: string;
	name: string;
}

/** A fresh device: new key pairs, and its id (base64url of the Ed25519 public key). */
export function newDeviceKeys(): DeviceKeys {
	const sign = signKeyPair();
	const box = boxKeyPair();
	return { deviceId: toBase64url(sign.publicKey), sign, box };
}

/** The recovery key's public half as the device entry keeps it. */
export type RecoveryRef = Pick<DeviceEntry, 'recoveryRecipient' | 'recoveryId'>;

/**
 * The device entry for `keys`, private keys wrapped under `wrappingKey` (from
 * deriveKey(passphrase, kdf)). The device id is in the associated data so a wrapped blob
 * cannot be paired with another device's public keys.
 */
export function wrapDevice(
	keys: DeviceKeys,
	wrappingKey: Uint8Array,
	kdf: DeviceEntry['kdf'],
	recovery: RecoveryRef
): DeviceEntry {
	const secrets = new Uint8Array(SIGN_PRIVATE_BYTES + BOX_PRIVATE_BYTES);
	secrets.set(keys.sign.privateKey, 0);
	secrets.set(keys.box.privateKey, SIGN_PRIVATE_BYTES);
	const wrapped = encrypt(wrappingKey, secrets, utf8Encode(DEVICE_AD + keys.deviceId));
	secrets.fill(0);
	return {
		v: 1,
		deviceId: keys.deviceId,
		signPublicKey: keys.sign.publicKey,
		boxPublicKey: keys.box.publicKey,
		kdf,
		wrapped,
		recoveryRecipient: recovery.recoveryRecipient,
		...(recovery.recoveryId === undefined ? {} : { recoveryId: recovery.recoveryId })
	};
}

/**
 * Derives the passphrase key and unwraps the device keys, or returns undefined. Every
 * failure (wrong passphrase, tampered entry, tampered KDF params) gives the same undefined so
 * the caller's error cannot tell which part was wrong. The derivation always runs, so a
 * wrong answer costs the attacker the same time as a right one.
 */
export function unwrapDevice(entry: DeviceEntry, passphrase: string): DeviceKeys | undefined {
	let wrappingKey: Uint8Array | undefined;
	let secrets: Uint8Array | undefined;
	try {
		wrappingKey = deriveKey(passphrase, entry.kdf);
		secrets = decrypt(wrappingKey, entry.wrapped, utf8Encode(DEVICE_AD + entry.deviceId));
		if (secrets.length !== SIGN_PRIVATE_BYTES + BOX_PRIVATE_BYTES) return undefined;
		return {
			deviceId: entry.deviceId,
			sign: { publicKey: entry.signPublicKey, privateKey: secrets.slice(0, SIGN_PRIVATE_BYTES) },
			box: { publicKey: entry.boxPublicKey, privateKey: secrets.slice(SIGN_PRIVATE_BYTES) }
		};
	} catch (e) {
		if (e instanceof CryptoError) return undefined;
		throw e;
	} finally {
		wrappingKey?.fill(0);
		secrets?.fill(0);
	}
}

/** Zeroes the private halves of the device keys (the public halves are not secret). */
export function wipeDeviceKeys(keys: DeviceKeys): void {
	keys.sign.privateKey.fill(0);
	keys.box.privateKey.fill(0);
}

/** A new random vault id (128 bits, base64url) and vault key (32 bytes). */
export function newVault(): { vaultId: string; vaultKey: Uint8Array } {
	return { vaultId: toBase64url(randomBytes(VAULT_ID_BYTES)), vaultKey: randomBytes(VAULT_KEY_BYTES) };
}

/** A lockbox: the vault key sealed to one recipient's X25519 public key. */
export function makeLockbox(
	vaultKey: Uint8Array,
	recipientPublicKey: Uint8Array,
	kind: LockboxKind,
	epoch: number = FIRST_EPOCH
): Lockbox {
	return { epoch, recipient: toBase64url(recipientPublicKey), kind, sealed: seal(recipientPublicKey, vaultKey) };
}

/**
 * Opens the newest-epoch lockbox of `entry` sealed to `keyPair`, or undefined when none is
 * addressed to it or it fails to open (tampered: treated as absent, never as a crash).
 */
export function openLockbox(entry: VaultEntry, keyPair: BoxKeyPair): { epoch: number; vaultKey: Uint8Array } | undefined {
	const recipient = toBase64url(keyPair.publicKey);
	const mine = entry.lockboxes.filter((l) => l.recipient === recipient).sort((a, b) => b.epoch - a.epoch);
	for (const lockbox of mine) {
		try {
			const vaultKey = openSealed(keyPair, lockbox.sealed);
			if (vaultKey.length === VAULT_KEY_BYTES) return { epoch: lockbox.epoch, vaultKey };
			vaultKey.fill(0);
		} catch (e) {
			if (!(e instanceof CryptoError)) throw e;
		}
	}
	return undefined;
}

/** Encrypts the vault's display metadata under its own subkey of the vault key. */
export function sealMeta(vaultId: string, vaultKey: Uint8Array, meta: VaultMeta): Uint8Array {
	const key = deriveSubkey(vaultKey, SUBKEY_META, VAULT_SUBKEY_CONTEXT);
	try {
		return encrypt(key, utf8Encode(JSON.stringify(meta)), utf8Encode(VAULT_META_AD + vaultId));
	} finally {
		key.fill(0);
	}
}

/** Decrypts the vault's display metadata; undefined when it fails authentication. */
export function openMeta(vaultId: string, vaultKey: Uint8Array, sealed: Uint8Array): VaultMeta | undefined {
	const key = deriveSubkey(vaultKey, SUBKEY_META, VAULT_SUBKEY_CONTEXT);
	try {
		const parsed = JSON.parse(utf8Decode(decrypt(key, sealed, utf8Encode(VAULT_META_AD + vaultId)))) as unknown;
		if (typeof parsed === 'object' && parsed !== null && typeof (parsed as VaultMeta).name === 'string') {
			const { name, createdAt, role } = parsed as VaultMeta;
			return { name, createdAt: typeof createdAt === 'number' ? createdAt : 0, ...(role === 'reader' ? { role } : {}) };
		}
		return undefined;
	} catch {
		return undefined;
	} finally {
		key.fill(0);
	}
}

/**
 * The device entry's person, sealed to the device's own box key: a person's name is personal
 * data, and nothing in the device store is readable before unlock (db.ts).
 */
export function sealPerson(boxPublicKey: Uint8Array, person: PersonRef): Uint8Array {
	return seal(boxPublicKey, utf8Encode(JSON.stringify({ id: person.id, name: person.name })));
}

/** The person sealed in a device entry, or undefined when absent or unreadable (then the fallback applies). */
export function openPerson(box: BoxKeyPair, sealed: Uint8Array | undefined): PersonRef | undefined {
	if (sealed === undefined) return undefined;
	try {
		const value = JSON.parse(utf8Decode(openSealed(box, sealed))) as { id?: unknown; name?: unknown };
		return typeof value.id === 'string' && typeof value.name === 'string' ? { id: value.id, name: value.name } : undefined;
	} catch (e) {
		if (e instanceof CryptoError || e instanceof SyntaxError) return undefined;
		throw e;
	}
}
