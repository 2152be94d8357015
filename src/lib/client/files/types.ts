/**
 * The public face of the client's file service (docs/ATTACHMENTS.md, section 4): what the UI
 * and the share service call through `session.files(vaultId)`.
 *
 * Errors thrown (all `CarnetError`, i18n key `error.<code>`, defined in ../errors.ts):
 *  - `file_too_large` (FileTooLargeError, params `{max}`: bytes) from `attach`, before anything is written;
 *  - `quota` (QuotaError, params `{used, quota}`: bytes) from `attach`, before anything is written;
 *  - `file_missing`, `file_corrupt`, `offline` (FileUnavailableError) from `open`;
 *  - `locked` (LockedError) from any method once the session is locked.
 */
import type { FileMeta } from '../../core/record';

export type { FileMeta };

/** A file as the UI hands it in: a browser `File`/`Blob`, or bytes (Node, tests, imports). */
export interface FileInput {
	readonly name: string;
	readonly contentType: string;
	readonly data: Blob | Uint8Array;
	/** A small JPEG preview in standard base64 (at most THUMB_MAX_CHARS characters), for images. */
	readonly thumb?: string;
}

/** A document's file opened as bytes (for sharing): its metadata and plaintext. */
export interface StoredFile extends FileMeta {
	readonly bytes: Uint8Array;
}

/** The relay's limits and this record's usage on it. */
export interface FileLimits {
	/** The largest file (plaintext bytes) the relay accepts. */
	readonly maxFileBytes: number;
	/** The record's quota on the relay (sealed bytes). */
	readonly quota: number;
	/** Sealed bytes the record holds on the relay, as last heard; null when never heard. */
	readonly used: number | null;
}

/** Error codes a file's status or `FileUnavailableError` can carry. */
export type FileErrorCode = 'file_too_large' | 'quota' | 'file_missing' | 'file_corrupt' | 'offline';

/**
 * Where a document's file stands on this device (`FileService.status`), for the UI:
 *  - `none`: the document has no file (or is unknown);
 *  - `sealing`: being encrypted and stored here (`progress` 0..1);
 *  - `waiting`: held here, its upload queued (offline, or retrying after an error);
 *  - `uploading`: being sent to the relay (`progress` 0..1);
 *  - `uploaded`: on the relay and held here (readable offline);
 *  - `downloading`: being fetched for `open` (`progress` 0..1);
 *  - `remote`: on the relay (as far as this device knows), not held here: `open` downloads it;
 *  - `failed`: the upload was refused for good (`code`, e.g. `quota`) or the last `open`
 *    failed (`file_missing`, `file_corrupt`).
 */
export type FileStatus =
	| { readonly state: 'none' }
	| { readonly state: 'sealing'; readonly progress: number }
	| { readonly state: 'waiting' }
	| { readonly state: 'uploading'; readonly progress: number }
	| { readonly state: 'uploaded' }
	| { readonly state: 'downloading'; readonly progress: number }
	| { readonly state: 'remote' }
	| { readonly state: 'failed'; readonly code: string };

/** The file service of one record (`session.files(vaultId)`). */
export interface FileService {
	/** The relay's limits and this record's usage (cached for offline; defaults 100 MiB / 1 GiB when never heard). */
	limits(): Promise<FileLimits>;
	/**
	 * Seals `file` for document `documentId` (which must exist: RecordValidationError
	 * `not_found` otherwise) and makes it the document's file: FileTooLargeError (over
	 * maxFileBytes) or QuotaError (last known usage + sealed length over the quota) before
	 * anything is written; then writes the sealed pieces here, then the entry's `file`, then
	 * queues the upload (run at once when connected). A file the document had before is
	 * deleted like `deleteDocument` deletes one. `onProgress` reports the sealing, 0..1.
	 */
	attach(documentId: string, file: FileInput, onProgress?: (p: number) => void): Promise<FileMeta>;
	/**
	 * The document's file: reads the pieces held here, downloads (resuming) the rest and keeps
	 * them (so it opens offline next time), decrypts (off the main thread in a browser) and
	 * verifies. FileUnavailableError `file_missing` (no file, or the relay no longer has it),
	 * `offline` (the relay is unreachable and the file is not all here), `file_corrupt`
	 * (decryption or verification failed: the bad pieces are dropped, so a retry downloads
	 * them again). `onProgress` 0..1 across download then decryption.
	 */
	open(documentId: string, onProgress?: (p: number) => void): Promise<{ meta: FileMeta; blob: Blob }>;
	/**
	 * The files of several documents as bytes, in the order of `documentIds` (for sharing):
	 * like `open`, downloading what is not here; null where a document has no file or it is
	 * unavailable for any reason.
	 */
	getMany(documentIds: readonly string[]): Promise<(StoredFile | null)[]>;
	/**
	 * Deletes the document: its entry (and so the file's key) from the record, the pieces
	 * here, and the blob on the relay (queued when offline, sent on the next connection).
	 */
	deleteDocument(documentId: string): Promise<void>;
	/** Where the document's file stands on this device (see FileStatus). Synchronous: for rendering. */
	status(documentId: string): FileStatus;
	/** Calls `fn` whenever a status changes; returns the unsubscriber. */
	subscribe(fn: () => void): () => void;
	/** Runs the outbox now (uploads and deletions queued); also runs on connect and after `attach`. Never throws for a failed transfer: the status says. */
	flush(): Promise<void>;
}
