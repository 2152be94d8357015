/**
 * zod schemas of the relay's blob endpoints (docs/ATTACHMENTS.md, "Relay"): the path's blob id,
 * the query strings (offsets and lengths travel there, so the request signature covers them),
 * the refs body, and the JSON answers, which a device can parse with the same schemas.
 * Pure zod, no libsodium.
 */
import { z } from 'zod';
import { base64urlLength } from './limits';
import { isBase64url } from './schemas';

/** Bytes of a blob id: BLAKE2b-256 of the sealed blob. */
export const BLOB_ID_BYTES = 32;
/** Most ids one `POST …/blobs/refs` may list. */
export const BLOB_REFS_MAX = 20_000;
/** Largest refs body: every id quoted with a comma, and room for the object around them. */
export const BLOB_REFS_MAX_BODY_BYTES = BLOB_REFS_MAX * (base64urlLength(BLOB_ID_BYTES) + 3) + 64;

/** A blob id: 32 bytes as canonical unpadded base64url (43 characters). */
export const blobIdSchema = z.string().refine((s) => s.length === base64urlLength(BLOB_ID_BYTES) && isBase64url(s), {
	message: `must be ${BLOB_ID_BYTES} bytes as unpadded base64url`
});

/** A byte count or position in a query string: decimal, no sign, no leading zero, a safe integer. */
const decimal = z
	.string()
	.regex(/^(0|[1-9][0-9]{0,15})$/)
	.transform(Number)
	.refine(Number.isSafeInteger, { message: 'must be a safe integer' });

/** `PUT …/blobs/<id>?offset=N&length=L`: where this part goes and the sealed blob's whole length. */
export const blobPutQuerySchema = z.strictObject({ offset: decimal, length: decimal });
/** A blob PUT's query. */
export type BlobPutQuery = z.infer<typeof blobPutQuerySchema>;

/** `GET …/blobs/<id>?from=N`: the first byte wanted (absent: 0). */
export const blobGetQuerySchema = z.strictObject({ from: decimal.optional() });

/** `POST …/blobs/refs`: every blob id the device's record references (the others may be collected). */
export const blobRefsSchema = z.strictObject({ ids: z.array(blobIdSchema).max(BLOB_REFS_MAX) });
/** A refs body. */
export type BlobRefs = z.infer<typeof blobRefsSchema>;

const count = z.int().nonnegative();

/**
 * `GET …/blobs`: the vault's usage and the relay's limits (`maxFileBytes` counts the file's
 * plaintext; `partMaxBytes` is the most one PUT may carry).
 */
export const blobUsageSchema = z.strictObject({ used: count, quota: count, maxFileBytes: count, partMaxBytes: z.int().positive(), count });
/** A blob usage answer. */
export type BlobUsage = z.infer<typeof blobUsageSchema>;

/** `GET …/blobs/<id>/status`. */
export const blobStatusSchema = z.discriminatedUnion('state', [
	z.strictObject({ state: z.literal('complete'), length: count }),
	z.strictObject({ state: z.literal('partial'), offset: count, length: count }),
	z.strictObject({ state: z.literal('absent') })
]);
/** A blob status answer. */
export type BlobStatus = z.infer<typeof blobStatusSchema>;

/** A PUT's success (200 or 201): the upload's new offset, or the blob complete. */
export const blobPutAnswerSchema = z.discriminatedUnion('state', [
	z.strictObject({ state: z.literal('partial'), offset: count }),
	z.strictObject({ state: z.literal('complete'), length: count })
]);
/** A blob PUT answer. */
export type BlobPutAnswer = z.infer<typeof blobPutAnswerSchema>;

/** `POST …/blobs/refs`: how many blobs the relay deleted. */
export const blobRefsAnswerSchema = z.strictObject({ removed: count });
/** 409: the upload holds `offset` bytes; the device sends from there. */
export const blobOffsetAnswerSchema = z.object({ error: z.literal('offset'), offset: count });
/** 413: the file (or the part) is over the relay's limit. */
export const blobTooLargeAnswerSchema = z.object({ error: z.literal('too_large'), maxFileBytes: count.optional() });
/** 507: the vault's blobs would pass its quota. */
export const blobQuotaAnswerSchema = z.object({ error: z.literal('quota'), used: count, quota: count });

/** The error bodies particular to blobs (others are `{error: string}` as on every signed endpoint). */
export type BlobError =
	/** 409: `offset` is what the relay holds; send from there. */
	| { error: 'offset'; offset: number }
	/** 413: the sealed length is over the limit or impossible, or the part too large. */
	| { error: 'too_large'; maxFileBytes: number }
	/** 507: the vault's blobs would pass its quota. */
	| { error: 'quota'; used: number; quota: number }
	/** 422: the complete bytes did not hash to the id; the upload is gone. */
	| { error: 'hash_mismatch' };
