import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createStaticHandler } from './static';

export interface RelayOptions {
	/** Folder of the built PWA (vite build output). */
	staticDir: string;
	/** Folder for the relay's own data; created if missing. */
	dataDir: string;
}

/**
 * The Carnet relay: one HTTP server on one port. Today it serves the app and a health check;
 * the sync API joins it on the same port.
 */
export function createRelay(options: RelayOptions): Server {
	mkdirSync(options.dataDir, { recursive: true });
	const serveStatic = createStaticHandler(options.staticDir);
	return createServer((req, res) => {
		if (req.url === '/healthz') {
			res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
			res.end(JSON.stringify({ status: 'ok' }));
			return;
		}
		serveStatic(req, res).catch(() => {
			if (!res.headersSent) res.writeHead(500);
			res.end();
		});
	});
}
