/**
 * What the relay's HTTP APIs share (relay/shl-server.ts, relay/blob-server.ts): answers with
 * the headers every `/api/` answer carries, bodies read against a limit, and the check of a
 * signed patient request (docs/SHARING.md, "Patient endpoints (signed)") against the vault's
 * replayed membership.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_AUTH_MAX_SKEW_MS, canWrite, isMember, parseAuthorization, verifyRequest } from '../src/lib/core/sync';
import type { SyncServer } from './sync-server';

/** Headers of every `/api/shl/*` answer: any origin may call the public endpoints (viewers live anywhere). */
export const CORS = { 'Access-Control-Allow-Origin': '*' } as const;
/** One 404 body for everything not found, byte for byte. */
export const NOT_FOUND = { error: 'not_found' } as const;

/** A request's body, or the reason it was not read whole. */
export type Body = Buffer | 'too_large';

/**
 * Reads the body up to `limit` bytes. Past it (by Content-Length, or counted as it arrives)
 * reading stops and the caller answers 413; the connection is then closed, not drained.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Body> {
	const declared = req.headers['content-length'];
	if (declared !== undefined && Number(declared) > limit) return Promise.resolve('too_large');
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		const done = () => {
			req.off('data', onData);
			req.off('end', onEnd);
			req.off('error', onError);
			req.off('close', onClose);
		};
		const onData = (chunk: Buffer) => {
			size += chunk.length;
			if (size > limit) {
				done();
				req.pause();
				resolve('too_large');
				return;
			}
			chunks.push(chunk);
		};
		const onEnd = () => {
			done();
			resolve(Buffer.concat(chunks, size));
		};
		const onError = (error: Error) => {
			done();
			reject(error);
		};
		const onClose = () => {
			done();
			reject(new Error('the client went away before sending its body'));
		};
		req.on('data', onData);
		req.on('end', onEnd);
		req.on('error', onError);
		req.on('close', onClose);
	});
}

/** 413, closing the connection so the rest of the body is never read. */
export function tooLarge(res: ServerResponse, cors: boolean, body: object = { error: 'too_large' }): void {
	closing(res, 413, body, cors);
}

/**
 * A JSON answer given before the request's body was read: the connection is closed, or Node
 * would read and discard whatever body follows, however large, to reuse it.
 */
export function closing(res: ServerResponse, status: number, body: unknown, cors: boolean): void {
	res.shouldKeepAlive = false;
	json(res, status, body, cors, { Connection: 'close' });
}

export function methodNotAllowed(res: ServerResponse, allow: string, cors: boolean): void {
	json(res, 405, { error: 'method_not_allowed' }, cors, { Allow: allow });
}

/** A JSON answer with the headers every `/api/` answer carries, and CORS on the public endpoints. */
export function json(res: ServerResponse, status: number, body: unknown, cors: boolean, extra: Record<string, string> = {}): void {
	answer(res, status, { ...(cors ? CORS : {}), 'Content-Type': 'application/json', ...extra }, JSON.stringify(body));
}

/** Writes an answer: no caching anywhere (these are personal and short-lived), no sniffing. */
export function answer(res: ServerResponse, status: number, headers: Record<string, string>, body?: string | Buffer): void {
	const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
	res.writeHead(status, {
		...headers,
		'Cache-Control': 'no-store',
		'X-Content-Type-Options': 'nosniff',
		...(payload === undefined ? {} : { 'Content-Length': String(payload.length) })
	});
	res.end(payload);
}

export function parseJson(body: Buffer): unknown {
	try {
		return JSON.parse(body.toString('utf8'));
	} catch {
		return undefined;
	}
}

/** True when the request's Content-Type is `type` (parameters such as charset allowed). */
export function hasType(req: IncomingMessage, type: string): boolean {
	return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === type;
}

/**
 * Checks signed patient requests: `authorize(req, res, vault, body, write)` resolves with the
 * member who signed the request, if it is a current member of the vault (and a writer when
 * `write`); otherwise the refusal is answered (401 `unauthenticated`, `stale_request` or
 * `not_member`, 403 `forbidden`) and it resolves with undefined. `sync` gives the cached
 * membership chains (late-bound: the sync endpoint is attached after the HTTP server exists).
 */
export function createAuthorizer(
	sync: () => Pick<SyncServer, 'membership'>
): (req: IncomingMessage, res: ServerResponse, vault: string, body: Uint8Array, write: boolean) => Promise<string | undefined> {
	const refuse = (res: ServerResponse, status: number, error: string): undefined => {
		json(res, status, { error }, false);
		return undefined;
	};
	return async (req, res, vault, body, write) => {
		const header = req.headers.authorization;
		const now = new Date();
		const parsed = parseAuthorization(header);
		if (parsed === null || header === undefined) return refuse(res, 401, 'unauthenticated');
		if (Math.abs(parsed.ts - now.getTime()) > HTTP_AUTH_MAX_SKEW_MS) return refuse(res, 401, 'stale_request');
		const signed = verifyRequest(header, { method: req.method ?? '', path: req.url ?? '', body, now });
		if (signed === null) return refuse(res, 401, 'unauthenticated');
		// An unknown vault and a vault of others answer alike, as on the sync socket.
		const state = await sync().membership(vault);
		if (state === undefined || !isMember(state, signed.member, now)) return refuse(res, 401, 'not_member');
		if (write && !canWrite(state, signed.member)) return refuse(res, 403, 'forbidden');
		return signed.member;
	};
}
