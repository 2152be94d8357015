/**
 * Byte helpers the FHIR mapping needs synchronously and in every runtime (browser, Node,
 * worker): base64, SHA-1 and name-based UUIDs. They live here, in plain TypeScript, because
 * `toIpsBundle` is synchronous and pure: WebCrypto's digest is async, Node's Buffer is absent
 * from browsers, and the crypto index loads libsodium, which the viewer must not.
 *
 * SHA-1 is used only where FHIR asks for it (`Attachment.hash`) and to derive stable ids
 * (RFC 9562 UUID version 5); neither is a security property.
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
	const index = new Int16Array(128).fill(-1);
	for (let i = 0; i < B64.length; i++) index[B64.charCodeAt(i)] = i;
	// Tolerate base64url too: some producers use it in attachments.
	index['-'.charCodeAt(0)] = 62;
	index['_'.charCodeAt(0)] = 63;
	return index;
})();

/** Standard base64 with padding (what FHIR's `base64Binary` is): the share module's encoder. */
export { toBase64 } from '../share/base64';

/**
 * Decodes base64 (or base64url), ignoring whitespace; `undefined` when the text is not base64.
 */
export function fromBase64(text: string): Uint8Array | undefined {
	const clean = text.replace(/[\s=]+/g, '');
	if (clean.length % 4 === 1) return undefined;
	const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
	let bits = 0;
	let value = 0;
	let o = 0;
	for (let i = 0; i < clean.length; i++) {
		const c = clean.charCodeAt(i);
		const v = c < 128 ? B64_INDEX[c] : -1;
		if (v < 0) return undefined;
		value = ((value << 6) | v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (value >> bits) & 0xff;
		}
	}
	return out.subarray(0, o);
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
	return new TextEncoder().encode(text);
}

/** SHA-1 (FIPS 180-4) of `bytes`, 20 bytes. */
export function sha1(bytes: Uint8Array): Uint8Array {
	const length = bytes.length;
	const blocks = ((length + 8) >> 6) + 1;
	const words = new Uint32Array(blocks * 16);
	for (let i = 0; i < length; i++) words[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
	words[length >> 2] |= 0x80 << (24 - (length & 3) * 8);
	// Bit length as a 64-bit big-endian number in the last two words.
	words[blocks * 16 - 1] = (length * 8) >>> 0;
	words[blocks * 16 - 2] = Math.floor(length / 0x20000000);
	let h0 = 0x67452301;
	let h1 = 0xefcdab89;
	let h2 = 0x98badcfe;
	let h3 = 0x10325476;
	let h4 = 0xc3d2e1f0;
	const w = new Uint32Array(80);
	for (let block = 0; block < blocks; block++) {
		for (let t = 0; t < 16; t++) w[t] = words[block * 16 + t];
		for (let t = 16; t < 80; t++) {
			const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
			w[t] = (x << 1) | (x >>> 31);
		}
		let a = h0;
		let b = h1;
		let c = h2;
		let d = h3;
		let e = h4;
		for (let t = 0; t < 80; t++) {
			let f: number;
			let k: number;
			if (t < 20) {
				f = (b & c) | (~b & d);
				k = 0x5a827999;
			} else if (t < 40) {
				f = b ^ c ^ d;
				k = 0x6ed9eba1;
			} else if (t < 60) {
				f = (b & c) | (b & d) | (c & d);
				k = 0x8f1bbcdc;
			} else {
				f = b ^ c ^ d;
				k = 0xca62c1d6;
			}
			const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) >>> 0;
			e = d;
			d = c;
			c = (b << 30) | (b >>> 2);
			b = a;
			a = temp;
		}
		h0 = (h0 + a) >>> 0;
		h1 = (h1 + b) >>> 0;
		h2 = (h2 + c) >>> 0;
		h3 = (h3 + d) >>> 0;
		h4 = (h4 + e) >>> 0;
	}
	const out = new Uint8Array(20);
	[h0, h1, h2, h3, h4].forEach((h, i) => {
		out[i * 4] = h >>> 24;
		out[i * 4 + 1] = (h >>> 16) & 0xff;
		out[i * 4 + 2] = (h >>> 8) & 0xff;
		out[i * 4 + 3] = h & 0xff;
	});
	return out;
}

/** The namespace of every Carnet FHIR id (RFC 9562 URL namespace, 6ba7b811-…). */
const NAMESPACE = Uint8Array.from([
	0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
]);

/**
 * A name-based UUID (version 5, SHA-1) for `name`: the same name always gives the same UUID,
 * so a republished share references the same resources.
 */
export function uuidFromName(name: string): string {
	const nameBytes = utf8(`carnet:fhir:${name}`);
	const input = new Uint8Array(NAMESPACE.length + nameBytes.length);
	input.set(NAMESPACE);
	input.set(nameBytes, NAMESPACE.length);
	const hash = sha1(input);
	hash[6] = (hash[6] & 0x0f) | 0x50;
	hash[8] = (hash[8] & 0x3f) | 0x80;
	const hex = Array.from(hash.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A lower-case UUID in its 8-4-4-4-12 form. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
