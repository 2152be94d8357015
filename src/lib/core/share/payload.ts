/**
 * SMART Health Link payloads (HL7 SHL STU1) as docs/SHARING.md "Links" fixes them: reading
 * any producer's `shlink:/…` leniently, writing ours canonically.
 */
import { z } from 'zod';
import { fromBase64url, toBase64url } from './base64';
import { ShlError } from './errors';

/** The flags this module knows: L long-lived, P passcode, U single file by GET. */
export const SHL_FLAGS = ['L', 'P', 'U'] as const;
/** STU1: a label is at most 80 characters. */
export const LABEL_MAX = 80;
/** STU1: the manifest URL is at most 128 characters (checked when we produce a link). */
export const URL_MAX = 128;
/** `exp` above this is read as milliseconds (10^11 s is the year 5138; 10^11 ms is 1973). */
export const EXP_MS_THRESHOLD = 1e11;

const PREFIX = 'shlink:/';
const KEY_BYTES = 32;
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const FLAG_PATTERN = /^L?P?U?$/;
const NUMERIC = /^\s*\d+(?:\.\d+)?\s*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * A payload in its canonical form: what `parseShlink` returns and `encodeShlink` writes.
 * `exp` is epoch seconds; `flag` holds known letters only, alphabetically, and is absent
 * rather than empty; `label` is absent rather than empty.
 */
export interface ShlPayload {
	/** Manifest URL (or the file itself with the `U` flag). */
	url: string;
	/** The 32-byte file key, base64url (43 characters). */
	key: string;
	/** Expiry, epoch seconds; absent for no expiry. */
	exp?: number;
	/** Flags among L, P, U in alphabetical order; absent when none. */
	flag?: string;
	/** Short description for the recipient, at most 80 characters. */
	label?: string;
	/** Payload version; we read and write 1 only. */
	v: 1;
}

/** What `encodeShlink` and `viewerLink` take: a payload whose `v` may be left out. */
export type ShlPayloadInput = Omit<ShlPayload, 'v'> & { v?: 1 };

/**
 * True for a URL a link may point to: https, or http on localhost / 127.0.0.1 (tests and
 * local development). Anything else would send the link's requests in clear or to odd schemes.
 */
export function isAllowedUrl(url: string): boolean {
	if (typeof url !== 'string') return false;
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return false;
	}
	if (parsed.protocol === 'https:') return true;
	return parsed.protocol === 'http:' && (parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1');
}

function isKey(key: string): boolean {
	return KEY_PATTERN.test(key) && fromBase64url(key)?.length === KEY_BYTES;
}

/** The canonical payload, as zod: the contract's shape, which `encodeShlink` enforces. */
export const ShlPayloadSchema = z.object({
	url: z.string().refine(isAllowedUrl, 'url must be https, or http on localhost'),
	key: z.string().refine(isKey, 'key must be 32 bytes as 43 base64url characters'),
	exp: z.number().int().min(0).max(EXP_MS_THRESHOLD, 'exp must be in seconds').optional(),
	flag: z
		.string()
		.regex(FLAG_PATTERN, 'flag must be letters among L, P, U in alphabetical order')
		.min(1)
		.refine((flag) => !(flag.includes('P') && flag.includes('U')), 'flags P and U exclude each other')
		.optional(),
	label: z.string().min(1).max(LABEL_MAX, `label must be at most ${LABEL_MAX} characters`).optional(),
	v: z.literal(1)
}) satisfies z.ZodType<ShlPayload>;

/** Known flag letters of `flag`, once each, alphabetically; undefined when none is left. */
function normalizeFlag(flag: string): string | undefined {
	const letters = SHL_FLAGS.filter((letter) => flag.includes(letter)).join('');
	return letters.length > 0 ? letters : undefined;
}

/** At most `max` code points, so a surrogate pair is never cut in half. */
function truncate(text: string, max: number): string {
	const points = Array.from(text);
	return points.length <= max ? text : points.slice(0, max).join('');
}

function bad(message: string): ShlError {
	return new ShlError('bad_payload', message);
}

/**
 * Applies the "Reading a payload" rules of docs/SHARING.md to a decoded payload object from
 * any producer, and returns its canonical form:
 * - unknown fields are dropped, unknown flag letters too (they change nothing we do);
 * - `v` absent means 1; `v > 1` throws `unsupported_version` (checked first, so a newer
 *   payload is refused politely even if the rest looks odd to us);
 * - `exp` may be a number or a numeric string; above 10^11 it is milliseconds; a fraction of
 *   a second is dropped; null means no expiry;
 * - `P` with `U` is invalid; `key` must decode to 32 bytes (padding tolerated, the result is
 *   the 43-character form); `url` must pass `isAllowedUrl`;
 * - a `label` that is not a string is ignored, a longer one is cut to 80 characters (so the
 *   result always re-encodes).
 * Anything else wrong throws ShlError `bad_payload`.
 */
export function readPayload(raw: unknown): ShlPayload {
	if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('payload is not a JSON object');
	const input = raw as Record<string, unknown>;

	let v = 1;
	if (input.v !== undefined) {
		v = typeof input.v === 'string' && NUMERIC.test(input.v) ? Number(input.v) : (input.v as number);
		if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) throw bad('v must be a number from 1');
		if (v > 1) throw new ShlError('unsupported_version', 'payload version above 1');
	}

	if (typeof input.url !== 'string' || !isAllowedUrl(input.url)) throw bad('url must be https, or http on localhost');

	const keyBytes = typeof input.key === 'string' ? fromBase64url(input.key) : null;
	if (!keyBytes || keyBytes.length !== KEY_BYTES) throw bad('key must be 32 bytes of base64url');

	let exp: number | undefined;
	if (input.exp !== undefined && input.exp !== null) {
		const value = typeof input.exp === 'string' && NUMERIC.test(input.exp) ? Number(input.exp) : input.exp;
		if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad('exp must be a number');
		exp = Math.floor(value > EXP_MS_THRESHOLD ? value / 1000 : value);
	}

	let flag: string | undefined;
	if (input.flag !== undefined) {
		if (typeof input.flag !== 'string') throw bad('flag must be a string');
		flag = normalizeFlag(input.flag);
		if (flag?.includes('P') && flag.includes('U')) throw bad('flags P and U exclude each other');
	}

	const label = typeof input.label === 'string' && input.label.length > 0 ? truncate(input.label, LABEL_MAX) : undefined;

	const payload = {
		url: input.url,
		key: toBase64url(keyBytes),
		...(exp !== undefined ? { exp } : {}),
		...(flag !== undefined ? { flag } : {}),
		...(label !== undefined ? { label } : {}),
		v: 1
	};
	// The lenient reading above gives the canonical form; the schema is the last word on it.
	const checked = ShlPayloadSchema.safeParse(payload);
	if (!checked.success) throw bad(checked.error.issues[0]?.message ?? 'invalid payload');
	return checked.data;
}

/**
 * The payload of a SMART Health Link found in `text`: a bare `shlink:/…`, or any URL carrying
 * `#shlink:/…` (a viewer-prefixed link such as `https://viewer.example/shl#shlink:/…`), with
 * surrounding whitespace ignored. Reading rules: see `readPayload`.
 * Throws ShlError `not_a_link` (no `shlink:/`), `bad_payload` or `unsupported_version`.
 */
export function parseShlink(text: string): ShlPayload {
	if (typeof text !== 'string') throw new ShlError('not_a_link');
	const trimmed = text.trim();
	let encoded: string;
	if (trimmed.startsWith(PREFIX)) encoded = trimmed.slice(PREFIX.length);
	else {
		const at = trimmed.indexOf(`#${PREFIX}`);
		if (at < 0) throw new ShlError('not_a_link');
		encoded = trimmed.slice(at + 1 + PREFIX.length);
	}
	const bytes = fromBase64url(encoded);
	if (!bytes || bytes.length === 0) throw bad('payload is not base64url');
	let raw: unknown;
	try {
		raw = JSON.parse(utf8.decode(bytes));
	} catch {
		throw bad('payload is not UTF-8 JSON');
	}
	return readPayload(raw);
}

/**
 * `shlink:/` + base64url of the payload as minified JSON, keys in the contract's order (url,
 * key, exp, flag, label, v) so two devices encode one share identically. Flags are sorted and
 * deduplicated, an empty flag or label is left out, `v` is always written as 1.
 * Throws ShlError `bad_payload` for a payload we must not produce: label over 80 characters,
 * url not https (or local http) or over 128 characters, key not 32 bytes, exp not integer
 * seconds, P with U, or a letter other than L, P, U.
 */
export function encodeShlink(payload: ShlPayloadInput): string {
	const flag = payload.flag ? [...new Set(payload.flag)].sort().join('') : undefined;
	const candidate = {
		url: payload.url,
		key: payload.key,
		...(payload.exp !== undefined ? { exp: payload.exp } : {}),
		...(flag ? { flag } : {}),
		...(payload.label ? { label: payload.label } : {}),
		v: 1 as const
	};
	const checked = ShlPayloadSchema.safeParse(candidate);
	if (!checked.success) throw bad(checked.error.issues[0]?.message ?? 'invalid payload');
	if (candidate.url.length > URL_MAX) throw bad(`url must be at most ${URL_MAX} characters`);
	// Built from `candidate`, not the parse result: object key order is the wire order here.
	return PREFIX + toBase64url(encoder.encode(JSON.stringify(candidate)));
}

/** The link to show or print: `${origin}/shl#shlink:/…` (a trailing slash on origin is dropped). */
export function viewerLink(origin: string, payload: ShlPayloadInput): string {
	return `${origin.replace(/\/+$/, '')}/shl#${encodeShlink(payload)}`;
}

/** A new link id: 32 random bytes, base64url (43 characters, 256 bits, as STU1 asks of the URL). */
export function newLinkId(): string {
	return toBase64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/** The manifest URL of link `id` on the relay at `origin`: `${origin}/api/shl/${id}`. */
export function manifestUrl(origin: string, id: string): string {
	return `${origin.replace(/\/+$/, '')}/api/shl/${id}`;
}

/** The 32 key bytes of a payload (for decryptFile / contributionToken). */
export function payloadKey(payload: Pick<ShlPayload, 'key'>): Uint8Array {
	const bytes = fromBase64url(payload.key);
	if (!bytes || bytes.length !== KEY_BYTES) throw bad('key must be 32 bytes of base64url');
	return bytes;
}
