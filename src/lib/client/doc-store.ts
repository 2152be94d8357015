/**
 * One Automerge document persisted through a StorageAdapter, in automerge-repo's own chunk
 * layout: `[docId, 'snapshot', name]` for a full `save()`, `[docId, 'incremental', name]` for
 * a `saveSince()`. A `Repo` given the same adapter opens what this writes and vice versa
 * (tests/unit/client-carnet.test.ts checks both ways), so nothing here is a new format.
 *
 * Why not a `Repo` + `DocHandle` per record, as first planned: measured on the 5,000-entry
 * benchmark record, `repo.find()` costs ~3x `Automerge.load()` of the same bytes, because
 *  1. StorageSubsystem.loadDoc builds the document with `loadIncremental(init(), bytes)`,
 *     which materialises the JS object through patches (~2x `load()`), and
 *  2. DocHandle computes `diff([], heads)` of the whole document on its first update to emit a
 *     "change" event nobody reads (~1x `load()`).
 * Neither is configurable in automerge-repo 2.5. This store loads with `load()` and emits no
 * patches. It also owns the compaction rule, which lets it refuse to compact a document with
 * missing dependencies: after a corrupt chunk is skipped, automerge-repo's compaction would
 * delete the incrementals that depend on it, losing changes a sync could still have repaired.
 *
 * Sync (later) needs exactly what this exposes: the doc, `saveSince(heads)` for outgoing
 * batches and `applyChanges`-style updates through `update()`.
 */
import * as Automerge from '@automerge/automerge';
import { hash, toHex, utf8Encode } from '../core/crypto';
import type { StorageAdapterInterface } from '@automerge/automerge-repo';

/**
 * Compact into one snapshot once this many incrementals pile up, whatever their size. Each
 * is a separate IndexedDB value to fetch and decrypt on every open, and automerge-repo's rule
 * alone (incrementals outweigh the snapshot) lets a 600 KB record collect thousands.
 */
export const COMPACT_AFTER_INCREMENTALS = 32;

/** How long after a change its save starts (automerge-repo waits 100 ms). */
export const SAVE_DELAY_MS = 50;

/** Below this snapshot size, always rewrite the snapshot (automerge-repo's rule too). */
const SMALL_SNAPSHOT_BYTES = 1024;

interface ChunkInfo {
	key: string[];
	type: 'snapshot' | 'incremental';
	size: number;
}

/** What the store needs of a storage adapter (narrower than the full interface, for tests). */
export type DocStorage = Pick<StorageAdapterInterface, 'loadRange' | 'save' | 'remove'>;
type Storage = DocStorage;

function chunkName(bytes: Uint8Array): string {
	return toHex(hash(bytes, undefined, 32));
}

/** True when two sets of heads are the same (in any order). */
export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
	if (a.length !== b.length) return false;
	const set = new Set(a);
	return b.every((h) => set.has(h));
}

function concat(parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let offset = 0;
	for (const p of parts) {
		out.set(p, offset);
		offset += p.length;
	}
	return out;
}

/** See the module comment. */
export class DocStore<T> {
	readonly docId: string;
	#storage: Storage;
	#doc: Automerge.Doc<T>;
	#savedHeads: Automerge.Heads;
	#chunks: ChunkInfo[];
	#dirty = false;
	#forceCompact = false;
	#saving: Promise<void> | undefined;
	#failed: unknown;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#closed = false;

	private constructor(storage: Storage, docId: string, doc: Automerge.Doc<T>, savedHeads: Automerge.Heads, chunks: ChunkInfo[]) {
		this.#storage = storage;
		this.docId = docId;
		this.#doc = doc;
		this.#savedHeads = savedHeads;
		this.#chunks = chunks;
	}

	/** Stores a new document as its first snapshot; resolves once it is on disk. */
	static async create<T>(storage: Storage, docId: string, doc: Automerge.Doc<T>): Promise<DocStore<T>> {
		const store = new DocStore<T>(storage, docId, doc, [], []);
		store.#dirty = true;
		await store.flush();
		return store;
	}

	/**
	 * Loads the document from its chunks, or returns undefined when none loads. Chunks that
	 * fail authentication were already left out (and reported) by the adapter; if what remains
	 * has holes, `load()` refuses it and `loadIncremental` keeps whatever is complete.
	 * Schedules a compaction when too many incrementals were found.
	 */
	static async load<T>(storage: Storage, docId: string): Promise<DocStore<T> | undefined> {
		const found = await storage.loadRange([docId]);
		const snapshots = found.filter((c) => c.key[1] === 'snapshot' && c.data);
		const incrementals = found.filter((c) => c.key[1] === 'incremental' && c.data);
		const ordered = [...snapshots, ...incrementals];
		if (ordered.length === 0) return undefined;
		const bytes = concat(ordered.map((c) => c.data as Uint8Array));
		let doc: Automerge.Doc<T>;
		try {
			doc = Automerge.load<T>(bytes);
		} catch {
			doc = Automerge.loadIncremental(Automerge.init<T>(), bytes);
		}
		const heads = Automerge.getHeads(doc);
		if (heads.length === 0) {
			Automerge.free(doc);
			return undefined;
		}
		const chunks: ChunkInfo[] = ordered.map((c) => ({
			key: [...c.key],
			type: c.key[1] as ChunkInfo['type'],
			size: (c.data as Uint8Array).length
		}));
		const store = new DocStore<T>(storage, docId, doc, heads, chunks);
		if (incrementals.length > COMPACT_AFTER_INCREMENTALS) {
			// In the background: the record is readable now, the rewrite can follow.
			store.#forceCompact = true;
			store.#schedule();
		}
		return store;
	}

	/** The current document (immutable; replaced by every change). */
	get doc(): Automerge.Doc<T> {
		return this.#doc;
	}

	/** Chunks written or loaded and still on disk, by type (for benchmarks and tests). */
	get chunkCounts(): { snapshot: number; incremental: number } {
		return {
			snapshot: this.#chunks.filter((c) => c.type === 'snapshot').length,
			incremental: this.#chunks.filter((c) => c.type === 'incremental').length
		};
	}

	/**
	 * Replaces the document with `fn(doc)` (an Automerge change, merge or loadIncremental) and
	 * schedules a save when the heads moved. If `fn` throws, nothing changes and it propagates.
	 * Returns whether the document changed.
	 */
	update(fn: (doc: Automerge.Doc<T>) => Automerge.Doc<T>): boolean {
		this.#assertOpen();
		const before = Automerge.getHeads(this.#doc);
		const after = fn(this.#doc);
		if (after === this.#doc) return false;
		// Adopted even with the same heads: Automerge outdates the old object, and changes
		// waiting for missing dependencies (a remote batch out of order) live only in the new one.
		this.#doc = after;
		if (sameHeads(before, Automerge.getHeads(after))) return false;
		this.#schedule();
		return true;
	}

	/** Resolves once every change so far is on disk; rejects with the storage error if a save failed. */
	async flush(): Promise<void> {
		if (this.#timer !== undefined) {
			clearTimeout(this.#timer);
			this.#timer = undefined;
		}
		if (this.#saving) await this.#saving;
		if (this.#dirty) {
			this.#saving ??= this.#drain();
			await this.#saving;
		}
		if (this.#failed !== undefined) {
			const error = this.#failed;
			this.#failed = undefined;
			throw error;
		}
	}

	/**
	 * Rewrites the document as one snapshot now (unless it has missing dependencies, see
	 * the module comment) and resolves once it is on disk.
	 */
	async compact(): Promise<void> {
		this.#assertOpen();
		this.#forceCompact = true;
		this.#schedule();
		await this.flush();
	}

	/** Flushes, then frees the document's wasm memory; the store is unusable afterwards. */
	async close(): Promise<void> {
		if (this.#closed) return;
		try {
			await this.flush();
		} finally {
			this.#closed = true;
			Automerge.free(this.#doc);
		}
	}

	// Saves start SAVE_DELAY_MS after a change, so the change call itself never pays for
	// encoding (a compaction re-encodes the whole document) and a burst of changes becomes one
	// incremental. Saves run one at a time; changes arriving meanwhile join the next one.
	#schedule(): void {
		this.#dirty = true;
		if (this.#saving || this.#timer !== undefined) return;
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			if (this.#dirty) this.#saving ??= this.#drain();
		}, SAVE_DELAY_MS);
	}

	async #drain(): Promise<void> {
		this.#failed = undefined;
		try {
			while (this.#dirty) {
				this.#dirty = false;
				await this.#saveOnce();
			}
		} catch (e) {
			// Kept for flush() to report; the next change or flush retries from the last saved heads.
			this.#failed = e;
			this.#dirty = true;
		} finally {
			this.#saving = undefined;
		}
	}

	async #saveOnce(): Promise<void> {
		// Everything read from the document is read synchronously here: a change landing during
		// the awaits below belongs to the next round.
		const doc = this.#doc;
		const heads = Automerge.getHeads(doc);
		const force = this.#forceCompact;
		if (!force && sameHeads(heads, this.#savedHeads)) return;
		if (force || this.#shouldCompact()) {
			this.#forceCompact = false;
			if (Automerge.getMissingDeps(doc, []).length === 0 || this.#savedHeads.length === 0) {
				await this.#saveSnapshot(doc, heads);
				return;
			}
		}
		if (sameHeads(heads, this.#savedHeads)) return;
		const bytes = Automerge.saveSince(doc, this.#savedHeads);
		if (bytes.length === 0) return;
		const key = [this.docId, 'incremental', chunkName(bytes)];
		await this.#storage.save(key, bytes);
		this.#chunks.push({ key, type: 'incremental', size: bytes.length });
		this.#savedHeads = heads;
	}

	#shouldCompact(): boolean {
		if (this.#savedHeads.length === 0) return true;
		let snapshot = 0;
		let incremental = 0;
		let count = 0;
		for (const c of this.#chunks) {
			if (c.type === 'snapshot') snapshot += c.size;
			else {
				incremental += c.size;
				count++;
			}
		}
		return snapshot < SMALL_SNAPSHOT_BYTES || incremental >= snapshot || count >= COMPACT_AFTER_INCREMENTALS;
	}

	async #saveSnapshot(doc: Automerge.Doc<T>, heads: Automerge.Heads): Promise<void> {
		const bytes = Automerge.save(doc);
		const key = [this.docId, 'snapshot', chunkName(utf8Encode([...heads].sort().join(',')))];
		await this.#storage.save(key, bytes);
		// Only chunks this store knows it loaded or wrote go: a corrupt one stays as evidence.
		const stale = this.#chunks.filter((c) => c.key.join('\u0000') !== key.join('\u0000'));
		for (const c of stale) await this.#storage.remove(c.key);
		this.#chunks = [{ key, type: 'snapshot', size: bytes.length }];
		this.#savedHeads = heads;
	}

	#assertOpen(): void {
		if (this.#closed) throw new Error('DocStore is closed');
	}
}
