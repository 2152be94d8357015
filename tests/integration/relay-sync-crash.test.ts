import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../../src/lib/core/crypto';
import type { Envelope } from '../../src/lib/core/protocol';
import { databaseBytes, startRelay, type RelayProcess } from '../support/harness';
import { expectFrame, newMember, SyncClient, TestRecord, type Member } from '../support/sync-client';

// Invariant 2: every change the relay acknowledged survives a kill -9. Three writers push
// as fast as the relay acks (several in flight each) while the relay is killed at a random
// moment; each round they first resend what was never acknowledged, as devices do. Then
// invariant 1 on what a crash leaves behind: the database files (WAL included) and every
// process's output hold none of the plaintexts.

const ROUNDS = 5;
const IN_FLIGHT = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('relay sync under kill -9', () => {
	let relay: RelayProcess;
	const outputs: string[] = [];

	beforeAll(async () => {
		await ready();
		// The storm is the load here, not the rate limit.
		relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
	}, 30_000);
	afterAll(async () => {
		await relay?.stop();
	});

	it(`keeps every acknowledged envelope through ${ROUNDS} crashes`, async () => {
		const record = new TestRecord();
		const admin = newMember();
		const writers: Member[] = [admin, newMember(), newMember()];
		const setup = await SyncClient.connect(relay.url);
		expectFrame(await setup.auth(admin), 'ok');
		expectFrame(await setup.request(record.create(admin, newMember())), 'ok');
		for (const writer of writers.slice(1)) expectFrame(await setup.request(record.add(admin, writer, 'admin')), 'ok');
		await setup.close();

		const plaintexts: string[] = [];
		const acked = new Map<number, Envelope>();
		const refusals: string[] = [];
		const unacked = new Map<string, Envelope[]>(writers.map((w) => [w.id, []]));

		/** Pushes `envelope`, recording its ack; a socket killed under it just leaves it unacked. */
		async function push(client: SyncClient, envelope: Envelope): Promise<void> {
			let answer;
			try {
				answer = await client.request({ type: 'push', envelope });
			} catch {
				return;
			}
			if (answer.type !== 'ack') return void refusals.push(JSON.stringify(answer));
			acked.set(answer.seq, envelope);
			const queue = unacked.get(envelope.author)!;
			queue.splice(queue.indexOf(envelope), 1);
		}

		/** One writer until its socket dies: resend the unacknowledged, then new changes, IN_FLIGHT at a time. */
		async function write(writer: Member): Promise<void> {
			const client = await SyncClient.connect(relay.url);
			expectFrame(await client.auth(writer, record.id), 'ok');
			authenticated += 1;
			const inFlight = new Set<Promise<void>>();
			const send = async (envelope: Envelope) => {
				const sent = push(client, envelope).finally(() => inFlight.delete(sent));
				inFlight.add(sent);
				if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
			};
			for (const envelope of [...unacked.get(writer.id)!]) await send(envelope);
			while (client.closeCode === undefined) {
				const text = `Observation ${plaintexts.length}: glucose ${randomBytes(4).toString('hex')} mmol/L`;
				plaintexts.push(text);
				const envelope = record.envelope(writer, text);
				unacked.get(writer.id)!.push(envelope);
				await send(envelope);
			}
			await Promise.all(inFlight);
		}

		let authenticated = 0;
		for (let round = 0; round < ROUNDS; round++) {
			const before = acked.size;
			authenticated = 0;
			const storm = Promise.all(writers.map(write));
			// Kill at a random moment once every writer is in and acks flow (a slow machine
			// must not see the kill land during a handshake, which is not what is tested here).
			while (acked.size === before || authenticated < writers.length) await sleep(10);
			await sleep(100 + Math.random() * 300);
			const killed = relay;
			relay = await killed.restart(); // kill -9, then a new process on the same DATA_DIR
			outputs.push(killed.output());
			await storm;
		}
		expect(refusals).toEqual([]);

		const reader = await SyncClient.connect(relay.url);
		expectFrame(await reader.auth(admin, record.id), 'ok');
		const stored = new Map<number, Envelope>();
		let since = 0;
		let head = -1;
		while (since !== head) {
			const batch = expectFrame(await reader.request({ type: 'pull', vault: record.id, since }), 'batch');
			for (const { seq, envelope } of batch.envelopes) stored.set(seq, envelope);
			head = batch.head;
			since = batch.envelopes.at(-1)?.seq ?? head;
		}
		await reader.close();
		expect(stored.size).toBe(head); // no hole in the log
		expect(head).toBeGreaterThanOrEqual(acked.size);
		for (const [seq, envelope] of acked) expect(stored.get(seq)).toEqual(envelope);
		expect(acked.size).toBeGreaterThan(ROUNDS * writers.length);

		outputs.push(relay.output());
		const everything = Buffer.concat([databaseBytes(relay), Buffer.from(outputs.join('\n'))]);
		expect(everything.includes(Buffer.from(record.id))).toBe(true);
		for (const text of plaintexts) expect(everything.includes(Buffer.from(text))).toBe(false);
	}, 60_000);
});
