/**
 * A document's file sealed for the relay (docs/ATTACHMENTS.md, "Format"): the bytes padded to
 * a size bucket, then encrypted with secretstream (stream.ts) under a per-file key, so the
 * relay stores ciphertext whose length says little about the file.
 *
 * Because the size is known up front, so is the number of chunks: every chunk is full
 * (65536 + 17 bytes) and the last one is FINAL. Both sides therefore handle a chunk as soon
 * as its bytes are there, without waiting to learn whether more follow, and the opener can
 * refuse an altered chunk, a misplaced FINAL tag or a byte too many the moment it sees it.
 */
import { CryptoError, expectBytes, expectLength } from './errors';
import { constantTimeEqual } from './encoding';
import { createHasher, type Hasher } from './hash';
import { randomBytes } from './sodium';
import {
	STREAM_CHUNK_BYTES,
	createDecryptStream,
	createEncryptStream,
	type DecryptStream,
	type EncryptStream
} from './stream';

/** How callers slice plaintext and ciphertext when they read or store a file (any slicing works). */
export const FILE_PIECE_BYTES = 1 << 20;

const HEADER_BYTES = 24;
const CHUNK_OVERHEAD = 17;
const CIPHER_CHUNK_BYTES = STREAM_CHUNK_BYTES + CHUNK_OVERHEAD;
const KEY_BYTES = 32;
const HASH_BYTES = 32;
// The padding source: libsodium copies its input, so one shared zero chunk is never written.
const ZERO_CHUNK = new Uint8Array(STREAM_CHUNK_BYTES);

/**
 * The padded plaintext length of a file of `size` bytes: Padmé (at most ~12 % more, and only
 * O(log log size) bits of the size left), rounded up to whole 64 KiB chunks, at least one.
 */
export function paddedSize(size: number): number {
	if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('paddedSize: size must be a non-negative integer');
	let padded = size;
	if (size >= 2) {
		const e = Math.floor(Math.log2(size));
		const s = Math.floor(Math.log2(e)) + 1;
		const step = 2 ** (e - s);
		padded = Math.ceil(size / step) * step;
	}
	return Math.max(1, Math.ceil(padded / STREAM_CHUNK_BYTES)) * STREAM_CHUNK_BYTES;
}

/** The length of the sealed blob of a file of `size` bytes: header, chunks and their tags. */
export function sealedLength(size: number): number {
	const padded = paddedSize(size);
	return HEADER_BYTES + padded + (padded / STREAM_CHUNK_BYTES) * CHUNK_OVERHEAD;
}

/** Whether `length` is the sealed length of some file (what a relay can check before storing). */
export function isSealedLength(length: number): boolean {
	if (!Number.isSafeInteger(length) || length < HEADER_BYTES) return false;
	const body = length - HEADER_BYTES;
	const chunk = STREAM_CHUNK_BYTES + CHUNK_OVERHEAD;
	if (body % chunk !== 0 || body === 0) return false;
	const padded = (body / chunk) * STREAM_CHUNK_BYTES;
	return paddedSize(padded) === padded;
}

/** What `FileSealer.finish` returns: the last ciphertext and the two digests of the file. */
export type SealedFile = {
	/** The ciphertext not yet returned by `update` (the rest of the file and the padding). */
	pieces: Uint8Array[];
	/** BLAKE2b-256 of the plaintext (the file's bytes, without padding): kept in the record, checked on opening. */
	hash: Uint8Array;
	/** BLAKE2b-256 of the whole sealed blob, header included: its name on the relay and on the device. */
	id: Uint8Array;
};

/** What `FileOpener` needs to open a file, as kept in the record. */
export type FileToOpen = { key: Uint8Array; size: number; length: number; hash: Uint8Array };

/**
 * Seals one file of a known size (synchronous after `await ready()`). Feed the plaintext in
 * any slicing to `update`, send every piece it returns in order, then the pieces of `finish`:
 * together exactly `length` bytes. Holds at most one partial chunk of plaintext, wiped by `finish`.
 */
export class FileSealer {
	/** The file's key: random unless given. Keep it (in the record) to open the file. */
	readonly key: Uint8Array;
	/** The plaintext length announced to the constructor. */
	readonly size: number;
	/** The sealed blob's length, `sealedLength(size)`. */
	readonly length: number;
	readonly #stream: EncryptStream;
	readonly #plainHash: Hasher = createHasher();
	readonly #sealedHash: Hasher = createHasher();
	readonly #chunks: number;
	// The start of a chunk when the input stops mid-chunk; whole chunks of the input skip it.
	readonly #buffer = new Uint8Array(STREAM_CHUNK_BYTES);
	#filled = 0;
	#written = 0;
	#pushed = 0;
	#headerSent = false;
	#finished = false;

	/**
	 * `size`: the file's length in bytes (RangeError unless a safe non-negative integer).
	 * `key`: 32 bytes (CryptoError('bad_input') otherwise), a fresh random key when omitted.
	 */
	constructor(size: number, key?: Uint8Array) {
		if (!Number.isSafeInteger(size) || size < 0) {
			throw new RangeError('FileSealer: size must be a non-negative safe integer');
		}
		if (key !== undefined) expectLength(key, KEY_BYTES, 'FileSealer: key');
		// A copy, so the caller reusing its array changes nothing here (new Uint8Array, not
		// slice: a Node Buffer's slice is a view).
		this.key = key === undefined ? randomBytes(KEY_BYTES) : new Uint8Array(key);
		this.size = size;
		this.length = sealedLength(size);
		this.#chunks = paddedSize(size) / STREAM_CHUNK_BYTES;
		this.#stream = createEncryptStream(this.key);
	}

	/**
	 * The next plaintext bytes (any length). Returns the ciphertext complete so far, maybe none
	 * (the header comes with the first call). CryptoError('bad_input') if this would go past
	 * `size` bytes, in which case nothing of `plain` is taken.
	 */
	update(plain: Uint8Array): Uint8Array[] {
		if (this.#finished) throw new CryptoError('bad_input', 'FileSealer: update after finish');
		expectBytes(plain, 'FileSealer: plaintext');
		if (plain.length > this.size - this.#written) {
			throw new CryptoError('bad_input', 'FileSealer: more plaintext than the size given');
		}
		const out = this.#start();
		this.#plainHash.update(plain);
		this.#written += plain.length;
		let offset = 0;
		if (this.#filled > 0) {
			offset = Math.min(plain.length, STREAM_CHUNK_BYTES - this.#filled);
			this.#buffer.set(plain.subarray(0, offset), this.#filled);
			this.#filled += offset;
			if (this.#filled === STREAM_CHUNK_BYTES) {
				this.#push(this.#buffer, out);
				this.#filled = 0;
			}
		}
		// Whole chunks go straight from the caller's array: no copy on our side.
		while (plain.length - offset >= STREAM_CHUNK_BYTES) {
			this.#push(plain.subarray(offset, offset + STREAM_CHUNK_BYTES), out);
			offset += STREAM_CHUNK_BYTES;
		}
		if (offset < plain.length) {
			this.#buffer.set(plain.subarray(offset), this.#filled);
			this.#filled += plain.length - offset;
		}
		return out;
	}

	/**
	 * After exactly `size` bytes (else CryptoError('bad_input')): pads with zeros to
	 * `paddedSize(size)`, returns the remaining ciphertext (the last chunk tagged FINAL) and
	 * the digests. The sealer accepts nothing after.
	 */
	finish(): SealedFile {
		if (this.#finished) throw new CryptoError('bad_input', 'FileSealer: finish twice');
		if (this.#written !== this.size) {
			throw new CryptoError('bad_input', 'FileSealer: finish before all the plaintext given by size');
		}
		this.#finished = true;
		const out = this.#start();
		if (this.#filled > 0) {
			this.#buffer.fill(0, this.#filled);
			this.#push(this.#buffer, out);
		}
		this.#buffer.fill(0); // plaintext
		this.#filled = 0;
		while (this.#pushed < this.#chunks) this.#push(ZERO_CHUNK, out);
		return { pieces: out, hash: this.#plainHash.digest(), id: this.#sealedHash.digest() };
	}

	/** The list of output pieces of a call, starting with the header on the first call. */
	#start(): Uint8Array[] {
		if (this.#headerSent) return [];
		this.#headerSent = true;
		this.#sealedHash.update(this.#stream.header);
		return [this.#stream.header];
	}

	/** Encrypts one full chunk; the chunk count is known, so is the FINAL tag. */
	#push(chunk: Uint8Array, out: Uint8Array[]): void {
		this.#pushed += 1;
		const cipher = this.#stream.push(chunk, this.#pushed === this.#chunks);
		this.#sealedHash.update(cipher);
		out.push(cipher);
	}
}

/**
 * Opens one sealed file, checking everything (synchronous after `await ready()`). Feed the
 * ciphertext in any slicing to `update`, which returns the plaintext (never beyond `size`),
 * then call `finish`. Every problem with the data is CryptoError('decrypt_failed'), thrown as
 * soon as it can be seen: a wrong length at construction, a wrong key or an altered, dropped,
 * duplicated or reordered chunk when that chunk is read, non-zero padding in the chunk that
 * holds it, a byte beyond `length` in the call that brings it, a wrong `hash` in the call that
 * completes the blob, truncation at `finish`. After a failure the opener refuses everything:
 * plaintext already returned came from authentic chunks, but the file is whole and the right
 * one only once `finish` returns.
 */
export class FileOpener {
	readonly #key: Uint8Array;
	readonly #size: number;
	readonly #length: number;
	readonly #hash: Uint8Array;
	readonly #chunks: number;
	readonly #plainHash: Hasher;
	readonly #header = new Uint8Array(HEADER_BYTES);
	// The start of a chunk when the input stops mid-chunk; whole chunks of the input skip it.
	readonly #frame = new Uint8Array(CIPHER_CHUNK_BYTES);
	#stream: DecryptStream | undefined;
	#headerFilled = 0;
	#filled = 0;
	#received = 0;
	#pulled = 0;
	#state: 'open' | 'failed' | 'finished' = 'open';

	/**
	 * `file`: the 32-byte key and hash, the size and the sealed length kept in the record.
	 * CryptoError('bad_input') for a key or hash that is not 32 bytes or a size that is not a
	 * safe non-negative integer; CryptoError('decrypt_failed') when `length` is not
	 * `sealedLength(size)`.
	 */
	constructor(file: FileToOpen) {
		expectLength(file.key, KEY_BYTES, 'FileOpener: key');
		expectLength(file.hash, HASH_BYTES, 'FileOpener: hash');
		if (!Number.isSafeInteger(file.size) || file.size < 0) {
			throw new CryptoError('bad_input', 'FileOpener: size must be a non-negative safe integer');
		}
		if (file.length !== sealedLength(file.size)) {
			throw new CryptoError('decrypt_failed', 'FileOpener: the sealed length does not match the size');
		}
		// Copies, so the caller reusing its arrays changes nothing here (see FileSealer's key).
		this.#key = new Uint8Array(file.key);
		this.#hash = new Uint8Array(file.hash);
		this.#size = file.size;
		this.#length = file.length;
		this.#chunks = paddedSize(file.size) / STREAM_CHUNK_BYTES;
		this.#plainHash = createHasher();
	}

	/**
	 * The next ciphertext bytes (any slicing). Returns the plaintext of every chunk completed
	 * by them, only the file's bytes (the padding is checked, not returned); the arrays are the
	 * caller's. CryptoError('decrypt_failed') on any problem seen so far (see the class).
	 */
	update(cipher: Uint8Array): Uint8Array[] {
		this.#expectOpen('update');
		expectBytes(cipher, 'FileOpener: ciphertext');
		const out: Uint8Array[] = [];
		try {
			this.#consume(cipher, out);
			return out;
		} catch (error) {
			this.#state = 'failed';
			for (const piece of out) piece.fill(0); // plaintext the caller will never get
			throw error;
		}
	}

	/** At the end: CryptoError('decrypt_failed') when the blob stopped short of `length` bytes. */
	finish(): void {
		this.#expectOpen('finish');
		if (this.#received !== this.#length) {
			this.#state = 'failed';
			throw new CryptoError('decrypt_failed', 'FileOpener: the sealed file is truncated');
		}
		// All `length` bytes in means every chunk was pulled and the hash checked (#pull).
		this.#state = 'finished';
	}

	#expectOpen(what: string): void {
		if (this.#state === 'failed') {
			throw new CryptoError('decrypt_failed', `FileOpener: ${what} after a failure`);
		}
		if (this.#state === 'finished') throw new CryptoError('bad_input', `FileOpener: ${what} after finish`);
	}

	#consume(cipher: Uint8Array, out: Uint8Array[]): void {
		if (cipher.length > this.#length - this.#received) {
			throw new CryptoError('decrypt_failed', 'FileOpener: more bytes than the sealed length');
		}
		this.#received += cipher.length;
		let offset = 0;
		if (this.#stream === undefined) {
			offset = Math.min(cipher.length, HEADER_BYTES - this.#headerFilled);
			this.#header.set(cipher.subarray(0, offset), this.#headerFilled);
			this.#headerFilled += offset;
			if (this.#headerFilled < HEADER_BYTES) return;
			this.#stream = createDecryptStream(this.#key, this.#header);
		}
		if (this.#filled > 0) {
			const n = Math.min(cipher.length - offset, CIPHER_CHUNK_BYTES - this.#filled);
			this.#frame.set(cipher.subarray(offset, offset + n), this.#filled);
			this.#filled += n;
			offset += n;
			if (this.#filled === CIPHER_CHUNK_BYTES) {
				this.#pull(this.#frame, out);
				this.#filled = 0;
			}
		}
		// Whole chunks are decrypted straight from the caller's array: no copy on our side.
		while (cipher.length - offset >= CIPHER_CHUNK_BYTES) {
			this.#pull(cipher.subarray(offset, offset + CIPHER_CHUNK_BYTES), out);
			offset += CIPHER_CHUNK_BYTES;
		}
		if (offset < cipher.length) {
			this.#frame.set(cipher.subarray(offset), this.#filled);
			this.#filled += cipher.length - offset;
		}
	}

	/** Decrypts one full chunk and checks its tag, its padding and, for the last, the hash. */
	#pull(chunk: Uint8Array, out: Uint8Array[]): void {
		const stream = this.#stream as DecryptStream; // set once the header is in, before any chunk
		const { message, final } = stream.pull(chunk);
		const start = this.#pulled * STREAM_CHUNK_BYTES;
		this.#pulled += 1;
		const last = this.#pulled === this.#chunks;
		const plainBytes = Math.max(0, Math.min(STREAM_CHUNK_BYTES, this.#size - start));
		let problem: string | undefined;
		if (final !== last) {
			problem = final ? 'a chunk before the last is tagged final' : 'the last chunk is not tagged final';
		} else if (!isZeroFrom(message, plainBytes)) {
			problem = 'the padding is not zero';
		}
		if (problem !== undefined) {
			message.fill(0);
			throw new CryptoError('decrypt_failed', `FileOpener: ${problem}`);
		}
		if (plainBytes > 0) {
			const plain = plainBytes === STREAM_CHUNK_BYTES ? message : message.subarray(0, plainBytes);
			this.#plainHash.update(plain);
			out.push(plain);
		}
		if (last && !constantTimeEqual(this.#plainHash.digest(), this.#hash)) {
			throw new CryptoError('decrypt_failed', 'FileOpener: the plaintext does not match the hash');
		}
	}
}

/** Whether `bytes[from..]` are all zero (padding: authenticated already, so no need for constant time). */
function isZeroFrom(bytes: Uint8Array, from: number): boolean {
	let any = 0;
	for (let i = from; i < bytes.length; i++) any |= bytes[i];
	return any === 0;
}
