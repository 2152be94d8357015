/**
 * The `BlobStore` (blobs.ts) on the filesystem, under `DATA_DIR/blobs/`:
 *
 *   <root>/<vault>/<id>                 a complete blob, its bytes as uploaded
 *   <root>/<vault>/<id>.<length>.part   an upload in progress: the bytes received so far
 *
 * The files are the whole index: a complete blob's length is its size and its creation time
 * its mtime (set when it is completed, never changed after: reads do not touch it); an
 * upload's offset is its size, its length is in its name, its last touch its mtime. Nothing
 * else to keep consistent with the files after a crash, which a SQLite table beside them
 * would need (a row committed without its rename, or the reverse). What is kept in memory is
 * derived: per vault, the bytes held, the complete count and the uploads (what `status`, the
 * quota and `append` ask for at every part), read from the directory the first time a vault
 * is used, then maintained by this process, the only writer (the relay is one process).
 *
 * Durability: every part is fdatasync'ed before `append` resolves, and a new file's directory
 * entry fsync'ed, so an acknowledged offset survives a crash. An upload this process received
 * from its first byte is hashed as its parts are written (reading 100 MB back at completion
 * cost a tenth of the upload's time); one resumed after a restart is hashed from the disk at
 * completion. Then the upload is renamed to `<id>` and the directory fsynced: a crash leaves
 * either the upload or the blob. Calls that change a vault
 * run one after the other (a promise chain per vault), which is what keeps two PUTs of the same
 * part from both writing, and the quota check exact; reads take no turn.
 *
 * Ids are base64url, safe as file names, and checked anyway. They differ by case only, so the
 * filesystem must be case-sensitive (Linux's are).
 */
import { mkdirSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createHasher, ready, toBase64url, type Hasher } from '../../src/lib/core/crypto';
import type { AppendResult, BlobPart, BlobReader, BlobState, BlobStore, CompleteResult } from './blobs';

/** A vault id (16 bytes) and a blob id (32 bytes) in base64url; the store's callers check canonical forms. */
const VAULT_ID = /^[A-Za-z0-9_-]{22}$/;
const BLOB_ID = /^[A-Za-z0-9_-]{43}$/;
const UPLOAD_NAME = /^([A-Za-z0-9_-]{43})\.([1-9][0-9]{0,15})\.part$/;
/** Bytes read at a time when hashing an upload. */
const HASH_READ_BYTES = 1 << 20;

/** An upload in progress, as its file says. */
interface Upload {
	readonly length: number;
	held: number;
	/** The hash of the `held` bytes, while this process wrote every one of them. */
	hasher?: Hasher;
}

/** What the store knows of one vault's directory. */
interface VaultIndex {
	/** Bytes of every file: complete blobs and uploads. */
	used: number;
	/** Complete blobs. */
	count: number;
	readonly uploads: Map<string, Upload>;
	/** Whether the vault's directory exists (durably). */
	dirReady: boolean;
}

/** Opens (creating it if needed) a blob store in the folder `root`. */
export function openFsBlobStore(root: string): BlobStore {
	mkdirSync(root, { recursive: true });
	return new FsBlobStore(root);
}

class FsBlobStore implements BlobStore {
	readonly #root: string;
	readonly #indexes = new Map<string, VaultIndex>();
	/** Per vault, the end of its chain of changes (never rejects). */
	readonly #tails = new Map<string, Promise<void>>();
	#closed = false;

	constructor(root: string) {
		this.#root = root;
	}

	async status(vault: string, id: string): Promise<BlobState> {
		this.#open();
		checkIds(vault, id);
		// The upload first: completing removes it only after the rename, so a blob is never
		// seen as neither.
		const upload = (await this.#index(vault)).uploads.get(id);
		if (upload !== undefined) return { state: 'partial', offset: upload.held, length: upload.length };
		const blob = await statOrNull(this.#blobPath(vault, id));
		return blob === null ? { state: 'absent' } : { state: 'complete', length: blob.size };
	}

	async append(vault: string, id: string, part: BlobPart): Promise<AppendResult> {
		checkIds(vault, id);
		checkInteger(part.offset, 0, 'offset');
		checkInteger(part.length, 1, 'length');
		if (!(part.bytes instanceof Uint8Array) || part.bytes.length === 0) throw new TypeError('blob store: a part has at least one byte');
		if (part.quota !== undefined) checkInteger(part.quota, 0, 'quota');
		return this.#locked(vault, async () => {
			const index = await this.#indexOf(vault);
			const upload = index.uploads.get(id);
			if (upload === undefined) {
				const blob = await statOrNull(this.#blobPath(vault, id));
				if (blob !== null) return blob.size === part.length ? { state: 'complete', length: blob.size } : { error: 'length_mismatch' };
			}
			if (upload !== undefined && upload.length !== part.length) return { error: 'length_mismatch' };
			const held = upload?.held ?? 0;
			// Every byte is in but the completion did not happen (a crash, a failed read): the
			// retried part has nothing to add, its caller completes.
			if (upload !== undefined && held === upload.length) return { state: 'partial', offset: held, written: 0 };
			if (part.offset !== held) return { error: 'offset_mismatch', held };
			if (part.offset + part.bytes.length > part.length) return { error: 'length_mismatch' };
			if (part.quota !== undefined && index.used - held + part.length > part.quota) return { error: 'quota', used: index.used };
			await this.#write(vault, id, index, upload, part);
			return { state: 'partial', offset: held + part.bytes.length, written: part.bytes.length };
		});
	}

	async complete(vault: string, id: string): Promise<CompleteResult> {
		checkIds(vault, id);
		return this.#locked(vault, async () => {
			const index = await this.#indexOf(vault);
			const upload = index.uploads.get(id);
			const blobPath = this.#blobPath(vault, id);
			if (upload === undefined) return (await statOrNull(blobPath)) === null ? 'incomplete' : 'complete';
			if (upload.held !== upload.length) return 'incomplete';
			const partPath = this.#partPath(vault, id, upload.length);
			const handle = await open(partPath, 'r+');
			let matches: boolean;
			try {
				// A digest is taken once: a retried completion (say, after a failed rename) reads the disk.
				const hasher = upload.hasher;
				upload.hasher = undefined;
				matches = (hasher ? toBase64url(hasher.digest()) : await hashFile(handle)) === id;
				if (matches) {
					// The creation time `retain` goes by: now, not when the last part arrived.
					const now = new Date();
					await handle.utimes(now, now);
					await handle.sync();
				}
			} finally {
				await handle.close();
			}
			if (!matches) {
				await unlink(partPath);
				index.uploads.delete(id);
				index.used -= upload.held;
				return 'hash_mismatch';
			}
			await rename(partPath, blobPath);
			index.uploads.delete(id);
			index.count++;
			await fsyncDir(this.#dir(vault));
			return 'complete';
		});
	}

	async read(vault: string, id: string, from: number): Promise<BlobReader | null> {
		this.#open();
		checkIds(vault, id);
		checkInteger(from, 0, 'from');
		let handle: FileHandle;
		try {
			handle = await open(this.#blobPath(vault, id), 'r');
		} catch (error) {
			if (isMissing(error)) return null;
			throw error;
		}
		try {
			const { size } = await handle.stat();
			// The stream owns the handle from here (autoClose): it closes it when it ends or is destroyed.
			return { length: size, stream: handle.createReadStream({ start: from }) };
		} catch (error) {
			await handle.close();
			throw error;
		}
	}

	async delete(vault: string, id: string): Promise<boolean> {
		checkIds(vault, id);
		return this.#locked(vault, async () => {
			const index = await this.#indexOf(vault);
			let removed = false;
			const upload = index.uploads.get(id);
			if (upload !== undefined) {
				await unlink(this.#partPath(vault, id, upload.length));
				index.uploads.delete(id);
				index.used -= upload.held;
				removed = true;
			}
			const blobPath = this.#blobPath(vault, id);
			const blob = await statOrNull(blobPath);
			if (blob !== null) {
				await unlink(blobPath);
				index.used -= blob.size;
				index.count--;
				removed = true;
			}
			if (removed) await fsyncDir(this.#dir(vault));
			return removed;
		});
	}

	async usage(vault: string): Promise<{ used: number; count: number }> {
		this.#open();
		checkIds(vault);
		const { used, count } = await this.#index(vault);
		return { used, count };
	}

	async retain(vault: string, keep: ReadonlySet<string>, createdBefore: Date): Promise<number> {
		checkIds(vault);
		const before = createdBefore.getTime();
		return this.#locked(vault, async () => {
			const index = await this.#indexOf(vault);
			const dir = this.#dir(vault);
			let removed = 0;
			for (const name of await namesIn(dir)) {
				const upload = UPLOAD_NAME.exec(name);
				const id = upload === null ? (BLOB_ID.test(name) ? name : undefined) : upload[1];
				if (id === undefined || keep.has(id)) continue;
				const path = join(dir, name);
				const { size, mtimeMs } = await stat(path);
				if (mtimeMs >= before) continue;
				await unlink(path);
				removed++;
				index.used -= size;
				if (upload === null) index.count--;
				else index.uploads.delete(id);
			}
			if (removed > 0) await fsyncDir(dir);
			return removed;
		});
	}

	async sweepPartials(olderThan: Date): Promise<number> {
		this.#open();
		const before = olderThan.getTime();
		let removed = 0;
		for (const vault of await namesIn(this.#root)) {
			// Stops between vaults when the store closes: the next sweep (at the next start) goes on.
			if (!VAULT_ID.test(vault) || this.#closed) continue;
			removed += await this.#locked(vault, async () => {
				// A vault not loaded has no index to maintain: its files are all there is.
				const index = this.#indexes.get(vault);
				const dir = this.#dir(vault);
				let n = 0;
				for (const name of await namesIn(dir)) {
					const upload = UPLOAD_NAME.exec(name);
					if (upload === null) continue;
					const path = join(dir, name);
					const { size, mtimeMs } = await stat(path);
					if (mtimeMs >= before) continue;
					await unlink(path);
					n++;
					if (index !== undefined && index.uploads.delete(upload[1])) index.used -= size;
				}
				return n;
			});
		}
		return removed;
	}

	async close(): Promise<void> {
		this.#closed = true;
		await Promise.all(this.#tails.values());
	}

	// --- internals ---------------------------------------------------------------------------

	#dir(vault: string): string {
		return join(this.#root, vault);
	}

	#blobPath(vault: string, id: string): string {
		return join(this.#root, vault, id);
	}

	#partPath(vault: string, id: string, length: number): string {
		return join(this.#root, vault, `${id}.${length}.part`);
	}

	#open(): void {
		if (this.#closed) throw new Error('blob store: closed');
	}

	/** Runs `change` once every earlier change of `vault` has finished, whatever their outcome. */
	#locked<T>(vault: string, change: () => Promise<T>): Promise<T> {
		if (this.#closed) return Promise.reject(new Error('blob store: closed'));
		const run = (this.#tails.get(vault) ?? Promise.resolve()).then(change);
		const tail = run.then(
			() => undefined,
			() => undefined
		);
		this.#tails.set(vault, tail);
		void tail.then(() => {
			if (this.#tails.get(vault) === tail) this.#tails.delete(vault);
		});
		return run;
	}

	/** The vault's index, loading it (in the vault's turn, so no change runs meanwhile) the first time. */
	#index(vault: string): Promise<VaultIndex> {
		const index = this.#indexes.get(vault);
		return index === undefined ? this.#locked(vault, () => this.#indexOf(vault)) : Promise.resolve(index);
	}

	/** The vault's index; call it only in the vault's turn. */
	async #indexOf(vault: string): Promise<VaultIndex> {
		let index = this.#indexes.get(vault);
		if (index === undefined) {
			index = await this.#load(vault);
			this.#indexes.set(vault, index);
		}
		return index;
	}

	async #load(vault: string): Promise<VaultIndex> {
		const dir = this.#dir(vault);
		const index: VaultIndex = { used: 0, count: 0, uploads: new Map(), dirReady: false };
		let names: string[];
		try {
			names = await readdir(dir);
		} catch (error) {
			if (isMissing(error)) return index;
			throw error;
		}
		index.dirReady = true;
		for (const name of names) {
			const upload = UPLOAD_NAME.exec(name);
			if (upload === null && !BLOB_ID.test(name)) continue;
			const { size } = await stat(join(dir, name));
			index.used += size;
			if (upload === null) index.count++;
			else index.uploads.set(upload[1], { length: Number(upload[2]), held: size });
		}
		return index;
	}

	/** Writes a part durably, then counts it; on failure the upload is left as it was acknowledged. */
	async #write(vault: string, id: string, index: VaultIndex, upload: Upload | undefined, part: BlobPart): Promise<void> {
		const path = this.#partPath(vault, id, part.length);
		if (!index.dirReady) {
			await mkdir(this.#dir(vault), { recursive: true });
			await fsyncDir(this.#root);
			index.dirReady = true;
		}
		const handle = await open(path, upload === undefined ? 'wx' : 'r+');
		const hasher = upload === undefined ? createHasher() : upload.hasher;
		try {
			const writing = (async () => {
				let written = 0;
				while (written < part.bytes.length) {
					const { bytesWritten } = await handle.write(part.bytes, written, part.bytes.length - written, part.offset + written);
					written += bytesWritten;
				}
				await handle.datasync();
				if (upload === undefined) await fsyncDir(this.#dir(vault));
			})();
			// Hashed while the disk writes it (the write runs on libuv's threads).
			hasher?.update(part.bytes);
			await writing;
		} catch (error) {
			// The hash now covers a part the file lacks: completion will read the disk instead.
			if (upload !== undefined) upload.hasher = undefined;
			// A part is all or nothing: without it the upload holds what was acknowledged. If even
			// that fails, the index is dropped, to be read again from the files.
			try {
				if (upload === undefined) await unlink(path);
				else await handle.truncate(part.offset);
			} catch {
				this.#indexes.delete(vault);
			}
			throw error;
		} finally {
			await handle.close();
		}
		if (upload === undefined) index.uploads.set(id, { length: part.length, held: part.bytes.length, hasher });
		else upload.held += part.bytes.length;
		index.used += part.bytes.length;
	}
}

/** base64url BLAKE2b-256 of a file's bytes, read a MiB at a time (the event loop runs between reads). */
async function hashFile(handle: FileHandle): Promise<string> {
	await ready();
	const hasher = createHasher();
	const buffer = Buffer.allocUnsafe(HASH_READ_BYTES);
	for (let position = 0; ; ) {
		const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
		if (bytesRead === 0) break;
		hasher.update(buffer.subarray(0, bytesRead));
		position += bytesRead;
	}
	return toBase64url(hasher.digest());
}

/** Makes a directory's entries (files created, renamed, removed) durable. */
async function fsyncDir(path: string): Promise<void> {
	const handle = await open(path, 'r');
	try {
		await handle.sync();
	} finally {
		await handle.close();
	}
}

async function statOrNull(path: string): Promise<{ size: number } | null> {
	try {
		return await stat(path);
	} catch (error) {
		if (isMissing(error)) return null;
		throw error;
	}
}

/** The names in a directory; none when it does not exist. */
async function namesIn(dir: string): Promise<string[]> {
	try {
		return await readdir(dir);
	} catch (error) {
		if (isMissing(error)) return [];
		throw error;
	}
}

function isMissing(error: unknown): boolean {
	return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

function checkIds(vault: string, id?: string): void {
	if (typeof vault !== 'string' || !VAULT_ID.test(vault)) throw new TypeError('blob store: bad vault id');
	if (id !== undefined && (typeof id !== 'string' || !BLOB_ID.test(id))) throw new TypeError('blob store: bad blob id');
}

function checkInteger(value: number, min: number, name: string): void {
	if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`blob store: ${name} must be an integer ≥ ${min}`);
}
