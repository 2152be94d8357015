/**
 * The relay's blob endpoints (docs/ATTACHMENTS.md, section 2), as signed requests
 * (../relay-http.ts). Uploads and downloads stream: a blob is read, sent, received and handed
 * on a part at a time, never whole in memory, so a 100 MB file costs a few MiB.
 */
import type { z } from 'zod';
import { FILE_PIECE_BYTES } from '../../core/crypto';
import {
	blobOffsetAnswerSchema,
	blobPutAnswerSchema,
	blobQuotaAnswerSchema,
	blobRefsAnswerSchema,
	blobStatusSchema,
	blobTooLargeAnswerSchema,
	blobUsageSchema,
	type BlobStatus,
	type BlobUsage
} from '../../core/protocol';
import { FileTooLargeError, FileUnavailableError, OfflineError, QuotaError, RelayError } from '../errors';
import { relayRequest, sendRelayRequest, signRelayRequest, type RelayAuth, type SignedRelayRequest } from '../relay-http';

/** The bytes one PUT carries: big enough that request overhead is small, small enough to resume cheaply. */
export const UPLOAD_PART_BYTES = 4 * 1024 * 1024;

/** What `GET /api/vaults/:v/blobs` answers: the vault's usage and the relay's limits. */
export type RelayBlobUsage = BlobUsage;

/** Where one blob stands on the relay. */
export type RelayBlobStatus = BlobStatus;

/**
 * Reads `length` bytes of the sealed blob from `offset` (the device's stored pieces). The upload
 * asks for the next part before the current one is sent: two calls in a row must not return
 * the same buffer.
 */
export type PieceReader = (offset: number, length: number) => Promise<Uint8Array>;

/** Options of an upload. */
export interface UploadOptions {
	/** Bytes per PUT; default UPLOAD_PART_BYTES (the relay takes at most BLOB_PART_MAX_BYTES). */
	readonly partBytes?: number;
	/** Told the fraction of the blob the relay holds (0..1) after each part. */
	readonly onProgress?: (fraction: number) => void;
	readonly signal?: AbortSignal;
}

/** What an upload did: how many bytes it sent (a resumed upload sends only the rest). */
export interface UploadResult {
	readonly sent: number;
}

/** Options of a download. */
export interface DownloadOptions {
	/** Told the fraction of the blob received (0..1), counting what was there before `from`. */
	readonly onProgress?: (fraction: number) => void;
	readonly signal?: AbortSignal;
}

/** The blob endpoints of one vault, signed as `auth`'s member. */
export class BlobTransfer {
	readonly #auth: RelayAuth;
	readonly #base: string;
	/** The relay's largest part, once `limits` has asked. */
	#partMaxBytes = Infinity;

	constructor(auth: RelayAuth, vaultId: string) {
		this.#auth = auth;
		this.#base = `/api/vaults/${vaultId}/blobs`;
	}

	/**
	 * The vault's usage and the relay's limits; uploads then send parts the relay accepts.
	 * OfflineError, RelayError.
	 */
	async limits(signal?: AbortSignal): Promise<RelayBlobUsage> {
		const answer = await answerOf(await relayRequest(this.#auth, 'GET', this.#base, { signal }), blobUsageSchema, 'GET');
		this.#partMaxBytes = answer.partMaxBytes;
		return answer;
	}

	/** Where blob `id` stands on the relay. OfflineError, RelayError. */
	async status(id: string, signal?: AbortSignal): Promise<RelayBlobStatus> {
		return answerOf(await relayRequest(this.#auth, 'GET', `${this.#base}/${id}/status`, { signal }), blobStatusSchema, 'GET');
	}

	/**
	 * Uploads blob `id` of `length` bytes from `read`, a part at a time, starting where the relay
	 * is (its status, then any 409's offset): an interrupted upload resumes rather than restarts.
	 * Resolves once the relay holds the whole blob and has checked its hash. OfflineError
	 * (unreachable: call again later, it resumes), QuotaError, FileTooLargeError, RelayError
	 * (`hash_mismatch`: the bytes here are not the blob; others), the signal's reason when aborted.
	 */
	async upload(id: string, length: number, read: PieceReader, options: UploadOptions = {}): Promise<UploadResult> {
		const { signal, onProgress } = options;
		const partBytes = Math.min(options.partBytes ?? UPLOAD_PART_BYTES, this.#partMaxBytes);
		const status = await this.status(id, signal);
		if (status.state === 'complete') {
			onProgress?.(1);
			return { sent: 0 };
		}
		let offset = status.state === 'partial' ? status.offset : 0;
		let sent = 0;
		// Bounded: each round either moves the offset forward or learns it from a 409; a relay
		// answering 409s forever must not spin us forever.
		let conflicts = 0;
		// The next part is read and signed while this one travels and the relay stores it.
		let ahead: { offset: number; request: Promise<SignedRelayRequest> } | undefined;
		const prepare = (at: number) => {
			const request = read(at, Math.min(partBytes, length - at)).then((body) =>
				signRelayRequest(this.#auth, 'PUT', `${this.#base}/${id}?offset=${at}&length=${length}`, {
					body,
					contentType: 'application/octet-stream',
					signal,
					accept: [409, 413, 507]
				})
			);
			request.catch(() => {}); // awaited (and thrown) when its turn comes, if it comes
			return { offset: at, request };
		};
		for (;;) {
			signal?.throwIfAborted();
			const request = await (ahead?.offset === offset ? ahead : prepare(offset)).request;
			const body = request.options.body!;
			ahead = offset + body.length < length ? prepare(offset + body.length) : undefined;
			const response = await sendRelayRequest(this.#auth, request);
			if (response.status === 409) {
				const conflict = await answerOf(response, blobOffsetAnswerSchema, 'PUT');
				if (++conflicts > 3) throw new RelayError('offset', `PUT ${this.#base}: offset`);
				offset = conflict.offset;
				continue;
			}
			if (response.status === 507) {
				const full = await answerOf(response, blobQuotaAnswerSchema, 'PUT');
				throw new QuotaError(full.used, full.quota);
			}
			if (response.status === 413) throw new FileTooLargeError((await answerOf(response, blobTooLargeAnswerSchema, 'PUT')).maxFileBytes ?? 0);
			const answer = await answerOf(response, blobPutAnswerSchema, 'PUT');
			conflicts = 0;
			sent += body.length;
			if (answer.state === 'complete') {
				onProgress?.(1);
				return { sent };
			}
			offset = answer.offset;
			onProgress?.(offset / length);
		}
	}

	/**
	 * Downloads blob `id` (`length` bytes) from byte `from`, streaming: `sink` receives it in
	 * pieces that end on multiples of `FILE_PIECE_BYTES` (absolute offsets; the last one ends the
	 * blob), each awaited before the next is read. A piece is a view of one reused buffer, valid
	 * until the sink's promise resolves (copy what is kept; IndexedDB's put copies).
	 * FileUnavailableError `file_missing` (404: not on the relay), OfflineError (unreachable or
	 * cut off: call again from what the sink holds), RelayError, the signal's reason when aborted.
	 */
	async download(id: string, length: number, from: number, sink: (piece: Uint8Array) => Promise<void>, options: DownloadOptions = {}): Promise<void> {
		const { signal, onProgress } = options;
		if (from >= length) return;
		const path = from === 0 ? `${this.#base}/${id}` : `${this.#base}/${id}?from=${from}`;
		let response: Response;
		try {
			response = await relayRequest(this.#auth, 'GET', path, { signal });
		} catch (error) {
			if (error instanceof RelayError && error.code === 'not_found') throw new FileUnavailableError('file_missing');
			throw error;
		}
		if (response.body === null) throw new RelayError('empty', `GET ${this.#base}: no body`);
		const reader = response.body.getReader();
		let offset = from;
		// The piece being filled, up to the next multiple of FILE_PIECE_BYTES: one buffer for the
		// whole download (a fresh one per piece is 100 MB of garbage for a 100 MB file).
		const buffer = new Uint8Array(FILE_PIECE_BYTES);
		let piece = buffer.subarray(0, pieceEnd(offset, length) - offset);
		let filled = 0;
		try {
			for (;;) {
				let next: ReadableStreamReadResult<Uint8Array>;
				try {
					next = await reader.read();
				} catch (error) {
					if (signal?.aborted) throw signal.reason ?? error;
					throw new OfflineError();
				}
				if (next.done) break;
				let bytes = next.value;
				while (bytes.length > 0) {
					if (offset >= length) throw new RelayError('too_long', `GET ${this.#base}: longer than the blob`);
					const take = Math.min(bytes.length, piece.length - filled);
					piece.set(bytes.subarray(0, take), filled);
					filled += take;
					bytes = bytes.subarray(take);
					if (filled === piece.length) {
						await sink(piece);
						offset += piece.length;
						onProgress?.(offset / length);
						if (offset >= length) continue;
						piece = buffer.subarray(0, pieceEnd(offset, length) - offset);
						filled = 0;
					}
				}
			}
		} catch (error) {
			// Stopped early (the sink refused, too long, aborted): drop the rest of the response.
			await reader.cancel().catch(() => {});
			throw error;
		} finally {
			reader.releaseLock();
		}
		// Cut short: what the sink holds stays, the next call resumes from there.
		if (offset < length) throw new OfflineError();
	}

	/** Deletes blob `id` on the relay (idempotent). OfflineError, RelayError. */
	async delete(id: string): Promise<void> {
		await relayRequest(this.#auth, 'DELETE', `${this.#base}/${id}`);
	}

	/**
	 * Tells the relay every blob the record references: it deletes the vault's other blobs older
	 * than its grace period. Resolves with how many it removed. OfflineError, RelayError.
	 */
	async refs(ids: readonly string[]): Promise<number> {
		const body = new TextEncoder().encode(JSON.stringify({ ids }));
		return (await answerOf(await relayRequest(this.#auth, 'POST', `${this.#base}/refs`, { body }), blobRefsAnswerSchema, 'POST')).removed;
	}
}

/** The end of the piece that holds byte `offset`: the next multiple of FILE_PIECE_BYTES, or the blob's end. */
function pieceEnd(offset: number, length: number): number {
	return Math.min(length, (Math.floor(offset / FILE_PIECE_BYTES) + 1) * FILE_PIECE_BYTES);
}

/** A relay answer's JSON, checked: RelayError `bad_answer` when it is not what the protocol says. */
async function answerOf<T>(response: Response, schema: z.ZodType<T>, method: string): Promise<T> {
	let json: unknown;
	try {
		json = await response.json();
	} catch {
		json = undefined;
	}
	const parsed = schema.safeParse(json);
	if (!parsed.success) throw new RelayError('bad_answer', `${method} blobs: unexpected answer (${response.status})`);
	return parsed.data;
}
