/**
 * The frames of docs/SYNC.md, both directions, and the parsers every boundary uses. Parsing
 * never throws: the relay answers a bad frame with `error bad_frame` and keeps the socket,
 * the client drops it; either way nothing stored changes (invariant 7).
 */
import { z } from 'zod';
import {
	MAX_ENVELOPES_PER_BATCH,
	MAX_ERROR_MESSAGE_LENGTH,
	MAX_FRAME_BYTES,
	MAX_HISTORY_PER_FRAME,
	MAX_LOCKBOXES_PER_FRAME,
	MAX_MEMBERS,
	MAX_OPS_PER_FRAME,
	MAX_VAULTS_PER_MEMBER
} from './limits';
import {
	addOpSchema,
	envelopeSchema,
	keyHistorySchema,
	lockboxSchema,
	membershipOpSchema,
	memberIdSchema,
	instantSchema,
	nonceSchema,
	removeOpSchema,
	signatureSchema,
	snapshotSchema,
	vaultIdSchema
} from './schemas';

/** Error codes of `error` frames; the UI translates them, the message is for developers. */
export const ERROR_CODES = [
	'bad_frame',
	'too_large',
	'unauthenticated',
	'not_member',
	'forbidden',
	'bad_signature',
	'bad_counter',
	'stale_epoch',
	'conflict',
	'not_found',
	'rate_limited',
	'quota',
	'internal'
] as const;
/** An `error` frame's code. */
export type ErrorCode = (typeof ERROR_CODES)[number];
/** The codes a parser itself can return. */
export type ParseErrorCode = Extract<ErrorCode, 'bad_frame' | 'too_large'>;

/** Client-chosen request id, echoed in the answer. */
const requestId = z.int().nonnegative();
/** Relay sequence numbers start at 1 per vault; 0 means "nothing yet". */
const seq = z.int().positive();
const since = z.int().nonnegative();
const lockboxes = z.array(lockboxSchema).max(MAX_LOCKBOXES_PER_FRAME);

/** True when every op, lockbox or history entry names `vault`. */
function sameVault(vault: string, items: readonly { vault: string }[]): boolean {
	return items.every((item) => item.vault === vault);
}
/** Cross-field checks run on well-formed fields only: zod runs refinements after some issues too. */
const whenValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };
const vaultMismatch = { ...whenValid, message: 'every op, lockbox and history entry must name the frame\'s vault' };

/** Frames a device sends. */
export const clientFrameSchema = z.discriminatedUnion('type', [
	z.strictObject({
		type: z.literal('auth'),
		id: requestId,
		member: memberIdSchema,
		vault: vaultIdSchema.optional(),
		sig: signatureSchema
	}),
	z
		.strictObject({
			type: z.literal('create'),
			id: requestId,
			ops: z.array(membershipOpSchema).min(1).max(MAX_OPS_PER_FRAME),
			lockboxes: lockboxes.min(1)
		})
		.refine((f) => f.ops.every((op, i) => (i === 0) === (op.type === 'create') && op.type !== 'remove'), {
			...whenValid,
			message: 'ops must be one create op followed by add ops',
			path: ['ops']
		})
		.refine((f) => sameVault(f.ops[0].vault, [...f.ops, ...f.lockboxes]), vaultMismatch),
	z.strictObject({ type: z.literal('membership'), id: requestId, vault: vaultIdSchema, since }),
	z
		.strictObject({
			type: z.literal('append'),
			id: requestId,
			vault: vaultIdSchema,
			op: addOpSchema,
			lockboxes: lockboxes.optional()
		})
		.refine((f) => sameVault(f.vault, [f.op, ...(f.lockboxes ?? [])]), vaultMismatch),
	z
		.strictObject({
			type: z.literal('rotate'),
			id: requestId,
			vault: vaultIdSchema,
			op: removeOpSchema,
			lockboxes: lockboxes.min(1), // the remover stays a member, so at least its own
			history: keyHistorySchema
		})
		.refine((f) => sameVault(f.vault, [f.op, f.history, ...f.lockboxes]), vaultMismatch)
		.refine((f) => f.history.epoch === f.op.epoch && f.lockboxes.every((l) => l.epoch === f.op.epoch), {
			...whenValid,
			message: 'the history entry and lockboxes must be for the epoch the remove op opens'
		}),
	z.strictObject({ type: z.literal('keys'), id: requestId, vault: vaultIdSchema }),
	z.strictObject({ type: z.literal('push'), id: requestId, envelope: envelopeSchema }),
	z.strictObject({
		type: z.literal('pull'),
		id: requestId,
		vault: vaultIdSchema,
		since,
		limit: z.int().min(1).max(MAX_ENVELOPES_PER_BATCH).optional()
	}),
	z.strictObject({ type: z.literal('snapshot'), id: requestId, snapshot: snapshotSchema }),
	z.strictObject({ type: z.literal('subscribe'), id: requestId, vault: vaultIdSchema }),
	z.strictObject({ type: z.literal('seen'), id: requestId, vault: vaultIdSchema })
]);
/** Any frame a device sends. */
export type ClientFrame = z.infer<typeof clientFrameSchema>;

const sequenced = z.strictObject({ seq, envelope: envelopeSchema });

/** Frames the relay sends: answers carry the request's `id`, pushes do not. */
export const relayFrameSchema = z.discriminatedUnion('type', [
	z.strictObject({ type: z.literal('challenge'), nonce: nonceSchema }),
	z.strictObject({
		type: z.literal('ok'),
		id: requestId,
		vaults: z.array(vaultIdSchema).max(MAX_VAULTS_PER_MEMBER).optional()
	}),
	z.strictObject({
		type: z.literal('error'),
		id: requestId.optional(),
		code: z.enum(ERROR_CODES),
		message: z.string().max(MAX_ERROR_MESSAGE_LENGTH),
		/** With `bad_counter`: the author's next counter, so a device that lost its state renumbers. */
		expected: z.number().int().positive().optional()
	}),
	z
		.strictObject({
			type: z.literal('membership'),
			id: requestId.optional(),
			vault: vaultIdSchema,
			ops: z.array(membershipOpSchema).max(MAX_OPS_PER_FRAME)
		})
		.refine((f) => sameVault(f.vault, f.ops), vaultMismatch),
	z.strictObject({
		type: z.literal('keys'),
		id: requestId,
		lockboxes,
		history: z.array(keyHistorySchema).max(MAX_HISTORY_PER_FRAME)
	}),
	z.strictObject({ type: z.literal('ack'), id: requestId, seq }),
	z.strictObject({
		type: z.literal('batch'),
		id: requestId,
		snapshot: snapshotSchema.optional(),
		envelopes: z.array(sequenced).max(MAX_ENVELOPES_PER_BATCH),
		head: since
	}),
	z.strictObject({ type: z.literal('envelope'), seq, envelope: envelopeSchema }),
	z.strictObject({ type: z.literal('revoked'), vault: vaultIdSchema }),
	/**
	 * A share event was stored for the vault (docs/SHARING.md): a manifest request (`access`)
	 * or a professional's contribution. Devices fetch `after=` their last seen `seq` over HTTP.
	 */
	z.strictObject({
		type: z.literal('notice'),
		vault: vaultIdSchema,
		kind: z.enum(['access', 'contribution']),
		seq
	}),
	z.strictObject({
		type: z.literal('seen'),
		id: requestId,
		vault: vaultIdSchema,
		members: z.array(z.strictObject({ member: memberIdSchema, at: instantSchema })).max(MAX_MEMBERS)
	})
]);
/** Any frame the relay sends. */
export type RelayFrame = z.infer<typeof relayFrameSchema>;

/**
 * A parser's verdict. On failure `id` is the frame's request id when one could be read, so
 * the relay's `error` answer can still name the request it refuses.
 */
export type ParseResult<F> =
	| { ok: true; frame: F }
	| { ok: false; error: { code: ParseErrorCode; message: string; id?: number } };

/** Parses and validates a frame from a device. Never throws. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
	return parseFrame(clientFrameSchema, text);
}

/** Parses and validates a frame from the relay. Never throws. */
export function parseRelayFrame(text: string): ParseResult<RelayFrame> {
	return parseFrame(relayFrameSchema, text);
}

function parseFrame<F>(schema: z.ZodType<F>, text: string): ParseResult<F> {
	if (typeof text !== 'string') return failure('bad_frame', 'a frame must be text');
	// Size first: JSON.parse of an oversized frame is exactly the work a limit exists to avoid.
	if (utf8Length(text, MAX_FRAME_BYTES) > MAX_FRAME_BYTES) {
		return failure('too_large', `a frame must be at most ${MAX_FRAME_BYTES} bytes`);
	}
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return failure('bad_frame', 'a frame must be JSON');
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return failure('bad_frame', 'a frame must be a JSON object');
	}
	const parsed = schema.safeParse(value);
	if (parsed.success) return { ok: true, frame: parsed.data };
	const id = requestId.safeParse((value as { id?: unknown }).id);
	const issue = parsed.error.issues[0];
	return failure('bad_frame', `${pathOf(issue.path)}: ${issue.message}`, id.success ? id.data : undefined);
}

function failure(code: ParseErrorCode, message: string, id?: number): ParseResult<never> {
	return { ok: false, error: id === undefined ? { code, message } : { code, message, id } };
}

/** `ops[0].member.id` style, `frame` for the object itself. */
function pathOf(path: readonly PropertyKey[]): string {
	let out = 'frame';
	for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
	return out;
}

/**
 * UTF-8 length of `text`, counting no further than just past `limit`. Lone surrogates count
 * 3 bytes, as the encoder replaces them with U+FFFD.
 */
function utf8Length(text: string, limit: number): number {
	if (text.length > limit) return text.length; // every UTF-16 unit is at least one byte
	let bytes = 0;
	for (let i = 0; i < text.length && bytes <= limit; i++) {
		const unit = text.charCodeAt(i);
		if (unit < 0x80) bytes += 1;
		else if (unit < 0x800) bytes += 2;
		else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			bytes += 4;
			i++;
		} else bytes += 3;
	}
	return bytes;
}
