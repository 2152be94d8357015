/**
 * One open record: a DocStore (the record's Automerge document, persisted in automerge-repo's
 * chunk layout) over an EncryptedStorageAdapter bound to the record's vault.
 *
 * One adapter per record, bound to one vault key, so "the child's key cannot read the
 * parent's chunks" is a property of the storage layer rather than of bookkeeping. Why a lean
 * DocStore rather than automerge-repo's Repo/DocHandle: see doc-store.ts (measured ~3x slower
 * to open, for patches nobody reads).
 *
 * Document id: automerge-repo document ids are 16 bytes in bs58check; a vault id is 16 random
 * bytes in base64url. The document id IS the vault id's bytes, so nothing needs storing, one
 * can never point at the other's record, and a Repo could open the same storage.
 */
import * as Automerge from '@automerge/automerge';
import { parseAutomergeUrl, stringifyAutomergeUrl, type DocumentId } from '@automerge/automerge-repo';
import type { IDBPDatabase } from 'idb';
import { fromBase64url } from '../core/crypto';
import {
	initRecord,
	recordView,
	type RecordContext,
	type RecordDoc,
	type RecordView
} from '../core/record';
import type { CarnetDB } from './db';
import { DocStore, sameHeads } from './doc-store';
import { CorruptChunkError, ForbiddenError, LockedError, UnknownRecordError, UnreadableRecordError } from './errors';
import { EncryptedStorageAdapter } from './storage-adapter';

/** What `change` callbacks receive besides the document: the context record operations want. */
export type ChangeContext = RecordContext;

/** A function that edits the record with the record operations (addEntry, editEntry...). */
export type RecordChangeFn = (doc: RecordDoc, ctx: ChangeContext) => void;

/** The record the UI holds while it is open. */
export interface RecordHandle {
	/** The record's vault id. */
	readonly vaultId: string;
	/** The author written into entries this device creates: `device:<16 chars of the device id>`. */
	readonly author: string;
	/** Stored chunks skipped because they failed authentication (the rest of the record loaded). */
	readonly corruptChunks: readonly CorruptChunkError[];
	/** The current view (cached until the document changes). */
	view(): RecordView;
	/** Calls `fn` now and after every change (Svelte store contract); returns the unsubscriber. */
	subscribe(fn: (view: RecordView) => void): () => void;
	/**
	 * Runs `fn` inside one Automerge change with ctx = { author, now }. If `fn` throws (e.g.
	 * RecordValidationError) the change is rolled back, nothing is stored and the error
	 * propagates. Resolves once the change is in memory; `flush()` waits for the disk. On a
	 * read-only member's device throws ForbiddenError without running `fn`.
	 */
	change(fn: RecordChangeFn): Promise<void>;
	/** Resolves once every change so far is written to IndexedDB. */
	flush(): Promise<void>;
}

/** The automerge-repo document id of a vault: the same 16 bytes. */
export function documentIdOf(vaultId: string): DocumentId {
	const bytes = fromBase64url(vaultId);
	if (bytes.length !== 16) throw new UnknownRecordError();
	return parseAutomergeUrl(stringifyAutomergeUrl({ documentId: bytes as never })).documentId;
}

/** The display name the record picker shows, from the identity stored in the document. */
export function displayNameOf(doc: RecordDoc): string {
	const identity = recordIdentityText(doc);
	if (identity === undefined) return '';
	try {
		const value = JSON.parse(identity) as { givenName?: unknown; familyName?: unknown };
		return [value.givenName, value.familyName].filter((p) => typeof p === 'string' && p !== '').join(' ');
	} catch {
		return '';
	}
}

// The identity singleton is one ImmutableString of JSON (layout.ts): comparing its text is a
// cheap "did the name change?" without building the whole view.
function recordIdentityText(doc: RecordDoc): string | undefined {
	const value: unknown = doc.identity;
	if (typeof value === 'string') return value;
	return Automerge.isImmutableString(value) ? value.val : undefined;
}

interface OpenParams {
	db: IDBPDatabase<CarnetDB>;
	vaultId: string;
	vaultKey: Uint8Array;
	author: string;
	/** Called after a change altered the display name, so the vault's meta can follow. */
	onNameChange?: (name: string) => Promise<void>;
	/** Called after every local change, so the sync engine can send it. */
	onLocalChange?: () => void;
	/**
	 * False on a read-only member's device: its changes could never leave it (the relay
	 * refuses a reader's envelopes), so they are refused before anything is stored.
	 */
	writable?: () => boolean;
}

/** See RecordHandle. Created by the Session; `close()` is called by `lock()`. */
export class OpenRecord implements RecordHandle {
	readonly vaultId: string;
	readonly author: string;
	readonly #store: DocStore<RecordDoc>;
	readonly #adapter: EncryptedStorageAdapter;
	readonly #onNameChange?: (name: string) => Promise<void>;
	readonly #onLocalChange?: () => void;
	readonly #writable?: () => boolean;
	#subscribers = new Set<(view: RecordView) => void>();
	#viewDoc: RecordDoc | undefined;
	#view: RecordView | undefined;
	#closed = false;

	private constructor(params: OpenParams, store: DocStore<RecordDoc>, adapter: EncryptedStorageAdapter) {
		this.vaultId = params.vaultId;
		this.author = params.author;
		this.#onNameChange = params.onNameChange;
		this.#onLocalChange = params.onLocalChange;
		this.#writable = params.writable;
		this.#store = store;
		this.#adapter = adapter;
	}

	/**
	 * Creates a new record document in a new vault: `initRecord` runs on an in-memory document
	 * before anything touches storage, so a bad identity writes nothing. Resolves once the
	 * first snapshot is on disk.
	 */
	static async create(params: OpenParams, identity: unknown, now: Date = new Date()): Promise<OpenRecord> {
		const ctx: RecordContext = { author: params.author, now };
		const doc = Automerge.change(Automerge.init<RecordDoc>(), (d) => initRecord(d, identity, ctx));
		return OpenRecord.adopt(params, doc);
	}

	/**
	 * Stores `doc`, a record received from the relay (joining, restoring), as the record's
	 * first snapshot on this device; resolves once it is on disk.
	 */
	static async adopt(params: OpenParams, doc: RecordDoc): Promise<OpenRecord> {
		const adapter = OpenRecord.#adapterFor(params);
		try {
			const store = await DocStore.create(adapter, documentIdOf(params.vaultId), doc);
			return new OpenRecord(params, store, adapter);
		} catch (e) {
			adapter.close();
			throw e;
		}
	}

	/**
	 * Opens an existing record from the encrypted store. Chunks failing authentication are
	 * skipped and listed in `corruptChunks`; if nothing at all loads, UnreadableRecordError
	 * (or UnknownRecordError when the vault has no chunks).
	 */
	static async open(params: OpenParams): Promise<OpenRecord> {
		const adapter = OpenRecord.#adapterFor(params);
		try {
			const store = await DocStore.load<RecordDoc>(adapter, documentIdOf(params.vaultId));
			if (!store) {
				throw adapter.corruptChunks.length > 0
					? new UnreadableRecordError(adapter.corruptChunks.length)
					: new UnknownRecordError();
			}
			return new OpenRecord(params, store, adapter);
		} catch (e) {
			adapter.close();
			throw e;
		}
	}

	static #adapterFor(params: OpenParams): EncryptedStorageAdapter {
		return new EncryptedStorageAdapter({ db: params.db, vaultId: params.vaultId, vaultKey: params.vaultKey });
	}

	/** See RecordHandle.corruptChunks (the adapter's list, live). */
	get corruptChunks(): readonly CorruptChunkError[] {
		return this.#adapter.corruptChunks;
	}

	/** @internal The current document, for the session's bookkeeping (the UI reads views). */
	doc(): RecordDoc {
		this.#assertOpen();
		return this.#store.doc;
	}

	/** @internal Rewrites the record as one snapshot now (benchmarks; normal use compacts by itself). */
	async compact(): Promise<void> {
		this.#assertOpen();
		await this.#store.compact();
	}

	/** @internal Chunk counts on disk, for benchmarks and tests. */
	chunkCounts(): { snapshot: number; incremental: number } {
		return this.#store.chunkCounts;
	}

	/** See RecordHandle.view. */
	view(): RecordView {
		this.#assertOpen();
		return this.#viewOf(this.#store.doc);
	}

	/** See RecordHandle.subscribe. */
	subscribe(fn: (view: RecordView) => void): () => void {
		this.#assertOpen();
		this.#subscribers.add(fn);
		fn(this.view());
		return () => {
			this.#subscribers.delete(fn);
		};
	}

	/** See RecordHandle.change. */
	async change(fn: RecordChangeFn): Promise<void> {
		this.#assertOpen();
		if (this.#writable?.() === false) throw new ForbiddenError('a read-only member cannot change this record');
		const before = recordIdentityText(this.#store.doc);
		const ctx: ChangeContext = { author: this.author, now: new Date() };
		// Automerge rolls the transaction back when fn throws, and the error propagates.
		const changed = this.#store.update((doc) => Automerge.change(doc, (d) => fn(d, ctx)));
		if (!changed) return;
		this.#onLocalChange?.();
		await this.#changed(before);
	}

	/**
	 * @internal Merges changes received from the relay (Automerge change or document bytes,
	 * in any order, duplicates ignored), tells subscribers and persists like a local change.
	 * Returns whether the document changed.
	 */
	applyRemote(bytes: Uint8Array): boolean {
		this.#assertOpen();
		const before = recordIdentityText(this.#store.doc);
		const changed = this.#store.update((doc) => Automerge.loadIncremental(doc, bytes));
		// The name's meta follows in the background: the caller is the sync engine, not the UI.
		if (changed) this.#changed(before).catch(() => {});
		return changed;
	}

	/**
	 * @internal Merges a whole document received from the relay (a snapshot). When it already
	 * holds everything this one does, it simply becomes the document: loading is far cheaper
	 * than merging thousands of changes into a live document. Returns whether it changed.
	 */
	applyRemoteDocument(bytes: Uint8Array): boolean {
		this.#assertOpen();
		const loaded = Automerge.load<RecordDoc>(bytes);
		const current = this.#store.doc;
		const heads = Automerge.getHeads(current);
		if (sameHeads(Automerge.getHeads(loaded), heads)) {
			Automerge.free(loaded);
			return false;
		}
		if (!Automerge.hasHeads(loaded, heads)) {
			Automerge.free(loaded);
			return this.applyRemote(bytes);
		}
		const before = recordIdentityText(current);
		this.#store.update(() => loaded);
		// Nothing reads the replaced document again (views are plain data), so its memory goes now.
		Automerge.free(current);
		this.#changed(before).catch(() => {});
		return true;
	}

	// After the document changed: subscribers get the new view, the record's name its meta.
	async #changed(identityBefore: string | undefined): Promise<void> {
		const doc = this.#store.doc;
		if (this.#subscribers.size > 0) {
			const view = this.#viewOf(doc);
			for (const subscriber of [...this.#subscribers]) subscriber(view);
		}
		if (this.#onNameChange && recordIdentityText(doc) !== identityBefore) {
			await this.#onNameChange(displayNameOf(doc));
		}
	}

	/** See RecordHandle.flush. */
	async flush(): Promise<void> {
		this.#assertOpen();
		await this.#store.flush();
	}

	/**
	 * Persists pending changes, then frees the document and wipes the adapter's subkeys.
	 * Flushing first matters: a save after the wipe would be refused.
	 */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		this.#subscribers.clear();
		this.#view = undefined;
		this.#viewDoc = undefined;
		try {
			await this.#store.close();
		} finally {
			this.#adapter.close();
		}
	}

	#viewOf(doc: RecordDoc): RecordView {
		// Every change gives a new immutable doc object, so identity is the cache key.
		if (this.#viewDoc !== doc || this.#view === undefined) {
			this.#view = recordView(doc);
			this.#viewDoc = doc;
		}
		return this.#view;
	}

	#assertOpen(): void {
		if (this.#closed) throw new LockedError();
	}
}
