/**
 * A document's file through the real relay on loopback (docs/ATTACHMENTS.md §2, §4):
 *  - attachment_roundtrip_mb_s  a 50 MB generated file, sealed beforehand, uploaded in the
 *                               client's 4 MiB parts by its BlobTransfer (what the file service's
 *                               outbox runs), then downloaded and opened (decrypted and verified)
 *                               piece by piece: file MB over the seconds of upload + download +
 *                               decryption, median of 5 rounds after an uncounted 4 MB one; the
 *                               details give upload and download (with decryption) apart, and the
 *                               peak RSS growth of a round
 * Run in a child process (tests/support/files-roundtrip.ts) against a relay process
 * (`startRelay`). MB are 10^6 bytes. Run directly (`npx tsx bench/attachments-roundtrip.ts`) it
 * prints one JSON line.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startRelay } from '../tests/support/harness';
import type { Figure } from './figure';
import { median, round } from './record-scenario';

const SIZE = 50_000_000;
const ROUNDS = 5;
const SCRIPT = fileURLToPath(new URL('../tests/support/files-roundtrip.ts', import.meta.url));

interface Round {
	size: number;
	length: number;
	uploadSeconds: number;
	downloadSeconds: number;
	peakRssGrowthBytes: number;
}

/** Measures the figure listed in the module comment. */
export async function benchAttachmentsRoundtrip(): Promise<Figure[]> {
	const relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
	let rounds: Round[];
	try {
		const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, relay.url, String(SIZE), String(ROUNDS)], {
			cwd: fileURLToPath(new URL('..', import.meta.url))
		});
		rounds = stdout
			.trim()
			.split('\n')
			.map((line) => JSON.parse(line) as Round);
	} finally {
		await relay.stop();
	}
	const mbS = (seconds: number) => round(SIZE / 1e6 / seconds, 1);
	return [
		{
			figure: 'attachment_roundtrip_mb_s',
			value: median(rounds.map((r) => mbS(r.uploadSeconds + r.downloadSeconds))),
			unit: 'MB/s',
			details: {
				sizeBytes: SIZE,
				sealedBytes: rounds[0].length,
				rounds: ROUNDS,
				samples: rounds.map((r) => mbS(r.uploadSeconds + r.downloadSeconds)),
				uploadMbS: median(rounds.map((r) => mbS(r.uploadSeconds))),
				downloadDecryptMbS: median(rounds.map((r) => mbS(r.downloadSeconds))),
				peakRssGrowthMb: round(Math.max(...rounds.map((r) => r.peakRssGrowthBytes)) / 1e6, 1),
				what: 'upload from a sealed file on disk, then download into FileOpener, loopback, relay process with fsync per part',
				// Two cores shared with other jobs: read the figure against the load at the time.
				loadAverage1m: round(loadavg()[0], 2)
			}
		}
	];
}

// `npx tsx bench/attachments-roundtrip.ts`: print one JSON line.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	for (const figure of await benchAttachmentsRoundtrip()) console.log(JSON.stringify(figure));
}
