/**
 * Where the relay keeps documents' files (docs/ATTACHMENTS.md, "Relay"): sealed blobs named by
 * their BLAKE2b-256, uploaded in parts, per vault (the same id in two vaults is two blobs).
 * relay/blob-server.ts validates every input, checks signatures, roles and limits; a blob
 * store trusts its caller but guarantees that concurrent calls cannot corrupt an upload, that
 * what it acknowledged is durable, and that a blob becomes complete only with all its bytes
 * hashing to its id, atomically. Ids are the 43-character base64url strings of the protocol.
 */
import type { Readable } from 'node:stream';

/** Where one blob stands. */
export type BlobState =
	| { readonly state: 'complete'; readonly length: number }
	/** An upload in progress: `offset` bytes of `length` held. */
	| { readonly state: 'partial'; readonly offset: number; readonly length: number }
	| { readonly state: 'absent' };

/** One part of an upload. */
export interface BlobPart {
	/** Where the part goes: must be the bytes the upload already holds (0 starts it). */
	readonly offset: number;
	/** The whole blob's length, fixed by the upload's first part. */
	readonly length: number;
	/** The part, at least one byte. */
	readonly bytes: Uint8Array;
	/** The vault's quota: refused when the vault's bytes, less this upload's, plus `length` exceed it. */
	readonly quota?: number;
}

/** Outcome of `append`. */
export type AppendResult =
	/**
	 * The upload now holds `offset` bytes, `written` of them from this part (0 when it already
	 * held every byte, its completion interrupted): call `complete` when `offset` = length.
	 */
	| { readonly state: 'partial'; readonly offset: number; readonly written: number }
	/** The blob was already complete: nothing written. */
	| { readonly state: 'complete'; readonly length: number }
	/** `offset` is not what the upload holds, which is `held`. */
	| { readonly error: 'offset_mismatch'; readonly held: number }
	/** `length` differs from the upload's (or the complete blob's), or the part goes past it. */
	| { readonly error: 'length_mismatch' }
	/** Over the quota: `used` is what the vault holds now. */
	| { readonly error: 'quota'; readonly used: number };

/** Outcome of `complete`. */
export type CompleteResult =
	/** The blob is complete (now, or it already was). */
	| 'complete'
	/** The bytes did not hash to the id: the upload was deleted. */
	| 'hash_mismatch'
	/** No upload holding all its bytes. */
	| 'incomplete';

/** An open complete blob, read from a position. */
export interface BlobReader {
	/** The whole blob's length. */
	readonly length: number;
	/** Its bytes from the position asked (none when it is ≥ length); consume or destroy it, it holds a file. */
	readonly stream: Readable;
}

export interface BlobStore {
	/** Where blob `id` of `vault` stands. */
	status(vault: string, id: string): Promise<BlobState>;

	/**
	 * Appends a part to the upload of `id`, durably before resolving; the part is written only
	 * if `offset` is exactly what the upload holds, so a retried or duplicated part can never
	 * be written twice. Calls on one vault run one after the other.
	 */
	append(vault: string, id: string, part: BlobPart): Promise<AppendResult>;

	/**
	 * Completes an upload holding all its bytes: streams them through BLAKE2b-256 and, when the
	 * digest is `id`, makes the blob complete atomically and durably (a crash leaves the upload
	 * or the blob, never a mix); otherwise deletes the upload. Idempotent.
	 */
	complete(vault: string, id: string): Promise<CompleteResult>;

	/** A complete blob from byte `from` on; null when it is not complete. A later delete does not cut a read short. */
	read(vault: string, id: string, from: number): Promise<BlobReader | null>;

	/** Deletes blob `id`, complete or partial, at once; true when there was something to delete. */
	delete(vault: string, id: string): Promise<boolean>;

	/** Bytes held for `vault` (complete blobs and uploads) and how many blobs are complete. */
	usage(vault: string): Promise<{ used: number; count: number }>;

	/**
	 * Deletes every blob of `vault`, complete or partial, that is not in `keep` and was created
	 * before `createdBefore` (a complete blob: when it was completed; an upload: its last part).
	 * Returns how many were deleted.
	 */
	retain(vault: string, keep: ReadonlySet<string>, createdBefore: Date): Promise<number>;

	/** Deletes every upload, in every vault, whose last part was written before `olderThan`; returns how many. */
	sweepPartials(olderThan: Date): Promise<number>;

	/** Waits for the calls in progress, then refuses new ones. */
	close(): Promise<void>;
}
