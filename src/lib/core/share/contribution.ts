/**
 * Contributions: a professional adds a document to the patient's record through a link that
 * allows it (docs/SHARING.md, "Files" and "Contribution plaintext"). This file holds the
 * shapes and the token; sealing (libsodium) belongs to the callers that already load it.
 */
import { z } from 'zod';
import { hkdfSha256, sha256 } from '../crypto/jwe';
import { DOCUMENT_TYPE_IDS } from '../record/document-types';
import { isBase64, fromBase64url, toBase64url } from './base64';
import { isAllowedUrl } from './payload';

/** Content type of the extension file announcing that contributions are allowed. */
export const CONTRIBUTION_CONTENT_TYPE = 'application/vnd.carnet.contribution+json';
/** HKDF `info` of the contribution token; the version suffix lets a future scheme coexist. */
export const CONTRIBUTION_TOKEN_INFO = 'carnet/shl/contribution-token/v1';

const encoder = new TextEncoder();
const LINK_KEY_BYTES = 32;

/**
 * The bearer token a contributor sends (`Authorization: Bearer <token>`): base64url of
 * HKDF-SHA256(ikm = link key, salt = empty, info = CONTRIBUTION_TOKEN_INFO, 32 bytes), 43
 * characters. Derived from the link key so only holders of the link can contribute, and one
 * way so the relay, which stores `tokenHash(token)`, learns nothing of the key.
 */
export async function contributionToken(linkKey: Uint8Array): Promise<string> {
	if (!(linkKey instanceof Uint8Array) || linkKey.length !== LINK_KEY_BYTES) {
		throw new TypeError(`contributionToken: linkKey must be ${LINK_KEY_BYTES} bytes`);
	}
	return toBase64url(await hkdfSha256(linkKey, CONTRIBUTION_TOKEN_INFO, 32));
}

/** What the relay stores and compares: base64url(SHA-256(UTF-8 of `token`)), 43 characters. */
export async function tokenHash(token: string): Promise<string> {
	if (typeof token !== 'string') throw new TypeError('tokenHash: token must be a string');
	return toBase64url(await sha256(encoder.encode(token)));
}

/**
 * True for a valid RPPS number: exactly 11 digits whose last is the Luhn check digit over the
 * whole number (the key of the French professionals' directory identifier).
 */
export function isValidRpps(rpps: string): boolean {
	if (typeof rpps !== 'string' || !/^\d{11}$/.test(rpps)) return false;
	let sum = 0;
	// Luhn: from the right, every second digit (starting with the one left of the check digit) is doubled.
	for (let i = 0; i < 11; i++) {
		let digit = rpps.charCodeAt(10 - i) - 48;
		if (i % 2 === 1) {
			digit *= 2;
			if (digit > 9) digit -= 9;
		}
		sum += digit;
	}
	return sum % 10 === 0;
}

/**
 * The extension file of a link that allows contributions (content type
 * CONTRIBUTION_CONTENT_TYPE): where to post, the X25519 public key to seal to (32 bytes,
 * base64url) and the largest sealed body the relay takes. Unknown fields are dropped.
 */
export const ContributionInfo = z.object({
	v: z.literal(1),
	endpoint: z.string().refine(isAllowedUrl, 'endpoint must be https, or http on localhost'),
	inboxKey: z.string().refine((key) => /^[A-Za-z0-9_-]{43}$/.test(key) && fromBase64url(key)?.length === 32, {
		message: 'inboxKey must be a 32-byte key in base64url'
	}),
	maxBytes: z.number().int().positive()
});

/** The parsed extension file. */
export type ContributionInfo = z.infer<typeof ContributionInfo>;

/** The calendar-date bounds of the record's date fields (src/lib/core/record/fields.ts). */
const MIN_DATE = '1900-01-01';
const MAX_DATE = '2100-12-31';

/**
 * The plaintext a professional seals to `inboxKey` (UTF-8 JSON). `type` is one of the
 * record's document type ids; lengths match the record's document fields (title 200, note
 * 4000) so an import never fails validation; the author's name is capped at 120 so the
 * attribution `pro:<name> (RPPS <rpps>)` stays within the record's 200-character author;
 * `file.data` is standard base64. Unknown fields are dropped.
 */
export const Contribution = z.object({
	v: z.literal(1),
	type: z.enum(DOCUMENT_TYPE_IDS as [string, ...string[]]),
	title: z.string().trim().min(1).max(200),
	date: z.iso.date().refine((date) => date >= MIN_DATE && date <= MAX_DATE, 'date out of range'),
	note: z.string().max(4000).optional(),
	author: z.object({
		name: z.string().trim().min(1).max(120),
		rpps: z.string().refine(isValidRpps, 'rpps must be 11 digits with a valid Luhn key')
	}),
	file: z
		.object({
			name: z.string().min(1).max(255),
			contentType: z.string().min(1).max(255),
			data: z.string().refine(isBase64, 'file data must be base64')
		})
		.optional()
});

/** The parsed contribution plaintext. */
export type Contribution = z.infer<typeof Contribution>;
