/**
 * zod schemas of the relay's SMART Health Links HTTP API (docs/SHARING.md): path segments,
 * query strings and JSON bodies, both the public endpoints a professional's viewer calls and
 * the patient's signed endpoints. The relay validates everything with these before acting;
 * the patient's client can use them to build what it sends. Pure zod, no libsodium.
 */
import { z } from 'zod';
import { base64urlLength } from './limits';
import { isBase64url } from './schemas';

/** Bytes of a link id (256 bits, 43 base64url characters). */
export const SHL_ID_BYTES = 32;
/** Bytes of a file location ticket. */
export const SHL_TICKET_BYTES = 32;
/** Bytes of a contribution id. */
export const SHL_CONTRIBUTION_ID_BYTES = 16;
/** Longest recipient name a viewer may send. */
export const SHL_MAX_RECIPIENT_LENGTH = 200;
/** Longest passcode accepted, in characters (nobody types more; caps the Argon2id input). */
export const SHL_MAX_PASSCODE_LENGTH = 200;
/** Most files one share carries (ours have 1 or 2). */
export const SHL_MAX_FILES = 8;
/** Longest opaque label ciphertext, in bytes (an 80-character label, encrypted, with room to spare). */
export const SHL_MAX_LABEL_BYTES = 1024;
/** Most access events or contributions in one page. */
export const SHL_MAX_PAGE = 500;
/** Largest manifest request body: a name, a passcode and a number. */
export const SHL_MAX_MANIFEST_BODY_BYTES = 4096;

/** A canonical base64url string of exactly `bytes` bytes. */
function exactBytes(bytes: number) {
	const length = base64urlLength(bytes);
	return z.string().refine((s) => s.length === length && isBase64url(s), {
		message: `must be ${bytes} bytes as unpadded base64url (${length} characters)`
	});
}

/** A link id: 32 random bytes, base64url (43 characters). */
export const shlIdSchema = exactBytes(SHL_ID_BYTES);
/** A file location ticket: 32 random bytes, base64url. */
export const shlTicketSchema = exactBytes(SHL_TICKET_BYTES);
/** A contribution id the relay gives out: 16 random bytes, base64url. */
export const contributionIdSchema = exactBytes(SHL_CONTRIBUTION_ID_BYTES);
/** base64url(SHA-256(contribution token)). */
export const tokenHashSchema = exactBytes(32);

/**
 * `POST /api/shl/<id>`. Not strict: viewers other than ours may send fields of later
 * versions of the spec, which are ignored, as STU1 readers ignore unknown fields.
 */
export const manifestRequestSchema = z.object({
	recipient: z.string().min(1).max(SHL_MAX_RECIPIENT_LENGTH),
	passcode: z.string().max(SHL_MAX_PASSCODE_LENGTH).optional(),
	embeddedLengthMax: z.int().nonnegative().optional()
});
/** A manifest request body. */
export type ManifestRequest = z.infer<typeof manifestRequestSchema>;

/** One file of a manifest answer: inline, or at a URL valid one hour. */
export type ManifestFile = { contentType: string; embedded: string } | { contentType: string; location: string };

/** A MIME type as a share file declares it. */
const contentTypeSchema = z.string().regex(/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i);
/** A JWE in compact serialisation: five base64url parts (the encrypted key empty for `dir`). */
const compactJweSchema = z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

/** Flags a share may carry, letters in alphabetical order: `L` long-lived, `P` passcode. Never `U`. */
export const shareFlagSchema = z.enum(['', 'L', 'P', 'LP']);

/** The fields of a published share other than its files (both PUT bodies). */
const shareFields = {
	exp: z.int().positive().nullable(),
	flag: shareFlagSchema,
	passcode: z.string().min(1).max(SHL_MAX_PASSCODE_LENGTH).optional(),
	maxUses: z.int().positive().nullable().optional(),
	label: z.string().refine((s) => s.length <= base64urlLength(SHL_MAX_LABEL_BYTES) && isBase64url(s), {
		message: `must be at most ${SHL_MAX_LABEL_BYTES} bytes as unpadded base64url`
	}),
	contributionTokenHash: tokenHashSchema.optional()
};
const passcodeGoesWithP: [(share: { passcode?: string; flag: string }) => boolean, { message: string; path: string[] }] = [
	(share) => share.passcode === undefined || share.flag.includes('P'),
	{ message: 'a passcode goes with the P flag', path: ['passcode'] }
];

/**
 * `PUT /api/vaults/<vault>/shares/<id>`, `application/json`: a share created or replaced by a
 * member's device. `exp` is in epoch seconds (null: no expiry); `label` is ciphertext the relay
 * cannot read. A passcode goes with the `P` flag and only with it; the relay stores its hash only.
 */
export const sharePutSchema = z
	.strictObject({
		...shareFields,
		files: z
			.array(z.strictObject({ contentType: contentTypeSchema, jwe: compactJweSchema }))
			.min(1)
			.max(SHL_MAX_FILES)
	})
	.refine(...passcodeGoesWithP);

/** Content type of the binary share PUT (what Carnet's devices send; see sharePutMetaSchema). */
export const SHARE_PUT_BINARY_TYPE = 'application/vnd.carnet.share';
/** Bytes of an A256GCM IV and tag, the fixed parts of a binary file segment. */
export const SHARE_FILE_IV_BYTES = 12;
export const SHARE_FILE_TAG_BYTES = 16;
/** Largest metadata part of a binary share PUT (a label, a passcode, a few files' headers). */
export const SHARE_PUT_MAX_META_BYTES = 16 * 1024;

/**
 * The metadata of the binary share PUT (docs/SHARING.md, "Patient endpoints"):
 * `u32be(n) ‖ n bytes of UTF-8 JSON (this) ‖ file 1 ‖ file 2 …`, file i being `files[i].bytes`
 * bytes: IV (12) ‖ ciphertext ‖ tag (16) of a JWE whose first part is `files[i].protected`
 * (`alg: dir`, so no encrypted key). The relay serves the compact JWE
 * `<protected>..<b64u(IV)>.<b64u(ciphertext)>.<b64u(tag)>`.
 */
export const sharePutMetaSchema = z
	.strictObject({
		...shareFields,
		files: z
			.array(
				z.strictObject({
					contentType: contentTypeSchema,
					protected: z.string().min(1).max(4096).refine(isBase64url, { message: 'must be unpadded base64url' }),
					bytes: z.int().min(SHARE_FILE_IV_BYTES + 1 + SHARE_FILE_TAG_BYTES)
				})
			)
			.min(1)
			.max(SHL_MAX_FILES)
	})
	.refine(...passcodeGoesWithP);
/** The metadata part of a binary share PUT. */
export type SharePutMeta = z.infer<typeof sharePutMetaSchema>;

/** A share as a device publishes it. */
export type SharePut = z.infer<typeof sharePutSchema>;

/** `?after=<seq>` of the access and contribution listings (absent: from the start). */
export const afterQuerySchema = z.strictObject({
	after: z
		.string()
		.regex(/^(0|[1-9][0-9]{0,14})$/)
		.transform(Number)
		.optional()
});

/** One share as `GET /api/vaults/<vault>/shares` lists it. */
export interface ShareListItem {
	id: string;
	exp: number | null;
	flag: string;
	maxUses: number | null;
	uses: number;
	attemptsLeft: number;
	revoked: boolean;
	/** ISO instant. */
	createdAt: string;
	label: string;
}

/** What happened on a manifest request to a known link. */
export const ACCESS_OUTCOMES = ['opened', 'wrong_passcode', 'refused'] as const;
/** An access outcome. */
export type AccessOutcome = (typeof ACCESS_OUTCOMES)[number];

/** One access event as `GET /api/vaults/<vault>/access` lists it. */
export interface AccessEvent {
	seq: number;
	share: string;
	/** ISO instant. */
	at: string;
	recipient: string;
	outcome: AccessOutcome;
}

/** One contribution as `GET /api/vaults/<vault>/contributions` lists it. */
export interface ContributionEvent {
	seq: number;
	id: string;
	share: string;
	/** ISO instant. */
	at: string;
	/** Size of the sealed bytes. */
	bytes: number;
}
