/**
 * Passphrase -> key: Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13). The parameters are
 * stored next to what the key wraps, so they are validated on the way back in: a tampered
 * params object must not be able to downgrade the cost to nothing.
 */
import { CryptoError, expectLength } from './errors';
import { utf8Encode } from './encoding';
import { lib, randomBytes } from './sodium';

/** What `newKdfParams` returns and `deriveKey` takes; stored in clear beside the wrapped keys. */
export type KdfParams = { alg: 'argon2id13'; opsLimit: number; memLimit: number; salt: Uint8Array };

/**
 * Default cost: t=3 passes over m=64 MiB (one lane; libsodium is single-threaded). That is
 * RFC 9106's second recommended option minus the lanes, and inside OWASP's Argon2id guidance
 * (m=19-64 MiB, t>=2). ~0.2 s in Node on the development machine, ~0.5-1 s in wasm on a
 * mid-range phone. libsodium's MODERATE (256 MiB) takes ~0.9 s here and several seconds, or
 * an out-of-memory tab, on such a phone.
 */
export const KDF_OPS_LIMIT = 3;
export const KDF_MEM_LIMIT = 64 * 1024 * 1024;

/** Floors enforced on stored params: below these a stolen device's key file is cheap to brute-force. */
export const KDF_MIN_OPS_LIMIT = 1;
export const KDF_MIN_MEM_LIMIT = 8 * 1024 * 1024;

// Ceilings so a tampered params object cannot hang or crash unlock either; far above any phone's budget.
const KDF_MAX_OPS_LIMIT = 16;
const KDF_MAX_MEM_LIMIT = 1024 * 1024 * 1024;

const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Fresh params at the default cost with a new random 16-byte salt (one per wrapped secret). */
export function newKdfParams(): KdfParams {
	return { alg: 'argon2id13', opsLimit: KDF_OPS_LIMIT, memLimit: KDF_MEM_LIMIT, salt: randomBytes(SALT_BYTES) };
}

/**
 * The 32-byte key for `passphrase` under `params`. The passphrase is NFKC-normalised first so
 * the same passphrase typed on another keyboard or OS (composed vs decomposed accents,
 * full-width letters) gives the same key. That normalisation is part of the stored format:
 * changing it would lock every existing user out.
 */
export function deriveKey(passphrase: string, params: KdfParams): Uint8Array {
	const s = lib();
	if (typeof passphrase !== 'string') throw new CryptoError('bad_input', 'deriveKey: passphrase must be a string');
	checkParams(params);
	const password = utf8Encode(passphrase.normalize('NFKC'));
	try {
		return argon2id(password, params.salt, params.opsLimit, params.memLimit, KEY_BYTES);
	} finally {
		s.memzero(password);
	}
}

/**
 * Raw libsodium Argon2id with no cost floor. Not re-exported by index.ts: `deriveKey` is the
 * API; this is the seam the known-answer test uses with libsodium's own vectors, whose
 * binary passwords and small memory sizes `deriveKey` rightly refuses.
 */
export function argon2id(
	password: Uint8Array,
	salt: Uint8Array,
	opsLimit: number,
	memLimit: number,
	length: number
): Uint8Array {
	const s = lib();
	return s.crypto_pwhash(length, password, salt, opsLimit, memLimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

function checkParams(params: KdfParams): void {
	if (typeof params !== 'object' || params === null || params.alg !== 'argon2id13') {
		throw new CryptoError('bad_input', "deriveKey: params.alg must be 'argon2id13'");
	}
	const { opsLimit, memLimit } = params;
	if (!isIntegerIn(opsLimit, KDF_MIN_OPS_LIMIT, KDF_MAX_OPS_LIMIT)) {
		throw new CryptoError(
			'bad_input',
			`deriveKey: params.opsLimit must be an integer in [${KDF_MIN_OPS_LIMIT}, ${KDF_MAX_OPS_LIMIT}]`
		);
	}
	if (!isIntegerIn(memLimit, KDF_MIN_MEM_LIMIT, KDF_MAX_MEM_LIMIT)) {
		throw new CryptoError(
			'bad_input',
			`deriveKey: params.memLimit must be an integer in [${KDF_MIN_MEM_LIMIT}, ${KDF_MAX_MEM_LIMIT}] bytes`
		);
	}
	expectLength(params.salt, SALT_BYTES, 'deriveKey: params.salt');
}

// Number.isSafeInteger also rejects strings, NaN and fractions a tampered JSON object could carry.
function isIntegerIn(value: number, min: number, max: number): boolean {
	return Number.isSafeInteger(value) && value >= min && value <= max;
}

/**
 * Cost of `hashPasscode`: OWASP's minimum for Argon2id (t=2, m=19 MiB, one lane), lighter
 * than the unlock KDF above on purpose. The relay verifies SMART Health Link passcodes on its
 * event loop, where 64 MiB × 3 passes per guess would stall every other request, and a
 * stolen relay database is not where the cost matters most: each link's attempt budget (10
 * by default) caps online guessing, and the link key itself never reaches the relay.
 */
export const PASSCODE_OPS_LIMIT = 2;
export const PASSCODE_MEM_LIMIT = 19 * 1024 * 1024;

/** The one algorithm `verifyPasscode` accepts: a stored string of another kind is refused, not trusted. */
const PASSCODE_PREFIX = '$argon2id$';

/**
 * The storable hash of a link passcode: libsodium's `crypto_pwhash_str` (Argon2id, random
 * salt, parameters inside the string). The passcode is NFKC-normalised like a passphrase, so
 * the same code typed on another keyboard matches.
 */
export function hashPasscode(passcode: string): string {
	const s = lib();
	if (typeof passcode !== 'string') throw new CryptoError('bad_input', 'hashPasscode: passcode must be a string');
	return s.crypto_pwhash_str(utf8Encode(passcode.normalize('NFKC')), PASSCODE_OPS_LIMIT, PASSCODE_MEM_LIMIT);
}

/**
 * True when `passcode` matches `hash` (from `hashPasscode`). A malformed or non-Argon2id
 * hash, or a passcode that is not a string, is simply not a match: false, never a throw.
 */
export function verifyPasscode(hash: string, passcode: string): boolean {
	const s = lib();
	if (typeof hash !== 'string' || !hash.startsWith(PASSCODE_PREFIX) || typeof passcode !== 'string') return false;
	try {
		return s.crypto_pwhash_str_verify(hash, utf8Encode(passcode.normalize('NFKC')));
	} catch {
		return false;
	}
}
