import { resolve } from 'node:path';
import { createRelay } from './server';

const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? '127.0.0.1';
const dataDir = resolve(process.env.DATA_DIR ?? 'data');
const staticDir = resolve(process.env.STATIC_DIR ?? 'build');

const server = createRelay({ staticDir, dataDir });
server.listen(port, host, () => {
	const address = server.address();
	const actual = typeof address === 'object' && address ? address.port : port;
	console.log(JSON.stringify({ level: 'info', msg: 'listening', url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}` }));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => server.close(() => process.exit(0)));
}
