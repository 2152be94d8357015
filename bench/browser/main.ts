// The record-open scenario in the browser, on Chromium's real IndexedDB.
import { Carnet } from '../../src/lib/client';
import { DB_NAME, fillRecord, timeOpens } from '../record-scenario';

async function run(runs: number) {
	const carnet = await Carnet.open({ dbName: DB_NAME });
	const { session, vaultId, fillMs } = await fillRecord(carnet);
	await session.lock();
	carnet.close();
	const timings = await timeOpens(() => Carnet.open({ dbName: DB_NAME }), vaultId, runs);
	return { ...timings, fillMs };
}

(globalThis as unknown as { carnetBench: typeof run }).carnetBench = run;
