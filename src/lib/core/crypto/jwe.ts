/**
 * SMART Health Link files (JWE compact, `alg: dir`, `enc: A256GCM`) and the few WebCrypto
 * primitives sharing needs (HKDF-SHA256, SHA-256, random keys).
 *
 * This file is imported directly by the professional's viewer, which must not load libsodium:
 * it depends on jose and WebCrypto only and must never import `./index` (which loads
 * libsodium) or `./sodium`. `./errors` is plain TypeScript and safe.
 */
import { CompactEncrypt, base64url, compactDecrypt, decodeProtectedHeader } from 'jose';
import { CryptoError, expectBytes, expectLength } from './errors';

/** Bytes of an SHL file key (A256GCM with `alg: dir` uses the key as the content key). */
export const FILE_KEY_BYTES = 32;

/**
 * Largest plaintext a `zip: DEF` file may inflate to. A few kilobytes of DEFLATE can expand to
 * gigabytes (a zip bomb); 64 MiB is far above any health summary with documents inline.
 */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

const HKDF_MAX_BYTES = 255 * 32; // RFC 5869: L <= 255 * HashLen
const encoder = new TextEncoder();

/**
 * WebCrypto's TypeScript types take only ArrayBuffer-backed views; a Uint8Array may sit on a
 * SharedArrayBuffer in principle, so copy in that (never seen in practice) case.
 */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
	return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function subtle(): SubtleCrypto {
	const s = globalThis.crypto?.subtle;
	// WebCrypto's subtle API exists only in secure contexts (https, localhost) and Node >= 15.
	if (!s) throw new CryptoError('unsupported', 'WebCrypto is not available (not a secure context?)');
	return s;
}

/**
 * Encrypts one SHL file: JWE compact with the protected header `{alg: "dir", enc: "A256GCM",
 * cty: contentType}`. jose draws a fresh 96-bit IV for each call, so encrypting the same file
 * twice with the same link key never reuses a nonce. Never compressed (`zip`): compressing
 * before encrypting can leak content through the length, and the contract forbids it.
 */
export async function encryptFile(plaintext: Uint8Array, key: Uint8Array, contentType: string): Promise<string> {
	expectBytes(plaintext, 'encryptFile: plaintext');
	expectLength(key, FILE_KEY_BYTES, 'encryptFile: key');
	if (typeof contentType !== 'string' || contentType.length === 0) {
		throw new CryptoError('bad_input', 'encryptFile: contentType must be a non-empty string');
	}
	return new CompactEncrypt(plaintext)
		.setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: contentType })
		.encrypt(key);
}

/** Bytes of an A256GCM initialisation vector (JWA: 96 bits). */
export const JWE_IV_BYTES = 12;
/** Bytes of an A256GCM authentication tag (JWA: 128 bits). */
export const JWE_TAG_BYTES = 16;

/**
 * The same file as `encryptFile`, but as the binary segments of its compact JWE rather than
 * their base64url text: `protectedHeader` (the first part, base64url as it is signed), `iv`
 * (12 bytes) and `sealed` = ciphertext ‖ tag (16 bytes). The compact JWE is
 * `<protectedHeader>..<b64u(IV)>.<b64u(ciphertext)>.<b64u(tag)>` (`alg: dir`: no encrypted
 * key), byte for byte what encryptFile would make with that IV. For uploads, where encoding
 * megabytes to text only to have the relay decode them again costs time and a third more bytes.
 * `sealed` is what WebCrypto returns, so the caller copies the megabytes once, into its body.
 */
export async function encryptFileSegments(
	plaintext: Uint8Array,
	key: Uint8Array,
	contentType: string
): Promise<{ protectedHeader: string; iv: Uint8Array; sealed: Uint8Array }> {
	expectBytes(plaintext, 'encryptFile: plaintext');
	expectLength(key, FILE_KEY_BYTES, 'encryptFile: key');
	if (typeof contentType !== 'string' || contentType.length === 0) {
		throw new CryptoError('bad_input', 'encryptFile: contentType must be a non-empty string');
	}
	// The header jose writes for encryptFile, in the same key order.
	const protectedHeader = base64url.encode(JSON.stringify({ alg: 'dir', enc: 'A256GCM', cty: contentType }));
	const s = subtle();
	const cek = await s.importKey('raw', own(key), 'AES-GCM', false, ['encrypt']);
	const iv = globalThis.crypto.getRandomValues(new Uint8Array(JWE_IV_BYTES));
	const sealed = await s.encrypt(
		{ name: 'AES-GCM', iv, additionalData: encoder.encode(protectedHeader), tagLength: JWE_TAG_BYTES * 8 },
		cek,
		own(plaintext)
	);
	return { protectedHeader, iv, sealed: new Uint8Array(sealed) };
}

/**
 * Decrypts one SHL file made by any producer. Accepts `zip: "DEF"` (raw DEFLATE, inflated to at
 * most MAX_INFLATED_BYTES) and a missing `cty` (`contentType` is then undefined); surrounding
 * whitespace is ignored (files served as text often end with a newline).
 *
 * Throws CryptoError: `unsupported` for an `alg` other than `dir`, an `enc` other than
 * `A256GCM`, an unknown `zip` or `crit`; `decrypt_failed` for a wrong key or tampered data;
 * `bad_input` for something that is not a compact JWE, a key that is not 32 bytes, or a
 * compressed plaintext that does not inflate or inflates past the cap.
 */
export async function decryptFile(
	jwe: string,
	key: Uint8Array
): Promise<{ contentType?: string; plaintext: Uint8Array }> {
	if (typeof jwe !== 'string') throw new CryptoError('bad_input', 'decryptFile: jwe must be a string');
	expectLength(key, FILE_KEY_BYTES, 'decryptFile: key');
	const compact = jwe.trim();
	// decodeProtectedHeader also reads a JWS (3 parts): insist on the JWE's 5.
	if (compact.split('.').length !== 5) throw new CryptoError('bad_input', 'decryptFile: not a compact JWE');
	let header: Record<string, unknown>;
	try {
		header = decodeProtectedHeader(compact) as Record<string, unknown>;
	} catch {
		throw new CryptoError('bad_input', 'decryptFile: not a compact JWE');
	}
	// Checked here, before jose, to give a message that names the problem: SHL allows only these.
	if (header.alg !== 'dir') throw new CryptoError('unsupported', 'decryptFile: JWE alg must be "dir"');
	if (header.enc !== 'A256GCM') throw new CryptoError('unsupported', 'decryptFile: JWE enc must be "A256GCM"');
	if (header.zip !== undefined && header.zip !== 'DEF') {
		throw new CryptoError('unsupported', 'decryptFile: JWE zip must be "DEF" or absent');
	}
	let result;
	try {
		// jose 6 still inflates zip:DEF itself (DecompressionStream 'deflate-raw', in Node >= 20.12
		// and current browsers) and stops at maxDecompressedLength, so no hand-made AES-GCM path.
		result = await compactDecrypt(compact, key, {
			keyManagementAlgorithms: ['dir'],
			contentEncryptionAlgorithms: ['A256GCM'],
			maxDecompressedLength: MAX_INFLATED_BYTES
		});
	} catch (error) {
		throw joseToCryptoError(error);
	}
	const cty = result.protectedHeader.cty;
	return {
		...(typeof cty === 'string' && cty.length > 0 ? { contentType: cty } : {}),
		plaintext: result.plaintext
	};
}

/** Maps jose's error classes (by their stable `code`) onto ours, without jose's messages. */
function joseToCryptoError(error: unknown): CryptoError {
	const code = (error as { code?: unknown } | null)?.code;
	switch (code) {
		case 'ERR_JWE_DECRYPTION_FAILED':
			return new CryptoError('decrypt_failed', 'decryptFile: wrong key or tampered file');
		case 'ERR_JOSE_NOT_SUPPORTED':
		case 'ERR_JOSE_ALG_NOT_ALLOWED':
			return new CryptoError('unsupported', 'decryptFile: unsupported JWE feature');
		case 'ERR_JWE_INVALID': {
			const message = error instanceof Error ? error.message : '';
			if (/decompress/i.test(message)) {
				return new CryptoError('bad_input', 'decryptFile: compressed plaintext does not inflate within the size cap');
			}
			return new CryptoError('bad_input', 'decryptFile: malformed JWE');
		}
		default:
			return new CryptoError('bad_input', 'decryptFile: malformed JWE');
	}
}

/**
 * HKDF-SHA256 (RFC 5869) via WebCrypto: `length` bytes (1..8160, whole bytes) from `ikm`, with
 * `info` as a string (UTF-8 encoded, the usual case: a purpose label) or raw bytes, and `salt`
 * (default empty, which RFC 5869 reads as HashLen zero bytes).
 */
export async function hkdfSha256(
	ikm: Uint8Array,
	info: string | Uint8Array,
	length: number,
	salt: Uint8Array = new Uint8Array(0)
): Promise<Uint8Array> {
	expectBytes(ikm, 'hkdfSha256: ikm');
	expectBytes(salt, 'hkdfSha256: salt');
	if (!Number.isInteger(length) || length < 1 || length > HKDF_MAX_BYTES) {
		throw new CryptoError('bad_input', `hkdfSha256: length must be an integer in [1, ${HKDF_MAX_BYTES}]`);
	}
	let infoBytes: Uint8Array;
	if (typeof info === 'string') infoBytes = encoder.encode(info);
	else {
		expectBytes(info, 'hkdfSha256: info');
		infoBytes = info;
	}
	const s = subtle();
	const baseKey = await s.importKey('raw', own(ikm), 'HKDF', false, ['deriveBits']);
	const bits = await s.deriveBits(
		{ name: 'HKDF', hash: 'SHA-256', salt: own(salt), info: own(infoBytes) },
		baseKey,
		length * 8
	);
	return new Uint8Array(bits);
}

/** SHA-256 of `bytes` (32 bytes), via WebCrypto. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
	expectBytes(bytes, 'sha256: input');
	return new Uint8Array(await subtle().digest('SHA-256', own(bytes)));
}

/** A fresh 32-byte key (an SHL link key) from the platform CSPRNG. */
export function randomKey(): Uint8Array {
	return globalThis.crypto.getRandomValues(new Uint8Array(FILE_KEY_BYTES));
}
