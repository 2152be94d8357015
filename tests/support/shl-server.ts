/**
 * A tiny SMART Health Links server for the viewer's browser tests (node:http on 127.0.0.1, a
 * random port, CORS `*`), speaking the public endpoints of docs/SHARING.md: `U` links by GET,
 * manifests by POST (passcode and attempts, files by location), file tickets, and the
 * contributions inbox. Every request is recorded so a test can assert what was (not) asked.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
	method: string;
	/** Path and query string. */
	path: string;
	headers: IncomingMessage['headers'];
	body: Buffer;
}

export interface ManifestLink {
	files: { contentType: string; jwe: string }[];
	passcode?: string;
	/** Passcode attempts left (default 10); 0 makes the link answer 404. */
	attempts?: number;
	/** Answer 404 to everything about this link (revoked, used up). */
	gone?: boolean;
}

export interface ShlTestServer {
	origin: string;
	requests: RecordedRequest[];
	/** Contributions received: the bearer token and the sealed body. */
	contributions: { token: string; body: Buffer }[];
	/** Serves `jwe` as a `U` link file; returns its URL. */
	addU(name: string, jwe: string): string;
	/** A manifest link; returns its manifest URL (`<origin>/api/shl/<id>`). */
	addManifest(id: string, link: ManifestLink): string;
	/** The link's state, to change it during a test (attempts, gone). */
	link(id: string): ManifestLink;
	/** Makes the contributions endpoint of a link answer with this status (default 201). */
	contributionStatus(status: number): void;
	close(): Promise<void>;
}

const CORS = {
	'Access-Control-Allow-Origin': '*',
	'Access-Control-Allow-Methods': 'GET, POST',
	'Access-Control-Allow-Headers': 'Content-Type, Authorization',
	'Cache-Control': 'no-store'
};

function send(res: ServerResponse, status: number, body: string | object, type = 'application/json'): void {
	res.writeHead(status, { ...CORS, 'Content-Type': type });
	res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

export async function startShlServer(): Promise<ShlTestServer> {
	const files = new Map<string, string>();
	const links = new Map<string, ManifestLink>();
	const tickets = new Map<string, string>();
	const requests: RecordedRequest[] = [];
	const contributions: { token: string; body: Buffer }[] = [];
	let contributionAnswer = 201;
	let ticketCount = 0;

	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const body = Buffer.concat(chunks);
			const path = req.url ?? '/';
			requests.push({ method: req.method ?? '', path, headers: req.headers, body });
			const url = new URL(path, 'http://localhost');
			if (req.method === 'OPTIONS') {
				res.writeHead(204, CORS);
				res.end();
				return;
			}
			let match = /^\/u\/([\w-]+)$/.exec(url.pathname);
			if (match && req.method === 'GET') {
				const jwe = files.get(match[1]);
				if (!jwe || !url.searchParams.get('recipient')) return send(res, 404, { error: 'not_found' });
				return send(res, 200, jwe, 'application/jose');
			}
			match = /^\/api\/shl\/([\w-]+)\/files\/([\w-]+)$/.exec(url.pathname);
			if (match && req.method === 'GET') {
				const link = links.get(match[1]);
				const jwe = tickets.get(match[2]);
				if (!link || link.gone || !jwe) return send(res, 404, { error: 'not_found' });
				return send(res, 200, jwe, 'application/jose');
			}
			match = /^\/api\/shl\/([\w-]+)\/contributions$/.exec(url.pathname);
			if (match && req.method === 'POST') {
				const link = links.get(match[1]);
				if (!link || link.gone) return send(res, 404, { error: 'not_found' });
				const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
				if (!auth) return send(res, 401, { error: 'unauthorized' });
				if (contributionAnswer !== 201) return send(res, contributionAnswer, { error: 'refused' });
				contributions.push({ token: auth[1], body });
				return send(res, 201, { id: `c${contributions.length}` });
			}
			match = /^\/api\/shl\/([\w-]+)$/.exec(url.pathname);
			if (match && req.method === 'POST') {
				const link = links.get(match[1]);
				if (!link || link.gone || (link.attempts ?? 10) <= 0) return send(res, 404, { error: 'not_found' });
				let asked: { recipient?: unknown; passcode?: unknown };
				try {
					asked = JSON.parse(body.toString('utf8'));
				} catch {
					return send(res, 400, { error: 'bad_request' });
				}
				if (typeof asked.recipient !== 'string' || !asked.recipient) return send(res, 400, { error: 'bad_request' });
				if (link.passcode !== undefined && asked.passcode !== link.passcode) {
					link.attempts = (link.attempts ?? 10) - 1;
					return send(res, 401, { error: 'invalid_passcode', remainingAttempts: link.attempts });
				}
				return send(res, 200, {
					files: link.files.map((file) => {
						const ticket = `t${++ticketCount}`;
						tickets.set(ticket, file.jwe);
						return { contentType: file.contentType, location: `${origin}/api/shl/${match![1]}/files/${ticket}` };
					})
				});
			}
			send(res, 404, { error: 'not_found' });
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

	return {
		origin,
		requests,
		contributions,
		addU(name, jwe) {
			files.set(name, jwe);
			return `${origin}/u/${name}`;
		},
		addManifest(id, link) {
			links.set(id, link);
			return `${origin}/api/shl/${id}`;
		},
		link(id) {
			const link = links.get(id);
			if (!link) throw new Error(`no link ${id}`);
			return link;
		},
		contributionStatus(status) {
			contributionAnswer = status;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			})
	};
}

/** `shlink:/` + base64url of the payload's JSON (any fields, as another producer might write them). */
export function shlinkOf(payload: Record<string, unknown>): string {
	return `shlink:/${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
}
