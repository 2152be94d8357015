/**
 * Seals then opens a generated file of `argv[2]` bytes (100 MB by default) in FILE_PIECE_BYTES
 * pieces, each ciphertext piece going straight from the sealer to the opener, so neither the
 * plaintext nor the blob is ever held whole. Prints one JSON line: the peak growth of the
 * resident set over the loop, which must stay far below the file's size
 * (tests/unit/crypto-file-memory.test.ts, bench/attachments.ts).
 *
 * Run in a child process (`node --import tsx tests/support/file-memory.ts [bytes]`): the RSS
 * of a test runner or of a bench that already did other work says nothing about this loop.
 */
import { FILE_PIECE_BYTES, FileOpener, FileSealer, createHasher, ready } from '../../src/lib/core/crypto';

const size = Number(process.argv[2] ?? 100_000_000);

/** Piece `index` of the file: one buffer reused, its first bytes stamped so pieces differ. */
function fill(piece: Uint8Array, index: number): Uint8Array {
	new DataView(piece.buffer, piece.byteOffset).setUint32(0, index);
	return piece.subarray(0, Math.min(FILE_PIECE_BYTES, size - index * FILE_PIECE_BYTES));
}

/** Hashes the file, then seals it and opens the blob piece by piece; calls `sample` after each piece. */
function roundTrip(sample: () => void): void {
	const piece = new Uint8Array(FILE_PIECE_BYTES).map((_, i) => (i * 7919) & 0xff);
	const pieces = Math.ceil(size / FILE_PIECE_BYTES);
	// The opener needs the file's hash before the first byte; the sealer gives it only at the end.
	const hasher = createHasher();
	for (let i = 0; i < pieces; i++) hasher.update(fill(piece, i));
	const hash = hasher.digest();
	const sealer = new FileSealer(size);
	const opener = new FileOpener({ key: sealer.key, size, length: sealer.length, hash });
	let opened = 0;
	for (let i = 0; i < pieces; i++) {
		for (const cipher of sealer.update(fill(piece, i))) for (const plain of opener.update(cipher)) opened += plain.length;
		sample();
	}
	for (const cipher of sealer.finish().pieces) for (const plain of opener.update(cipher)) opened += plain.length;
	opener.finish();
	sample();
	if (opened !== size) throw new Error(`opened ${opened} bytes of ${size}`);
}

await ready();
const started = performance.now();
const baseline = process.memoryUsage.rss();
let peak = baseline;
roundTrip(() => {
	peak = Math.max(peak, process.memoryUsage.rss());
});
console.log(
	JSON.stringify({
		size,
		baselineRssBytes: baseline,
		peakRssGrowthBytes: peak - baseline,
		seconds: Number(((performance.now() - started) / 1000).toFixed(2))
	})
);
