/**
 * The relay process. Environment:
 *   PORT (8787), HOST (127.0.0.1), DATA_DIR (./data), STATIC_DIR (./build), LOG_LEVEL (info),
 *   and the sync limits, positive integers: VAULT_QUOTA_BYTES, RATE_PER_SECOND, RATE_BURST,
 *   MAX_CONNECTIONS_PER_IP, HEARTBEAT_MS, AUTH_TIMEOUT_MS (defaults in relay/sync-server.ts).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, levelFromEnv } from './log';
import { createRelay } from './server';
import { openSqliteStore } from './store/sqlite';
import { DEFAULT_LIMITS, type SyncLimits } from './sync-server';

const LIMIT_VARIABLES: Record<keyof SyncLimits, string> = {
	vaultQuotaBytes: 'VAULT_QUOTA_BYTES',
	ratePerSecond: 'RATE_PER_SECOND',
	rateBurst: 'RATE_BURST',
	connectionsPerIp: 'MAX_CONNECTIONS_PER_IP',
	heartbeatMs: 'HEARTBEAT_MS',
	authTimeoutMs: 'AUTH_TIMEOUT_MS'
};

/** The limits with the environment's overrides; a malformed value stops the relay rather than being ignored. */
function limitsFromEnv(env: NodeJS.ProcessEnv): SyncLimits {
	const limits = { ...DEFAULT_LIMITS };
	for (const [key, name] of Object.entries(LIMIT_VARIABLES) as [keyof SyncLimits, string][]) {
		const value = env[name];
		if (value === undefined || value === '') continue;
		if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`${name} must be a positive integer`);
		limits[key] = Number(value);
	}
	return limits;
}

const log = createLogger(levelFromEnv(process.env.LOG_LEVEL));
const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? '127.0.0.1';
const dataDir = resolve(process.env.DATA_DIR ?? 'data');
const staticDir = resolve(process.env.STATIC_DIR ?? 'build');

mkdirSync(dataDir, { recursive: true });
const relay = createRelay({
	staticDir,
	store: openSqliteStore(join(dataDir, 'carnet.sqlite')),
	limits: limitsFromEnv(process.env),
	log
});
relay.server.listen(port, host, () => {
	const address = relay.server.address();
	const actual = typeof address === 'object' && address ? address.port : port;
	log.info('listening', { url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}` });
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		log.info('stopping', { signal });
		relay.close().then(
			() => process.exit(0),
			(error: unknown) => {
				log.error('stop failed', { error: error instanceof Error ? error.message : String(error) });
				process.exit(1);
			}
		);
	});
}
