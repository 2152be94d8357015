/**
 * A document's file sealed for the relay (docs/ATTACHMENTS.md, "Format"): the bytes padded to
 * a size bucket, then encrypted with secretstream (stream.ts) under a per-file key, so the
 * relay stores ciphertext whose length says little about the file.
 */
import { STREAM_CHUNK_BYTES } from './stream';

/** How callers slice plaintext and ciphertext when they read or store a file (any slicing works). */
export const FILE_PIECE_BYTES = 1 << 20;

const HEADER_BYTES = 24;
const CHUNK_OVERHEAD = 17;

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
