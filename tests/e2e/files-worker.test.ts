/**
 * The FileCipher suite (tests/support/file-cipher-conformance.ts) against WorkerCipher in
 * Chromium: src/lib/client/files/worker.ts in a real module worker, reached the way the app
 * reaches it (`new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })`).
 * The worker and a page running the suite are bundled with esbuild (what Vite uses underneath)
 * and served from memory, the worker under the name the page asks for: no app build needed.
 */
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/harness';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function bundle(entry: string): Promise<string> {
	const result = await build({ absWorkingDir: ROOT, entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'error' });
	return result.outputFiles[0].text;
}

describe('the file worker in Chromium', () => {
	let server: Server;
	let browser: Browser;
	let origin: string;

	beforeAll(async () => {
		const [worker, page] = await Promise.all([bundle('src/lib/client/files/worker.ts'), bundle('tests/support/files-worker-page.ts')]);
		const files: Record<string, [string, string]> = {
			'/': ['text/html', '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>'],
			'/page.js': ['text/javascript', page],
			// `new URL('./worker.ts', import.meta.url)` from /page.js.
			'/worker.ts': ['text/javascript', worker]
		};
		server = createServer((req, res) => {
			const file = files[req.url ?? ''];
			if (file === undefined) return void res.writeHead(404).end();
			res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const address = server.address();
		origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
		browser = await launchBrowser();
	});
	afterAll(async () => {
		await browser?.close();
		server?.close();
	});

	it('passes the FileCipher suite, pieces transferred', async () => {
		const page = await browser.newPage();
		const errors: string[] = [];
		page.on('pageerror', (error) => errors.push(error.message));
		await page.goto(`${origin}/`);
		await page.waitForFunction(() => 'cipherResults' in window, undefined, { timeout: 60_000 });
		const results = (await page.evaluate(() => (window as unknown as { cipherResults: { name: string; error?: string }[] }).cipherResults)) ?? [];
		expect(errors).toEqual([]);
		expect(results.filter((r) => r.error !== undefined)).toEqual([]);
		expect(results.map((r) => r.name)).toContain('transfers the pieces it is given');
		expect(results.length).toBeGreaterThan(5);
	});
});
