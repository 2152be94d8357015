/**
 * The relay's HTTP API for SMART Health Links sharing (docs/SHARING.md, HL7 SHL STU1):
 *
 *   public, CORS `*`:  OPTIONS /api/shl/…, POST /api/shl/<id> (manifest),
 *                      GET /api/shl/<id>/files/<ticket>, POST /api/shl/<id>/contributions
 *   signed, no CORS:   PUT|DELETE /api/vaults/<vault>/shares/<id>, GET …/shares,
 *                      GET …/access?after=, GET …/contributions?after=, GET …/contributions/<id>
 *
 * Every path segment, query and body is validated with core/protocol's zod schemas before
 * anything is read from the store; bodies are read against a size limit and abandoned past
 * it (413). Any inactive link answers the very same 404, so a professional's viewer cannot
 * tell an unknown link from a revoked, expired, used-up or locked one. Each manifest request
 * to a known link is logged for the patient and announced on the sync socket (`notice`).
 * Log lines never carry a link id beyond 8 characters, a token, a passcode or a name.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashPasscode, ready, verifyPasscode } from '../src/lib/core/crypto';
import {
	SHL_MAX_FILES,
	SHL_MAX_MANIFEST_BODY_BYTES,
	SHL_MAX_PAGE,
	SHARE_FILE_IV_BYTES,
	SHARE_FILE_TAG_BYTES,
	SHARE_PUT_BINARY_TYPE,
	SHARE_PUT_MAX_META_BYTES,
	afterQuerySchema,
	contributionIdSchema,
	manifestRequestSchema,
	sharePutMetaSchema,
	sharePutSchema,
	shlIdSchema,
	shlTicketSchema,
	vaultIdSchema,
	type AccessEvent,
	type ContributionEvent,
	type ManifestFile,
	type RelayFrame,
	type ShareListItem,
	type SharePut
} from '../src/lib/core/protocol';
import { CORS, NOT_FOUND, answer, createAuthorizer, hasType, json, methodNotAllowed, parseJson, readBody, tooLarge } from './http';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { AccessEntry, ShareState, ShareStore } from './store/shares';
import type { SyncServer } from './sync-server';

/** Limits of the sharing API; each has an environment variable in relay/main.ts. */
export interface ShlLimits {
	/** Passcode attempts a link gets (reset when the patient changes the passcode). */
	passcodeAttempts: number;
	/** Largest share a device may publish (PUT body: the JWE files inline). */
	maxBodyBytes: number;
	/** Largest sealed contribution a professional may send. */
	contributionMaxBytes: number;
	/** How long a file location (ticket) stays valid: one hour in the contract; shorter in tests. */
	ticketTtlMs: number;
	/** Requests per second one client address may sustain on the public endpoints (token bucket refill). */
	publicRatePerSecond: number;
	/** Requests one client address may send there in a burst (token bucket size). */
	publicRateBurst: number;
}

/**
 * Defaults: 10 attempts (SHARING.md); 32 MiB for a published share, room for an IPS bundle
 * with a few scanned documents inline (base64 inside base64url); 20 MiB contributions
 * (SHARING.md's `maxBytes`); tickets valid one hour.
 */
export const DEFAULT_SHL_LIMITS: ShlLimits = {
	passcodeAttempts: 10,
	maxBodyBytes: 32 * 1024 * 1024,
	contributionMaxBytes: 20 * 1024 * 1024,
	ticketTtlMs: 60 * 60 * 1000,
	// A viewer opening a link makes a handful of requests; scanning for links or hammering one
	// with passcodes (each an Argon2id check) is what this slows down.
	publicRatePerSecond: 10,
	publicRateBurst: 60
};

/** What `createApiHandler` needs. */
export interface ShlOptions {
	shares: ShareStore;
	limits: ShlLimits;
	log: Logger;
	metrics: Metrics;
	/** The sync endpoint: `notice` pushes and the cached membership chains. Late-bound (built after the HTTP server). */
	sync(): Pick<SyncServer, 'notify' | 'membership'>;
	/** `https://carnet.example` as professionals reach the relay; else taken from the request's Host. */
	publicOrigin?: string;
}

/** The preflight answer's headers. */
const PREFLIGHT = {
	...CORS,
	'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
	'Access-Control-Allow-Headers': 'Content-Type, Authorization',
	'Access-Control-Max-Age': '86400'
} as const;
/** How much of a link id a log line may hold. */
const LOG_ID_CHARS = 8;
/** Largest body of a patient request other than PUT (they have none). */
const MAX_SMALL_BODY_BYTES = 1024;

/** Client addresses whose rate buckets are kept; past it, the full (idle) ones are forgotten. */
const MAX_RATE_BUCKETS = 10_000;

/**
 * Token buckets per client address for the public endpoints. The address is the socket's: behind
 * a proxy every client shares the proxy's, so raise the limits there (X-Forwarded-For is not
 * trusted, anyone can write it).
 */
function rateLimiter(perSecond: number, burst: number): (address: string, now: number) => boolean {
	const buckets = new Map<string, { tokens: number; at: number }>();
	return (address, now) => {
		let bucket = buckets.get(address);
		if (bucket === undefined) {
			if (buckets.size >= MAX_RATE_BUCKETS) {
				for (const [key, b] of buckets) if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) buckets.delete(key);
			}
			bucket = { tokens: burst, at: now };
			buckets.set(address, bucket);
		}
		bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
		bucket.at = now;
		if (bucket.tokens < 1) return false;
		bucket.tokens -= 1;
		return true;
	};
}

/** Answers a request under `/api/`: the sharing API, or 404. Never rejects. */
export function createApiHandler(options: ShlOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
	const { shares, limits, log, metrics } = options;
	const sodium = ready();
	const allow = rateLimiter(limits.publicRatePerSecond, limits.publicRateBurst);
	const authorize = createAuthorizer(() => options.sync());

	return async (req, res) => {
		const url = req.url ?? '/';
		const mark = url.indexOf('?');
		const pathname = mark < 0 ? url : url.slice(0, mark);
		const query = mark < 0 ? '' : url.slice(mark + 1);
		const segments = pathname.split('/').slice(2); // ['', 'api', …]
		const cors = segments[0] === 'shl';
		try {
			await sodium;
			if (cors && req.method !== 'OPTIONS' && !allow(req.socket.remoteAddress ?? '', Date.now())) {
				return json(res, 429, { error: 'rate_limited' }, true, { 'Retry-After': '1' });
			}
			if (cors) await publicRoute(req, res, segments.slice(1));
			else if (segments[0] === 'vaults') await patientRoute(req, res, segments.slice(1), query);
			else json(res, 404, NOT_FOUND, false);
		} catch (error) {
			log.error('api request failed', { error: error instanceof Error ? error.message : String(error) });
			if (!res.headersSent) json(res, 500, { error: 'internal' }, cors);
			else res.destroy();
		}
	};

	// --- public endpoints (a professional's viewer) ------------------------------------------

	async function publicRoute(req: IncomingMessage, res: ServerResponse, path: string[]): Promise<void> {
		if (req.method === 'OPTIONS') return answer(res, 204, PREFLIGHT);
		const id = path[0];
		if (id === undefined || !shlIdSchema.safeParse(id).success) return json(res, 404, NOT_FOUND, true);
		if (path.length === 1) {
			if (req.method === 'POST') return manifest(req, res, id);
			// `U` links are fetched with GET; the relay never makes them, so none is ever active.
			if (req.method === 'GET') return json(res, 404, NOT_FOUND, true);
			return methodNotAllowed(res, 'GET, POST, OPTIONS', true);
		}
		if (path.length === 3 && path[1] === 'files') {
			if (req.method !== 'GET') return methodNotAllowed(res, 'GET, OPTIONS', true);
			return file(res, id, path[2]);
		}
		if (path.length === 2 && path[1] === 'contributions') {
			if (req.method !== 'POST') return methodNotAllowed(res, 'POST, OPTIONS', true);
			return contribute(req, res, id);
		}
		json(res, 404, NOT_FOUND, true);
	}

	async function manifest(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
		if (!hasType(req, 'application/json')) return json(res, 415, { error: 'unsupported_media_type' }, true);
		const body = await readBody(req, SHL_MAX_MANIFEST_BODY_BYTES);
		if (body === 'too_large') return tooLarge(res, true);
		const parsed = manifestRequestSchema.safeParse(parseJson(body));
		if (!parsed.success) return json(res, 400, { error: 'bad_request' }, true);
		const { recipient, passcode, embeddedLengthMax } = parsed.data;
		const at = new Date();
		const record = (vault: string, outcome: AccessEntry['outcome']) => logAccess(vault, { share: id, at, recipient, outcome });

		const state = await shares.share(id);
		if (state === undefined) return json(res, 404, NOT_FOUND, true);
		let refund = false;
		if (state.passcodeHash !== null) {
			if (passcode === undefined) {
				// No guess, nothing to check and no attempt spent: a viewer that did not know about
				// the passcode learns it needs one, without costing the patient's budget.
				if (!isActive(state, at)) {
					await record(state.vault, 'refused');
					return json(res, 404, NOT_FOUND, true);
				}
				await record(state.vault, 'wrong_passcode');
				return json(res, 401, { error: 'invalid_passcode', remainingAttempts: state.attemptsLeft }, true);
			}
			// The attempt is taken before the slow check: parallel guesses cannot outrun the budget.
			const reserved = await shares.reserveAttempt(id, at);
			if (reserved.status === 'unknown') return json(res, 404, NOT_FOUND, true);
			if (reserved.status === 'inactive') {
				await record(reserved.vault, 'refused');
				return json(res, 404, NOT_FOUND, true);
			}
			if (!verifyPasscode(reserved.passcodeHash, passcode)) {
				await record(reserved.vault, 'wrong_passcode');
				return json(res, 401, { error: 'invalid_passcode', remainingAttempts: reserved.attemptsLeft }, true);
			}
			refund = true;
		}
		const tickets = Array.from({ length: SHL_MAX_FILES }, () => randomBytes(32).toString('base64url'));
		const opened = await shares.openShare(id, {
			at,
			refund,
			embeddedLengthMax,
			ticketHashes: tickets.map(ticketHash),
			ticketExpiresAt: new Date(at.getTime() + limits.ticketTtlMs)
		});
		if (opened.status === 'unknown') return json(res, 404, NOT_FOUND, true);
		if (opened.status === 'inactive') {
			await record(opened.vault, 'refused');
			return json(res, 404, NOT_FOUND, true);
		}
		await record(opened.vault, 'opened');
		const base = `${origin(req)}/api/shl/${id}/files/`;
		const files = opened.files.map(
			(f): ManifestFile =>
				'embedded' in f ? { contentType: f.contentType, embedded: f.embedded } : { contentType: f.contentType, location: base + tickets[f.ticket] }
		);
		json(res, 200, { files }, true);
	}

	/** Logs a manifest request for the patient, then tells the vault's online devices. */
	async function logAccess(vault: string, entry: AccessEntry): Promise<void> {
		const seq = await shares.logAccess(vault, entry);
		metrics.shlManifest(entry.outcome);
		log.info('shl manifest', { share: entry.share.slice(0, LOG_ID_CHARS), vault, outcome: entry.outcome });
		await notify(vault, { type: 'notice', vault, kind: 'access', seq });
	}

	async function file(res: ServerResponse, id: string, ticket: string): Promise<void> {
		if (!shlTicketSchema.safeParse(ticket).success) return json(res, 404, NOT_FOUND, true);
		const found = await shares.ticketFile(id, ticketHash(ticket), new Date());
		if (found === undefined) return json(res, 404, NOT_FOUND, true);
		answer(res, 200, { ...CORS, 'Content-Type': 'application/jose' }, found.jwe);
	}

	async function contribute(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
		const state = await shares.share(id);
		const at = new Date();
		if (state === undefined || state.contributionTokenHash === null || !isLive(state, at)) return json(res, 404, NOT_FOUND, true);
		const token = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(req.headers.authorization ?? '')?.[1];
		if (token === undefined || !sameHash(sha256(token), Buffer.from(state.contributionTokenHash, 'base64url'))) {
			log.info('shl contribution refused', { share: id.slice(0, LOG_ID_CHARS), reason: 'token' });
			return json(res, 401, { error: 'invalid_token' }, true);
		}
		if (!hasType(req, 'application/octet-stream')) return json(res, 415, { error: 'unsupported_media_type' }, true);
		const body = await readBody(req, limits.contributionMaxBytes);
		if (body === 'too_large') return tooLarge(res, true);
		if (body.length === 0) return json(res, 400, { error: 'bad_request' }, true);
		const contributionId = randomBytes(16).toString('base64url');
		const stored = await shares.addContribution(id, { id: contributionId, at, sealed: body });
		if (stored.status === 'inactive') return json(res, 404, NOT_FOUND, true);
		metrics.shlContributions++;
		log.info('shl contribution stored', { share: id.slice(0, LOG_ID_CHARS), vault: stored.vault, bytes: body.length });
		await notify(stored.vault, { type: 'notice', vault: stored.vault, kind: 'contribution', seq: stored.seq });
		json(res, 201, { id: contributionId }, true);
	}

	// --- patient endpoints (signed by a member) ----------------------------------------------

	async function patientRoute(req: IncomingMessage, res: ServerResponse, path: string[], query: string): Promise<void> {
		const [vault, kind, item] = path;
		if (vault === undefined || !vaultIdSchema.safeParse(vault).success || path.length > 3) return json(res, 404, NOT_FOUND, false);
		const method = req.method ?? '';
		if (kind === 'shares' && item !== undefined) {
			if (!shlIdSchema.safeParse(item).success) return json(res, 404, NOT_FOUND, false);
			if (method === 'PUT') return putShare(req, res, vault, item);
			if (method === 'DELETE') return deleteShare(req, res, vault, item);
			return methodNotAllowed(res, 'PUT, DELETE', false);
		}
		if (method !== 'GET') return methodNotAllowed(res, 'GET', false);
		if (kind === 'shares' && item === undefined) return listShares(req, res, vault);
		if (kind === 'access' && item === undefined) return listAccess(req, res, vault, query);
		if (kind === 'contributions' && item === undefined) return listContributions(req, res, vault, query);
		if (kind === 'contributions' && item !== undefined) {
			if (!contributionIdSchema.safeParse(item).success) return json(res, 404, NOT_FOUND, false);
			return getContribution(req, res, vault, item);
		}
		json(res, 404, NOT_FOUND, false);
	}

	async function putShare(req: IncomingMessage, res: ServerResponse, vault: string, id: string): Promise<void> {
		const body = await readBody(req, limits.maxBodyBytes);
		if (body === 'too_large') return tooLarge(res, false);
		if ((await authorize(req, res, vault, body, true)) === undefined) return;
		// Carnet's devices send the binary form; the JSON form stays for other clients and tests.
		let input: SharePut | undefined;
		if (hasType(req, SHARE_PUT_BINARY_TYPE)) {
			const binary = parseBinaryShare(body, limits.maxBodyBytes);
			// The files as served are a third larger than sent: they keep the JSON form's limit.
			if (binary === 'too_large') return tooLarge(res, false);
			input = binary;
		}
		else if (hasType(req, 'application/json')) {
			const parsed = sharePutSchema.safeParse(parseJson(body));
			input = parsed.success ? parsed.data : undefined;
		} else return json(res, 415, { error: 'unsupported_media_type' }, false);
		if (input === undefined) return json(res, 400, { error: 'bad_request' }, false);
		const existing = await shares.share(id);
		if (existing !== undefined && (existing.vault !== vault || existing.revoked)) return json(res, 409, { error: 'conflict' }, false);
		// Only the hash is stored. Resending the same passcode keeps the attempts left; a new one resets them.
		let passcodeHash: string | null = null;
		let resetAttempts = false;
		if (input.flag.includes('P')) {
			const kept = existing?.passcodeHash ?? null;
			if (input.passcode === undefined) {
				if (kept === null) return json(res, 400, { error: 'bad_request' }, false);
				passcodeHash = kept;
			} else if (kept !== null && verifyPasscode(kept, input.passcode)) passcodeHash = kept;
			else {
				passcodeHash = hashPasscode(input.passcode);
				resetAttempts = true;
			}
		}
		const result = await shares.putShare(
			vault,
			id,
			{
				exp: input.exp,
				flag: input.flag,
				passcodeHash,
				attempts: limits.passcodeAttempts,
				resetAttempts,
				maxUses: input.maxUses ?? null,
				label: input.label,
				contributionTokenHash: input.contributionTokenHash ?? null,
				files: input.files
			},
			new Date()
		);
		if (result === 'conflict') return json(res, 409, { error: 'conflict' }, false);
		log.info('shl share published', { share: id.slice(0, LOG_ID_CHARS), vault, result, files: input.files.length });
		json(res, 200, { id }, false);
	}

	async function deleteShare(req: IncomingMessage, res: ServerResponse, vault: string, id: string): Promise<void> {
		const body = await readBody(req, MAX_SMALL_BODY_BYTES);
		if (body === 'too_large') return tooLarge(res, false);
		if ((await authorize(req, res, vault, body, true)) === undefined) return;
		if ((await shares.revokeShare(vault, id, new Date())) === 'conflict') return json(res, 409, { error: 'conflict' }, false);
		log.info('shl share revoked', { share: id.slice(0, LOG_ID_CHARS), vault });
		answer(res, 204, {});
	}

	async function listShares(req: IncomingMessage, res: ServerResponse, vault: string): Promise<void> {
		const body = await readBody(req, MAX_SMALL_BODY_BYTES);
		if (body === 'too_large') return tooLarge(res, false);
		if ((await authorize(req, res, vault, body, false)) === undefined) return;
		const list = (await shares.shares(vault)).map(
			(s): ShareListItem => ({
				id: s.id,
				exp: s.exp,
				flag: s.flag,
				maxUses: s.maxUses,
				uses: s.uses,
				attemptsLeft: s.attemptsLeft,
				revoked: s.revoked,
				createdAt: s.createdAt.toISOString(),
				label: s.label
			})
		);
		json(res, 200, list, false);
	}

	async function listAccess(req: IncomingMessage, res: ServerResponse, vault: string, query: string): Promise<void> {
		const after = await pageStart(req, res, vault, query);
		if (after === undefined) return;
		const events = (await shares.accessLog(vault, after, SHL_MAX_PAGE)).map(
			(e): AccessEvent => ({ seq: e.seq, share: e.share, at: e.at.toISOString(), recipient: e.recipient, outcome: e.outcome })
		);
		json(res, 200, events, false);
	}

	async function listContributions(req: IncomingMessage, res: ServerResponse, vault: string, query: string): Promise<void> {
		const after = await pageStart(req, res, vault, query);
		if (after === undefined) return;
		const events = (await shares.contributions(vault, after, SHL_MAX_PAGE)).map(
			(c): ContributionEvent => ({ seq: c.seq, id: c.id, share: c.share, at: c.at.toISOString(), bytes: c.bytes })
		);
		json(res, 200, events, false);
	}

	/** The `after` of a signed listing request (0 when absent), once the query is valid and the caller a member. */
	async function pageStart(req: IncomingMessage, res: ServerResponse, vault: string, query: string): Promise<number | undefined> {
		const body = await readBody(req, MAX_SMALL_BODY_BYTES);
		if (body === 'too_large') return void tooLarge(res, false);
		if ((await authorize(req, res, vault, body, false)) === undefined) return undefined;
		const params = new URLSearchParams(query);
		const keys = [...params.keys()];
		const parsed = afterQuerySchema.safeParse(Object.fromEntries(params));
		if (!parsed.success || keys.length !== new Set(keys).size) return void json(res, 400, { error: 'bad_request' }, false);
		return parsed.data.after ?? 0;
	}

	async function getContribution(req: IncomingMessage, res: ServerResponse, vault: string, id: string): Promise<void> {
		const body = await readBody(req, MAX_SMALL_BODY_BYTES);
		if (body === 'too_large') return tooLarge(res, false);
		if ((await authorize(req, res, vault, body, false)) === undefined) return;
		const sealed = await shares.contribution(vault, id);
		if (sealed === undefined) return json(res, 404, NOT_FOUND, false);
		answer(res, 200, { 'Content-Type': 'application/octet-stream' }, Buffer.from(sealed));
	}

	// --- helpers -----------------------------------------------------------------------------

	/** Pushes a notice; a socket problem must not turn a stored event into an error answer. */
	async function notify(vault: string, frame: RelayFrame): Promise<void> {
		try {
			await options.sync().notify(vault, frame);
		} catch (error) {
			log.warn('notice not sent', { vault, error: error instanceof Error ? error.message : String(error) });
		}
	}

	/** The origin file locations are built on: configured, or the one the viewer reached. */
	function origin(req: IncomingMessage): string {
		if (options.publicOrigin !== undefined) return options.publicOrigin;
		const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
		return `${proto}://${req.headers.host ?? 'localhost'}`;
	}
}

/** Not revoked and not expired at `at`: enough for a contribution (the token proves the link key). */
function isLive(state: ShareState, at: Date): boolean {
	return !state.revoked && (state.exp === null || at.getTime() < state.exp * 1000);
}

/** Live, with uses and passcode attempts left: the store's rule, for answers that change nothing. */
function isActive(state: ShareState, at: Date): boolean {
	return (
		isLive(state, at) &&
		(state.maxUses === null || state.uses < state.maxUses) &&
		(state.passcodeHash === null || state.attemptsLeft > 0)
	);
}

/** base64url(SHA-256(ticket)): the store never holds a usable ticket. */
function ticketHash(ticket: string): string {
	return createHash('sha256').update(Buffer.from(ticket, 'base64url')).digest('base64url');
}

/** SHA-256 of the token's ASCII text, as the patient's device hashes it (docs/SHARING.md). */
function sha256(token: string): Buffer {
	return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time equality of two hashes; lengths are public. */
function sameHash(a: Buffer, b: Buffer): boolean {
	return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A binary share PUT (protocol/shl.ts `sharePutMetaSchema`) as the JSON one reads: the
 * metadata validated, each file's segments turned back into its compact JWE (what viewers
 * get, byte for byte the standard form); undefined when anything is off, lengths included;
 * 'too_large' when the JWEs would add up to more than `maxJweChars` (the JSON form's limit).
 */
function parseBinaryShare(body: Buffer, maxJweChars: number): SharePut | 'too_large' | undefined {
	if (body.length < 4) return undefined;
	const metaBytes = body.readUInt32BE(0);
	if (metaBytes > SHARE_PUT_MAX_META_BYTES || 4 + metaBytes > body.length) return undefined;
	const meta = sharePutMetaSchema.safeParse(parseJson(body.subarray(4, 4 + metaBytes)));
	if (!meta.success) return undefined;
	let offset = 4 + metaBytes;
	if (meta.data.files.reduce((sum, f) => sum + f.bytes, 0) !== body.length - offset) return undefined;
	const b64 = (bytes: number) => Math.ceil((bytes * 4) / 3);
	const total = meta.data.files.reduce((sum, f) => sum + f.protected.length + 4 + b64(f.bytes - SHARE_FILE_TAG_BYTES - SHARE_FILE_IV_BYTES) + b64(SHARE_FILE_IV_BYTES) + b64(SHARE_FILE_TAG_BYTES), 0);
	if (total > maxJweChars) return 'too_large';
	const files: SharePut['files'] = [];
	for (const file of meta.data.files) {
		const segment = body.subarray(offset, offset + file.bytes);
		offset += file.bytes;
		const tag = segment.length - SHARE_FILE_TAG_BYTES;
		const iv = segment.subarray(0, SHARE_FILE_IV_BYTES).toString('base64url');
		const ciphertext = segment.subarray(SHARE_FILE_IV_BYTES, tag).toString('base64url');
		files.push({ contentType: file.contentType, jwe: `${file.protected}..${iv}.${ciphertext}.${segment.subarray(tag).toString('base64url')}` });
	}
	const { files: _, ...share } = meta.data;
	return { ...share, files };
}
