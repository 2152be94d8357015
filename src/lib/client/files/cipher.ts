/**
 * Sealing and opening documents' files piece by piece (docs/ATTACHMENTS.md, section 1), behind
 * one interface with two implementations: in process (Node, tests; and the fallback) and in a
 * module worker (browsers: a 100 MB file must not freeze the page for seconds).
 */
import { CryptoError, FileOpener, FileSealer, ready, type CryptoErrorCode, type FileToOpen } from '../../core/crypto';
import { transferable, type WorkerReply, type WorkerRequest } from './worker-protocol';

/** What sealing a whole file gives besides its ciphertext. */
export interface SealResult {
	/** The ciphertext not yet returned by `update`. */
	readonly pieces: Uint8Array[];
	/** The file's key (32 bytes): goes into the record. */
	readonly key: Uint8Array;
	/** BLAKE2b-256 of the plaintext. */
	readonly hash: Uint8Array;
	/** BLAKE2b-256 of the sealed blob: its id. */
	readonly id: Uint8Array;
}

/** One file being sealed. */
export interface SealJob {
	/**
	 * Seals the next plaintext bytes; resolves with the ciphertext complete so far (maybe none).
	 * `plain` may be transferred (detached) to another thread: the caller must not reuse it.
	 */
	update(plain: Uint8Array): Promise<Uint8Array[]>;
	/** After exactly the announced size: pads, resolves with the last ciphertext, the key and the digests. */
	finish(): Promise<SealResult>;
	/** Forgets the job (its key and buffers) without finishing it. */
	abort(): void;
}

/** One file being opened. */
export interface OpenJob {
	/**
	 * Opens the next ciphertext bytes (any slicing); resolves with the plaintext pieces (never
	 * past the file's size). Rejects with CryptoError('decrypt_failed') as soon as an altered
	 * chunk is read. `cipher` may be transferred: the caller must not reuse it.
	 */
	update(cipher: Uint8Array): Promise<Uint8Array[]>;
	/** At the end: rejects with CryptoError('decrypt_failed') when truncated, padded wrongly or the hash differs. */
	finish(): Promise<void>;
	/** Forgets the job without finishing it. */
	abort(): void;
}

/** Seals and opens files; one per file service. */
export interface FileCipher {
	/** Starts sealing a file of `size` bytes under a fresh random key. */
	seal(size: number): Promise<SealJob>;
	/** Starts opening a sealed file (the caller keeps `file.key` and may wipe it afterwards). */
	open(file: FileToOpen): Promise<OpenJob>;
	/** Releases the implementation's resources (the worker); pending jobs reject. */
	close(): void;
}

/** FileSealer and FileOpener on this thread. */
export class InProcessCipher implements FileCipher {
	/** See FileCipher.seal. */
	async seal(size: number): Promise<SealJob> {
		await ready();
		let sealer: FileSealer | undefined = new FileSealer(size);
		const current = () => {
			if (sealer === undefined) throw new CryptoError('bad_input', 'SealJob: finished or aborted');
			return sealer;
		};
		return {
			update: async (plain) => current().update(plain),
			finish: async () => {
				const job = current();
				const { pieces, hash, id } = job.finish();
				sealer = undefined;
				return { pieces, hash, id, key: job.key };
			},
			abort: () => {
				sealer?.key.fill(0);
				sealer = undefined;
			}
		};
	}

	/** See FileCipher.open. */
	async open(file: FileToOpen): Promise<OpenJob> {
		await ready();
		let opener: FileOpener | undefined = new FileOpener(file);
		const current = () => {
			if (opener === undefined) throw new CryptoError('bad_input', 'OpenJob: finished or aborted');
			return opener;
		};
		return {
			update: async (cipher) => current().update(cipher),
			finish: async () => {
				current().finish();
				opener = undefined;
			},
			abort: () => {
				opener = undefined;
			}
		};
	}

	/** Nothing to release. */
	close(): void {}
}

/**
 * The same in a module worker (worker.ts): pieces cross transferred, not copied. The shared
 * conformance suite (tests/support/file-cipher-conformance.ts) runs it in Chromium
 * (tests/e2e/files-worker.test.ts: Node has no module Worker) and the in-process class under
 * vitest (tests/unit/client-files.test.ts).
 */
export class WorkerCipher implements FileCipher {
	#worker: Worker | undefined;
	#calls = 0;
	#jobs = 0;
	readonly #pending = new Map<number, { resolve: (reply: WorkerReply & { ok: true }) => void; reject: (error: Error) => void }>();

	/** See FileCipher.seal. */
	async seal(size: number): Promise<SealJob> {
		const job = ++this.#jobs;
		await this.#call({ job, op: 'seal', size }, []);
		return {
			update: async (plain) => {
				const { arrays, buffers } = transferable([plain]);
				return (await this.#call({ job, op: 'update', bytes: arrays[0] }, buffers)).pieces ?? [];
			},
			finish: async () => {
				const reply = await this.#call({ job, op: 'finish' }, []);
				return { pieces: reply.pieces ?? [], key: reply.key!, hash: reply.hash!, id: reply.id! };
			},
			abort: () => void this.#call({ job, op: 'abort' }, []).catch(() => {})
		};
	}

	/** See FileCipher.open. The key is copied to the worker (the caller keeps its own). */
	async open(file: FileToOpen): Promise<OpenJob> {
		const job = ++this.#jobs;
		await this.#call({ job, op: 'open', file }, []);
		return {
			update: async (cipher) => {
				const { arrays, buffers } = transferable([cipher]);
				return (await this.#call({ job, op: 'update', bytes: arrays[0] }, buffers)).pieces ?? [];
			},
			finish: async () => void (await this.#call({ job, op: 'finish' }, [])),
			abort: () => void this.#call({ job, op: 'abort' }, []).catch(() => {})
		};
	}

	/** Terminates the worker; pending calls reject. */
	close(): void {
		this.#worker?.terminate();
		this.#worker = undefined;
		this.#failAll(new CryptoError('bad_input', 'file worker closed'));
	}

	#call(request: DistributiveOmit<WorkerRequest, 'call'>, transfer: Transferable[]): Promise<WorkerReply & { ok: true }> {
		const call = ++this.#calls;
		return new Promise((resolve, reject) => {
			this.#pending.set(call, { resolve, reject });
			this.#spawn().postMessage({ ...request, call }, transfer);
		});
	}

	#spawn(): Worker {
		if (this.#worker === undefined) {
			const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
			worker.onmessage = (event: MessageEvent<WorkerReply>) => {
				const reply = event.data;
				const pending = this.#pending.get(reply.call);
				if (pending === undefined) return;
				this.#pending.delete(reply.call);
				if (reply.ok) pending.resolve(reply);
				else pending.reject(new CryptoError(reply.code as CryptoErrorCode, reply.message));
			};
			// A worker that fails to load or crashes: every waiting call fails, the next starts a new one.
			worker.onerror = () => {
				worker.terminate();
				if (this.#worker === worker) this.#worker = undefined;
				this.#failAll(new CryptoError('unsupported', 'file worker failed'));
			};
			this.#worker = worker;
		}
		return this.#worker;
	}

	#failAll(error: Error): void {
		for (const pending of this.#pending.values()) pending.reject(error);
		this.#pending.clear();
	}
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The cipher for this environment: the worker in a browser page, in process elsewhere. */
export function defaultCipher(): FileCipher {
	return typeof Worker !== 'undefined' && typeof window !== 'undefined' ? new WorkerCipher() : new InProcessCipher();
}
