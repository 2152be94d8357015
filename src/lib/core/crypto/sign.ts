/**
 * Ed25519 detached signatures: device identity, signed change batches and the membership
 * chain. `verify` returns a boolean and never throws, because every caller's next step on a
 * bad signature is the same (drop the item), whatever the reason.
 */
import { expectBytes, expectLength } from './errors';
import { lib } from './sodium';

/** An Ed25519 key pair; `privateKey` is libsodium's 64-byte form (seed ‖ public key). */
export type SignKeyPair = { publicKey: Uint8Array; privateKey: Uint8Array };

const SEED_BYTES = 32;
const PUBLIC_KEY_BYTES = 32;
const PRIVATE_KEY_BYTES = 64;
const SIGNATURE_BYTES = 64;

/** A random key pair, or the deterministic one for a 32-byte `seed` (RFC 8032 secret key). */
export function signKeyPair(seed?: Uint8Array): SignKeyPair {
	const s = lib();
	if (seed === undefined) {
		const { publicKey, privateKey } = s.crypto_sign_keypair();
		return { publicKey, privateKey };
	}
	expectLength(seed, SEED_BYTES, 'signKeyPair: seed');
	const { publicKey, privateKey } = s.crypto_sign_seed_keypair(seed);
	return { publicKey, privateKey };
}

/** The 64-byte detached signature of `msg`. */
export function sign(privateKey: Uint8Array, msg: Uint8Array): Uint8Array {
	const s = lib();
	expectLength(privateKey, PRIVATE_KEY_BYTES, 'sign: privateKey');
	expectBytes(msg, 'sign: message');
	return s.crypto_sign_detached(msg, privateKey);
}

/** True only for a valid signature; malformed keys or signatures are simply not valid (false). */
export function verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
	const s = lib();
	if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
	if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES) return false;
	if (!(msg instanceof Uint8Array)) return false;
	try {
		return s.crypto_sign_verify_detached(sig, msg, publicKey);
	} catch {
		return false;
	}
}
