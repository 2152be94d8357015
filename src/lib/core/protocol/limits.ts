/**
 * Sizes and limits of the sync protocol (docs/SYNC.md). The relay enforces them on every
 * input and the client respects them before sending, so both import them from here.
 * Byte counts are of the decoded bytes; base64url lengths follow from `base64urlLength`.
 */

/** Largest frame, in UTF-8 bytes, either way over the WebSocket. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** A vault id: 16 random bytes, as src/lib/client's `newVault` makes them (22 characters). */
export const VAULT_ID_BYTES = 16;
/** An Ed25519 public key: a member id is its base64url (43 characters). */
export const SIGN_PUBLIC_KEY_BYTES = 32;
/** An X25519 public key (a member's `box`). */
export const BOX_PUBLIC_KEY_BYTES = 32;
/** An Ed25519 detached signature (86 characters). */
export const SIGNATURE_BYTES = 64;
/** A BLAKE2b-256 hash: membership chain links. */
export const HASH_BYTES = 32;
/** The relay's `challenge` nonce. */
export const NONCE_BYTES = 32;
/** A vault key (one per epoch). */
export const VAULT_KEY_BYTES = 32;
/** XChaCha20-Poly1305 output overhead: 24-byte nonce + 16-byte tag. */
export const AEAD_OVERHEAD_BYTES = 40;
/** A lockbox's `sealed`: crypto_box_seal of a vault key (32-byte ephemeral key + 16-byte tag + key). */
export const LOCKBOX_SEALED_BYTES = 48 + VAULT_KEY_BYTES;
/** A key history entry's `wrapped`: the previous vault key under the new one. */
export const WRAPPED_KEY_BYTES = AEAD_OVERHEAD_BYTES + VAULT_KEY_BYTES;

/**
 * Largest envelope ciphertext. Its base64url (~683 KiB) leaves room in a frame for the other
 * fields; a device splits larger change sets, and a single larger change goes in a snapshot.
 */
export const MAX_ENVELOPE_CIPHERTEXT_BYTES = 512 * 1024;
/** Largest snapshot ciphertext: the most whose base64url (~981 KiB) still fits in one frame. */
export const MAX_SNAPSHOT_CIPHERTEXT_BYTES = 736 * 1024;

/** Largest Automerge change set one envelope carries; a device splits bigger ones. */
export const MAX_ENVELOPE_PLAINTEXT_BYTES = MAX_ENVELOPE_CIPHERTEXT_BYTES - AEAD_OVERHEAD_BYTES;
/** Largest `Automerge.save()` a snapshot carries; a bigger document keeps growing the log. */
export const MAX_SNAPSHOT_PLAINTEXT_BYTES = MAX_SNAPSHOT_CIPHERTEXT_BYTES - AEAD_OVERHEAD_BYTES;

/**
 * Most current members of a vault (spent invites included), so that one rotation's
 * lockboxes fit in one frame.
 */
export const MAX_MEMBERS = 256;
/** Highest epoch a vault may reach, so that its whole key history fits in one `keys` answer. */
export const MAX_EPOCH = 1024;

/** Most membership ops in one frame; a longer chain is fetched in pages. */
export const MAX_OPS_PER_FRAME = 256;
/** Most lockboxes in one frame (one per remaining member on a rotation). */
export const MAX_LOCKBOXES_PER_FRAME = MAX_MEMBERS;
/** Most key history entries in a `keys` answer (one per epoch after 0). */
export const MAX_HISTORY_PER_FRAME = MAX_EPOCH;
/** Most envelopes in one `batch` (the relay also stops before MAX_FRAME_BYTES). */
export const MAX_ENVELOPES_PER_BATCH = 256;
/** Most vault ids in an `auth` answer. */
export const MAX_VAULTS_PER_MEMBER = 256;
/** Longest `error` message. */
export const MAX_ERROR_MESSAGE_LENGTH = 1000;

/** Characters of the unpadded base64url of `bytes` bytes. */
export function base64urlLength(bytes: number): number {
	return Math.ceil((bytes * 4) / 3);
}
