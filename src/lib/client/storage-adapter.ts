/**
 * An automerge-repo storage adapter that encrypts every chunk of ONE vault before it reaches
 * IndexedDB.
 *
 * Layout of one value in the `chunks` store:
 *   IDB key   = [vaultId, b64url(BLAKE2b-128(nameKey, part)) for each StorageKey part]
 *   IDB value = encrypt(dataKey, u32be(len) ‖ utf8(JSON {k: StorageKey, s: seq}) ‖ data,
 *                        ad = utf8(vaultId + '/' + hashedParts.join('/')))
 *
 * Why each piece:
 *  - Hashing each key part separately (instead of the whole key) keeps prefix range queries
 *    working: `[docId, 'incremental']` hashes to a prefix of every incremental's key. Keyed
 *    hashing hides automerge's document id and change hashes, which would otherwise link
 *    this database to a document seen elsewhere (the relay, a backup).
 *  - The original key travels inside the ciphertext so `loadRange` can return it; the
 *    associated data binds the ciphertext to its IDB key and vault, so a value copied or
 *    swapped to another key or vault fails authentication instead of loading silently.
 *  - `s` is a write sequence: `loadRange` returns chunks in write order, which is what an
 *    in-memory adapter does, what the conformance suite expects, and lets Automerge apply
 *    incrementals without queueing them for missing dependencies. Hashed keys alone would
 *    come back in random order.
 *  - Two subkeys (crypto_kdf) of the vault key: names and data never share a key.
 *
 * A value that fails to decrypt is skipped and reported (`corruptChunks`, `onError`), never
 * thrown: one flipped byte must not make the whole record unreadable (invariant 4).
 */
import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo';
import type { IDBPDatabase } from 'idb';
import {
	decrypt,
	deriveSubkey,
	encrypt,
	hash,
	toBase64url,
	utf8Decode,
	utf8Encode
} from '../core/crypto';
import type { CarnetDB } from './db';
import { CorruptChunkError, LockedError } from './errors';

/** crypto_kdf context for the subkeys of a vault key (exactly 8 bytes). */
export const VAULT_SUBKEY_CONTEXT = 'carnetsk';
// Subkey ids under VAULT_SUBKEY_CONTEXT; never reuse a number for another purpose.
/** Subkey 1: keyed hashes of storage key names. */
export const SUBKEY_NAMES = 1;
/** Subkey 2: chunk encryption. */
export const SUBKEY_DATA = 2;
/** Subkey 3: the vault's display metadata (keyring.ts). */
export const SUBKEY_META = 3;
/** Subkey 4: the vault's sync state and outbox (sync/store.ts). */
export const SUBKEY_SYNC = 4;

/** Options of {@link EncryptedStorageAdapter}. */
export interface EncryptedStorageAdapterOptions {
	db: IDBPDatabase<CarnetDB>;
	vaultId: string;
	/** The vault key; only subkeys derived from it are kept. The caller still owns (and wipes) it. */
	vaultKey: Uint8Array;
	/** Called once for every chunk that fails authentication, in addition to `corruptChunks`. */
	onError?: (error: CorruptChunkError) => void;
}

// Monotonic write sequence shared by every adapter of this page: microseconds since the epoch,
// bumped by one when two writes fall in the same tick, so it stays increasing across reloads.
let lastSeq = 0;
function nextSeq(): number {
	lastSeq = Math.max(Date.now() * 1000, lastSeq + 1);
	return lastSeq;
}

interface Decoded {
	key: StorageKey;
	seq: number;
	data: Uint8Array;
}

/** See the module comment. One instance per open vault; `close()` wipes its subkeys. */
export class EncryptedStorageAdapter implements StorageAdapterInterface {
	readonly vaultId: string;
	/** Chunks that failed authentication since this adapter was created (never cleared automatically). */
	readonly corruptChunks: CorruptChunkError[] = [];
	#db: IDBPDatabase<CarnetDB>;
	#nameKey: Uint8Array;
	#dataKey: Uint8Array;
	#onError?: (error: CorruptChunkError) => void;
	#closed = false;
	// automerge-repo asks for the same few parts ('snapshot', the doc id...) over and over.
	#hashCache = new Map<string, string>();

	/** Requires `await crypto.ready()` beforehand (the subkeys are derived synchronously). */
	constructor(options: EncryptedStorageAdapterOptions) {
		this.vaultId = options.vaultId;
		this.#db = options.db;
		this.#nameKey = deriveSubkey(options.vaultKey, SUBKEY_NAMES, VAULT_SUBKEY_CONTEXT);
		this.#dataKey = deriveSubkey(options.vaultKey, SUBKEY_DATA, VAULT_SUBKEY_CONTEXT);
		this.#onError = options.onError;
	}

	/** True once `close()` ran: every further call throws LockedError. */
	get closed(): boolean {
		return this.#closed;
	}

	/** Loads one chunk; undefined when absent or when it fails authentication (then reported). */
	async load(key: StorageKey): Promise<Uint8Array | undefined> {
		const storeKey = this.#storeKey(key);
		const sealed = await this.#db.get('chunks', storeKey);
		if (sealed === undefined) return undefined;
		return this.#open(storeKey, sealed)?.data;
	}

	/** Encrypts and stores one chunk, replacing any value under the same key. */
	async save(key: StorageKey, data: Uint8Array): Promise<void> {
		const storeKey = this.#storeKey(key);
		const sealed = this.#seal(storeKey, key, data);
		await this.#db.put('chunks', sealed, storeKey);
	}

	/** Removes one chunk (no-op when absent). */
	async remove(key: StorageKey): Promise<void> {
		const storeKey = this.#storeKey(key);
		await this.#db.delete('chunks', storeKey);
	}

	/**
	 * Loads every chunk whose key starts with `keyPrefix`, in write order. Chunks failing
	 * authentication are left out and reported, so the rest of the document still loads.
	 */
	async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
		const range = this.#range(keyPrefix);
		// Keys and values from one transaction so the two arrays line up.
		const tx = this.#db.transaction('chunks', 'readonly');
		const [keys, values] = await Promise.all([
			tx.store.getAllKeys(range),
			tx.store.getAll(range),
			tx.done
		]);
		const decoded: Decoded[] = [];
		for (let i = 0; i < keys.length; i++) {
			const d = this.#open(keys[i], values[i]);
			if (d) decoded.push(d);
		}
		decoded.sort((a, b) => a.seq - b.seq);
		return decoded.map(({ key, data }) => ({ key, data }));
	}

	/** Removes every chunk whose key starts with `keyPrefix`. */
	async removeRange(keyPrefix: StorageKey): Promise<void> {
		const range = this.#range(keyPrefix);
		await this.#db.delete('chunks', range);
	}

	/**
	 * Wipes the subkeys and refuses every further call. The owner must flush the Repo first:
	 * a write arriving after close is refused rather than encrypted under a zeroed key.
	 */
	close(): void {
		this.#closed = true;
		this.#nameKey.fill(0);
		this.#dataKey.fill(0);
		this.#hashCache.clear();
	}

	/** The IndexedDB key a storage key is stored under (for diagnostics: e.g. to locate a reported chunk). */
	storeKeyOf(key: StorageKey): string[] {
		return this.#storeKey(key);
	}

	/** The IDB key of a storage key: vault id, then one keyed hash per part. */
	#storeKey(key: StorageKey): string[] {
		this.#assertOpen();
		const out: string[] = [this.vaultId];
		for (const part of key) {
			let h = this.#hashCache.get(part);
			if (h === undefined) {
				h = toBase64url(hash(utf8Encode(part), this.#nameKey, 16));
				this.#hashCache.set(part, h);
			}
			out.push(h);
		}
		return out;
	}

	/** All IDB keys starting with the hashed prefix: `[]` sorts after every string in IDB. */
	#range(keyPrefix: StorageKey): IDBKeyRange {
		const lower = this.#storeKey(keyPrefix);
		return IDBKeyRange.bound(lower, [...lower, []]);
	}

	#ad(storeKey: string[]): Uint8Array {
		// storeKey[0] is the vault id, the rest the hashed parts.
		return utf8Encode(storeKey[0] + '/' + storeKey.slice(1).join('/'));
	}

	#seal(storeKey: string[], key: StorageKey, data: Uint8Array): Uint8Array {
		const header = utf8Encode(JSON.stringify({ k: key, s: nextSeq() }));
		const plain = new Uint8Array(4 + header.length + data.length);
		new DataView(plain.buffer).setUint32(0, header.length);
		plain.set(header, 4);
		plain.set(data, 4 + header.length);
		const sealed = encrypt(this.#dataKey, plain, this.#ad(storeKey));
		// The plaintext copy holds record data: do not leave it lying in the heap.
		plain.fill(0);
		return sealed;
	}

	#open(storeKey: IDBValidKey, sealed: unknown): Decoded | undefined {
		this.#assertOpen();
		const parts = storeKey as string[];
		try {
			if (!(sealed instanceof Uint8Array)) throw new Error('not bytes');
			const plain = decrypt(this.#dataKey, sealed, this.#ad(parts));
			const headerLength = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
			const header = JSON.parse(utf8Decode(plain.subarray(4, 4 + headerLength))) as {
				k: StorageKey;
				s: number;
			};
			return { key: header.k, seq: header.s, data: plain.subarray(4 + headerLength) };
		} catch (cause) {
			// Authenticated encryption makes any failure here tampering or a foreign key: skip it.
			const error = new CorruptChunkError([...parts], cause);
			this.corruptChunks.push(error);
			this.#onError?.(error);
			return undefined;
		}
	}

	#assertOpen(): void {
		if (this.#closed) throw new LockedError();
	}
}
