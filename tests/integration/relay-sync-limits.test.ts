import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ready } from '../../src/lib/core/crypto';
import { startRelay, type RelayProcess } from '../support/harness';
import { expectError, expectFrame, newMember, SyncClient, TestRecord } from '../support/sync-client';

// The relay's limits, made small through its environment so that each one trips quickly.
const LIMITS = {
	VAULT_QUOTA_BYTES: '4000',
	RATE_PER_SECOND: '10',
	RATE_BURST: '20',
	MAX_CONNECTIONS_PER_IP: '4',
	HEARTBEAT_MS: '500',
	AUTH_TIMEOUT_MS: '1500'
};

describe('relay sync limits', () => {
	let relay: RelayProcess;
	let clients: SyncClient[] = [];

	async function connect(options?: WebSocket.ClientOptions): Promise<SyncClient> {
		const client = await SyncClient.connect(relay.url, options);
		clients.push(client);
		return client;
	}

	/** Resolves with the close code once the relay ends the client's socket. */
	const closed = (client: SyncClient) =>
		new Promise<number>((resolve) => {
			if (client.closeCode !== undefined) resolve(client.closeCode);
			else client.ws.once('close', (code) => resolve(code));
		});

	const metric = async (line: RegExp) => Number(line.exec(await (await fetch(`${relay.url}/metrics`)).text())?.[1]);

	beforeAll(async () => {
		await ready();
		relay = await startRelay(LIMITS);
	}, 30_000);
	afterEach(async () => {
		await Promise.all(clients.map((client) => client.close()));
		clients = [];
		// The relay frees a socket's per-IP slot when it sees the close.
		await new Promise((resolve) => setTimeout(resolve, 100));
	});
	afterAll(async () => {
		await relay?.stop();
	});

	it('answers rate_limited past the burst, then serves the socket again once it slows down', async () => {
		const admin = newMember();
		const client = await connect();
		expectFrame(await client.auth(admin), 'ok');
		for (let id = 100; id < 140; id++) client.sendRaw(JSON.stringify({ type: 'pull', id, vault: new TestRecord().id, since: 0 }));
		const limited = await client.next((f) => f.type === 'error' && f.code === 'rate_limited');
		expect(limited).toMatchObject({ code: 'rate_limited' });
		await new Promise((resolve) => setTimeout(resolve, 1000));
		expectError(await client.request({ type: 'pull', vault: new TestRecord().id, since: 0 }), 'not_member');
		expect(await metric(/^carnet_sync_frames_rejected_total\{code="rate_limited"\} (\d+)$/m)).toBeGreaterThan(0);
	});

	it("refuses a push past the vault's quota until a snapshot frees the log", async () => {
		const admin = newMember();
		const record = new TestRecord();
		const client = await connect();
		expectFrame(await client.auth(admin), 'ok');
		expectFrame(await client.request(record.create(admin, newMember())), 'ok');
		const big = 'x'.repeat(1500);
		for (let i = 0; i < 2; i++) expectFrame(await client.request({ type: 'push', envelope: record.envelope(admin, big) }), 'ack');
		const refused = record.envelope(admin, big);
		expectError(await client.request({ type: 'push', envelope: refused }), 'quota');
		expectFrame(await client.request({ type: 'snapshot', snapshot: record.snapshot(admin, 'small', 2) }), 'ok');
		expect(expectFrame(await client.request({ type: 'push', envelope: refused }), 'ack').seq).toBe(3);
	});

	it('caps the sockets of one IP address', async () => {
		for (let i = 0; i < 4; i++) await connect();
		await expect(SyncClient.connect(relay.url)).rejects.toThrow(/429/);
		await clients.pop()!.close();
		await new Promise((resolve) => setTimeout(resolve, 100));
		await connect();
	});

	it('accepts WebSocket upgrades on /sync only', async () => {
		const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/elsewhere`);
		const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
		expect(status).toBe(404);
	});

	it('drops a socket that stops answering pings, keeps one that answers', async () => {
		const dead = await connect({ autoPong: false });
		const live = await connect();
		expectFrame(await live.auth(newMember()), 'ok');
		expectFrame(await dead.auth(newMember()), 'ok');
		expect(await closed(dead)).toBe(1006); // terminated, no close handshake
		expect(live.ws.readyState).toBe(WebSocket.OPEN);
	});

	it('closes a socket that does not authenticate in time', async () => {
		const idle = await connect();
		expect(await closed(idle)).toBe(1008);
	});

	it('counts open sockets and closes them on a graceful stop', async () => {
		const client = await connect();
		expectFrame(await client.auth(newMember()), 'ok');
		expect(await metric(/^carnet_sync_sockets_open (\d+)$/m)).toBe(1);
		const code = closed(client);
		await relay.stop();
		expect(await code).toBe(1001);
		expect(relay.process.exitCode).toBe(0);
	});
});
