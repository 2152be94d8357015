/**
 * Device invitations (docs/SYNC.md, "Adding a device"): one link, shown as one QR code, adds
 * a new device to several records. It carries a random 32-byte seed; the invitation key pair
 * of each record is derived from it, so the link stays short and the relay, which sees only
 * the public keys in the `add` ops, learns nothing that opens a lockbox. The seed lives only
 * in the link's fragment, which browsers never send to a server.
 *
 * Link: `${appOrigin}/link#carnet-invite:/${base64url(JSON {v, s, e, r?, p?})}` with `v` the
 * vault ids, `s` the seed, `e` the expiry (epoch seconds), `r` the relay when it is not the
 * app's origin, `p: 1` when it invites another person to one record rather than adding a
 * device of the inviter's (docs/FAMILY.md §3: the receiving app words its offer after it).
 * Pure: no platform API, parsing never throws.
 */
import { z } from 'zod';
import {
	boxKeyPair,
	deriveSubkey,
	fromBase64url,
	signKeyPair,
	toBase64url,
	utf8Decode,
	utf8Encode,
	type BoxKeyPair,
	type SignKeyPair
} from '../crypto';
import { isBase64url, vaultIdSchema } from '../protocol';

/** How long an invitation can be used: long enough to pick up the other phone, short enough to be gone by lunch. */
export const INVITE_TTL_MS = 10 * 60 * 1000;

/**
 * How long an invitation for another person can be used: the other parent may first have to
 * find their phone, open Carnet and unlock it (docs/FAMILY.md §3).
 */
export const PERSON_INVITE_TTL_MS = 30 * 60 * 1000;

/**
 * Most records one link adds. A QR code must stay scannable from a phone screen, and the
 * joining device authenticates every invitation on one relay socket, which accepts 16
 * identities (its own and 15 invitations).
 */
export const MAX_INVITE_VAULTS = 15;

/** The page of the app that opens invitation links. */
export const INVITE_PATH = '/link';

/** What comes before the payload, in the fragment or in a pasted text. */
export const INVITE_SCHEME = 'carnet-invite:/';

/** Bytes of the seed. */
export const INVITE_SEED_BYTES = 32;

/** Longest link text accepted before any parsing (15 vault ids and a relay URL fit in far less). */
const MAX_LINK_LENGTH = 4096;

// crypto_kdf context of everything derived from an invitation seed (exactly 8 characters).
const CONTEXT = 'carnetin';
// Under each record's key: one subkey per key pair, so the Ed25519 and X25519 seeds differ.
const SIGN_SUBKEY = 1;
const BOX_SUBKEY = 2;

/** What a link carries, decoded. */
export interface Invite {
	/** The records it adds, in the order their keys are derived. */
	readonly vaults: readonly string[];
	readonly seed: Uint8Array;
	readonly expires: Date;
	/** The relay, when it is not the origin the link points at. */
	readonly relay?: string;
	/** True when it invites another person to the record (`p: 1`), not a device of the inviter's. */
	readonly forPerson?: boolean;
}

/** The invitation key pairs of one record. */
export interface InviteKeys {
	readonly sign: SignKeyPair;
	readonly box: BoxKeyPair;
}

/** Why a text is not an invitation: one code, an i18n key `error.invalid_link`. */
export type InviteParseResult = { ok: true; invite: Invite } | { ok: false; code: 'invalid_link' };

const relayUrlSchema = z
	.string()
	.max(1024)
	.refine((text) => {
		try {
			return ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(text).protocol);
		} catch {
			return false;
		}
	});

const payloadSchema = z.strictObject({
	v: z.array(vaultIdSchema).min(1).max(MAX_INVITE_VAULTS),
	s: z.string().refine((s) => isBase64url(s) && fromBase64url(s).length === INVITE_SEED_BYTES),
	e: z.int().positive(),
	r: relayUrlSchema.optional(),
	p: z.literal(1).optional()
});

/**
 * The key pairs of the record at `index` in the link (0-based): subkey `index + 1` of the
 * seed, then one subkey of it per key pair.
 */
export function inviteKeys(seed: Uint8Array, index: number): InviteKeys {
	const recordKey = deriveSubkey(seed, index + 1, CONTEXT);
	const signSeed = deriveSubkey(recordKey, SIGN_SUBKEY, CONTEXT);
	const boxSeed = deriveSubkey(recordKey, BOX_SUBKEY, CONTEXT);
	try {
		return { sign: signKeyPair(signSeed), box: boxKeyPair(boxSeed) };
	} finally {
		recordKey.fill(0);
		signSeed.fill(0);
		boxSeed.fill(0);
	}
}

/** The link for `invite`, opening `appOrigin`'s invitation page. Expiry is rounded down to the second. */
export function inviteLink(appOrigin: string, invite: Invite): string {
	const payload = {
		v: [...invite.vaults],
		s: toBase64url(invite.seed),
		e: Math.floor(invite.expires.getTime() / 1000),
		...(invite.relay === undefined ? {} : { r: invite.relay }),
		...(invite.forPerson === true ? { p: 1 } : {})
	};
	return `${appOrigin.replace(/\/+$/, '')}${INVITE_PATH}#${INVITE_SCHEME}${toBase64url(utf8Encode(JSON.stringify(payload)))}`;
}

/**
 * Decodes a scanned or pasted invitation: the whole link or just `carnet-invite:/…`. The
 * relay defaults to the link's origin when the payload names none (`relay` stays undefined
 * for a bare fragment). Expiry is the caller's to judge, against its clock. Never throws.
 */
export function parseInviteLink(text: unknown): InviteParseResult {
	const invalid = { ok: false, code: 'invalid_link' } as const;
	if (typeof text !== 'string' || text.length > MAX_LINK_LENGTH) return invalid;
	const trimmed = text.trim();
	const at = trimmed.indexOf(INVITE_SCHEME);
	if (at < 0) return invalid;
	const prefix = trimmed.slice(0, at);
	let origin: string | undefined;
	if (prefix !== '') {
		if (!prefix.endsWith('#')) return invalid;
		try {
			const url = new URL(prefix.slice(0, -1));
			if (url.protocol !== 'http:' && url.protocol !== 'https:') return invalid;
			origin = url.origin;
		} catch {
			return invalid;
		}
	}
	const encoded = trimmed.slice(at + INVITE_SCHEME.length);
	if (!isBase64url(encoded)) return invalid;
	let value: unknown;
	try {
		value = JSON.parse(utf8Decode(fromBase64url(encoded)));
	} catch {
		return invalid;
	}
	const parsed = payloadSchema.safeParse(value);
	if (!parsed.success || new Set(parsed.data.v).size !== parsed.data.v.length) return invalid;
	const { v, s, e, r, p } = parsed.data;
	const relay = r ?? origin;
	return {
		ok: true,
		invite: {
			vaults: v,
			seed: fromBase64url(s),
			expires: new Date(e * 1000),
			...(relay === undefined ? {} : { relay }),
			...(p === 1 ? { forPerson: true } : {})
		}
	};
}
