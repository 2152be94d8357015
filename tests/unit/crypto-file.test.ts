/**
 * The sealed format of a document's file (src/lib/core/crypto/file.ts, docs/ATTACHMENTS.md §1):
 * known answers that pin it, round trips in any slicing, and every alteration refused.
 * The memory bound of a 100 MB file is in crypto-file-memory.test.ts.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
	CryptoError,
	FILE_PIECE_BYTES,
	FileOpener,
	FileSealer,
	STREAM_CHUNK_BYTES,
	concatBytes,
	createDecryptStream,
	createEncryptStream,
	createHasher,
	fromHex,
	hash,
	isSealedLength,
	paddedSize,
	randomBytes,
	ready,
	sealedLength,
	toHex,
	utf8Decode,
	utf8Encode
} from '$lib/core/crypto';
import { KAT_HASH_HEX, KAT_ID_HEX, KAT_SEALED_HEX, KAT_SIZE } from '../support/file-kat';

const HEADER_BYTES = 24;
const CIPHER_CHUNK_BYTES = STREAM_CHUNK_BYTES + 17;
// Buffer, not fromHex: libsodium is not ready while the module loads.
const KAT_KEY = new Uint8Array(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
const KAT_PLAINTEXT = 'Carnet: a sealed file.\n';

beforeAll(async () => {
	await ready();
});

/** A sealed file as the record and the relay would hold it. */
type Sealed = { key: Uint8Array; size: number; length: number; hash: Uint8Array; id: Uint8Array; blob: Uint8Array };

function expectCryptoError(run: () => unknown, code: CryptoError['code']): CryptoError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(CryptoError);
		expect((error as CryptoError).code).toBe(code);
		expect((error as CryptoError).message).toMatch(/^File(Sealer|Opener)|stream/);
		return error as CryptoError;
	}
	throw new Error(`expected CryptoError(${code}), nothing was thrown`);
}

/** Byte equality for large arrays (vitest's deep toEqual walks them element by element, slowly). */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
	expect(actual.length).toBe(expected.length);
	expect(Buffer.compare(actual, expected)).toBe(0);
}

/** Deterministic plaintext, cheap at any size, with no zero run that could pass for padding. */
function pattern(length: number): Uint8Array {
	const out = new Uint8Array(length);
	for (let i = 0; i < length; i++) out[i] = ((i * 31 + (i >> 8)) & 0xff) | 1;
	return out;
}

/** `bytes` cut at the given piece lengths, cycling through them (0 is taken as 1). */
function slice(bytes: Uint8Array, lengths: number[]): Uint8Array[] {
	const pieces: Uint8Array[] = [];
	for (let offset = 0, i = 0; offset < bytes.length; i++) {
		const n = Math.max(1, lengths[i % lengths.length]);
		pieces.push(bytes.subarray(offset, offset + n));
		offset += n;
	}
	return pieces;
}

function seal(plain: Uint8Array, pieceLengths: number[] = [FILE_PIECE_BYTES], key?: Uint8Array): Sealed {
	const sealer = new FileSealer(plain.length, key);
	const out: Uint8Array[] = [];
	for (const piece of slice(plain, pieceLengths)) out.push(...sealer.update(piece));
	const { pieces, hash, id } = sealer.finish();
	out.push(...pieces);
	return { key: sealer.key, size: sealer.size, length: sealer.length, hash, id, blob: concatBytes(...out) };
}

function open(file: Omit<Sealed, 'blob' | 'id'>, blob: Uint8Array, pieceLengths: number[] = [FILE_PIECE_BYTES]): Uint8Array {
	const opener = new FileOpener(file);
	const out: Uint8Array[] = [];
	for (const piece of slice(blob, pieceLengths)) out.push(...opener.update(piece));
	opener.finish();
	return concatBytes(...out);
}

/** The blob's chunks (header excluded), each exactly CIPHER_CHUNK_BYTES. */
function chunksOf(blob: Uint8Array): Uint8Array[] {
	const chunks: Uint8Array[] = [];
	for (let i = HEADER_BYTES; i < blob.length; i += CIPHER_CHUNK_BYTES) chunks.push(blob.subarray(i, i + CIPHER_CHUNK_BYTES));
	return chunks;
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
	const copy = bytes.slice();
	copy[index] ^= 0x01;
	return copy;
}

/**
 * A blob in the file layout made with secretstream directly, to build what FileSealer never
 * emits but an attacker holding the key (a former device) could: `chunks` padded plaintexts,
 * with FINAL where `finalAt` says.
 */
function forge(key: Uint8Array, chunks: Uint8Array[], finalAt: (index: number) => boolean): Uint8Array {
	const stream = createEncryptStream(key);
	return concatBytes(stream.header, ...chunks.map((chunk, i) => stream.push(chunk, finalAt(i))));
}

describe('paddedSize and sealedLength (known answers)', () => {
	// Worked by hand: Padmé keeps the top floor(log2 e) + 1 bits below the leading one, then 64 KiB chunks.
	const table: [size: number, padded: number, sealed: number][] = [
		[0, 65536, 65577],
		[1, 65536, 65577],
		[65535, 65536, 65577],
		[65536, 65536, 65577],
		[65537, 131072, 131130], // Padmé: 67584, then 2 chunks
		[1e6, 1048576, 1048872], // Padmé (step 2^14): 1015808, then 16 chunks
		[1e8, 100663296, 100689432], // Padmé (step 2^21): 48 · 2^21 = 1536 chunks
		[104857600, 104857600, 104884824] // 100 MiB = 50 · 2^21 already: no padding at all
	];

	it.each(table)('size %i → padded %i, sealed %i', (size, padded, sealed) => {
		expect(paddedSize(size)).toBe(padded);
		expect(sealedLength(size)).toBe(sealed);
		expect(sealed).toBe(HEADER_BYTES + padded + (17 * padded) / STREAM_CHUNK_BYTES);
		expect(isSealedLength(sealed)).toBe(true);
		expect(isSealedLength(sealed + 1)).toBe(false);
		expect(isSealedLength(sealed - 1)).toBe(false);
	});

	it('padding stays within Padmé bounds: never less, at most 12 % + one chunk more', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (size) => {
				const padded = paddedSize(size);
				expect(padded % STREAM_CHUNK_BYTES).toBe(0);
				expect(padded).toBeGreaterThanOrEqual(Math.max(size, 1));
				expect(padded).toBeLessThanOrEqual(size * 1.12 + STREAM_CHUNK_BYTES);
				expect(paddedSize(padded)).toBe(padded); // a bucket is its own bucket
			}),
			{ numRuns: 500 }
		);
	});

	it('isSealedLength refuses lengths that are no bucket', () => {
		expect(isSealedLength(0)).toBe(false);
		expect(isSealedLength(HEADER_BYTES)).toBe(false);
		// Between 4 MiB and 8 MiB Padmé's step is 128 KiB: 65 chunks is no bucket, 64 and 66 are.
		expect(isSealedLength(HEADER_BYTES + 64 * CIPHER_CHUNK_BYTES)).toBe(true);
		expect(isSealedLength(HEADER_BYTES + 65 * CIPHER_CHUNK_BYTES)).toBe(false);
		expect(isSealedLength(HEADER_BYTES + 66 * CIPHER_CHUNK_BYTES)).toBe(true);
		// Below 4 MiB every whole number of chunks is one.
		expect(isSealedLength(HEADER_BYTES + 17 * CIPHER_CHUNK_BYTES)).toBe(true);
	});

	it('refuses sizes that are not non-negative safe integers', () => {
		for (const size of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => paddedSize(size)).toThrow(RangeError);
	});
});

describe('BLAKE2b-256 (known answers)', () => {
	it('matches the published vectors', () => {
		expect(toHex(hash(utf8Encode('abc')))).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
		expect(toHex(hash(new Uint8Array(0)))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
		const hasher = createHasher();
		for (const c of 'abc') hasher.update(utf8Encode(c));
		expect(toHex(hasher.digest())).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
	});

	it('incremental equals one-shot in any slicing', () => {
		const bytes = pattern(300_000);
		fc.assert(
			fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 8 }), (lengths) => {
				const hasher = createHasher();
				for (const piece of slice(bytes, lengths)) hasher.update(piece);
				hasher.update(new Uint8Array(0));
				expect(toHex(hasher.digest())).toBe(toHex(hash(bytes)));
			}),
			{ numRuns: 20 }
		);
	});
});

describe('the stored blob (known answer)', () => {
	let blob: Uint8Array;
	let file: Omit<Sealed, 'blob' | 'id'>;

	beforeAll(() => {
		blob = fromHex(KAT_SEALED_HEX);
		file = { key: KAT_KEY, size: KAT_SIZE, length: blob.length, hash: fromHex(KAT_HASH_HEX) };
	});

	it('opens to its plaintext, in one piece and byte by byte at the edges', () => {
		expect(blob.length).toBe(sealedLength(KAT_SIZE));
		expect(utf8Decode(open(file, blob))).toBe(KAT_PLAINTEXT);
		expect(utf8Decode(open(file, blob, [1, 7, 23, 65535]))).toBe(KAT_PLAINTEXT);
	});

	it('has the recorded hash and id, and is plain secretstream over the padded plaintext', () => {
		expect(toHex(hash(utf8Encode(KAT_PLAINTEXT)))).toBe(KAT_HASH_HEX);
		expect(toHex(hash(blob))).toBe(KAT_ID_HEX);
		const { message, final } = createDecryptStream(KAT_KEY, blob.subarray(0, HEADER_BYTES)).pull(blob.subarray(HEADER_BYTES));
		expect(final).toBe(true);
		const padded = new Uint8Array(STREAM_CHUNK_BYTES);
		padded.set(utf8Encode(KAT_PLAINTEXT));
		expectSameBytes(message, padded);
	});

	it('a sealer with the same key and plaintext gives a blob of the same shape and digests', () => {
		const sealed = seal(utf8Encode(KAT_PLAINTEXT), [5], KAT_KEY);
		expect(toHex(sealed.hash)).toBe(KAT_HASH_HEX);
		expect(sealed.blob.length).toBe(blob.length);
		expect(toHex(sealed.id)).toBe(toHex(hash(sealed.blob)));
		// The header is random: same key, same plaintext, another blob and another id.
		expect(toHex(sealed.id)).not.toBe(KAT_ID_HEX);
	});
});

describe('FileSealer', () => {
	it('emits the header and each chunk as soon as it is complete, buffering only the remainder', () => {
		const size = 3 * STREAM_CHUNK_BYTES + 10;
		const plain = pattern(size);
		const sealer = new FileSealer(size);
		expect(sealer.key).toHaveLength(32);
		expect(sealer.length).toBe(sealedLength(size));
		const first = sealer.update(plain.subarray(0, 100));
		expect(first.map((p) => p.length)).toEqual([HEADER_BYTES]);
		expect(sealer.update(new Uint8Array(0))).toEqual([]);
		expect(sealer.update(plain.subarray(100, STREAM_CHUNK_BYTES)).map((p) => p.length)).toEqual([CIPHER_CHUNK_BYTES]);
		expect(sealer.update(plain.subarray(STREAM_CHUNK_BYTES, size)).map((p) => p.length)).toEqual([
			CIPHER_CHUNK_BYTES,
			CIPHER_CHUNK_BYTES
		]);
		const { pieces } = sealer.finish();
		// paddedSize(196618) = 262144: the last bytes and one chunk of padding.
		expect(pieces.map((p) => p.length)).toEqual([CIPHER_CHUNK_BYTES]);
	});

	it('a file filling its bucket exactly ends FINAL in update, finish adds nothing', () => {
		const sealer = new FileSealer(STREAM_CHUNK_BYTES);
		expect(sealer.update(pattern(STREAM_CHUNK_BYTES)).map((p) => p.length)).toEqual([HEADER_BYTES, CIPHER_CHUNK_BYTES]);
		const { pieces } = sealer.finish();
		expect(pieces).toEqual([]);
	});

	it('an empty file is one chunk of padding, the header coming with finish', () => {
		const sealer = new FileSealer(0);
		const { pieces, hash: digest } = sealer.finish();
		expect(pieces.map((p) => p.length)).toEqual([HEADER_BYTES, CIPHER_CHUNK_BYTES]);
		expect(toHex(digest)).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
	});

	it('uses the given key (copied) and a fresh random one otherwise', () => {
		const key = randomBytes(32);
		const sealer = new FileSealer(5, key);
		expectSameBytes(sealer.key, key);
		expect(sealer.key).not.toBe(key);
		expect(toHex(new FileSealer(5).key)).not.toBe(toHex(new FileSealer(5).key));
		// A Node Buffer (whose slice is a view) is copied too.
		const buffer = Buffer.from(key);
		const fromBuffer = new FileSealer(5, buffer);
		buffer.fill(0);
		expectSameBytes(fromBuffer.key, key);
	});

	it('refuses bad arguments', () => {
		for (const size of [-1, 0.5, Number.NaN, 2 ** 53]) expect(() => new FileSealer(size)).toThrow(RangeError);
		expectCryptoError(() => new FileSealer(5, new Uint8Array(31)), 'bad_input');
		expectCryptoError(() => new FileSealer(5, 'k'.repeat(32) as unknown as Uint8Array), 'bad_input');
		expectCryptoError(() => new FileSealer(5).update('abc' as unknown as Uint8Array), 'bad_input');
	});

	it('refuses bytes past size without taking any of them, and finish before size', () => {
		const plain = pattern(10);
		const sealer = new FileSealer(10);
		const out = sealer.update(plain.subarray(0, 4));
		expectCryptoError(() => sealer.update(pattern(7)), 'bad_input');
		expectCryptoError(() => sealer.finish(), 'bad_input');
		out.push(...sealer.update(plain.subarray(4)));
		expectCryptoError(() => sealer.update(new Uint8Array(1)), 'bad_input');
		const { pieces, hash: digest } = sealer.finish();
		const file = { key: sealer.key, size: 10, length: sealer.length, hash: digest };
		expectSameBytes(open(file, concatBytes(...out, ...pieces)), plain);
	});

	it('accepts nothing after finish', () => {
		const sealer = new FileSealer(0);
		sealer.finish();
		expectCryptoError(() => sealer.finish(), 'bad_input');
		expectCryptoError(() => sealer.update(new Uint8Array(0)), 'bad_input');
	});
});

describe('round trips', () => {
	const sizes = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 7];
	const slicing = fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 6 });

	it.each(sizes)('size %i, random slicing on both sides', (size) => {
		const plain = pattern(size);
		fc.assert(
			fc.property(slicing, slicing, (sealSlices, openSlices) => {
				const sealed = seal(plain, sealSlices);
				expect(sealed.blob.length).toBe(sealedLength(size));
				expectSameBytes(sealed.hash, hash(plain));
				expectSameBytes(sealed.id, hash(sealed.blob));
				const opener = new FileOpener(sealed);
				const out: Uint8Array[] = [];
				for (const piece of slice(sealed.blob, openSlices)) {
					const pieces = opener.update(piece);
					for (const p of pieces) expect(p.length).toBeGreaterThan(0);
					out.push(...pieces);
				}
				opener.finish();
				expectSameBytes(concatBytes(...out), plain);
			}),
			{ numRuns: size > 1e6 ? 3 : 10 }
		);
	});

	it('the blob is exactly the secretstream layout over the zero-padded plaintext', () => {
		const plain = pattern(65537);
		const sealed = seal(plain);
		const stream = createDecryptStream(sealed.key, sealed.blob.subarray(0, HEADER_BYTES));
		const chunks = chunksOf(sealed.blob);
		expect(chunks).toHaveLength(2);
		const first = stream.pull(chunks[0]);
		const second = stream.pull(chunks[1]);
		expect([first.final, second.final]).toEqual([false, true]);
		const padded = new Uint8Array(paddedSize(65537));
		padded.set(plain);
		expectSameBytes(concatBytes(first.message, second.message), padded);
	});
});

describe('FileOpener refuses every alteration, as soon as it can see it', () => {
	// Three chunks: two of plaintext, one holding the last 100 bytes and the padding.
	const size = 2 * STREAM_CHUNK_BYTES + 100;
	let sealed: Sealed;
	let chunks: Uint8Array[];
	let header: Uint8Array;

	beforeAll(() => {
		sealed = seal(pattern(size));
		header = sealed.blob.subarray(0, HEADER_BYTES);
		chunks = chunksOf(sealed.blob);
		expect(chunks).toHaveLength(3);
	});

	/** Opens `blob` fed as header ‖ chunk ‖ chunk ... and reports where it was refused. */
	function refusal(blob: Uint8Array, file: Partial<Sealed> = {}): { at: number | 'finish'; error: CryptoError } {
		const opener = new FileOpener({ ...sealed, ...file });
		const pieces = [blob.subarray(0, HEADER_BYTES), ...chunksOf(blob)];
		for (let i = 0; i < pieces.length; i++) {
			try {
				opener.update(pieces[i]);
			} catch (error) {
				expect(error).toBeInstanceOf(CryptoError);
				expect((error as CryptoError).code).toBe('decrypt_failed');
				// Unusable afterwards.
				expectCryptoError(() => opener.update(new Uint8Array(0)), 'decrypt_failed');
				expectCryptoError(() => opener.finish(), 'decrypt_failed');
				return { at: i, error: error as CryptoError };
			}
		}
		return { at: 'finish', error: expectCryptoError(() => opener.finish(), 'decrypt_failed') };
	}

	it('opens the untouched blob (the baseline of the cases below)', () => {
		expectSameBytes(open(sealed, sealed.blob), pattern(size));
	});

	it('a flipped byte in the header fails at the first chunk', () => {
		for (const index of [0, 11, HEADER_BYTES - 1]) expect(refusal(flip(sealed.blob, index)).at).toBe(1);
	});

	it('a flipped byte in any chunk (start, middle, tag) fails at that chunk', () => {
		for (let c = 0; c < 3; c++) {
			const start = HEADER_BYTES + c * CIPHER_CHUNK_BYTES;
			for (const offset of [0, 1, 40_000, CIPHER_CHUNK_BYTES - 16, CIPHER_CHUNK_BYTES - 1]) {
				expect(refusal(flip(sealed.blob, start + offset)).at).toBe(c + 1);
			}
		}
	});

	it('a flipped byte in the padding region of the ciphertext fails at its chunk', () => {
		const paddingStart = HEADER_BYTES + 2 * CIPHER_CHUNK_BYTES + 1 + 100; // after the chunk's tag byte and 100 file bytes
		expect(refusal(flip(sealed.blob, paddingStart)).at).toBe(3);
		expect(refusal(flip(sealed.blob, sealed.length - 17)).at).toBe(3);
	});

	it('a dropped, duplicated or swapped chunk fails at the first misplaced chunk', () => {
		expect(refusal(concatBytes(header, chunks[0], chunks[2])).at).toBe(2);
		expect(refusal(concatBytes(header, chunks[1], chunks[2])).at).toBe(1);
		expect(refusal(concatBytes(header, chunks[0], chunks[0], chunks[2])).at).toBe(2);
		expect(refusal(concatBytes(header, chunks[0], chunks[2], chunks[1])).at).toBe(2);
		expect(refusal(concatBytes(header, chunks[1], chunks[0], chunks[2])).at).toBe(1);
	});

	it('extra bytes after the end fail in the call that brings them', () => {
		const opener = new FileOpener(sealed);
		opener.update(sealed.blob);
		expectCryptoError(() => opener.update(new Uint8Array(1)), 'decrypt_failed');
		const error = expectCryptoError(() => new FileOpener(sealed).update(concatBytes(sealed.blob, new Uint8Array(1))), 'decrypt_failed');
		expect(error.message).toMatch(/more bytes than the sealed length/);
		expect(refusal(concatBytes(sealed.blob, chunks[2])).at).toBe(4);
	});

	it('truncation anywhere fails, at finish at the latest', () => {
		for (const cut of [0, 1, HEADER_BYTES, HEADER_BYTES + 1, HEADER_BYTES + CIPHER_CHUNK_BYTES, sealed.length - 1]) {
			const opener = new FileOpener(sealed);
			opener.update(sealed.blob.subarray(0, cut));
			expect(expectCryptoError(() => opener.finish(), 'decrypt_failed').message).toMatch(/truncated/);
		}
		fc.assert(
			fc.property(fc.integer({ min: 0, max: sealed.length - 1 }), (cut) => {
				const opener = new FileOpener(sealed);
				opener.update(sealed.blob.subarray(0, cut));
				expectCryptoError(() => opener.finish(), 'decrypt_failed');
			}),
			{ numRuns: 20 }
		);
	});

	it('the wrong key fails at the first chunk', () => {
		expect(refusal(sealed.blob, { key: randomBytes(32) }).at).toBe(1);
	});

	it('the wrong hash fails in the call that completes the blob, its plaintext withheld', () => {
		const { at, error } = refusal(sealed.blob, { hash: flip(sealed.hash, 31) });
		expect(at).toBe(3);
		expect(error.message).toMatch(/does not match the hash/);
	});

	it('the wrong size: another bucket fails at once, the same bucket on the padding or the hash', () => {
		for (const wrong of [size + STREAM_CHUNK_BYTES, 0, 1e6]) {
			expectCryptoError(() => new FileOpener({ ...sealed, size: wrong }), 'decrypt_failed');
			expectCryptoError(() => new FileOpener({ ...sealed, size: wrong, length: sealedLength(wrong) }).update(sealed.blob), 'decrypt_failed');
		}
		// Shorter: the file's last byte lands in what should be padding.
		expect(refusal(sealed.blob, { size: size - 1 }).error.message).toMatch(/padding is not zero/);
		// Longer: the padding's first zero is taken as the file's, and the hash differs.
		expect(refusal(sealed.blob, { size: size + 1 }).error.message).toMatch(/does not match the hash/);
	});

	it('a length that is not sealedLength(size) fails at once', () => {
		for (const length of [sealed.length - 1, sealed.length + CIPHER_CHUNK_BYTES, 0]) {
			expectCryptoError(() => new FileOpener({ ...sealed, length }), 'decrypt_failed');
		}
	});

	it('authentic chunks with non-zero padding or a misplaced FINAL tag (forged with the key) fail at that chunk', () => {
		const padded = new Uint8Array(3 * STREAM_CHUNK_BYTES);
		padded.set(pattern(size));
		const plain = [0, 1, 2].map((i) => padded.subarray(i * STREAM_CHUNK_BYTES, (i + 1) * STREAM_CHUNK_BYTES));
		const isLast = (i: number) => i === 2;
		// The forgery is sound: the same plaintexts in the same layout open.
		expectSameBytes(open(sealed, forge(sealed.key, plain, isLast)), pattern(size));

		const dirty = plain[2].slice();
		dirty[STREAM_CHUNK_BYTES - 1] = 1;
		const badPadding = refusal(forge(sealed.key, [plain[0], plain[1], dirty], isLast));
		expect([badPadding.at, badPadding.error.message]).toEqual([3, 'FileOpener: the padding is not zero']);

		// The stream accepts nothing after FINAL, so the refusal comes before a third chunk is needed.
		const early = refusal(forge(sealed.key, plain.slice(0, 2), (i) => i === 1));
		expect([early.at, early.error.message]).toEqual([2, 'FileOpener: a chunk before the last is tagged final']);

		const never = refusal(forge(sealed.key, plain, () => false));
		expect([never.at, never.error.message]).toEqual([3, 'FileOpener: the last chunk is not tagged final']);
	});

	it('refuses bad arguments as bad_input, and anything after finish', () => {
		expectCryptoError(() => new FileOpener({ ...sealed, key: new Uint8Array(16) }), 'bad_input');
		expectCryptoError(() => new FileOpener({ ...sealed, hash: new Uint8Array(16) }), 'bad_input');
		expectCryptoError(() => new FileOpener({ ...sealed, size: -1 }), 'bad_input');
		expectCryptoError(() => new FileOpener(sealed).update([1, 2] as unknown as Uint8Array), 'bad_input');
		const opener = new FileOpener(sealed);
		opener.update(sealed.blob);
		opener.finish();
		expectCryptoError(() => opener.finish(), 'bad_input');
		expectCryptoError(() => opener.update(new Uint8Array(0)), 'bad_input');
	});
});
