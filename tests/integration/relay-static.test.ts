import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import { brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RelayProcess } from '../support/harness';

// The relay process serving a small stand-in build: SPA fallback, types, caching, safety.
const BOOT = 'import("/_app/immutable/app.abc.js")';

describe('relay serves the app', () => {
	let relay: RelayProcess;
	let site: string;

	beforeAll(async () => {
		site = mkdtempSync(join(tmpdir(), 'carnet-site-'));
		mkdirSync(join(site, '_app/immutable'), { recursive: true });
		writeFileSync(join(site, 'index.html'), `<!doctype html><title>shell</title><script>${BOOT}</script>`);
		writeFileSync(join(site, 'shl.html'), `<!doctype html><title>viewer</title><script>${BOOT}</script>`);
		writeFileSync(join(site, '_app/immutable/app.abc.js'), 'export {}');
		writeFileSync(join(site, '_app/immutable/app.abc.js.br'), brotliCompressSync('export {}'));
		writeFileSync(join(site, '_app/immutable/automerge.wasm'), new Uint8Array([0, 97, 115, 109]));
		writeFileSync(join(site, 'service-worker.js'), 'self.x = 1');
		writeFileSync(join(tmpdir(), 'carnet-outside.txt'), 'secret');
		relay = await startRelay({ STATIC_DIR: site });
	});
	afterAll(async () => {
		await relay?.stop();
		rmSync(site, { recursive: true, force: true });
	});

	it('answers the health check', async () => {
		const res = await fetch(`${relay.url}/healthz`);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ status: 'ok' });
	});

	it('serves index.html for the root and for any client-side route', async () => {
		for (const path of ['/', '/record/allergies', '/settings']) {
			const res = await fetch(relay.url + path);
			expect(res.status).toBe(200);
			expect(res.headers.get('content-type')).toContain('text/html');
			expect(await res.text()).toContain('<title>shell</title>');
		}
	});

	it('allows the page its own bootstrap script by hash and no other inline script', async () => {
		const csp = (await fetch(relay.url)).headers.get('content-security-policy') ?? '';
		const hash = createHash('sha256').update(BOOT).digest('base64');
		const scriptSrc = /script-src ([^;]*)/.exec(csp)![1].split(' ');
		expect(scriptSrc.sort()).toEqual([`'sha256-${hash}'`, "'self'", "'wasm-unsafe-eval'"].sort());
		expect(csp).toContain("frame-ancestors 'none'");
		expect(csp).toContain("object-src 'none'");
	});

	it('serves the prerendered viewer at /shl; only the viewer’s pages may fetch other servers', async () => {
		const viewer = await fetch(`${relay.url}/shl`);
		expect(await viewer.text()).toContain('<title>viewer</title>');
		const connect = (res: Response) => /connect-src ([^;]*)/.exec(res.headers.get('content-security-policy') ?? '')![1].split(' ');
		expect(connect(viewer)).toEqual(expect.arrayContaining(["'self'", 'https:']));
		expect(connect(await fetch(`${relay.url}/scan`))).toContain('https:');
		for (const path of ['/', '/record/allergies', '/share/new']) {
			const res = await fetch(relay.url + path);
			expect(await res.text()).toContain('<title>shell</title>');
			expect(connect(res), path).toEqual(["'self'"]);
		}
	});

	it('serves the build’s precompressed copy to a client that accepts it, the file itself otherwise', async () => {
		const url = `${relay.url}/_app/immutable/app.abc.js`;
		const head = (encoding: string) =>
			new Promise<{ encoding?: string; vary?: string }>((resolve, reject) =>
				get(url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
					res.resume();
					resolve({ encoding: res.headers['content-encoding'], vary: res.headers.vary });
				}).on('error', reject)
			);
		expect(await head('gzip, deflate, br')).toEqual({ encoding: 'br', vary: 'Accept-Encoding' });
		expect((await head('br;q=0, gzip')).encoding).toBeUndefined();
		expect((await head('identity')).encoding).toBeUndefined();
		// fetch decodes it: the same script either way.
		expect(await (await fetch(url)).text()).toBe('export {}');
	});

	it('serves wasm as application/wasm and hashed assets as immutable', async () => {
		const wasm = await fetch(`${relay.url}/_app/immutable/automerge.wasm`);
		expect(wasm.headers.get('content-type')).toBe('application/wasm');
		expect(wasm.headers.get('cache-control')).toContain('immutable');
		const worker = await fetch(`${relay.url}/service-worker.js`);
		expect(worker.headers.get('cache-control')).toBe('no-cache');
	});

	it('answers 404 for a missing asset instead of the app shell', async () => {
		expect((await fetch(`${relay.url}/_app/immutable/missing.js`)).status).toBe(404);
	});

	it('never serves a file outside the build folder', async () => {
		for (const path of ['/../carnet-outside.txt', '/%2e%2e/carnet-outside.txt', '/..%2fcarnet-outside.txt']) {
			const res = await fetch(relay.url + path);
			expect(await res.text()).not.toContain('secret');
		}
	});

	it('refuses methods other than GET and HEAD on the app', async () => {
		expect((await fetch(relay.url, { method: 'POST' })).status).toBe(405);
	});
});
