/**
 * The file worker (browsers): seals and opens documents' files off the main thread, so a large
 * file never freezes the page. Protocol: worker-protocol.ts; client: WorkerCipher in cipher.ts.
 * libsodium initialises here, in the worker's own realm.
 */
import { CryptoError, FileOpener, FileSealer, ready } from '../../core/crypto';
import { transferable, type WorkerReply, type WorkerRequest } from './worker-protocol';

const scope = self as unknown as {
	onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
	postMessage(message: WorkerReply, transfer: Transferable[]): void;
};

const jobs = new Map<number, FileSealer | FileOpener>();
// One request at a time, in arrival order: a job's pieces must be processed in order.
let queue: Promise<void> = ready();

scope.onmessage = (event) => {
	const request = event.data;
	queue = queue.then(() => answer(request));
};

function answer(request: WorkerRequest): void {
	try {
		const reply = handle(request);
		const { arrays, buffers } = transferable([...(reply.pieces ?? []), ...(reply.key ? [reply.key] : [])]);
		const pieces = reply.pieces === undefined ? undefined : arrays.slice(0, reply.pieces.length);
		const key = reply.key === undefined ? undefined : arrays[arrays.length - 1];
		scope.postMessage({ ...reply, call: request.call, ok: true, ...(pieces ? { pieces } : {}), ...(key ? { key } : {}) }, buffers);
		// The key went as a copy when it could not be transferred: none stays behind here.
		reply.key?.fill(0);
	} catch (error) {
		jobs.delete(request.job);
		// Fixed messages only (CryptoError's never carry values): nothing secret crosses back.
		const code = error instanceof CryptoError ? error.code : 'bad_input';
		scope.postMessage({ call: request.call, ok: false, code, message: error instanceof CryptoError ? error.message : 'file worker failed' }, []);
	}
}

function handle(request: WorkerRequest): { pieces?: Uint8Array[]; key?: Uint8Array; hash?: Uint8Array; id?: Uint8Array } {
	switch (request.op) {
		case 'seal':
			jobs.set(request.job, new FileSealer(request.size));
			return {};
		case 'open':
			jobs.set(request.job, new FileOpener(request.file));
			return {};
		case 'update': {
			const job = jobs.get(request.job);
			if (job === undefined) throw new CryptoError('bad_input', 'file worker: no such job');
			return { pieces: job.update(request.bytes) };
		}
		case 'finish': {
			const job = jobs.get(request.job);
			jobs.delete(request.job);
			if (job === undefined) throw new CryptoError('bad_input', 'file worker: no such job');
			if (job instanceof FileOpener) {
				job.finish();
				return {};
			}
			const { pieces, hash, id } = job.finish();
			return { pieces, hash, id, key: job.key };
		}
		case 'abort': {
			const job = jobs.get(request.job);
			if (job instanceof FileSealer) job.key.fill(0);
			jobs.delete(request.job);
			return {};
		}
	}
}
