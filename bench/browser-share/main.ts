// share_create_ms on the patient's device as it runs: Chromium, its real IndexedDB, the app's
// client code, the relay that serves this page (bench/share.ts) on loopback.
import { Carnet } from '../../src/lib/client';
import { addEntry, type ShareableSection } from '../../src/lib/core/record';
import { IDENTITY, PASSPHRASE } from '../record-scenario';
import { fillSampleRecord } from '../sample-record';

interface ShareBenchOptions {
	entries: number;
	documents: number;
	documentBytes: number;
	sections: ShareableSection[];
	runs: number;
}

async function run(options: ShareBenchOptions) {
	// The page's origin is the relay's: Carnet.open() syncs with it, as the app does.
	const carnet = await Carnet.open({ dbName: 'carnet-share-bench' });
	const { session } = await carnet.create({ passphrase: PASSPHRASE, identity: IDENTITY });
	const vaultId = session.records()[0].vaultId;
	const record = await session.open(vaultId);
	await record.change((doc, ctx) => void fillSampleRecord(doc, options.entries, ctx));
	const documents: string[] = [];
	for (let i = 0; i < options.documents; i++) {
		let id = '';
		await record.change((doc, ctx) => {
			id = addEntry(doc, 'documents', { type: 'imaging-report', title: `Scanner ${i + 1}`, date: `2026-10-0${i + 1}` }, ctx);
		});
		// Random bytes: a scan or a PDF does not compress either.
		const bytes = new Uint8Array(options.documentBytes);
		for (let o = 0; o < bytes.length; o += 65536) crypto.getRandomValues(bytes.subarray(o, o + 65536));
		await session.files(vaultId).attach(id, { name: `scanner-${i + 1}.pdf`, contentType: 'application/pdf', data: bytes });
		documents.push(id);
	}
	await record.flush();
	const shares = session.shares(vaultId);
	const create: number[] = [];
	const steps: Record<string, number[]> = {};
	let link = '';
	// One share first, not counted: the first run of a page compiles the code it runs
	// (reported apart as `first`).
	let first = 0;
	for (let i = -1; i < options.runs; i++) {
		let last = performance.now();
		const t0 = last;
		const share = await shares.create(
			{
				kind: 'consultation',
				label: '',
				sections: options.sections,
				documents,
				expiresAt: new Date(Date.now() + 30 * 60_000),
				allowContributions: true
			},
			(_done, _total, step) => {
				const now = performance.now();
				if (i >= 0) (steps[step] ??= []).push(now - last);
				last = now;
			}
		);
		if (i < 0) first = performance.now() - t0;
		else create.push(performance.now() - t0);
		link = share.link;
	}
	await session.lock();
	carnet.close();
	return { create, first, steps, link };
}

(globalThis as unknown as { carnetShareBench: typeof run }).carnetShareBench = run;
