/**
 * Signed HTTP requests to the relay (src/lib/core/sync/http-auth.ts), shared by the share
 * service and the file service: the same Ed25519 member keys as the sync socket, the path with
 * its query string and the body covered by the signature.
 */
import type { SignKeyPair } from '../core/crypto';
import { uploadBody } from '../core/share';
import { signRequest } from '../core/sync/http-auth';
import { OfflineError, RelayError } from './errors';

/** Who signs and where to send: closures over the session. */
export interface RelayAuth {
	/** The relay's http(s) origin; undefined without a relay. */
	relayOrigin(): string | undefined;
	/** This device as a member of the record: its id and signing keys. */
	member(): { id: string; sign: SignKeyPair };
	/** `fetch`; default the global one. */
	readonly fetch?: typeof fetch;
}

/** Options of one request. */
export interface RelayRequestOptions {
	readonly body?: Uint8Array;
	/** The body's type; default `application/json`. */
	readonly contentType?: string;
	/** Aborts the request (the fetch's AbortError propagates as is). */
	readonly signal?: AbortSignal;
	/** Statuses returned to the caller rather than thrown as RelayError (e.g. 409 with its JSON). */
	readonly accept?: readonly number[];
}

/** A request signed and ready to send (`signRelayRequest`), not yet sent. */
export interface SignedRelayRequest {
	readonly method: string;
	readonly path: string;
	readonly options: RelayRequestOptions;
	readonly authorization: string;
}

/**
 * Signs a request without sending it, so that an upload can sign its next part (hashing
 * megabytes) while the relay stores the current one. Send within the relay's clock skew (two
 * minutes). OfflineError when there is no relay.
 */
export function signRelayRequest(auth: RelayAuth, method: string, path: string, options: RelayRequestOptions = {}): SignedRelayRequest {
	if (auth.relayOrigin() === undefined) throw new OfflineError();
	const member = auth.member();
	const body = options.body ?? new Uint8Array();
	const authorization = signRequest({ method, path, body, member: member.id, signer: member.sign, now: new Date() });
	return { method, path, options, authorization };
}

/**
 * A signed request to the relay: the Response when it is ok or its status is in `accept`;
 * OfflineError when there is no relay or it cannot be reached, RelayError (the relay's JSON
 * `error`, else `not_found` / `http_<status>`) when it refuses.
 */
export async function relayRequest(auth: RelayAuth, method: string, path: string, options: RelayRequestOptions = {}): Promise<Response> {
	return sendRelayRequest(auth, signRelayRequest(auth, method, path, options));
}

/** Sends a request `signRelayRequest` made; what `relayRequest` answers. */
export async function sendRelayRequest(auth: RelayAuth, request: SignedRelayRequest): Promise<Response> {
	const { method, path, options, authorization } = request;
	const body = options.body ?? new Uint8Array();
	const origin = auth.relayOrigin();
	if (origin === undefined) throw new OfflineError();
	const fetcher = auth.fetch ?? globalThis.fetch;
	let response: Response;
	try {
		response = await fetcher(origin + path, {
			method,
			headers: { authorization, ...(body.length > 0 ? { 'content-type': options.contentType ?? 'application/json' } : {}) },
			...(body.length > 0 ? { body: requestBody(body) } : {}),
			...(options.signal === undefined ? {} : { signal: options.signal })
		});
	} catch (error) {
		if (options.signal?.aborted) throw options.signal.reason ?? error;
		throw new OfflineError();
	}
	if (response.ok || options.accept?.includes(response.status)) return response;
	let code = response.status === 404 ? 'not_found' : `http_${response.status}`;
	try {
		const answer = (await response.json()) as { error?: unknown };
		if (typeof answer.error === 'string') code = answer.error;
	} catch {
		// No JSON: the status says enough.
	}
	throw new RelayError(code, `${method} ${path.replace(/\?.*/, '')}: ${response.status}`);
}

/**
 * A body as fetch should get it: in a browser page, uploadBody's Blob of views (much faster in
 * Chromium than bytes); elsewhere (Node: tests, benchmarks) the bytes as they are, since a Blob
 * there is one more copy of every part (for a 100 MB upload, 100 MB more garbage).
 */
function requestBody(body: Uint8Array): Uint8Array<ArrayBuffer> | Blob {
	return typeof window === 'undefined' ? (body as Uint8Array<ArrayBuffer>) : uploadBody(body);
}
