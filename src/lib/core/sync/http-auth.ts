/**
 * Signed HTTP requests: how a patient's device proves to the relay's share endpoints
 * (docs/SHARING.md, "Patient endpoints (signed)") that a request comes from a member of the
 * vault, with the same Ed25519 keys the sync socket uses and no token the relay could leak.
 *
 *   Authorization: Carnet member=<member id>,ts=<ms since epoch>,sig=<base64url>
 *
 * `sig` signs `utf8("carnet/http/v1") ‖ 0x00 ‖ canonicalBytes({method, path, ts, body})`,
 * `path` with its query string and `body` = base64url(BLAKE2b-256(raw body bytes)), so the
 * signature covers exactly what the relay acts on; the timestamp bounds replay to a few minutes.
 */
import { hash, toBase64url, type SignKeyPair } from '../crypto';
import { memberId } from './membership';
import { DOMAINS, signObject, verifyObject } from './signing';

/** The Authorization scheme name. */
export const HTTP_AUTH_SCHEME = 'Carnet';
/** How far a request's `ts` may be from the relay's clock, either way. */
export const HTTP_AUTH_MAX_SKEW_MS = 2 * 60 * 1000;

/** What a signed request covers, besides who signs it and when. */
export interface SignedRequest {
	/** HTTP method; upper-cased before signing, as servers see it. */
	method: string;
	/** Path and query string exactly as sent (`/api/vaults/…/access?after=3`). */
	path: string;
	/** The raw body bytes; empty for GET and DELETE. */
	body: Uint8Array;
}

/** The fields of a parsed Authorization header. */
export interface HttpAuthorization {
	member: string;
	ts: number;
	sig: string;
}

// Strict: one spelling per header, so nothing unsigned can ride along in it.
const HEADER = /^Carnet member=([A-Za-z0-9_-]{43}),ts=(0|[1-9][0-9]{0,15}),sig=([A-Za-z0-9_-]{86})$/;

/** The object the signature covers. `ts` is a number (milliseconds), `body` the hash of the bytes. */
function payload(method: string, path: string, ts: number, body: Uint8Array) {
	return { method: method.toUpperCase(), path, ts, body: toBase64url(hash(body, undefined, 32)) };
}

/** The Authorization header value for a request by `member` (whose keys are `signer`) at `now`. */
export function signRequest(request: SignedRequest & { member: string; signer: SignKeyPair; now: Date }): string {
	const { method, path, body, member, signer, now } = request;
	if (member !== memberId(signer.publicKey)) throw new TypeError('signRequest: member is not the signer’s id');
	const ts = now.getTime();
	const { sig } = signObject(DOMAINS.http, payload(method, path, ts, body), signer);
	return `${HTTP_AUTH_SCHEME} member=${member},ts=${ts},sig=${sig}`;
}

/** The header's fields, or null when it is not exactly our format (the signature is not checked). */
export function parseAuthorization(header: string | undefined): HttpAuthorization | null {
	if (typeof header !== 'string') return null;
	const match = HEADER.exec(header);
	if (match === null) return null;
	const ts = Number(match[2]);
	if (!Number.isSafeInteger(ts)) return null;
	return { member: match[1], ts, sig: match[3] };
}

/**
 * The member who signed this request, or null when the header is malformed, the signature
 * does not cover this method, path and body, or `ts` is more than two minutes from `now`.
 * Whether the member belongs to the vault is the caller's check (the replayed chain).
 */
export function verifyRequest(header: string, request: SignedRequest & { now: Date }): { member: string } | null {
	const parsed = parseAuthorization(header);
	if (parsed === null) return null;
	if (Math.abs(parsed.ts - request.now.getTime()) > HTTP_AUTH_MAX_SKEW_MS) return null;
	if (!(request.body instanceof Uint8Array) || typeof request.method !== 'string' || typeof request.path !== 'string') return null;
	const signed = { ...payload(request.method, request.path, parsed.ts, request.body), sig: parsed.sig };
	return verifyObject(DOMAINS.http, signed, parsed.member) ? { member: parsed.member } : null;
}
