/**
 * Loads libsodium (the sumo build: the plain one lacks Argon2id). libsodium-wrappers
 * initialises a wasm module asynchronously once; everything else in this module is
 * synchronous and reaches libsodium through `lib()`, which refuses to run before
 * `ready()` has resolved, so a missing `await ready()` fails with a message that says so
 * instead of "crypto_xxx is not a function".
 */
import sodium from 'libsodium-wrappers-sumo';
import { CryptoError } from './errors';

let loaded = false;
let loading: Promise<void> | undefined;

/** Initialises libsodium; idempotent, so every entry point may await it without coordination. */
export function ready(): Promise<void> {
	loading ??= sodium.ready.then(() => {
		loaded = true;
	});
	return loading;
}

/** libsodium, or a clear error when `ready()` has not resolved yet (internal to this module). */
export function lib(): typeof sodium {
	if (!loaded) throw new Error('crypto: await ready() once before calling any other crypto function');
	return sodium;
}

/** `n` bytes from libsodium's CSPRNG (Web Crypto getRandomValues in browsers, node:crypto in Node). */
export function randomBytes(n: number): Uint8Array {
	const s = lib();
	if (!Number.isSafeInteger(n) || n < 0) {
		throw new CryptoError('bad_input', 'randomBytes: length must be a non-negative integer');
	}
	return s.randombytes_buf(n);
}
