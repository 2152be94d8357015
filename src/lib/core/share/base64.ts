/**
 * base64 and base64url without libsodium (the crypto module's codecs load it, and this module
 * must stay viewer-safe). Not constant-time: fine for link payloads and ids, which the URL
 * already exposes to the device handling them.
 */

const B64URL = /^[A-Za-z0-9_-]*$/;
// A flat character class plus a length check: a grouped pattern backtracks badly on 20 MiB inputs.
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
// btoa/atob work on "binary strings"; String.fromCharCode takes arguments, so feed it slices.
const CHUNK = 0x8000;

function toBinaryString(bytes: Uint8Array): string {
	let out = '';
	for (let i = 0; i < bytes.length; i += CHUNK) {
		out += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
	}
	return out;
}

function fromBinaryString(text: string): Uint8Array {
	const out = new Uint8Array(text.length);
	for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
	return out;
}

/** Unpadded URL-safe base64 (RFC 4648 section 5), as in SHL payloads, keys and JWE. */
export function toBase64url(bytes: Uint8Array): string {
	return btoa(toBinaryString(bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Bytes of unpadded base64url; trailing `=` padding is tolerated (some producers add it).
 * Returns null for anything else ('+', '/', whitespace, an impossible length).
 */
export function fromBase64url(text: string): Uint8Array | null {
	if (typeof text !== 'string') return null;
	const bare = text.replace(/={1,2}$/, '');
	if (!B64URL.test(bare) || bare.length % 4 === 1) return null;
	try {
		return fromBinaryString(atob(bare.replace(/-/g, '+').replace(/_/g, '/')));
	} catch {
		return null;
	}
}

/** Standard padded base64 (RFC 4648 section 4), as FHIR attachments and contribution files use. */
export function toBase64(bytes: Uint8Array): string {
	// Documents are megabytes: the engine's own encoder where it has one (Chromium 140+).
	const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
	return typeof native === 'function' ? native.call(bytes) : btoa(toBinaryString(bytes));
}

/** True for standard padded base64 (the form `toBase64` produces); no whitespace allowed. */
export function isBase64(text: string): boolean {
	return typeof text === 'string' && text.length % 4 === 0 && B64.test(text);
}

/** Bytes of standard padded base64; null when `isBase64` is false. */
export function fromBase64(text: string): Uint8Array | null {
	if (!isBase64(text)) return null;
	return fromBinaryString(atob(text));
}
