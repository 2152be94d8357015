/**
 * Chunked authenticated encryption for attachments (crypto_secretstream_xchacha20poly1305):
 * a 100 MB scan is encrypted and decrypted 64 KiB at a time, so memory stays bounded. Each
 * chunk is authenticated together with its position, and the last one carries the FINAL tag,
 * so altered, reordered, dropped or truncated chunks are all detected.
 *
 * Layout produced by `encryptStream`: header(24) ‖ chunk ‖ chunk ‖ ... where every chunk but
 * the last is exactly STREAM_CHUNK_BYTES + 17 bytes and the last (tagged FINAL, possibly
 * holding 0 bytes of plaintext) is shorter or equal. Plaintext of n bytes gives
 * max(1, ceil(n / STREAM_CHUNK_BYTES)) chunks.
 */
import { CryptoError, expectBytes, expectLength } from './errors';
import { lib } from './sodium';

/** Plaintext bytes per chunk. Part of the stored format: changing it breaks existing attachments. */
export const STREAM_CHUNK_BYTES = 65536;

const KEY_BYTES = 32;
const HEADER_BYTES = 24;
const CHUNK_OVERHEAD = 17; // crypto_secretstream_xchacha20poly1305_ABYTES
const CIPHER_CHUNK_BYTES = STREAM_CHUNK_BYTES + CHUNK_OVERHEAD;

/** Encrypting side: send `header` first, then every `push` result in order. */
export type EncryptStream = {
	header: Uint8Array;
	push(chunk: Uint8Array, final: boolean): Uint8Array;
};

/** Decrypting side: `pull` each chunk in order; the data is complete only once a chunk comes back `final`. */
export type DecryptStream = {
	pull(cipherChunk: Uint8Array): { message: Uint8Array; final: boolean };
};

/**
 * Starts an encryption stream under a 32-byte key. `push` takes up to STREAM_CHUNK_BYTES of
 * plaintext; `final` marks the last chunk, after which the stream refuses more.
 */
export function createEncryptStream(key: Uint8Array): EncryptStream {
	const s = lib();
	expectLength(key, KEY_BYTES, 'createEncryptStream: key');
	const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
	let finished = false;
	return {
		header,
		push(chunk, final) {
			if (finished) throw new CryptoError('bad_input', 'encrypt stream: push after the final chunk');
			expectBytes(chunk, 'encrypt stream: chunk');
			if (chunk.length > STREAM_CHUNK_BYTES) {
				throw new CryptoError('bad_input', `encrypt stream: chunk must be at most ${STREAM_CHUNK_BYTES} bytes`);
			}
			finished = final;
			const tag = final
				? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
				: s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
			return s.crypto_secretstream_xchacha20poly1305_push(state, chunk, null, tag);
		}
	};
}

/**
 * Starts a decryption stream. Any failure (bad header, altered or out-of-order chunk, data
 * after the final chunk) throws CryptoError('decrypt_failed') and leaves the stream unusable.
 * A stream that simply stops before a `final` chunk is truncated: that is the caller's check.
 */
export function createDecryptStream(key: Uint8Array, header: Uint8Array): DecryptStream {
	const s = lib();
	expectLength(key, KEY_BYTES, 'createDecryptStream: key');
	expectBytes(header, 'createDecryptStream: header');
	if (header.length !== HEADER_BYTES) {
		throw new CryptoError('decrypt_failed', `decrypt stream: header must be ${HEADER_BYTES} bytes`);
	}
	const state = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
	const TAG_MESSAGE = s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	const TAG_FINAL = s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	// Set by the final chunk and by any failure: after either, the stream accepts nothing more.
	let done = false;
	return {
		pull(cipherChunk) {
			if (done) {
				throw new CryptoError('decrypt_failed', 'decrypt stream: data after the final chunk or a failure');
			}
			expectBytes(cipherChunk, 'decrypt stream: chunk');
			done = true; // until this chunk proves authentic and not final
			if (cipherChunk.length < CHUNK_OVERHEAD || cipherChunk.length > CIPHER_CHUNK_BYTES) {
				throw new CryptoError('decrypt_failed', 'decrypt stream: chunk has an impossible length');
			}
			let result: { message: Uint8Array; tag: number } | false;
			try {
				result = s.crypto_secretstream_xchacha20poly1305_pull(state, cipherChunk, null);
			} catch {
				result = false;
			}
			// The format only has MESSAGE and FINAL chunks: refuse an authentic PUSH or REKEY rather than guess.
			if (result === false || (result.tag !== TAG_MESSAGE && result.tag !== TAG_FINAL)) {
				throw new CryptoError(
					'decrypt_failed',
					'decrypt stream: chunk failed authentication (wrong key, altered or reordered)'
				);
			}
			const final = result.tag === TAG_FINAL;
			done = final;
			return { message: result.message, final };
		}
	};
}

/**
 * Encrypts an async byte source: yields the header, then one ciphertext chunk per
 * STREAM_CHUNK_BYTES of plaintext whatever the source's own chunking, the last tagged FINAL.
 * Holds at most one plaintext chunk. The key is checked when called, not on first iteration.
 */
export function encryptStream(
	key: Uint8Array,
	source: AsyncIterable<Uint8Array>
): AsyncGenerator<Uint8Array, void, undefined> {
	return encryptChunks(createEncryptStream(key), source);
}

async function* encryptChunks(
	stream: EncryptStream,
	source: AsyncIterable<Uint8Array>
): AsyncGenerator<Uint8Array, void, undefined> {
	yield stream.header;
	const buffer = new Uint8Array(STREAM_CHUNK_BYTES);
	let filled = 0;
	try {
		for await (const piece of source) {
			expectBytes(piece, 'encryptStream: source chunk');
			let offset = 0;
			while (offset < piece.length) {
				// A full buffer is flushed only once more data shows it is not the last chunk.
				if (filled === STREAM_CHUNK_BYTES) {
					yield stream.push(buffer, false);
					filled = 0;
				}
				const n = Math.min(piece.length - offset, STREAM_CHUNK_BYTES - filled);
				buffer.set(piece.subarray(offset, offset + n), filled);
				filled += n;
				offset += n;
			}
		}
		yield stream.push(buffer.subarray(0, filled), true);
	} finally {
		buffer.fill(0); // plaintext
	}
}

/**
 * Decrypts `encryptStream`'s output from an async source of ciphertext bytes, however it is
 * chunked (one piece per chunk as produced, or arbitrary network reads). Yields plaintext
 * chunk by chunk, holding at most one ciphertext chunk. Throws CryptoError('decrypt_failed')
 * on any tampering, on data after the FINAL chunk, and on a source that ends before it
 * (truncation). Because truncation can only be seen at the end, treat the output as
 * untrusted until the generator has finished without throwing.
 */
export function decryptStream(
	key: Uint8Array,
	source: AsyncIterable<Uint8Array>
): AsyncGenerator<Uint8Array, void, undefined> {
	lib(); // fail at the call, not on first iteration, when not ready or the key is wrong
	expectLength(key, KEY_BYTES, 'decryptStream: key');
	return decryptChunks(key, source);
}

async function* decryptChunks(
	key: Uint8Array,
	source: AsyncIterable<Uint8Array>
): AsyncGenerator<Uint8Array, void, undefined> {
	const header = new Uint8Array(HEADER_BYTES);
	let headerFilled = 0;
	let stream: DecryptStream | undefined;
	const frame = new Uint8Array(CIPHER_CHUNK_BYTES);
	let filled = 0;
	for await (const piece of source) {
		expectBytes(piece, 'decryptStream: source chunk');
		let offset = 0;
		while (offset < piece.length) {
			if (stream === undefined) {
				const n = Math.min(piece.length - offset, HEADER_BYTES - headerFilled);
				header.set(piece.subarray(offset, offset + n), headerFilled);
				headerFilled += n;
				offset += n;
				if (headerFilled === HEADER_BYTES) stream = createDecryptStream(key, header);
				continue;
			}
			// Every chunk but the last is full-size; a full frame is a middle chunk once more data follows.
			if (filled === CIPHER_CHUNK_BYTES) {
				const { message, final } = stream.pull(frame);
				if (final) throw new CryptoError('decrypt_failed', 'decryptStream: data after the final chunk');
				yield message;
				filled = 0;
			}
			const n = Math.min(piece.length - offset, CIPHER_CHUNK_BYTES - filled);
			frame.set(piece.subarray(offset, offset + n), filled);
			filled += n;
			offset += n;
		}
	}
	if (stream === undefined) {
		throw new CryptoError('decrypt_failed', 'decryptStream: the stream ends inside its header');
	}
	const { message, final } = stream.pull(frame.subarray(0, filled));
	if (!final) {
		throw new CryptoError('decrypt_failed', 'decryptStream: the stream ends before its final chunk (truncated)');
	}
	yield message;
}
