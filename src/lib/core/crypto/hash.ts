/**
 * BLAKE2b: content hashes (attachment addresses, membership chain links), keyed MACs, and
 * subkeys derived from one key for separate purposes (crypto_kdf, BLAKE2b-based), so that
 * one leaked subkey says nothing about its siblings.
 */
import { CryptoError, expectBytes, expectLength } from './errors';
import { lib } from './sodium';

const HASH_MIN_BYTES = 16;
const HASH_MAX_BYTES = 64;
const HASH_KEY_MIN_BYTES = 16;
const HASH_KEY_MAX_BYTES = 64;
const KDF_KEY_BYTES = 32;
const SUBKEY_BYTES = 32;
// libsodium contexts are 8 bytes; printable ASCII keeps "8 characters" and "8 bytes" the same thing.
const CONTEXT = /^[\x20-\x7e]{8}$/;

/** BLAKE2b of `msg`, `length` bytes (16-64), keyed by `key` (16-64 bytes) when given. */
export function hash(msg: Uint8Array, key?: Uint8Array, length = 32): Uint8Array {
	const s = lib();
	expectBytes(msg, 'hash: message');
	if (!Number.isInteger(length) || length < HASH_MIN_BYTES || length > HASH_MAX_BYTES) {
		throw new CryptoError('bad_input', `hash: length must be an integer in [${HASH_MIN_BYTES}, ${HASH_MAX_BYTES}]`);
	}
	if (key !== undefined) {
		expectBytes(key, 'hash: key');
		if (key.length < HASH_KEY_MIN_BYTES || key.length > HASH_KEY_MAX_BYTES) {
			throw new CryptoError('bad_input', `hash: key must be ${HASH_KEY_MIN_BYTES}-${HASH_KEY_MAX_BYTES} bytes`);
		}
	}
	return s.crypto_generichash(length, msg, key ?? null);
}

/**
 * Subkey number `id` (a non-negative integer) of a 32-byte `key` for the purpose named by
 * `context`, exactly 8 printable ASCII characters (e.g. 'carnetrk'). 32 bytes out.
 */
export function deriveSubkey(key: Uint8Array, id: number, context: string): Uint8Array {
	const s = lib();
	expectLength(key, KDF_KEY_BYTES, 'deriveSubkey: key');
	if (!Number.isSafeInteger(id) || id < 0) {
		throw new CryptoError('bad_input', 'deriveSubkey: id must be a non-negative integer');
	}
	if (typeof context !== 'string' || !CONTEXT.test(context)) {
		throw new CryptoError('bad_input', 'deriveSubkey: context must be exactly 8 printable ASCII characters');
	}
	// BigInt: the wrapper takes plain numbers only up to 2^31 - 1, ids are 64-bit.
	return s.crypto_kdf_derive_from_key(SUBKEY_BYTES, BigInt(id), context, key);
}

/** An incremental BLAKE2b-256: feed bytes in any slicing, read the digest once. */
export interface Hasher {
	/** Adds the next bytes. */
	update(bytes: Uint8Array): void;
	/** The 32-byte digest; the hasher accepts nothing after. */
	digest(): Uint8Array;
}

/** BLAKE2b-256 over a stream of bytes (a file, a blob): the same digest as `hash(all bytes)`. */
export function createHasher(): Hasher {
	const s = lib();
	const state = s.crypto_generichash_init(null, 32);
	let done = false;
	return {
		update(bytes) {
			if (done) throw new CryptoError('bad_input', 'hasher: update after digest');
			expectBytes(bytes, 'hasher: bytes');
			s.crypto_generichash_update(state, bytes);
		},
		digest() {
			if (done) throw new CryptoError('bad_input', 'hasher: digest twice');
			done = true;
			return s.crypto_generichash_final(state, 32);
		}
	};
}
