/**
 * The file service of one record (docs/ATTACHMENTS.md, section 4; `session.files(vaultId)`):
 * documents' files sealed on this device, kept here as 1 MiB ciphertext pieces (`blobs`),
 * uploaded to the relay's blob store by an outbox (`blobState`), fetched lazily by the other
 * devices and kept as a cache for offline reading.
 *
 * Order of an attach: check the limits (nothing written when refused), seal into pieces here,
 * write the entry's `file`, queue the upload. The pieces before the entry: an entry never names
 * a file that no device holds. The upload runs at once when connected, else on the next
 * connection; a cut upload resumes from the relay's offset.
 *
 * Deleting a document removes its entry (and so the file's key) from the record, its pieces
 * here at once, and its blob on the relay (queued when offline). Blobs other devices deleted
 * are collected by `refs`: once the record is synced, at most once a day and after each
 * deletion, this device tells the relay which blobs the record references, and drops the
 * pieces it holds of blobs the record no longer names.
 */
import type { IDBPDatabase } from 'idb';
import {
	decrypt,
	deriveSubkey,
	encrypt,
	FILE_PIECE_BYTES,
	fromBase64url,
	randomBytes,
	sealedLength,
	toBase64url,
	utf8Decode,
	utf8Encode
} from '../../core/crypto';
import {
	RecordValidationError,
	removeEntry,
	setDocumentFile,
	type FileMeta,
	type RecordDoc,
	type RecordView
} from '../../core/record';
import { isMap, parseStored } from '../../core/record/layout';
import { FILE_META_SCHEMA } from '../../core/record/schema';
import type { BlobState, CarnetDB } from '../db';
import { CarnetError, FileTooLargeError, FileUnavailableError, LockedError, OfflineError, QuotaError } from '../errors';
import type { RelayAuth } from '../relay-http';
import type { OpenRecord } from '../record-handle';
import { defaultCipher, type FileCipher } from './cipher';
import { BlobTransfer } from './transfer';
import type { FileInput, FileLimits, FileService, FileStatus, StoredFile } from './types';

/** What the relay accepts when this device has never heard from it (its defaults). */
export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;
export const DEFAULT_QUOTA_BYTES = 1024 * 1024 * 1024;
/** How often a device posts the record's blob references without a deletion. */
export const REFS_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** Pieces of a blob the record does not name are kept this long (an attach in flight, a late sync). */
const UNREFERENCED_GRACE_MS = 60 * 60 * 1000;
/** Retry delays of the outbox when the relay is unreachable: doubling from the first to the last. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;

/** crypto_kdf context of the file service's subkeys of a record's local key (8 bytes). */
const FILES_SUBKEY_CONTEXT = 'carnetfl';
/** Subkey 1: the persisted limits. */
const SUBKEY_LIMITS = 1;
/** The reserved `blobState` key of the limits (blob ids are base64url: never `~`). */
const LIMITS_KEY = '~limits';
/**
 * Prefix of the temporary blob ids of files being sealed (their id is known only at the end):
 * `~seal-<ms since epoch>-<random>`, the time telling a leftover from another tab's seal.
 */
const SEALING_PREFIX = '~seal-';
/** A leftover seal is this old at least (no file takes an hour to seal). */
const SEALING_LEFTOVER_MS = 60 * 60 * 1000;
/** A blob id: 32 bytes in base64url. */
const BLOB_ID = /^[A-Za-z0-9_-]{43}$/;

/** What the service needs of the session (closures over its private fields). */
export interface FilePort {
	readonly vaultId: string;
	readonly db: IDBPDatabase<CarnetDB>;
	/** The record's local key; the service derives its own subkey and keeps no reference. */
	readonly localKey: Uint8Array;
	/** The record, open. */
	record(): Promise<OpenRecord>;
	/** The record if it is open already (`status` answers synchronously). */
	openedRecord(): OpenRecord | undefined;
	/** Signed requests to the relay. */
	readonly relay: RelayAuth;
	/** True while connected to the relay. */
	online(): boolean;
	/** Resolves once the relay knows the record (it accepts this device's signed requests). */
	ready(): Promise<void>;
	/** Resolves once the record's changes are out and this device caught up with the relay. */
	synced(): Promise<void>;
	/** Default: a worker in a browser page, in process elsewhere. */
	readonly cipher?: FileCipher;
}

/** The limits as persisted, with when refs were last posted. */
interface KnownLimits {
	maxFileBytes: number;
	quota: number;
	used: number | null;
	refsAt: number;
}

const NONE: FileStatus = Object.freeze({ state: 'none' });
const WAITING: FileStatus = Object.freeze({ state: 'waiting' });
const UPLOADED: FileStatus = Object.freeze({ state: 'uploaded' });
const REMOTE: FileStatus = Object.freeze({ state: 'remote' });

/** See the module comment and FileService. Created by the Session; `close()` on lock. */
export class Files implements FileService {
	readonly vaultId: string;
	readonly #port: FilePort;
	readonly #db: IDBPDatabase<CarnetDB>;
	readonly #transfer: BlobTransfer;
	readonly #cipher: FileCipher;
	readonly #limitsKey: Uint8Array;
	/** The `blobState` rows of the record, mirrored (read once, then written through). */
	readonly #states = new Map<string, BlobState>();
	readonly #loaded: Promise<void>;
	#limits: KnownLimits = { maxFileBytes: DEFAULT_MAX_FILE_BYTES, quota: DEFAULT_QUOTA_BYTES, used: null, refsAt: 0 };
	/** Statuses of transfers in progress or failed, by blob id (over what the rows say). */
	readonly #live = new Map<string, FileStatus>();
	/** Documents whose file is being sealed: progress 0..1. */
	readonly #sealing = new Map<string, number>();
	readonly #uploads = new Map<string, AbortController>();
	readonly #downloads = new Map<string, Promise<void>>();
	readonly #listeners = new Set<() => void>();
	#flushing: Promise<void> | undefined;
	#next: Promise<void> | undefined;
	#refsRunning = false;
	#retryDelay = 0;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	#closed = false;

	constructor(port: FilePort) {
		this.vaultId = port.vaultId;
		this.#port = port;
		this.#db = port.db;
		this.#transfer = new BlobTransfer(port.relay, port.vaultId);
		this.#cipher = port.cipher ?? defaultCipher();
		this.#limitsKey = deriveSubkey(port.localKey, SUBKEY_LIMITS, FILES_SUBKEY_CONTEXT);
		this.#loaded = this.#load();
		// A failed load leaves the defaults and no rows; each method awaits it and rethrows.
		this.#loaded.catch(() => {});
	}

	// --- FileService -----------------------------------------------------------------------

	/** See FileService.limits. Asks the relay when connected, else answers what it last said. */
	async limits(): Promise<FileLimits> {
		await this.#loaded;
		this.#assertOpen();
		if (this.#port.online()) {
			try {
				await this.#refreshLimits();
			} catch {
				// Unreachable or refused right now: the last known limits stand.
			}
		}
		const { maxFileBytes, quota, used } = this.#limits;
		return { maxFileBytes, quota, used };
	}

	/** See FileService.attach. */
	async attach(documentId: string, file: FileInput, onProgress?: (p: number) => void): Promise<FileMeta> {
		const record = await this.#port.record();
		const before = documentOf(record.view(), documentId);
		if (before === undefined) throw new RecordValidationError([{ field: 'id', code: 'not_found' }]);
		let meta: FileMeta;
		let old: FileMeta | undefined;
		try {
			meta = await this.#seal(documentId, file, true, onProgress);
			// The file the entry names now (another device may have set one while this sealed).
			old = fileOf(documentOf(record.view(), documentId));
			try {
				await record.change((doc, ctx) => setDocumentFile(doc, documentId, meta, ctx));
			} catch (error) {
				await this.discard(meta.blob);
				throw error;
			}
		} finally {
			// `sealing` until the entry names the file: the status never shows `none` in between.
			this.#sealing.delete(documentId);
			this.#emit();
		}
		if (old !== undefined && old.blob !== meta.blob) await this.#forget(old.blob);
		this.#kick();
		return meta;
	}

	/**
	 * For a contribution's import (share service): seals and stores `file` here and queues its
	 * upload, without writing any entry (the caller writes it with the returned metadata, or
	 * calls `discard` when it cannot). FileTooLargeError before anything is written; no quota
	 * check (the contribution arrived already: a refused upload shows as `failed`).
	 */
	async store(documentId: string, file: FileInput): Promise<FileMeta> {
		try {
			const meta = await this.#seal(documentId, file, false);
			this.#kick();
			return meta;
		} finally {
			this.#sealing.delete(documentId);
			this.#emit();
		}
	}

	/** Forgets blob `id` (its entry could not be written): the pieces here, and on the relay if sent. */
	async discard(id: string): Promise<void> {
		await this.#forget(id);
		this.#kick();
	}

	/** See FileService.open. */
	async open(documentId: string, onProgress?: (p: number) => void): Promise<{ meta: FileMeta; blob: Blob }> {
		const { meta, pieces } = await this.#openPieces(documentId, onProgress);
		return { meta, blob: new Blob(pieces as Uint8Array<ArrayBuffer>[], { type: meta.contentType }) };
	}

	/** See FileService.getMany. One file at a time: a share's files are few, and memory is not. */
	async getMany(documentIds: readonly string[]): Promise<(StoredFile | null)[]> {
		const out: (StoredFile | null)[] = [];
		for (const documentId of documentIds) {
			try {
				const { meta, pieces } = await this.#openPieces(documentId);
				const bytes = new Uint8Array(meta.size);
				let offset = 0;
				for (const piece of pieces) {
					bytes.set(piece, offset);
					offset += piece.length;
				}
				out.push({ ...meta, bytes });
			} catch (error) {
				if (error instanceof LockedError) throw error;
				out.push(null);
			}
		}
		return out;
	}

	/** See FileService.deleteDocument. */
	async deleteDocument(documentId: string): Promise<void> {
		const record = await this.#port.record();
		const file = fileOf(documentOf(record.view(), documentId));
		await record.change((doc, ctx) => removeEntry(doc, 'documents', documentId, ctx));
		if (file !== undefined) await this.#forget(file.blob);
		this.#kick();
	}

	/** See FileService.status. */
	status(documentId: string): FileStatus {
		const sealing = this.#sealing.get(documentId);
		if (sealing !== undefined) return { state: 'sealing', progress: sealing };
		const record = this.#port.openedRecord();
		const file = record === undefined ? undefined : fileOf(documentOf(record.view(), documentId));
		if (file === undefined) return NONE;
		const live = this.#live.get(file.blob);
		if (live !== undefined) return live;
		const state = this.#states.get(file.blob);
		if (state === undefined || state.delete) return REMOTE;
		if (state.upload === 'pending') return WAITING;
		return state.stored >= state.length ? UPLOADED : REMOTE;
	}

	/** See FileService.subscribe. */
	subscribe(fn: () => void): () => void {
		this.#listeners.add(fn);
		return () => {
			this.#listeners.delete(fn);
		};
	}

	/** See FileService.flush. A flush asked while one runs runs again after it (it may have missed new work). */
	flush(): Promise<void> {
		if (this.#closed) return Promise.resolve();
		if (this.#flushing !== undefined) {
			this.#next ??= this.#flushing.then(() => {
				this.#next = undefined;
				return this.flush();
			});
			return this.#next;
		}
		const run = this.#runOutbox().finally(() => {
			if (this.#flushing === run) this.#flushing = undefined;
		});
		this.#flushing = run;
		return run;
	}

	/** Stops transfers and timers, terminates the worker, wipes the subkey (lock). */
	close(): void {
		this.#closed = true;
		clearTimeout(this.#retryTimer);
		for (const upload of this.#uploads.values()) upload.abort(new LockedError());
		this.#uploads.clear();
		this.#listeners.clear();
		this.#cipher.close();
		this.#limitsKey.fill(0);
	}

	// --- sealing -----------------------------------------------------------------------------

	/**
	 * Seals `file` into pieces stored here and queues its upload; the checks before any write.
	 * Marks the document `sealing`: the caller clears the mark.
	 */
	async #seal(documentId: string, file: FileInput, checkQuota: boolean, onProgress?: (p: number) => void): Promise<FileMeta> {
		const data: unknown = file?.data;
		if (!(data instanceof Uint8Array) && !(typeof Blob !== 'undefined' && data instanceof Blob)) {
			throw new TypeError('file.data must be a Blob or a Uint8Array');
		}
		const size = data instanceof Uint8Array ? data.length : data.size;
		const limits = await this.limits();
		if (size > limits.maxFileBytes) throw new FileTooLargeError(limits.maxFileBytes);
		const length = sealedLength(size);
		if (checkQuota && limits.used !== null && limits.used + length > limits.quota) throw new QuotaError(limits.used, limits.quota);
		// The metadata's own rules (name, type, thumb) before any write; the digests are placeholders.
		const probe = { name: file.name, contentType: file.contentType, size, hash: 'A'.repeat(43), key: 'A'.repeat(43), blob: 'A'.repeat(43) };
		if (!FILE_META_SCHEMA.safeParse(file.thumb === undefined ? probe : { ...probe, thumb: file.thumb }).success) {
			throw new RecordValidationError([{ field: 'file', code: 'invalid_type' }]);
		}

		const temp = `${SEALING_PREFIX}${Date.now()}-${toBase64url(randomBytes(12))}`;
		this.#setSealing(documentId, 0);
		const job = await this.#cipher.seal(size);
		let pieces = 0;
		let buffer = new Uint8Array(Math.min(FILE_PIECE_BYTES, length));
		let filled = 0;
		let written = 0;
		// Ciphertext regrouped into the contract's 1 MiB pieces, each stored as soon as full.
		const take = async (cipher: Uint8Array[]) => {
			for (let bytes of cipher) {
				while (bytes.length > 0) {
					const n = Math.min(bytes.length, buffer.length - filled);
					buffer.set(bytes.subarray(0, n), filled);
					filled += n;
					bytes = bytes.subarray(n);
					if (filled === buffer.length) {
						await this.#db.put('blobs', buffer, [this.vaultId, temp, pieces++]);
						written += filled;
						buffer = new Uint8Array(Math.min(FILE_PIECE_BYTES, length - written));
						filled = 0;
					}
				}
			}
		};
		let finished = false;
		let id: string | undefined;
		try {
			for (let offset = 0; offset < size; offset += FILE_PIECE_BYTES) {
				this.#assertOpen();
				const plain = await plainPiece(data, offset, Math.min(FILE_PIECE_BYTES, size - offset));
				await take(await job.update(plain));
				const progress = (offset + plain.length) / size;
				this.#setSealing(documentId, progress);
				onProgress?.(progress);
			}
			const sealed = await job.finish();
			finished = true;
			await take(sealed.pieces);
			if (written !== length) throw new Error('sealed length differs from sealedLength');
			id = toBase64url(sealed.id);
			const meta: FileMeta = {
				name: file.name,
				contentType: file.contentType,
				size,
				hash: toBase64url(sealed.hash),
				key: toBase64url(sealed.key),
				blob: id,
				...(file.thumb === undefined ? {} : { thumb: file.thumb })
			};
			sealed.key.fill(0);
			await this.#rename(temp, id, pieces);
			await this.#putState(id, { length, stored: length, upload: 'pending', at: Date.now() });
			onProgress?.(1);
			return meta;
		} catch (error) {
			if (!finished) job.abort();
			await this.#db.delete('blobs', pieceRange(this.vaultId, temp, 0)).catch(() => {});
			// Renamed in part before the failure: no pieces without their row.
			if (id !== undefined) await this.#db.delete('blobs', pieceRange(this.vaultId, id, 0)).catch(() => {});
			throw error;
		}
	}

	/**
	 * Moves the pieces sealed under a temporary id to the blob's id, one transaction per piece
	 * (the blob's id is the hash of all of it, known only at the end; holding 100 MB of
	 * ciphertext in memory until then is what this avoids).
	 */
	async #rename(temp: string, id: string, count: number): Promise<void> {
		for (let index = 0; index < count; index++) {
			const tx = this.#db.transaction('blobs', 'readwrite');
			const piece = await tx.store.get([this.vaultId, temp, index]);
			if (piece === undefined) throw new Error('a sealed piece vanished');
			await Promise.all([tx.store.put(piece, [this.vaultId, id, index]), tx.store.delete([this.vaultId, temp, index]), tx.done]);
		}
	}

	/** Deletes the pieces here and queues the blob's deletion on the relay. */
	async #forget(id: string): Promise<void> {
		await this.#loaded;
		this.#uploads.get(id)?.abort(new LockedError());
		const row: BlobState = { length: this.#states.get(id)?.length ?? 0, stored: 0, upload: 'done', delete: true, at: Date.now() };
		const tx = this.#db.transaction(['blobs', 'blobState'], 'readwrite');
		await Promise.all([
			tx.objectStore('blobs').delete(pieceRange(this.vaultId, id, 0)),
			tx.objectStore('blobState').put(row, [this.vaultId, id]),
			tx.done
		]);
		this.#states.set(id, row);
		this.#live.delete(id);
		this.#emit();
	}

	// --- opening -----------------------------------------------------------------------------

	/** The document's file as plaintext pieces: downloads what is missing, decrypts, verifies. */
	async #openPieces(documentId: string, onProgress?: (p: number) => void): Promise<{ meta: FileMeta; pieces: Uint8Array[] }> {
		const record = await this.#port.record();
		await this.#loaded;
		const meta = fileOf(documentOf(record.view(), documentId));
		if (meta === undefined) throw new FileUnavailableError('file_missing');
		const id = meta.blob;
		const length = sealedLength(meta.size);
		const state = this.#states.get(id);
		const stored = state === undefined || state.delete ? 0 : Math.min(state.stored, length);
		// Download, then decryption: each its share of the progress.
		const split = stored < length ? (length - stored) / (2 * length - stored) : 0;
		try {
			if (stored < length) {
				let pending = this.#downloads.get(id);
				if (pending === undefined) {
					pending = this.#download(id, length, stored, (f) => onProgress?.(f * split)).finally(() => this.#downloads.delete(id));
					this.#downloads.set(id, pending);
				}
				await pending;
			}
			const pieces = await this.#decrypt(meta, length, (f) => onProgress?.(split + f * (1 - split)));
			// A failed open before is over; a failed upload is not (the upload's retry clears it).
			const live = this.#live.get(id);
			if (live?.state === 'failed' && (live.code === 'file_missing' || live.code === 'file_corrupt')) this.#live.delete(id);
			this.#emit();
			return { meta, pieces };
		} catch (error) {
			if (error instanceof FileUnavailableError && error.code !== 'offline') this.#live.set(id, { state: 'failed', code: error.code });
			else if (this.#live.get(id)?.state === 'downloading') this.#live.delete(id);
			this.#emit();
			throw error instanceof OfflineError ? new FileUnavailableError('offline') : error;
		}
	}

	/** Fetches blob `id` from byte `from` into pieces here (each piece and the row in one transaction). */
	async #download(id: string, length: number, from: number, onProgress: (f: number) => void): Promise<void> {
		this.#live.set(id, { state: 'downloading', progress: from / length });
		this.#emit();
		let stored = from;
		await this.#transfer.download(
			id,
			length,
			from,
			async (piece) => {
				this.#assertOpen();
				const previous = this.#states.get(id);
				// Deleted meanwhile (here or by `discard`): no piece comes back.
				if (previous?.delete) throw new FileUnavailableError('file_missing');
				const row: BlobState =
					previous !== undefined
						? { ...previous, stored: stored + piece.length, at: Date.now() }
						: { length, stored: stored + piece.length, upload: 'done', uploaded: length, at: Date.now() };
				const tx = this.#db.transaction(['blobs', 'blobState'], 'readwrite');
				await Promise.all([
					// A view of the download's buffer: IndexedDB clones the whole buffer, so a short last piece goes as its own copy.
					tx.objectStore('blobs').put(piece.byteLength === piece.buffer.byteLength ? piece : piece.slice(), [this.vaultId, id, stored / FILE_PIECE_BYTES]),
					tx.objectStore('blobState').put(row, [this.vaultId, id]),
					tx.done
				]);
				this.#states.set(id, row);
				stored += piece.length;
			},
			{
				onProgress: (fraction) => {
					this.#live.set(id, { state: 'downloading', progress: fraction });
					this.#emit();
					onProgress((fraction * length - from) / (length - from));
				}
			}
		);
		this.#live.delete(id);
	}

	/**
	 * Opens the pieces held here. A piece that fails (or is missing) is dropped with every later
	 * one, and a failure at the end (truncated, wrong hash) drops them all, so that opening
	 * again downloads them again: FileUnavailableError `file_corrupt` either way.
	 */
	async #decrypt(meta: FileMeta, length: number, onProgress: (f: number) => void): Promise<Uint8Array[]> {
		const id = meta.blob;
		const count = Math.ceil(length / FILE_PIECE_BYTES);
		const key = fromBase64url(meta.key);
		const job = await this.#cipher.open({ key, size: meta.size, length, hash: fromBase64url(meta.hash) });
		const out: Uint8Array[] = [];
		let index = 0;
		try {
			for (; index < count; index++) {
				this.#assertOpen();
				const piece = await this.#db.get('blobs', [this.vaultId, id, index]);
				if (piece === undefined) throw new FileUnavailableError('file_corrupt');
				out.push(...(await job.update(piece)));
				onProgress((index + 1) / count);
			}
			index = 0;
			await job.finish();
			return out;
		} catch (error) {
			if (error instanceof LockedError) throw error;
			job.abort();
			await this.#drop(id, index);
			throw new FileUnavailableError('file_corrupt');
		} finally {
			key.fill(0);
		}
	}

	/** Deletes the pieces of blob `id` from `index` on and says so in its row. */
	async #drop(id: string, index: number): Promise<void> {
		const previous = this.#states.get(id);
		const tx = this.#db.transaction(['blobs', 'blobState'], 'readwrite');
		const writes: Promise<unknown>[] = [tx.objectStore('blobs').delete(pieceRange(this.vaultId, id, index))];
		let row: BlobState | undefined;
		if (previous !== undefined && !previous.delete) {
			row = { ...previous, stored: Math.min(previous.stored, index * FILE_PIECE_BYTES), at: Date.now() };
			writes.push(tx.objectStore('blobState').put(row, [this.vaultId, id]));
		}
		await Promise.all([...writes, tx.done]);
		if (row !== undefined) this.#states.set(id, row);
	}

	// --- the outbox --------------------------------------------------------------------------

	/** Deletions, then uploads, then (apart) refs; offline: nothing, the next connection flushes. */
	async #runOutbox(): Promise<void> {
		await this.#loaded;
		if (this.#closed || !this.#port.online()) return;
		const work = [...this.#states].filter(([, state]) => state.delete || state.upload === 'pending');
		const refsDue = Date.now() - this.#limits.refsAt >= REFS_INTERVAL_MS;
		// Every connection flushes every record: most have nothing to send, and ask nothing.
		if (work.length === 0 && !refsDue) return;
		let deleted = false;
		try {
			await this.#port.ready();
			if (work.length > 0) await this.#refreshLimits();
			for (const [id] of work) {
				if (this.#closed) return;
				// As it is now: a blob may have been deleted while the ones before went out.
				const state = this.#states.get(id);
				if (state === undefined) continue;
				if (state.delete) {
					try {
						await this.#transfer.delete(id);
					} catch (error) {
						// Refused (not offline): kept for the next flush, the others go on.
						if (error instanceof OfflineError) throw error;
						continue;
					}
					await this.#db.delete('blobState', [this.vaultId, id]);
					if (this.#states.get(id) === state) this.#states.delete(id);
					deleted = true;
				} else if (state.upload === 'pending') {
					await this.#upload(id, state);
				}
			}
		} catch (error) {
			if (this.#closed) return;
			if (!(error instanceof OfflineError)) throw error;
			this.#retryLater();
			return;
		}
		this.#retryDelay = 0;
		if (deleted || refsDue) void this.#postRefs();
	}

	/**
	 * Uploads one blob from its pieces here (resuming where the relay is). OfflineError goes up
	 * (the whole outbox waits); a refusal marks this blob `failed` and the outbox goes on.
	 */
	async #upload(id: string, state: BlobState): Promise<void> {
		const controller = new AbortController();
		this.#uploads.set(id, controller);
		this.#live.set(id, { state: 'uploading', progress: (state.uploaded ?? 0) / state.length });
		this.#emit();
		try {
			await this.#transfer.upload(id, state.length, (offset, length) => this.#read(id, offset, length), {
				signal: controller.signal,
				onProgress: (progress) => {
					this.#live.set(id, { state: 'uploading', progress });
					this.#emit();
				}
			});
			const current = this.#states.get(id);
			if (current === undefined || current.delete) return;
			await this.#putState(id, { ...current, upload: 'done', uploaded: current.length, at: Date.now() });
			if (this.#limits.used !== null) this.#limits.used += current.length;
			this.#live.delete(id);
		} catch (error) {
			if (controller.signal.aborted) {
				this.#live.delete(id);
				return;
			}
			if (error instanceof OfflineError) {
				this.#live.delete(id);
				throw error;
			}
			this.#live.set(id, { state: 'failed', code: error instanceof CarnetError ? error.code : 'file_corrupt' });
		} finally {
			if (this.#uploads.get(id) === controller) this.#uploads.delete(id);
			this.#emit();
		}
	}

	/** `length` bytes of blob `id` from `offset`, from the pieces here (the upload's reader). */
	async #read(id: string, offset: number, length: number): Promise<Uint8Array> {
		const out = new Uint8Array(length);
		const first = Math.floor(offset / FILE_PIECE_BYTES);
		const last = Math.floor((offset + length - 1) / FILE_PIECE_BYTES);
		const store = this.#db.transaction('blobs').store;
		const keys = Array.from({ length: last - first + 1 }, (_, i) => [this.vaultId, id, first + i] as [string, string, number]);
		const pieces = await Promise.all(keys.map((key) => store.get(key)));
		let at = 0;
		for (const [i, piece] of pieces.entries()) {
			if (piece === undefined) throw new FileUnavailableError('file_corrupt');
			const start = (first + i) * FILE_PIECE_BYTES;
			const from = Math.max(offset, start) - start;
			const to = Math.min(offset + length, start + piece.length) - start;
			if (to <= from) break;
			out.set(piece.subarray(from, to), at);
			at += to - from;
		}
		if (at !== length) throw new FileUnavailableError('file_corrupt');
		return out;
	}

	/** The next flush after a growing delay (the relay is unreachable, the socket may be up). */
	#retryLater(): void {
		if (this.#closed) return;
		this.#retryDelay = Math.min(RETRY_MAX_MS, this.#retryDelay === 0 ? RETRY_FIRST_MS : this.#retryDelay * 2);
		clearTimeout(this.#retryTimer);
		this.#retryTimer = setTimeout(() => void this.flush().catch(() => {}), this.#retryDelay);
	}

	/** A flush soon, its failure contained (the statuses say what happened). */
	#kick(): void {
		void this.flush().catch(() => {});
	}

	/**
	 * Once the record is synced (so that it names every blob any device added before): posts
	 * the blob ids the record references, then drops the pieces here of blobs it does not name.
	 * Apart from the outbox, since waiting for the sync may take long.
	 */
	async #postRefs(): Promise<void> {
		if (this.#refsRunning || this.#closed) return;
		this.#refsRunning = true;
		try {
			await this.#port.synced();
			const ids = referencedBlobs((await this.#port.record()).doc());
			await this.#transfer.refs([...ids]);
			this.#limits.refsAt = Date.now();
			await this.#saveLimits();
			const old = Date.now() - UNREFERENCED_GRACE_MS;
			for (const [id, state] of [...this.#states]) {
				if (ids.has(id) || state.delete || state.at > old) continue;
				const tx = this.#db.transaction(['blobs', 'blobState'], 'readwrite');
				await Promise.all([
					tx.objectStore('blobs').delete(pieceRange(this.vaultId, id, 0)),
					tx.objectStore('blobState').delete([this.vaultId, id]),
					tx.done
				]);
				this.#states.delete(id);
			}
		} catch {
			// Offline, locked or refused: the next deletion or day tries again.
		} finally {
			this.#refsRunning = false;
		}
	}

	// --- rows and limits ---------------------------------------------------------------------

	/** Reads the record's rows and limits; drops pieces of seals a closed page left behind. */
	async #load(): Promise<void> {
		const range = IDBKeyRange.bound([this.vaultId, ''], [this.vaultId, '\uffff']);
		const tx = this.#db.transaction('blobState');
		const [keys, values] = await Promise.all([tx.store.getAllKeys(range), tx.store.getAll(range)]);
		for (const [i, key] of keys.entries()) {
			const value = values[i];
			if (key[1] === LIMITS_KEY && value instanceof Uint8Array) this.#limits = this.#openLimits(value) ?? this.#limits;
			else if (!key[1].startsWith('~') && !(value instanceof Uint8Array)) this.#states.set(key[1], value);
		}
		// Pieces of seals a closed page left behind (not another tab's, running now).
		const seals = IDBKeyRange.bound([this.vaultId, SEALING_PREFIX], [this.vaultId, SEALING_PREFIX + '\uffff']);
		const old = Date.now() - SEALING_LEFTOVER_MS;
		const leftovers = new Set<string>();
		for (const key of await this.#db.getAllKeys('blobs', seals)) {
			if (Number(key[1].slice(SEALING_PREFIX.length).split('-')[0]) < old) leftovers.add(key[1]);
		}
		for (const temp of leftovers) await this.#db.delete('blobs', pieceRange(this.vaultId, temp, 0));
		this.#emit();
	}

	async #putState(id: string, row: BlobState): Promise<void> {
		await this.#db.put('blobState', row, [this.vaultId, id]);
		this.#states.set(id, row);
		this.#emit();
	}

	async #refreshLimits(): Promise<void> {
		const answer = await this.#transfer.limits();
		this.#limits = { ...this.#limits, maxFileBytes: answer.maxFileBytes, quota: answer.quota, used: answer.used };
		await this.#saveLimits();
	}

	async #saveLimits(): Promise<void> {
		this.#assertOpen();
		const sealed = encrypt(this.#limitsKey, utf8Encode(JSON.stringify(this.#limits)), this.#limitsAd());
		await this.#db.put('blobState', sealed, [this.vaultId, LIMITS_KEY]);
	}

	/** The persisted limits, or undefined when unreadable (the defaults then stand). */
	#openLimits(sealed: Uint8Array): KnownLimits | undefined {
		try {
			const value = JSON.parse(utf8Decode(decrypt(this.#limitsKey, sealed, this.#limitsAd()))) as Partial<KnownLimits>;
			const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
			if (!count(value.maxFileBytes) || !count(value.quota) || !count(value.refsAt) || !(value.used === null || count(value.used))) return undefined;
			return value as KnownLimits;
		} catch {
			return undefined;
		}
	}

	#limitsAd(): Uint8Array {
		return utf8Encode(`carnet/blob-limits/v1/${this.vaultId}`);
	}

	#setSealing(documentId: string, progress: number): void {
		this.#sealing.set(documentId, progress);
		this.#emit();
	}

	#emit(): void {
		for (const fn of [...this.#listeners]) {
			try {
				fn();
			} catch {
				// A listener's failure is its own.
			}
		}
	}

	#assertOpen(): void {
		if (this.#closed) throw new LockedError();
	}
}

/** The IndexedDB key range of blob `id`'s pieces from `index` on. */
function pieceRange(vaultId: string, id: string, index: number): IDBKeyRange {
	return IDBKeyRange.bound([vaultId, id, index], [vaultId, id, Infinity]);
}

/**
 * The blob ids the record's documents name, read from the stored values rather than the view:
 * a `file` this version cannot parse (a newer shape) still keeps its blob alive on the relay.
 */
function referencedBlobs(doc: RecordDoc): Set<string> {
	const ids = new Set<string>();
	const section = doc.sections?.documents;
	if (!isMap(section)) return ids;
	for (const bucket of Object.values(section)) {
		if (!isMap(bucket)) continue;
		for (const value of Object.values(bucket)) {
			const blob = (parseStored(value) as { file?: { blob?: unknown } } | undefined)?.file?.blob;
			if (typeof blob === 'string' && BLOB_ID.test(blob)) ids.add(blob);
		}
	}
	return ids;
}

/** A document of the view (hidden ones included), or undefined. */
function documentOf(view: RecordView, documentId: string): Record<string, unknown> | undefined {
	return view.sections.documents.find((entry) => entry.id === documentId) as Record<string, unknown> | undefined;
}

/** A document's file (the view holds only files that parse: layout.ts). */
function fileOf(entry: Record<string, unknown> | undefined): FileMeta | undefined {
	return entry?.file as FileMeta | undefined;
}

/**
 * `length` bytes of the file from `offset`, in a buffer of their own (a worker may take it):
 * a Blob is read a piece at a time, never whole.
 */
async function plainPiece(data: Blob | Uint8Array, offset: number, length: number): Promise<Uint8Array> {
	if (data instanceof Uint8Array) return data.slice(offset, offset + length);
	return new Uint8Array(await data.slice(offset, offset + length).arrayBuffer());
}
