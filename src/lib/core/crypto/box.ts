/**
 * X25519 sealed boxes (crypto_box_seal): anonymous public-key encryption. Used to hand a
 * vault epoch key to each member device (a lockbox) and for contributions to a vault's inbox;
 * the sender needs only the recipient's public key and keeps no state.
 */
import { CryptoError, expectBytes, expectLength } from './errors';
import { lib } from './sodium';

/** An X25519 key pair; `privateKey` never leaves the device unwrapped. */
export type BoxKeyPair = { publicKey: Uint8Array; privateKey: Uint8Array };

const SEED_BYTES = 32;
const PUBLIC_KEY_BYTES = 32;
const PRIVATE_KEY_BYTES = 32;
const SEAL_OVERHEAD = 48; // ephemeral public key (32) + tag (16)

/** A random key pair, or the deterministic one for a 32-byte `seed` (recovery keys). */
export function boxKeyPair(seed?: Uint8Array): BoxKeyPair {
	const s = lib();
	if (seed === undefined) {
		const { publicKey, privateKey } = s.crypto_box_keypair();
		return { publicKey, privateKey };
	}
	expectLength(seed, SEED_BYTES, 'boxKeyPair: seed');
	const { publicKey, privateKey } = s.crypto_box_seed_keypair(seed);
	return { publicKey, privateKey };
}

/** Encrypts `msg` so that only the holder of `publicKey`'s private key can open it. */
export function seal(publicKey: Uint8Array, msg: Uint8Array): Uint8Array {
	const s = lib();
	expectLength(publicKey, PUBLIC_KEY_BYTES, 'seal: publicKey');
	expectBytes(msg, 'seal: message');
	return s.crypto_box_seal(msg, publicKey);
}

/** Opens a sealed box; wrong recipient, altered or truncated input throw CryptoError('decrypt_failed'). */
export function openSealed(keyPair: BoxKeyPair, sealed: Uint8Array): Uint8Array {
	const s = lib();
	expectLength(keyPair.publicKey, PUBLIC_KEY_BYTES, 'openSealed: publicKey');
	expectLength(keyPair.privateKey, PRIVATE_KEY_BYTES, 'openSealed: privateKey');
	expectBytes(sealed, 'openSealed: ciphertext');
	if (sealed.length < SEAL_OVERHEAD) throw new CryptoError('decrypt_failed', 'openSealed: ciphertext is too short');
	try {
		return s.crypto_box_seal_open(sealed, keyPair.publicKey, keyPair.privateKey);
	} catch {
		throw new CryptoError('decrypt_failed', 'openSealed: not sealed to this key pair, or altered');
	}
}
