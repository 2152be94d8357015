/**
 * Secret-key authenticated encryption: XChaCha20-Poly1305-IETF. Its 24-byte nonce is large
 * enough to draw at random for every message, so no nonce counter has to be kept in step
 * across a patient's devices. Output layout: nonce(24) ‖ ciphertext ‖ tag(16).
 */
import { CryptoError, expectBytes, expectLength } from './errors';
import { lib, randomBytes } from './sodium';

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;

/** Encrypts with a fresh random nonce and prepends it; `ad` is authenticated, not encrypted. */
export function encrypt(key: Uint8Array, plaintext: Uint8Array, ad?: Uint8Array): Uint8Array {
	return encryptWithNonce(key, randomBytes(NONCE_BYTES), plaintext, ad);
}

/**
 * `encrypt` with a caller-chosen nonce. Not re-exported by index.ts: it exists so the
 * draft-irtf-cfrg-xchacha-03 known-answer test can pin the output. Reusing a nonce under
 * one key breaks confidentiality and authenticity.
 */
export function encryptWithNonce(
	key: Uint8Array,
	nonce: Uint8Array,
	plaintext: Uint8Array,
	ad?: Uint8Array
): Uint8Array {
	const s = lib();
	expectLength(key, KEY_BYTES, 'encrypt: key');
	expectLength(nonce, NONCE_BYTES, 'encrypt: nonce');
	expectBytes(plaintext, 'encrypt: plaintext');
	if (ad !== undefined) expectBytes(ad, 'encrypt: associated data');
	const ciphertext = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad ?? null, null, nonce, key);
	const sealed = new Uint8Array(NONCE_BYTES + ciphertext.length);
	sealed.set(nonce);
	sealed.set(ciphertext, NONCE_BYTES);
	return sealed;
}

/**
 * Opens `encrypt`'s output. A wrong key, wrong or missing `ad`, any altered byte or a
 * truncated input all throw the same CryptoError('decrypt_failed'): callers cannot and need
 * not tell them apart.
 */
export function decrypt(key: Uint8Array, sealed: Uint8Array, ad?: Uint8Array): Uint8Array {
	const s = lib();
	expectLength(key, KEY_BYTES, 'decrypt: key');
	expectBytes(sealed, 'decrypt: ciphertext');
	if (ad !== undefined) expectBytes(ad, 'decrypt: associated data');
	if (sealed.length < NONCE_BYTES + TAG_BYTES) {
		throw new CryptoError('decrypt_failed', 'decrypt: ciphertext is too short');
	}
	try {
		return s.crypto_aead_xchacha20poly1305_ietf_decrypt(
			null,
			sealed.subarray(NONCE_BYTES),
			ad ?? null,
			sealed.subarray(0, NONCE_BYTES),
			key
		);
	} catch {
		throw new CryptoError(
			'decrypt_failed',
			'decrypt: authentication failed (wrong key or associated data, or altered ciphertext)'
		);
	}
}
