import { createServer, type Server } from 'node:http';
import { createBlobHandler, type BlobLimits } from './blob-server';
import type { Logger } from './log';
import { Metrics } from './metrics';
import { createApiHandler, type ShlLimits } from './shl-server';
import { createStaticHandler } from './static';
import type { BlobStore } from './store/blobs';
import type { ShareStore } from './store/shares';
import type { Store } from './store/store';
import { attachSync, type SyncLimits } from './sync-server';

/** What a relay is made of; relay/main.ts builds it from the environment. */
export interface RelayOptions {
	/** Folder of the built PWA (vite build output). */
	staticDir: string;
	/** Where vaults live; the relay closes it on `close()`. */
	store: Store;
	/** Rate, connection, quota and timing limits of the sync endpoint. */
	limits: SyncLimits;
	/** SMART Health Links shares, access log and contributions; closed on `close()` too. */
	shares: ShareStore;
	/** Limits of the sharing API (`/api/`). */
	shlLimits: ShlLimits;
	/** The origin professionals reach the relay at, for file locations; default: the request's Host. */
	publicOrigin?: string;
	/** Documents' files (sealed blobs); closed on `close()` too. */
	blobs: BlobStore;
	/** Limits of the blob endpoints (`/api/vaults/<v>/blobs`) and timing of their collection. */
	blobLimits: BlobLimits;
	log: Logger;
}

/** A running relay: its HTTP server (not yet listening) and an orderly way to stop it. */
export interface Relay {
	server: Server;
	/** Stops accepting connections, closes every sync socket once its frames are handled, stops the blob sweep, then closes the stores. */
	close(): Promise<void>;
}

/**
 * The Carnet relay: one HTTP server on one port serving the app, a health check, metrics,
 * the sharing API under `/api/` (relay/shl-server.ts), documents' files under
 * `/api/vaults/<v>/blobs` (relay/blob-server.ts) and the sync WebSocket on `/sync`.
 */
export function createRelay(options: RelayOptions): Relay {
	const serveStatic = createStaticHandler(options.staticDir);
	const metrics = new Metrics();
	const api = createApiHandler({
		shares: options.shares,
		limits: options.shlLimits,
		log: options.log,
		metrics,
		publicOrigin: options.publicOrigin,
		// Called per request, after `sync` below is attached to the server this handler serves.
		sync: () => sync
	});
	const blobs = createBlobHandler({
		store: options.blobs,
		limits: options.blobLimits,
		log: options.log,
		metrics,
		sync: () => sync
	});
	const server = createServer((req, res) => {
		if (req.url?.startsWith('/api/')) {
			void (blobs.handles(req.url) ? blobs.handle(req, res) : api(req, res));
			return;
		}
		if (req.url === '/healthz') {
			res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
			res.end(JSON.stringify({ status: 'ok' }));
			return;
		}
		if (req.url === '/metrics') {
			res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
			res.end(metrics.render());
			return;
		}
		serveStatic(req, res).catch(() => {
			if (!res.headersSent) res.writeHead(500);
			res.end();
		});
	});
	const sync = attachSync(server, { store: options.store, limits: options.limits, metrics, log: options.log });
	return {
		server,
		async close() {
			const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
			server.closeIdleConnections();
			await sync.close();
			server.closeAllConnections();
			await stopped;
			await blobs.close();
			await options.blobs.close();
			await options.shares.close();
			await options.store.close();
		}
	};
}
