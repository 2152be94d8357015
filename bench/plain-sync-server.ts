/**
 * The plain automerge-repo sync server that bench/relay.ts measures `plain_sync_latency_p50_ms`
 * against: a `Repo` on `NodeWSServerAdapter`, no storage, no encryption, set up like
 * automerge-repo-sync-server (it announces nothing; a client gets the documents it asks for).
 * Listens on a random port of 127.0.0.1, logs `{"url":…}` once listening. It keeps
 * nothing, so SIGTERM just ends it; it also exits as soon as the process that started it is
 * gone, so a benchmark killed outright leaves no server behind.
 */
import { Repo } from '@automerge/automerge-repo';
import { NodeWSServerAdapter } from '@automerge/automerge-repo-network-websocket';
import { WebSocketServer } from 'ws';

const parent = process.ppid;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
// The adapter types its server as isomorphic-ws's re-export of `ws`, which TypeScript does not
// unify with `ws`'s own class; at runtime it is the same class.
const adapter = new NodeWSServerAdapter(wss as unknown as ConstructorParameters<typeof NodeWSServerAdapter>[0]);
new Repo({ network: [adapter], sharePolicy: async () => false });

wss.on('listening', () => {
	const address = wss.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	console.log(JSON.stringify({ msg: 'listening', url: `ws://127.0.0.1:${port}` }));
});

setInterval(() => {
	if (process.ppid !== parent) process.exit(1);
}, 1000);
