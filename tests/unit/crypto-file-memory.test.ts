/**
 * A 100 MB file is sealed and opened in bounded memory (docs/ATTACHMENTS.md §1): run in a
 * child process (tests/support/file-memory.ts) so the runner's own heap does not blur the RSS.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../support/file-memory.ts', import.meta.url));
const SIZE = 100_000_000;
const MAX_RSS_GROWTH = 64 * 1024 * 1024;

describe('sealing and opening a 100 MB file', () => {
	it('keeps the peak RSS growth under 64 MB', async () => {
		const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, String(SIZE)], {
			cwd: fileURLToPath(new URL('../..', import.meta.url))
		});
		const result = JSON.parse(stdout.trim()) as { size: number; peakRssGrowthBytes: number; seconds: number };
		expect(result.size).toBe(SIZE);
		expect(result.peakRssGrowthBytes).toBeLessThan(MAX_RSS_GROWTH);
	});
});
