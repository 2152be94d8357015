/**
 * Benchmarks of a document's sealed file (src/lib/core/crypto/file.ts, docs/ATTACHMENTS.md §1):
 *  - attachment_encrypt_mb_s  FileSealer over a 50 MB generated file fed in FILE_PIECE_BYTES
 *                             pieces (secretstream, BLAKE2b of the plaintext and of the blob),
 *                             median of 5 runs after one uncounted; the details split the cost
 *                             between secretstream alone and BLAKE2b alone
 *  - attachment_peak_rss_mb   peak RSS growth while sealing then opening a 100 MB file, in a
 *                             child process (tests/support/file-memory.ts)
 * MB are 10^6 bytes. Run directly (`npx tsx bench/attachments.ts`) it prints one JSON line per figure.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
	FILE_PIECE_BYTES,
	FileSealer,
	STREAM_CHUNK_BYTES,
	createEncryptStream,
	createHasher,
	randomBytes,
	ready
} from '../src/lib/core/crypto';
import type { Figure } from './figure';
import { median, round } from './record-scenario';

const SEAL_BYTES = 50_000_000;
const SEAL_RUNS = 5;
const MEMORY_BYTES = 100_000_000;
const MEMORY_SCRIPT = fileURLToPath(new URL('../tests/support/file-memory.ts', import.meta.url));

/** The file's pieces in order: one reused buffer, its first bytes stamped so pieces differ. */
function* pieces(size: number, pieceBytes: number): Generator<Uint8Array> {
	const piece = new Uint8Array(pieceBytes).map((_, i) => (i * 7919) & 0xff);
	const view = new DataView(piece.buffer);
	for (let offset = 0, index = 0; offset < size; offset += pieceBytes, index++) {
		view.setUint32(0, index);
		yield piece.subarray(0, Math.min(pieceBytes, size - offset));
	}
}

/** MB/s of `run` over SEAL_BYTES: median of SEAL_RUNS after one uncounted warm-up. */
function throughput(run: () => void): { value: number; samples: number[] } {
	run();
	const samples: number[] = [];
	for (let i = 0; i < SEAL_RUNS; i++) {
		const started = performance.now();
		run();
		samples.push(round(SEAL_BYTES / 1e6 / ((performance.now() - started) / 1000), 1));
	}
	return { value: median(samples), samples };
}

/** Measures the figures listed in the module comment. */
export async function benchAttachments(): Promise<Figure[]> {
	await ready();
	const seal = throughput(() => {
		const sealer = new FileSealer(SEAL_BYTES);
		for (const piece of pieces(SEAL_BYTES, FILE_PIECE_BYTES)) sealer.update(piece);
		sealer.finish();
	});
	// The parts: secretstream alone in 64 KiB pushes, BLAKE2b alone (the sealer runs it twice).
	const key = randomBytes(32);
	const stream = throughput(() => {
		const encrypt = createEncryptStream(key);
		for (const chunk of pieces(SEAL_BYTES, STREAM_CHUNK_BYTES)) encrypt.push(chunk, false);
	});
	const blake2b = throughput(() => {
		const hasher = createHasher();
		for (const piece of pieces(SEAL_BYTES, FILE_PIECE_BYTES)) hasher.update(piece);
		hasher.digest();
	});

	const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', MEMORY_SCRIPT, String(MEMORY_BYTES)], {
		cwd: fileURLToPath(new URL('..', import.meta.url))
	});
	const memory = JSON.parse(stdout.trim()) as { peakRssGrowthBytes: number; baselineRssBytes: number; seconds: number };

	// Two cores shared with other jobs: read the figures against the load at the time.
	const loadAverage1m = round(loadavg()[0], 2);
	return [
		{
			figure: 'attachment_encrypt_mb_s',
			value: seal.value,
			unit: 'MB/s',
			target: 150,
			details: {
				sizeBytes: SEAL_BYTES,
				pieceBytes: FILE_PIECE_BYTES,
				runs: SEAL_RUNS,
				samples: seal.samples,
				secretstreamOnlyMbS: stream.value,
				blake2bOnlyMbS: blake2b.value,
				loadAverage1m
			}
		},
		{
			figure: 'attachment_peak_rss_mb',
			value: round(memory.peakRssGrowthBytes / 1e6, 1),
			unit: 'MB',
			target: 64,
			details: {
				sizeBytes: MEMORY_BYTES,
				pieceBytes: FILE_PIECE_BYTES,
				what: 'seal then open, ciphertext piped from sealer to opener, in a child process',
				baselineRssMb: round(memory.baselineRssBytes / 1e6, 1),
				seconds: memory.seconds,
				loadAverage1m
			}
		}
	];
}

// `npx tsx bench/attachments.ts`: print one JSON line per figure.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	for (const figure of await benchAttachments()) console.log(JSON.stringify(figure));
}
