/**
 * Byte encodings shared by every module (keys in JSON, SMART Health Link payloads, ids).
 * base64url and hex go through libsodium's constant-time codecs, since they often carry
 * keys; the UTF-8 helpers and `concatBytes` are plain JS and also work before `ready()`.
 */
import { CryptoError, expectBytes } from './errors';
import { lib } from './sodium';

const encoder = new TextEncoder();
// fatal: reject malformed UTF-8 instead of inventing U+FFFD; ignoreBOM: give back exactly the bytes' text.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Unpadded URL-safe base64 (RFC 4648 section 5), the form used in URLs, QR codes and JWE. */
export function toBase64url(bytes: Uint8Array): string {
	const s = lib();
	expectBytes(bytes, 'toBase64url: input');
	return s.to_base64(bytes, s.base64_variants.URLSAFE_NO_PADDING);
}

/** Strict inverse of `toBase64url`: padding, '+', '/', whitespace or stray bits throw bad_input. */
export function fromBase64url(text: string): Uint8Array {
	const s = lib();
	if (typeof text !== 'string') throw new CryptoError('bad_input', 'fromBase64url: input must be a string');
	try {
		return s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING);
	} catch {
		throw new CryptoError('bad_input', 'fromBase64url: input is not unpadded base64url');
	}
}

/** UTF-8 bytes of a string (the encoding every text input to the crypto functions uses). */
export function utf8Encode(text: string): Uint8Array {
	return encoder.encode(text);
}

/** Text of UTF-8 bytes; malformed UTF-8 throws bad_input rather than decoding to U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
	expectBytes(bytes, 'utf8Decode: input');
	try {
		return decoder.decode(bytes);
	} catch {
		throw new CryptoError('bad_input', 'utf8Decode: input is not valid UTF-8');
	}
}

/** Lower-case hexadecimal. */
export function toHex(bytes: Uint8Array): string {
	const s = lib();
	expectBytes(bytes, 'toHex: input');
	return s.to_hex(bytes);
}

/** Inverse of `toHex` (either case); odd length or non-hex characters throw bad_input. */
export function fromHex(text: string): Uint8Array {
	const s = lib();
	if (typeof text !== 'string' || !HEX.test(text)) {
		throw new CryptoError('bad_input', 'fromHex: input is not an even-length hex string');
	}
	return s.from_hex(text);
}

/** One new array holding `parts` back to back (for framing: nonce ‖ ciphertext, prefixes...). */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
	let length = 0;
	for (const part of parts) {
		expectBytes(part, 'concatBytes: part');
		length += part.length;
	}
	const out = new Uint8Array(length);
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

/**
 * Equality whose running time does not depend on where the first difference is (for MACs,
 * tokens, key fingerprints). Different lengths return false at once: lengths are not secret.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
	const s = lib();
	expectBytes(a, 'constantTimeEqual: a');
	expectBytes(b, 'constantTimeEqual: b');
	return a.length === b.length && s.memcmp(a, b);
}
