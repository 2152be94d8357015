/**
 * Entry ids: 128 random bits in base64url (22 characters). Random rather than sequential so
 * that devices editing offline never collide, and short enough to sit in URLs.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Shape of every id this module creates. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * The bucket names: an entry lives in the bucket named by its id's first character, so each
 * section spreads over 64 small maps (NOTES.md: one flat map of 20k keys costs ~17 ms a change).
 */
export const BUCKETS: readonly string[] = [...ALPHABET];

/** A fresh random id (Web Crypto, present in browsers and Node alike). */
export function newId(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	let bits = 0;
	let value = 0;
	let id = '';
	for (const byte of bytes) {
		value = (value << 8) | byte;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			id += ALPHABET[(value >> bits) & 63];
		}
	}
	// 128 bits leave 2 over: pad them to a last character, as base64url does.
	return id + ALPHABET[(value << (6 - bits)) & 63];
}

/** The bucket holding the entry with this id. */
export function bucketOf(id: string): string {
	return id.charAt(0);
}
