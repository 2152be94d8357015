/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
// Carnet's service worker: precaches the app shell (every built asset, including
// Automerge's .wasm, and the static files) so the app opens offline after one online visit.
// Navigations are network-first and fall back to the cached shell (a static SPA: every route
// is the same index.html). Nothing else is cached: record data never goes through here.
import { build, files, version } from '$service-worker';

const sw = self as unknown as ServiceWorkerGlobalScope;

const CACHE = `carnet-shell-${version}`;
/** The cache key of the app shell (the SPA's index.html). */
const SHELL = '/';
const PRECACHE = Array.from(new Set([...build, ...files]));
const PRECACHED = new Set(PRECACHE);

/**
 * The shell: the build's fallback page `/index.html` (absolute asset paths, so it works
 * under any route), else whatever `/` serves (e.g. `vite preview`).
 */
async function fetchShell(): Promise<Response> {
	const fallback = await fetch(new Request('/index.html', { cache: 'reload' })).catch(() => null);
	if (fallback?.ok && !fallback.redirected) return fallback;
	const root = await fetch(new Request(SHELL, { cache: 'reload' }));
	if (!root.ok) throw new Error(`shell: HTTP ${root.status}`);
	return root;
}

sw.addEventListener('install', (event) => {
	event.waitUntil(
		(async () => {
			const cache = await caches.open(CACHE);
			// `cache: 'reload'` so the first install does not pick up stale HTTP-cached files.
			await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
			await cache.put(SHELL, await fetchShell());
		})()
	);
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(
		(async () => {
			for (const key of await caches.keys()) {
				if (key !== CACHE && key.startsWith('carnet-')) await caches.delete(key);
			}
			await sw.clients.claim();
		})()
	);
});

async function navigate(request: Request): Promise<Response> {
	const cache = await caches.open(CACHE);
	try {
		const response = await fetch(request);
		if (response.ok) return response;
		return (await cache.match(SHELL)) ?? response;
	} catch {
		const shell = await cache.match(SHELL);
		if (shell) return shell;
		throw new Error('offline and no cached shell');
	}
}

async function precached(request: Request, path: string): Promise<Response> {
	const cache = await caches.open(CACHE);
	const hit = await cache.match(path);
	if (hit) return hit;
	const response = await fetch(request);
	if (response.ok) await cache.put(path, response.clone());
	return response;
}

sw.addEventListener('fetch', (event) => {
	const request = event.request;
	if (request.method !== 'GET') return;
	const url = new URL(request.url);
	if (url.origin !== sw.location.origin) return;

	if (request.mode === 'navigate') {
		event.respondWith(navigate(request));
		return;
	}
	if (PRECACHED.has(url.pathname)) {
		event.respondWith(precached(request, url.pathname));
	}
	// Anything else (the relay's API later on) goes to the network untouched.
});
