/**
 * A 100 MB file through the real relay in bounded memory (docs/ATTACHMENTS.md §4): sealed,
 * uploaded in parts by the client's BlobTransfer, downloaded and opened, streaming. Run in a
 * child process (tests/support/files-roundtrip.ts) so that the runner's own heap does not blur
 * the RSS.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RelayProcess } from '../support/harness';

const SCRIPT = fileURLToPath(new URL('../support/files-roundtrip.ts', import.meta.url));
const SIZE = 100_000_000;
const MAX_RSS_GROWTH = 64 * 1024 * 1024;

describe('a 100 MB file through the relay', () => {
	let relay: RelayProcess;
	beforeAll(async () => {
		relay = await startRelay();
	});
	afterAll(async () => {
		await relay?.stop();
	});

	it('goes up and comes back whole, the peak RSS growth under 64 MB', async () => {
		const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, relay.url, String(SIZE)], {
			cwd: fileURLToPath(new URL('../..', import.meta.url))
		});
		const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { size: number; peakRssGrowthBytes: number; uploadSeconds: number; downloadSeconds: number };
		expect(result.size).toBe(SIZE);
		expect(result.peakRssGrowthBytes).toBeLessThan(MAX_RSS_GROWTH);
		console.log(`100 MB: ${JSON.stringify(result)}`);
	}, 60_000);
});
