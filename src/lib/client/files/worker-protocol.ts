/**
 * The messages between the page and the file worker (worker.ts, and WorkerCipher in cipher.ts). Byte arrays
 * travel transferred, not copied: a 100 MB file crosses the boundary in 1 MiB pieces.
 */
import type { FileToOpen } from '../../core/crypto';

/** The page asks. `call` numbers the request; `job` names the file being sealed or opened. */
export type WorkerRequest =
	| { readonly call: number; readonly job: number; readonly op: 'seal'; readonly size: number }
	| { readonly call: number; readonly job: number; readonly op: 'open'; readonly file: FileToOpen }
	| { readonly call: number; readonly job: number; readonly op: 'update'; readonly bytes: Uint8Array }
	| { readonly call: number; readonly job: number; readonly op: 'finish' }
	| { readonly call: number; readonly job: number; readonly op: 'abort' };

/** The worker answers each request once, in order. */
export type WorkerReply =
	| {
			readonly call: number;
			readonly ok: true;
			readonly pieces?: Uint8Array[];
			readonly key?: Uint8Array;
			readonly hash?: Uint8Array;
			readonly id?: Uint8Array;
	  }
	| { readonly call: number; readonly ok: false; readonly code: string; readonly message: string };

/**
 * The buffers to transfer with `arrays`: each array's own buffer when it spans all of it, else
 * a copy's (transferring a buffer shared with other views would detach them too).
 */
export function transferable(arrays: Uint8Array[]): { arrays: Uint8Array[]; buffers: ArrayBuffer[] } {
	const seen = new Set<ArrayBufferLike>();
	const out = arrays.map((a) => {
		const whole = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer && !seen.has(a.buffer);
		const own = whole ? a : a.slice();
		seen.add(own.buffer);
		return own;
	});
	return { arrays: out, buffers: out.map((a) => a.buffer as ArrayBuffer) };
}
