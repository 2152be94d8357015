/**
 * The bytes of documents' files, on this device (docs/SHARING.md, "In the record"): the
 * record's documents entry carries the file's metadata `{name, contentType, size, sha256}`,
 * the bytes stay here until the relay's blob store syncs them (issue 5).
 *
 * Encrypted like the record's chunks (storage-adapter.ts), with the same two subkeys of the
 * record's LOCAL key:
 *   IDB key   = [vaultId, b64url(BLAKE2b-128(nameKey, 'attachment/' + documentId))]
 *   IDB value = encrypt(dataKey, u32be(len) ‖ utf8(JSON {name, contentType, size, sha256}) ‖ bytes,
 *                       ad = utf8('attachment/' + vaultId + '/' + hashedId))
 * The keyed hash keeps document ids off the disk's keys, as chunk names are; the associated
 * data differs from every chunk's (which starts with the vault id), so no chunk can pass for
 * an attachment nor an attachment be moved to another document or record.
 */
import type { IDBPDatabase } from 'idb';
import { decrypt, deriveSubkey, encrypt, hash, toBase64url, utf8Decode, utf8Encode } from '../core/crypto';
import { sha256 } from '../core/crypto/jwe';
import { setDocumentFile, type FileMeta } from '../core/record';
import type { CarnetDB } from './db';
import { LockedError } from './errors';
import type { RecordHandle } from './record-handle';
import { SUBKEY_DATA, SUBKEY_NAMES, VAULT_SUBKEY_CONTEXT } from './storage-adapter';

/** A file as the UI hands it in. */
export interface FileInput {
	readonly name: string;
	readonly contentType: string;
	readonly bytes: Uint8Array;
}

/** A stored file: its metadata and bytes. */
export interface StoredFile extends FileMeta {
	readonly bytes: Uint8Array;
}

/** The attachment store of one record (`session.attachments(vaultId)`). */
export interface AttachmentStore {
	/**
	 * Keeps `file` as the file of document `documentId` and writes its metadata into the
	 * document's entry (RecordValidationError `not_found` for an unknown document). Returns
	 * the metadata.
	 */
	put(documentId: string, file: FileInput): Promise<FileMeta>;
	/** The document's file on this device, or null (never stored here, or unreadable). */
	get(documentId: string): Promise<StoredFile | null>;
	/** Whether this device holds the document's bytes. */
	has(documentId: string): Promise<boolean>;
	/** Forgets the bytes on this device (the entry's metadata stays: other devices may hold them). */
	delete(documentId: string): Promise<void>;
}

const AD_PREFIX = 'attachment/';

/** The metadata of `bytes` as a document entry stores it. */
export async function fileMetaOf(name: string, contentType: string, bytes: Uint8Array): Promise<FileMeta> {
	return { name, contentType, size: bytes.length, sha256: toBase64url(await sha256(bytes)) };
}

/** See the module comment. Created by the Session; `close()` wipes its subkeys (lock). */
export class Attachments implements AttachmentStore {
	readonly vaultId: string;
	readonly #db: IDBPDatabase<CarnetDB>;
	readonly #nameKey: Uint8Array;
	readonly #dataKey: Uint8Array;
	readonly #record: () => Promise<RecordHandle>;
	#closed = false;

	/** `localKey` is the record's local key (the caller keeps and wipes it); `record` opens the record. */
	constructor(db: IDBPDatabase<CarnetDB>, vaultId: string, localKey: Uint8Array, record: () => Promise<RecordHandle>) {
		this.vaultId = vaultId;
		this.#db = db;
		this.#nameKey = deriveSubkey(localKey, SUBKEY_NAMES, VAULT_SUBKEY_CONTEXT);
		this.#dataKey = deriveSubkey(localKey, SUBKEY_DATA, VAULT_SUBKEY_CONTEXT);
		this.#record = record;
	}

	/** See AttachmentStore.put. The bytes first: an entry never names a file this device lacks. */
	async put(documentId: string, file: FileInput): Promise<FileMeta> {
		const meta = await this.store(documentId, file);
		const record = await this.#record();
		await record.change((doc, ctx) => setDocumentFile(doc, documentId, meta, ctx));
		return meta;
	}

	/** Stores the bytes only (the caller writes the entry: a contribution's import does). */
	async store(documentId: string, file: FileInput): Promise<FileMeta> {
		if (!(file.bytes instanceof Uint8Array)) throw new TypeError('file.bytes must be a Uint8Array');
		const meta = await fileMetaOf(file.name, file.contentType, file.bytes);
		const key = this.#key(documentId);
		const header = utf8Encode(JSON.stringify(meta));
		const plain = new Uint8Array(4 + header.length + file.bytes.length);
		new DataView(plain.buffer).setUint32(0, header.length);
		plain.set(header, 4);
		plain.set(file.bytes, 4 + header.length);
		const sealed = encrypt(this.#dataKey, plain, this.#ad(key));
		plain.fill(0);
		await this.#db.put('attachments', sealed, key);
		return meta;
	}

	/** See AttachmentStore.get. A value failing authentication reads as absent. */
	async get(documentId: string): Promise<StoredFile | null> {
		const key = this.#key(documentId);
		return this.#open(key, await this.#db.get('attachments', key));
	}

	/**
	 * The files of several documents (null where `get` would answer null), in the order of
	 * `documentIds`, read in one transaction.
	 */
	async getMany(documentIds: readonly string[]): Promise<(StoredFile | null)[]> {
		if (documentIds.length === 0) return [];
		const keys = documentIds.map((id) => this.#key(id));
		const store = this.#db.transaction('attachments').store;
		// Each opened as it arrives, while the next ones are read.
		return Promise.all(keys.map(async (key) => this.#open(key, await store.get(key))));
	}

	/** A stored value opened: its metadata and bytes, or null when absent or not authentic. */
	#open(key: [string, string], sealed: unknown): StoredFile | null {
		if (!(sealed instanceof Uint8Array)) return null;
		this.#assertOpen();
		try {
			const plain = decrypt(this.#dataKey, sealed, this.#ad(key));
			const length = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
			const meta = JSON.parse(utf8Decode(plain.subarray(4, 4 + length))) as FileMeta;
			// A view, not a copy: `plain` is this call's own buffer.
			return { ...meta, bytes: plain.subarray(4 + length) };
		} catch {
			return null;
		}
	}

	/** See AttachmentStore.has. */
	async has(documentId: string): Promise<boolean> {
		return (await this.#db.count('attachments', this.#key(documentId))) > 0;
	}

	/** See AttachmentStore.delete. */
	async delete(documentId: string): Promise<void> {
		await this.#db.delete('attachments', this.#key(documentId));
	}

	/** Wipes the subkeys; every further call throws LockedError. */
	close(): void {
		this.#closed = true;
		this.#nameKey.fill(0);
		this.#dataKey.fill(0);
	}

	#key(documentId: string): [string, string] {
		this.#assertOpen();
		if (typeof documentId !== 'string' || documentId === '') throw new TypeError('documentId must be a document id');
		return [this.vaultId, toBase64url(hash(utf8Encode(AD_PREFIX + documentId), this.#nameKey, 16))];
	}

	#ad(key: [string, string]): Uint8Array {
		return utf8Encode(`${AD_PREFIX}${key[0]}/${key[1]}`);
	}

	#assertOpen(): void {
		if (this.#closed) throw new LockedError();
	}
}
