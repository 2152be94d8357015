import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Chromium flags for this closed machine (NOTES.md): no background traffic, no sandbox as root. */
export const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync'
];

export interface RelayProcess {
	url: string;
	dataDir: string;
	process: ChildProcess;
	/** Everything the process wrote to stdout and stderr so far. */
	output(): string;
	/** SIGTERM (a graceful stop), then deletes the data folder: call it on the last process of a DATA_DIR only. */
	stop(): Promise<void>;
	/** kill -9: no shutdown code runs, the data folder stays. */
	crash(): Promise<void>;
	/** A new relay process on the same data folder and environment, crashing this one first if it still runs. */
	restart(): Promise<RelayProcess>;
}

/**
 * Starts the real relay (`tsx relay/main.ts`) on a random port with a temporary data folder,
 * serving the production build unless `env` says otherwise, and resolves once it listens.
 */
export async function startRelay(env: Record<string, string> = {}): Promise<RelayProcess> {
	const dataDir = mkdtempSync(join(tmpdir(), 'carnet-relay-'));
	try {
		return await spawnRelay(env, dataDir);
	} catch (error) {
		rmSync(dataDir, { recursive: true, force: true });
		throw error;
	}
}

async function spawnRelay(env: Record<string, string>, dataDir: string): Promise<RelayProcess> {
	const server = await startServer('relay/main.ts', { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env });
	const relay: RelayProcess = {
		url: server.url,
		dataDir,
		process: server.process,
		output: server.output,
		async stop() {
			await server.kill('SIGTERM');
			rmSync(dataDir, { recursive: true, force: true });
		},
		crash: () => server.kill('SIGKILL'),
		async restart() {
			await relay.crash();
			return spawnRelay(env, dataDir);
		}
	};
	return relay;
}

/** A Node process running one of our TypeScript entry points, listening on a URL. */
export interface ServerProcess {
	url: string;
	process: ChildProcess;
	/** Everything the process wrote to stdout and stderr so far. */
	output(): string;
	/** Sends `signal` unless the process has exited, and resolves once it has. */
	kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `script` (through tsx) with `env` added to ours, and resolves with the URL once it logs
 * a line holding `"url":"…"`. A process that does not get there within 20 s is killed.
 */
export async function startServer(script: string, env: Record<string, string> = {}): Promise<ServerProcess> {
	const child = spawn(process.execPath, ['--import', 'tsx', script], {
		env: { ...process.env, ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let log = '';
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const kill = async (signal: NodeJS.Signals) => {
		if (child.exitCode === null && child.signalCode === null) child.kill(signal);
		await exited;
	};
	const url = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => {
			reject(new Error(`${script} did not start:\n${log}`));
			void kill('SIGKILL');
		}, 20_000);
		child.stdout!.on('data', (chunk: Buffer) => {
			log += chunk.toString();
			const match = /"url":"([^"]+)"/.exec(log);
			if (match) {
				clearTimeout(timer);
				resolve(match[1]);
			}
		});
		child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
		child.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`${script} exited with ${code}:\n${log}`));
		});
	});
	return { url, process: child, output: () => log, kill };
}

/** The raw bytes of a running relay's SQLite files (database, WAL, shared memory), to search them for plaintext. */
export function databaseBytes(relay: RelayProcess): Buffer {
	return Buffer.concat(['carnet.sqlite', 'carnet.sqlite-wal', 'carnet.sqlite-shm'].map((name) => readFileSync(join(relay.dataDir, name))));
}

/**
 * Launches Debian's chromium headless with a fresh profile. `extraArgs` are added after the
 * usual flags (e.g. a fake camera playing a file: see tests/support/qr.ts).
 */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
	return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * A new browser context (one "device") with a page on the app, in the given language.
 * Page errors are collected so a test can assert the app raised none.
 */
export async function openApp(
	browser: Browser,
	baseURL: string,
	locale: 'fr-FR' | 'en-US' = 'en-US'
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
	const context = await browser.newContext({ baseURL, locale });
	const page = await context.newPage();
	const errors: string[] = [];
	page.on('pageerror', (error) => errors.push(error.message));
	await page.goto('/');
	return { context, page, errors };
}

/**
 * Reads every value of every object store of every IndexedDB database of the page's origin,
 * as text (bytes as Latin-1, other values as JSON), so a test can search it for plaintext.
 */
export function dumpIndexedDb(page: Page): Promise<string> {
	return page.evaluate(async () => {
		const toText = (value: unknown): string => {
			if (value instanceof ArrayBuffer) value = new Uint8Array(value);
			if (ArrayBuffer.isView(value)) {
				const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
				let out = '';
				for (const byte of bytes) out += String.fromCharCode(byte);
				return out;
			}
			if (Array.isArray(value)) return value.map(toText).join('\u0000');
			if (value && typeof value === 'object')
				return Object.entries(value)
					.map(([k, v]) => `${k}=${toText(v)}`)
					.join('\u0000');
			return String(value);
		};
		const parts: string[] = [];
		for (const info of await indexedDB.databases()) {
			const db = await new Promise<IDBDatabase>((resolve, reject) => {
				const request = indexedDB.open(info.name!);
				request.onsuccess = () => resolve(request.result);
				request.onerror = () => reject(request.error);
			});
			for (const storeName of Array.from(db.objectStoreNames)) {
				const tx = db.transaction(storeName, 'readonly');
				const store = tx.objectStore(storeName);
				const [keys, values] = await Promise.all(
					[store.getAllKeys(), store.getAll()].map(
						(request) =>
							new Promise<unknown[]>((resolve, reject) => {
								request.onsuccess = () => resolve(request.result as unknown[]);
								request.onerror = () => reject(request.error);
							})
					)
				);
				parts.push(`#${info.name}/${storeName}`, toText(keys), toText(values));
			}
			db.close();
		}
		return parts.join('\n');
	});
}
