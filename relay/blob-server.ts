/**
 * The relay's blob endpoints (docs/ATTACHMENTS.md, "Relay"): documents' files, sealed on the
 * devices, uploaded in resumable parts, downloaded from any position, collected when no record
 * references them. Signed like the patient share endpoints (relay/http.ts `createAuthorizer`):
 *
 *   GET    /api/vaults/<v>/blobs                          member   usage and limits
 *   GET    /api/vaults/<v>/blobs/<id>/status              member   complete, partial or absent
 *   PUT    /api/vaults/<v>/blobs/<id>?offset=N&length=L   writer   one part of an upload
 *   GET    /api/vaults/<v>/blobs/<id>?from=N              member   the blob, streamed
 *   DELETE /api/vaults/<v>/blobs/<id>                     writer   gone at once
 *   POST   /api/vaults/<v>/blobs/refs                     writer   deletes the unreferenced
 *
 * Offsets and lengths are in the query, which the signature covers, so a PUT's limits are
 * checked before its body is read (413 with the connection closed); a part is then read whole
 * (at most BLOB_PART_MAX_BYTES, the one part in memory) because the signature covers its hash
 * too, and only a member's part is written. Log lines carry 8 characters of an id, never bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import { isSealedLength, ready, sealedLength } from '../src/lib/core/crypto';
import {
	BLOB_REFS_MAX_BODY_BYTES,
	blobGetQuerySchema,
	blobIdSchema,
	blobPutQuerySchema,
	blobRefsSchema,
	vaultIdSchema
} from '../src/lib/core/protocol';
import { NOT_FOUND, answer, closing, createAuthorizer, hasType, json, methodNotAllowed, parseJson, readBody, tooLarge } from './http';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { BlobStore } from './store/blobs';
import type { SyncServer } from './sync-server';

/** Limits of the blob endpoints; each has an environment variable in relay/main.ts. */
export interface BlobLimits {
	/** Largest file, in plaintext bytes: uploads longer than its sealed length are refused. */
	maxFileBytes: number;
	/** Bytes one vault may hold (complete blobs and uploads). */
	quotaBytes: number;
	/** Largest part one PUT may carry. */
	partMaxBytes: number;
	/** How old an unreferenced blob must be before refs deletes it (0: any). */
	gcGraceMs: number;
	/** How long an upload may stay untouched before the sweep deletes it. */
	partialTtlMs: number;
	/** How often the sweep runs (it also runs at start). */
	sweepMs: number;
}

/**
 * Defaults (docs/ATTACHMENTS.md): 100 MiB files, 1 GiB per vault, 8 MiB parts; an hour of grace
 * for a blob uploaded before the record naming it reached the device that posts refs; a day
 * for an interrupted upload to resume; a sweep every 10 minutes.
 */
export const DEFAULT_BLOB_LIMITS: BlobLimits = {
	maxFileBytes: 100 * 1024 * 1024,
	quotaBytes: 1024 * 1024 * 1024,
	partMaxBytes: 8 * 1024 * 1024,
	gcGraceMs: 60 * 60 * 1000,
	partialTtlMs: 24 * 60 * 60 * 1000,
	sweepMs: 10 * 60 * 1000
};

/** What `createBlobHandler` needs. */
export interface BlobOptions {
	store: BlobStore;
	limits: BlobLimits;
	log: Logger;
	metrics: Metrics;
	/** The sync endpoint's cached membership chains (late-bound: built after the HTTP server). */
	sync(): Pick<SyncServer, 'membership'>;
}

/** The blob endpoints, and the sweep of expired uploads they own. */
export interface BlobHandler {
	/** Whether `url` (path and query) is one of these endpoints' (`/api/vaults/<anything>/blobs…`). */
	handles(url: string): boolean;
	/** Answers a request `handles` accepted. Never rejects. */
	handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
	/** Stops the sweep timer and waits for a sweep in progress. */
	close(): Promise<void>;
}

const BLOB_PATH = /^\/api\/vaults\/[^/?]*\/blobs(?:[/?]|$)/;
/** How much of an id a log line may hold. */
const LOG_ID_CHARS = 8;
/** Largest body of a request that has none (GET, DELETE): the signature covers an empty one. */
const MAX_SMALL_BODY_BYTES = 1024;
/** Longest delay setInterval takes; beyond it Node fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const BAD_REQUEST = { error: 'bad_request' } as const;

/** Creates the handler and starts the sweep (now, then every `sweepMs`; the timer does not hold the process). */
export function createBlobHandler(options: BlobOptions): BlobHandler {
	const { store, limits, log, metrics } = options;
	checkLimits(limits);
	const sodium = ready();
	const authorize = createAuthorizer(() => options.sync());
	const maxLength = sealedLength(limits.maxFileBytes);
	const tooLong = { error: 'too_large', maxFileBytes: limits.maxFileBytes };

	let closed = false;
	let sweeping: Promise<void> | undefined;
	const sweep = (): void => {
		if (sweeping !== undefined) return;
		sweeping = (async () => {
			try {
				const removed = await store.sweepPartials(new Date(Date.now() - limits.partialTtlMs));
				if (removed > 0) {
					metrics.blobsDeleted += removed;
					log.info('blob uploads expired', { removed });
				}
			} catch (error) {
				if (!closed) log.warn('blob sweep failed', { error: loggable(error) });
			} finally {
				sweeping = undefined;
			}
		})();
	};
	sweep();
	const timer = setInterval(sweep, limits.sweepMs);
	timer.unref();

	return {
		handles: (url) => BLOB_PATH.test(url),
		async handle(req, res) {
			const url = req.url ?? '/';
			const mark = url.indexOf('?');
			const pathname = mark < 0 ? url : url.slice(0, mark);
			const query = mark < 0 ? '' : url.slice(mark + 1);
			const [vault, , ...path] = pathname.split('/').slice(3); // ['', 'api', 'vaults', <v>, 'blobs', …]
			try {
				await sodium;
				if (!vaultIdSchema.safeParse(vault).success) return closing(res, 404, NOT_FOUND, false);
				await route(req, res, vault, path, query);
			} catch (error) {
				// A device that lost its connection mid-part is routine on phones; it resumes with a 409.
				if (req.socket.destroyed) log.info('blob request abandoned', { vault: String(vault) });
				else log.error('blob request failed', { error: loggable(error) });
				if (!res.headersSent && !req.socket.destroyed) closing(res, 500, { error: 'internal' }, false);
				else res.destroy();
			}
		},
		async close() {
			closed = true;
			clearInterval(timer);
			await sweeping;
		}
	};

	async function route(req: IncomingMessage, res: ServerResponse, vault: string, path: string[], query: string): Promise<void> {
		const method = req.method ?? '';
		if (path.length === 0) {
			if (method !== 'GET') return notAllowed(res, 'GET');
			return usage(req, res, vault, query);
		}
		if (path.length === 1 && path[0] === 'refs') {
			if (method !== 'POST') return notAllowed(res, 'POST');
			return refs(req, res, vault, query);
		}
		const id = path[0];
		if (path.length > 2 || !blobIdSchema.safeParse(id).success || (path.length === 2 && path[1] !== 'status')) {
			return closing(res, 404, NOT_FOUND, false);
		}
		if (path.length === 2) {
			if (method !== 'GET') return notAllowed(res, 'GET');
			return status(req, res, vault, id, query);
		}
		if (method === 'PUT') return put(req, res, vault, id, query);
		if (method === 'GET') return download(req, res, vault, id, query);
		if (method === 'DELETE') return remove(req, res, vault, id, query);
		notAllowed(res, 'GET, PUT, DELETE');
	}

	/** The signer of a request without a body, member (or writer), its query empty; else answered. */
	async function signedNoBody(req: IncomingMessage, res: ServerResponse, vault: string, query: string, write: boolean): Promise<boolean> {
		const body = await readBody(req, MAX_SMALL_BODY_BYTES);
		if (body === 'too_large') {
			tooLarge(res, false);
			return false;
		}
		if ((await authorize(req, res, vault, body, write)) === undefined) return false;
		if (query !== '') {
			json(res, 400, BAD_REQUEST, false);
			return false;
		}
		return true;
	}

	async function usage(req: IncomingMessage, res: ServerResponse, vault: string, query: string): Promise<void> {
		if (!(await signedNoBody(req, res, vault, query, false))) return;
		const { used, count } = await store.usage(vault);
		json(res, 200, { used, quota: limits.quotaBytes, maxFileBytes: limits.maxFileBytes, partMaxBytes: limits.partMaxBytes, count }, false);
	}

	async function status(req: IncomingMessage, res: ServerResponse, vault: string, id: string, query: string): Promise<void> {
		if (!(await signedNoBody(req, res, vault, query, false))) return;
		let state = await store.status(vault, id);
		// An upload holding every byte whose completion was interrupted: completed now, or
		// discarded (absent), rather than shown as a partial no PUT could finish.
		if (state.state === 'partial' && state.offset === state.length) {
			await finish(vault, id, state.length);
			state = await store.status(vault, id);
		}
		json(res, 200, state, false);
	}

	async function put(req: IncomingMessage, res: ServerResponse, vault: string, id: string, query: string): Promise<void> {
		// Everything the query and headers tell is checked before a byte of the body is read.
		const parsed = parseQuery(query, blobPutQuerySchema);
		if (parsed === undefined || parsed.offset >= parsed.length) return closing(res, 400, BAD_REQUEST, false);
		const { offset, length } = parsed;
		if (length > maxLength || !isSealedLength(length)) return tooLarge(res, false, tooLong);
		if (!hasType(req, 'application/octet-stream')) return closing(res, 415, { error: 'unsupported_media_type' }, false);
		const body = await readBody(req, limits.partMaxBytes);
		if (body === 'too_large') return tooLarge(res, false, tooLong);
		if (body.length === 0) return json(res, 400, BAD_REQUEST, false);
		if ((await authorize(req, res, vault, body, true)) === undefined) return;

		const appended = await store.append(vault, id, { offset, length, bytes: body, quota: limits.quotaBytes });
		if ('error' in appended) {
			if (appended.error === 'offset_mismatch') return json(res, 409, { error: 'offset', offset: appended.held }, false);
			if (appended.error === 'quota') return json(res, 507, { error: 'quota', used: appended.used, quota: limits.quotaBytes }, false);
			return json(res, 400, BAD_REQUEST, false);
		}
		if (appended.state === 'complete') return json(res, 200, { state: 'complete', length: appended.length }, false);
		metrics.blobBytesIn += appended.written;
		if (appended.offset < length) return json(res, 200, { state: 'partial', offset: appended.offset }, false);
		const done = await finish(vault, id, length);
		if (done === 'complete') return json(res, 201, { state: 'complete', length }, false);
		if (done === 'hash_mismatch') return json(res, 422, { error: 'hash_mismatch' }, false);
		// Deleted between the last part and its completion: the upload starts again.
		json(res, 409, { error: 'offset', offset: 0 }, false);
	}

	/** Completes an upload holding every byte, and logs what became of it. */
	async function finish(vault: string, id: string, length: number) {
		const done = await store.complete(vault, id);
		if (done === 'complete') log.info('blob stored', { blob: short(id), vault, bytes: length });
		if (done === 'hash_mismatch') log.info('blob upload discarded', { blob: short(id), vault, reason: 'hash_mismatch' });
		return done;
	}

	async function download(req: IncomingMessage, res: ServerResponse, vault: string, id: string, query: string): Promise<void> {
		const body = await readBody(req, MAX_SMALL_BODY_BYTES);
		if (body === 'too_large') return tooLarge(res, false);
		if ((await authorize(req, res, vault, body, false)) === undefined) return;
		const parsed = parseQuery(query, blobGetQuerySchema);
		if (parsed === undefined) return json(res, 400, BAD_REQUEST, false);
		const from = parsed.from ?? 0;
		const blob = await store.read(vault, id, from);
		if (blob === null) return json(res, 404, NOT_FOUND, false);
		if (from >= blob.length) {
			blob.stream.destroy();
			return json(res, 416, { error: 'range' }, false, { 'Content-Range': `bytes */${blob.length}` });
		}
		res.writeHead(from === 0 ? 200 : 206, {
			'Content-Type': 'application/octet-stream',
			'Content-Length': String(blob.length - from),
			...(from === 0 ? {} : { 'Content-Range': `bytes ${from}-${blob.length - 1}/${blob.length}` }),
			'Cache-Control': 'no-store',
			'X-Content-Type-Options': 'nosniff'
		});
		try {
			await pipeline(
				blob.stream,
				async function* (source: AsyncIterable<Buffer>) {
					for await (const chunk of source) {
						metrics.blobBytesOut += chunk.length;
						yield chunk;
					}
				},
				res
			);
		} catch (error) {
			// The device went away (it resumes with ?from=) or the file could not be read: either
			// way the answer is cut short, which the device sees as a short body.
			log.debug('blob download cut short', { blob: short(id), vault, error: loggable(error) });
		}
	}

	async function remove(req: IncomingMessage, res: ServerResponse, vault: string, id: string, query: string): Promise<void> {
		if (!(await signedNoBody(req, res, vault, query, true))) return;
		if (await store.delete(vault, id)) {
			metrics.blobsDeleted++;
			log.info('blob deleted', { blob: short(id), vault });
		}
		answer(res, 204, {});
	}

	async function refs(req: IncomingMessage, res: ServerResponse, vault: string, query: string): Promise<void> {
		if (!hasType(req, 'application/json')) return closing(res, 415, { error: 'unsupported_media_type' }, false);
		const body = await readBody(req, BLOB_REFS_MAX_BODY_BYTES);
		if (body === 'too_large') return tooLarge(res, false);
		if ((await authorize(req, res, vault, body, true)) === undefined) return;
		const parsed = blobRefsSchema.safeParse(parseJson(body));
		if (!parsed.success || query !== '') return json(res, 400, BAD_REQUEST, false);
		const removed = await store.retain(vault, new Set(parsed.data.ids), new Date(Date.now() - limits.gcGraceMs));
		metrics.blobsDeleted += removed;
		log.info('blobs collected', { vault, kept: parsed.data.ids.length, removed });
		json(res, 200, { removed }, false);
	}

	function notAllowed(res: ServerResponse, allow: string): void {
		// Said before any body is read: the connection closes, as for every early answer here.
		res.shouldKeepAlive = false;
		methodNotAllowed(res, allow, false);
	}
}

/** The query's fields by `schema`; undefined when it refuses them or a key is repeated. */
function parseQuery<T>(query: string, schema: { safeParse(input: unknown): z.ZodSafeParseResult<T> }): T | undefined {
	const params = new URLSearchParams(query);
	const keys = [...params.keys()];
	if (keys.length !== new Set(keys).size) return undefined;
	const parsed = schema.safeParse(Object.fromEntries(params));
	return parsed.success ? parsed.data : undefined;
}

function short(id: string): string {
	return id.slice(0, LOG_ID_CHARS);
}

/**
 * An error for a log line. Filesystem errors name their path, which holds the vault and blob
 * ids: any run of 20 or more base64url characters is cut to 8.
 */
function loggable(error: unknown): string {
	const message = error instanceof Error ? error.message : String(error);
	return message.replace(/[A-Za-z0-9_-]{20,}/g, (run) => `${run.slice(0, LOG_ID_CHARS)}…`);
}

/** Refuses limits the relay cannot honour, at start rather than on the first request. */
function checkLimits(limits: BlobLimits): void {
	for (const [name, value] of Object.entries(limits)) {
		const min = name === 'gcGraceMs' ? 0 : 1;
		if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`blob limits: ${name} must be an integer ≥ ${min}`);
	}
	if (limits.sweepMs > MAX_TIMER_MS) throw new RangeError(`blob limits: sweepMs must be at most ${MAX_TIMER_MS}`);
	if (!Number.isSafeInteger(sealedLength(limits.maxFileBytes))) throw new RangeError('blob limits: maxFileBytes is too large');
}
