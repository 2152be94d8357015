/**
 * zod schemas of the signed objects of docs/SYNC.md: membership ops, lockboxes, key history
 * entries, envelopes and snapshots. Objects are strict (unknown keys refused) so that what a
 * relay verifies and stores is exactly what was signed, and nothing else rides along.
 * Pure regexes, no libsodium: frames can be checked before crypto is ready.
 */
import { z } from 'zod';
import {
	BOX_PUBLIC_KEY_BYTES,
	HASH_BYTES,
	LOCKBOX_SEALED_BYTES,
	MAX_EPOCH,
	MAX_ENVELOPE_CIPHERTEXT_BYTES,
	MAX_SNAPSHOT_CIPHERTEXT_BYTES,
	NONCE_BYTES,
	SIGN_PUBLIC_KEY_BYTES,
	SIGNATURE_BYTES,
	VAULT_ID_BYTES,
	WRAPPED_KEY_BYTES,
	base64urlLength
} from './limits';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * True for unpadded base64url in its one canonical form: the unused low bits of the last
 * character must be zero. Otherwise two strings would name the same key, and a removed
 * member could come back under a "different" id.
 */
export function isBase64url(text: string): boolean {
	if (!BASE64URL.test(text)) return false;
	const tail = text.length % 4;
	if (tail === 0) return true;
	if (tail === 1) return false;
	const last = ALPHABET.indexOf(text[text.length - 1]);
	return (last & (tail === 2 ? 0x0f : 0x03)) === 0;
}

/** A canonical base64url string of exactly `bytes` bytes. */
function exactBytes(bytes: number) {
	const length = base64urlLength(bytes);
	return z.string().refine((s) => s.length === length && isBase64url(s), {
		message: `must be ${bytes} bytes as unpadded base64url (${length} characters)`
	});
}

/** A canonical base64url string of at most `bytes` bytes. */
function maxBytes(bytes: number) {
	const length = base64urlLength(bytes);
	return z.string().refine((s) => s.length <= length && isBase64url(s), {
		message: `must be at most ${bytes} bytes as unpadded base64url (${length} characters)`
	});
}

/** A vault id: base64url of 16 random bytes (22 characters). */
export const vaultIdSchema = exactBytes(VAULT_ID_BYTES);
/** A member id: base64url of the member's Ed25519 public key (43 characters). */
export const memberIdSchema = exactBytes(SIGN_PUBLIC_KEY_BYTES);
/** A member's X25519 public key, base64url. */
export const boxKeySchema = exactBytes(BOX_PUBLIC_KEY_BYTES);
/** An Ed25519 signature, base64url (86 characters). */
export const signatureSchema = exactBytes(SIGNATURE_BYTES);
/** A membership chain link: base64url of a BLAKE2b-256 hash. */
export const hashSchema = exactBytes(HASH_BYTES);
/** The relay's challenge nonce, base64url. */
export const nonceSchema = exactBytes(NONCE_BYTES);
/** A key epoch: 0 at creation, +1 on every removal. */
export const epochSchema = z.int().min(0).max(MAX_EPOCH);
/** A UTC instant as `Date.toISOString()` writes it (a `Z` suffix, no offset). */
export const instantSchema = z.iso.datetime();

/** Member roles (docs/SYNC.md, "Membership chain"). */
export const ROLES = ['admin', 'reader', 'recovery', 'invite'] as const;
/** A member's role. */
export type Role = (typeof ROLES)[number];
/** Roles an invite may grant: never another invite (no chains of invitations) nor recovery. */
export const INVITE_GRANTS = ['admin', 'reader'] as const;

/**
 * The member an op creates or adds. Only an invite carries `grants` and `expires`, and it
 * must carry both: an invitation without an end date would be a standing key.
 */
export const opMemberSchema = z.discriminatedUnion('role', [
	z.strictObject({ id: memberIdSchema, box: boxKeySchema, role: z.enum(['admin', 'reader', 'recovery']) }),
	z.strictObject({
		id: memberIdSchema,
		box: boxKeySchema,
		role: z.literal('invite'),
		grants: z.enum(INVITE_GRANTS),
		expires: instantSchema
	})
]);
/** A member as an op names it. */
export type OpMember = z.infer<typeof opMemberSchema>;

const opFields = {
	v: z.literal(1),
	vault: vaultIdSchema,
	index: z.int().nonnegative(),
	prev: hashSchema.nullable(),
	epoch: epochSchema,
	by: memberIdSchema,
	at: instantSchema,
	sig: signatureSchema
};

/** Op 0: the vault's creation by its first admin. */
export const createOpSchema = z.strictObject({ ...opFields, type: z.literal('create'), member: opMemberSchema });
/** Adds a member. */
export const addOpSchema = z.strictObject({ ...opFields, type: z.literal('add'), member: opMemberSchema });
/** Removes a member and rotates the key (epoch + 1). */
export const removeOpSchema = z.strictObject({
	...opFields,
	type: z.literal('remove'),
	member: z.strictObject({ id: memberIdSchema })
});
/** One signed, hash-chained membership operation. */
export const membershipOpSchema = z.discriminatedUnion('type', [createOpSchema, addOpSchema, removeOpSchema]);

/** Op 0 of a chain. */
export type CreateOp = z.infer<typeof createOpSchema>;
/** An `add` op. */
export type AddOp = z.infer<typeof addOpSchema>;
/** A `remove` op. */
export type RemoveOp = z.infer<typeof removeOpSchema>;
/** Any membership op. */
export type MembershipOp = z.infer<typeof membershipOpSchema>;

/** A vault key for one epoch sealed to one member's box key, signed by an admin or the recovery key. */
export const lockboxSchema = z.strictObject({
	v: z.literal(1),
	vault: vaultIdSchema,
	epoch: epochSchema,
	recipient: memberIdSchema,
	sealed: exactBytes(LOCKBOX_SEALED_BYTES),
	by: memberIdSchema,
	sig: signatureSchema
});
/** A lockbox. */
export type Lockbox = z.infer<typeof lockboxSchema>;

/** The key of epoch - 1 wrapped under the key of `epoch` (epoch >= 1), signed by whoever rotated. */
export const keyHistorySchema = z.strictObject({
	v: z.literal(1),
	vault: vaultIdSchema,
	epoch: z.int().min(1).max(MAX_EPOCH),
	wrapped: exactBytes(WRAPPED_KEY_BYTES),
	by: memberIdSchema,
	sig: signatureSchema
});
/** A key history entry. */
export type KeyHistory = z.infer<typeof keyHistorySchema>;

/** An encrypted, signed batch of Automerge changes; `counter` starts at 1 per author and vault. */
export const envelopeSchema = z.strictObject({
	v: z.literal(1),
	vault: vaultIdSchema,
	epoch: epochSchema,
	author: memberIdSchema,
	counter: z.int().positive(),
	ciphertext: maxBytes(MAX_ENVELOPE_CIPHERTEXT_BYTES),
	sig: signatureSchema
});
/** An envelope. */
export type Envelope = z.infer<typeof envelopeSchema>;

/** An encrypted `Automerge.save()` holding every envelope up to `coversSeq`. */
export const snapshotSchema = z.strictObject({
	v: z.literal(1),
	vault: vaultIdSchema,
	epoch: epochSchema,
	author: memberIdSchema,
	coversSeq: z.int().nonnegative(),
	ciphertext: maxBytes(MAX_SNAPSHOT_CIPHERTEXT_BYTES),
	sig: signatureSchema
});
/** A snapshot. */
export type Snapshot = z.infer<typeof snapshotSchema>;
