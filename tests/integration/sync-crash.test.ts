import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../../src/lib/core/crypto';
import { databaseBytes, startRelay, type RelayProcess } from '../support/harness';
import { addAllergy, allergies, creator, freePort, joiner, settle, snapshotOf, type TestDevice } from '../support/devices';

// Invariant 2 seen from the devices: three devices of one patient edit as fast as they can
// while the relay is killed (kill -9) and restarted, five times. Nothing a device wrote may
// be lost: every device ends with every edit, and so does a device that joins afterwards,
// which can only have received what the relay kept. Then invariant 1 on what is left.

const ROUNDS = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sync through relay crashes', () => {
	let relay: RelayProcess;
	const outputs: string[] = [];
	const devices: TestDevice[] = [];

	beforeAll(async () => {
		await ready();
		relay = await startRelay({ PORT: String(await freePort()), RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
	}, 30_000);
	afterAll(async () => {
		await Promise.allSettled(devices.map((d) => d.session?.lock()));
		await relay?.stop();
	});

	it(`loses no change over ${ROUNDS} kill -9 of the relay during a storm of edits; all devices converge`, async () => {
		const a = await creator(relay.url);
		const b = await joiner(relay.url, (await a.session.inviteDevice()).link, 'B');
		const c = await joiner(relay.url, (await a.session.inviteDevice()).link, 'C');
		devices.push(a, b, c);
		const sessions = [a.session, b.session, c.session];
		const records = await Promise.all(sessions.map((s) => s.open(a.vaultId)));
		const written: string[] = [];

		let storming = true;
		const storm = async (i: number) => {
			for (let n = 0; storming; n++) {
				const name = `Storm ${i}.${n}`;
				await addAllergy(records[i], name);
				written.push(name);
				await sleep(2 + Math.random() * 15);
			}
		};
		const storms = [0, 1, 2].map(storm);
		for (let round = 0; round < ROUNDS; round++) {
			await sleep(300 + Math.random() * 400);
			const killed = relay;
			relay = await killed.restart(); // kill -9, then a new process on the same data and port
			outputs.push(killed.output());
			for (const session of sessions) session.sync.connect();
		}
		await sleep(300);
		storming = false;
		await Promise.all(storms);

		await settle(sessions, a.vaultId);
		const expected = [...written].sort();
		expect(expected.length).toBeGreaterThan(ROUNDS * 3);
		for (const record of records) expect(allergies(record)).toEqual(expected);
		const [first, ...others] = records.map(snapshotOf);
		for (const other of others) expect(other).toEqual(first);
		for (const session of sessions) expect(session.sync.issues(a.vaultId)).toEqual([]);

		// A device that was never there gets everything from the relay alone.
		const late = await joiner(relay.url, (await a.session.inviteDevice()).link, 'Late');
		devices.push(late);
		expect(allergies(await late.session.open(a.vaultId))).toEqual(expected);

		outputs.push(relay.output());
		const everything = Buffer.concat([databaseBytes(relay), Buffer.from(outputs.join('\n'))]);
		for (const text of [...written, 'Anaïs', 'Quintard']) expect(everything.includes(Buffer.from(text)), text).toBe(false);
	}, 60_000);
});
