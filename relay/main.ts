/**
 * The relay process. Environment:
 *   PORT (8787), HOST (127.0.0.1), DATA_DIR (./data), STATIC_DIR (./build), LOG_LEVEL (info),
 *   and the sync limits, positive integers: VAULT_QUOTA_BYTES, RATE_PER_SECOND, RATE_BURST,
 *   MAX_CONNECTIONS_PER_IP, HEARTBEAT_MS, AUTH_TIMEOUT_MS (defaults in relay/sync-server.ts).
 * Sharing (SMART Health Links, relay/shl-server.ts), positive integers too:
 *   SHL_PASSCODE_ATTEMPTS (10)           passcode attempts per link, reset by a new passcode
 *   SHL_MAX_BODY_BYTES (32 MiB)          largest share a device may publish (PUT, files inline)
 *   CONTRIBUTION_MAX_BYTES (20 MiB)      largest sealed contribution from a professional
 *   SHL_TICKET_TTL_MS (3600000)          how long a file location stays valid (tests shorten it)
 *   SHL_RATE_PER_SECOND (10)             public SHL requests per second per client address
 *   SHL_RATE_BURST (60)                  ... and in a burst
 *   PUBLIC_ORIGIN (unset)                e.g. https://carnet.example: the origin of file locations
 *                                        in manifests; unset, the request's Host (and
 *                                        X-Forwarded-Proto https) is used.
 * Documents' files (relay/blob-server.ts, files under DATA_DIR/blobs/), positive integers:
 *   BLOB_MAX_BYTES (104857600)           largest file (plaintext bytes) whose sealed blob is accepted
 *   BLOB_QUOTA_BYTES (1073741824)        bytes of blobs (complete and partial) one vault may hold
 *   BLOB_PART_MAX_BYTES (8388608)        largest part one upload request may carry
 *   BLOB_GC_GRACE_MS (3600000)           age before an unreferenced blob is collected (0 allowed)
 *   BLOB_PARTIAL_TTL_MS (86400000)       an upload untouched this long is deleted
 *   BLOB_SWEEP_MS (600000)               how often expired uploads are looked for (and at start)
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_BLOB_LIMITS, type BlobLimits } from './blob-server';
import { createLogger, levelFromEnv } from './log';
import { createRelay } from './server';
import { DEFAULT_SHL_LIMITS, type ShlLimits } from './shl-server';
import { openFsBlobStore } from './store/fs-blobs';
import { openSqliteShareStore } from './store/sqlite-shares';
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

const SHL_LIMIT_VARIABLES: Record<keyof ShlLimits, string> = {
	passcodeAttempts: 'SHL_PASSCODE_ATTEMPTS',
	maxBodyBytes: 'SHL_MAX_BODY_BYTES',
	contributionMaxBytes: 'CONTRIBUTION_MAX_BYTES',
	ticketTtlMs: 'SHL_TICKET_TTL_MS',
	publicRatePerSecond: 'SHL_RATE_PER_SECOND',
	publicRateBurst: 'SHL_RATE_BURST'
};

const BLOB_LIMIT_VARIABLES: Record<keyof BlobLimits, string> = {
	maxFileBytes: 'BLOB_MAX_BYTES',
	quotaBytes: 'BLOB_QUOTA_BYTES',
	partMaxBytes: 'BLOB_PART_MAX_BYTES',
	gcGraceMs: 'BLOB_GC_GRACE_MS',
	partialTtlMs: 'BLOB_PARTIAL_TTL_MS',
	sweepMs: 'BLOB_SWEEP_MS'
};

/**
 * The limits with the environment's overrides; a malformed value stops the relay rather than
 * being ignored. Values are positive integers, or zero for the variables in `zeroAllowed`.
 */
function limitsFromEnv<L extends object>(env: NodeJS.ProcessEnv, defaults: L, variables: Record<keyof L, string>, zeroAllowed: readonly string[] = []): L {
	const limits = { ...defaults };
	for (const [key, name] of Object.entries(variables) as [keyof L, string][]) {
		const value = env[name];
		if (value === undefined || value === '') continue;
		if (zeroAllowed.includes(name) && value === '0') {
			limits[key] = 0 as L[keyof L];
			continue;
		}
		if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`${name} must be a positive integer`);
		limits[key] = Number(value) as L[keyof L];
	}
	return limits;
}

/** PUBLIC_ORIGIN, checked to be an origin (scheme, host, port; nothing after). */
function publicOriginFromEnv(value: string | undefined): string | undefined {
	if (value === undefined || value === '') return undefined;
	const url = new URL(value);
	if (url.origin !== value.replace(/\/$/, '')) throw new Error('PUBLIC_ORIGIN must be an origin such as https://carnet.example');
	return url.origin;
}

const log = createLogger(levelFromEnv(process.env.LOG_LEVEL));
const port = Number(process.env.PORT ?? 8787);
const host = process.env.HOST ?? '127.0.0.1';
const dataDir = resolve(process.env.DATA_DIR ?? 'data');
const staticDir = resolve(process.env.STATIC_DIR ?? 'build');

mkdirSync(dataDir, { recursive: true });
const database = join(dataDir, 'carnet.sqlite');
const relay = createRelay({
	staticDir,
	store: openSqliteStore(database),
	// The same file, its own tables and connection (relay/store/sqlite-shares.ts).
	shares: openSqliteShareStore(database),
	limits: limitsFromEnv(process.env, DEFAULT_LIMITS, LIMIT_VARIABLES),
	shlLimits: limitsFromEnv(process.env, DEFAULT_SHL_LIMITS, SHL_LIMIT_VARIABLES),
	publicOrigin: publicOriginFromEnv(process.env.PUBLIC_ORIGIN),
	blobs: openFsBlobStore(join(dataDir, 'blobs')),
	// A grace of 0 lets refs collect a blob the moment it is unreferenced (tests; never in production).
	blobLimits: limitsFromEnv(process.env, DEFAULT_BLOB_LIMITS, BLOB_LIMIT_VARIABLES, ['BLOB_GC_GRACE_MS']),
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
