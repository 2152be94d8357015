/**
 * record_open_chromium_ms: the record-open scenario of bench/record-scenario.ts in Debian's
 * chromium (headless), on its real IndexedDB, from a production build of a small bench page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { createStaticHandler } from '../relay/static';
import { launchBrowser } from '../tests/support/harness';
import type { Figure } from './figure';
import { median, round, rounded } from './record-scenario';

const OPEN_RUNS = 9;

export async function benchRecordChromium(): Promise<Figure[]> {
	const outDir = mkdtempSync(join(tmpdir(), 'carnet-bench-page-'));
	await build({
		root: 'bench/browser',
		configFile: false,
		logLevel: 'warn',
		build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 }
	});
	const serve = createStaticHandler(outDir);
	const server = createServer((req, res) => void serve(req, res));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
	const browser = await launchBrowser();
	try {
		const page = await browser.newPage();
		await page.goto(url);
		await page.waitForFunction(() => 'carnetBench' in globalThis);
		const result = await page.evaluate(
			(runs) => (globalThis as unknown as { carnetBench: (n: number) => Promise<{ open: number[]; load: number[]; view: number[]; home: number[]; entries: number; fillMs: number; phase: Record<string, number[]> }> }).carnetBench(runs),
			OPEN_RUNS
		);
		return [
			{
				figure: 'record_open_chromium_ms',
				value: round(median(result.open)),
				unit: 'ms',
				target: 150,
				entries: result.entries,
				samples: rounded(result.open),
				details: {
					'openRecord_ms (read+decrypt+load)': round(median(result.load)),
					'recordView_ms': round(median(result.view)),
					'home_reads_ms (summary + unreadable + identity of that view, included)': round(median(result.home)),
					// The same phases timed apart, after the opens (see bench/browser/main.ts).
					'readDecrypt_ms': round(median(result.phase.readDecrypt)),
					'automergeLoad_ms': round(median(result.phase.automergeLoad)),
					'recordView_plus_home_reads_ms': round(median(result.phase.viewAndHomeReads)),
					fillMs: round(result.fillMs, 0),
					browser: browser.version(),
					// Two cores shared with other jobs: read the figures against the load at the time.
					loadAverage1m: round(loadavg()[0], 2)
				}
			}
		];
	} finally {
		await browser.close();
		server.close();
		rmSync(outDir, { recursive: true, force: true });
	}
}
