import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json; charset=utf-8',
	'.webmanifest': 'application/manifest+json; charset=utf-8',
	'.wasm': 'application/wasm',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.ico': 'image/x-icon',
	'.txt': 'text/plain; charset=utf-8',
	'.woff2': 'font/woff2'
};

/**
 * The content security policy of the app. It keeps any injected or uploaded content from
 * running as our origin: scripts come only from our files, plus the page's own inline
 * bootstrap script allowed by its hash; 'wasm-unsafe-eval' is what Automerge and libsodium
 * need to compile their WebAssembly, nothing more.
 */
export function contentSecurityPolicy(inlineScriptHashes: string[] = [], viewer = false): string {
	const scripts = ["'self'", "'wasm-unsafe-eval'", ...inlineScriptHashes.map((h) => `'${h}'`)];
	return (
		`default-src 'self'; script-src ${scripts.join(' ')}; style-src 'self' 'unsafe-inline'; ` +
		`img-src 'self' data: blob:; connect-src ${viewer ? VIEWER_CONNECT_SRC : "'self'"}; worker-src 'self'; frame-ancestors 'none'; ` +
		"base-uri 'none'; form-action 'self'; object-src 'none'"
	);
}

/**
 * The professional's viewer opens any producer's SMART Health Link, so its pages may fetch
 * from any https server (and a local one, for a relay on the same machine). It holds no key
 * but the link's and stores nothing; the patient's pages keep `connect-src 'self'`.
 */
const VIEWER_CONNECT_SRC = "'self' blob: https: http://localhost:* http://127.0.0.1:*";
/** Pages of the viewer (see VIEWER_CONNECT_SRC). */
const VIEWER_PATHS = new Set(['/shl', '/scan']);

/** sha256 sources of the inline scripts of an HTML page, for its CSP. */
export function inlineScriptHashes(html: string): string[] {
	return [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
		(match) => `sha256-${createHash('sha256').update(match[1]).digest('base64')}`
	);
}

const SECURITY_HEADERS: Record<string, string> = {
	'X-Content-Type-Options': 'nosniff',
	'Referrer-Policy': 'no-referrer',
	'Permissions-Policy': 'camera=(self), microphone=(), geolocation=()',
	'Cross-Origin-Opener-Policy': 'same-origin'
};

/** How long a browser may keep a file: hashed build assets forever, everything else revalidated. */
function cacheControl(path: string): string {
	return path.includes(`${sep}_app${sep}immutable${sep}`)
		? 'public, max-age=31536000, immutable'
		: 'no-cache';
}

/**
 * The build's precompressed copy of `file` (adapter-static `precompress`: `.br`, `.gz`) that
 * the client accepts, if there is one: a doctor's phone on a slow network gets the viewer in a
 * third of the bytes, and the relay spends no CPU compressing.
 */
async function precompressed(
	file: string,
	accept: string | undefined
): Promise<{ file: string; size: number; encoding: 'br' | 'gzip' } | undefined> {
	if (!accept) return undefined;
	// "br, gzip;q=0.8, identity;q=0": every coding named without q=0.
	const accepted = new Set(
		accept
			.split(',')
			.map((part) => part.trim().toLowerCase().split(/\s*;\s*/))
			.filter(([, q]) => q === undefined || !/^q=0(\.0*)?$/.test(q))
			.map(([name]) => name)
	);
	for (const [encoding, suffix] of [['br', '.br'], ['gzip', '.gz']] as const) {
		if (!accepted.has(encoding)) continue;
		const info = await stat(file + suffix).catch(() => null);
		if (info?.isFile()) return { file: file + suffix, size: info.size, encoding };
	}
	return undefined;
}

/**
 * Serves the built single-page app from `root`. Unknown paths get the SPA fallback page so
 * that deep links work; paths that try to leave `root` are refused.
 */
export function createStaticHandler(root: string, fallback = 'index.html') {
	const base = normalize(root + sep);
	// Hash each page's inline scripts once per version of the page (a rebuild changes mtime).
	const pagePolicies = new Map<string, Promise<string>>();
	const policyFor = (file: string, mtimeMs: number, viewer: boolean): Promise<string> => {
		if (extname(file) !== '.html') return Promise.resolve(contentSecurityPolicy());
		const version = `${file}@${mtimeMs}@${viewer}`;
		let policy = pagePolicies.get(version);
		if (!policy) {
			policy = readFile(file, 'utf8').then((html) => contentSecurityPolicy(inlineScriptHashes(html), viewer));
			pagePolicies.set(version, policy);
		}
		return policy;
	};
	return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			res.writeHead(405, { Allow: 'GET, HEAD' }).end();
			return;
		}
		let pathname: string;
		try {
			pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
		} catch {
			res.writeHead(400).end();
			return;
		}
		let file = normalize(join(base, pathname));
		if (!file.startsWith(base)) {
			res.writeHead(403).end();
			return;
		}
		let info = await stat(file).catch(() => null);
		if (info?.isDirectory()) {
			file = join(file, 'index.html');
			info = await stat(file).catch(() => null);
		}
		if (!info?.isFile() && extname(pathname) === '') {
			// A prerendered page (the viewer's /shl: its own shell preloads its own modules).
			const page = await stat(`${file}.html`).catch(() => null);
			if (page?.isFile()) {
				file = `${file}.html`;
				info = page;
			}
		}
		if (!info?.isFile()) {
			// A missing asset is a real 404; any other path is a client-side route.
			if (extname(pathname) !== '') {
				res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
				return;
			}
			file = join(base, fallback);
			info = await stat(file).catch(() => null);
			if (!info) {
				res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end('App not built');
				return;
			}
		}
		const encoded = await precompressed(file, req.headers['accept-encoding']);
		res.writeHead(200, {
			...SECURITY_HEADERS,
			'Content-Security-Policy': await policyFor(file, info.mtimeMs, VIEWER_PATHS.has(pathname.replace(/\/$/, ''))),
			'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
			'Content-Length': String(encoded?.size ?? info.size),
			'Cache-Control': cacheControl(file),
			Vary: 'Accept-Encoding',
			...(encoded ? { 'Content-Encoding': encoded.encoding } : {})
		});
		if (req.method === 'HEAD') {
			res.end();
			return;
		}
		createReadStream(encoded?.file ?? file).pipe(res);
	};
}
