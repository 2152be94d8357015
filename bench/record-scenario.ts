/**
 * The record-open scenario shared by the Node benchmark (fake-indexeddb) and the Chromium one
 * (the browser's IndexedDB): a 5,000-entry sample record written edit by edit, then opened
 * fresh several times with the keys already derived.
 */
import { Carnet, type Session } from '../src/lib/client';
import type { OpenRecord } from '../src/lib/client/record-handle';
import type { RecordView } from '../src/lib/core/record';
import { fillSampleRecord } from './sample-record';

export const ENTRIES = 5000;
/** The fill is written as this many changes (a record grows edit by edit, not in one go). */
export const FILL_BATCHES = 50;
export const DB_NAME = 'carnet-bench';
export const PASSPHRASE = 'bench passphrase';
export const IDENTITY = { givenName: 'Camille', familyName: 'Durand', birthDate: '1971-06-04' };

export const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const round = (x: number, digits = 1) => Number(x.toFixed(digits));
export const rounded = (xs: number[]) => xs.map((x) => round(x));

export async function timed<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
	const start = performance.now();
	const result = await fn();
	return [result, performance.now() - start];
}

/** Creates the device and its record, fills it, compacts it; returns the still-open session. */
export async function fillRecord(carnet: Carnet): Promise<{ session: Session; record: OpenRecord; vaultId: string; fillMs: number }> {
	const { session } = await carnet.create({ passphrase: PASSPHRASE, identity: IDENTITY });
	const [{ vaultId }] = session.records();
	const record = (await session.open(vaultId)) as OpenRecord;
	const [, fillMs] = await timed(async () => {
		for (let b = 0; b < FILL_BATCHES; b++) {
			await record.change((doc, ctx) => void fillSampleRecord(doc, ENTRIES / FILL_BATCHES, ctx, b + 1));
			await record.flush();
		}
	});
	return { session, record, vaultId, fillMs };
}

/**
 * Opens the record `runs` times on a fresh device object each time (what a reload does),
 * timing read + decrypt + Automerge load, and the first view the home page builds. The
 * Argon2id unlock stays outside the timing: it is reported as its own figure.
 */
export async function timeOpens(
	openDevice: () => Promise<Carnet>,
	vaultId: string,
	runs: number,
	collectGarbage: () => void = () => {}
): Promise<{ open: number[]; load: number[]; view: number[]; home: number[]; entries: number }> {
	const open: number[] = [];
	const load: number[] = [];
	const view: number[] = [];
	const home: number[] = [];
	let entries = 0;
	for (let i = 0; i < runs; i++) {
		const device = await openDevice();
		const session = await device.unlock(PASSPHRASE);
		collectGarbage();
		const start = performance.now();
		const record = await session.open(vaultId);
		const opened = performance.now();
		const v = record.view();
		const viewed = performance.now();
		// What the home page then reads of the (lazy) view is part of opening the record.
		readHome(v);
		const end = performance.now();
		open.push(end - start);
		load.push(opened - start);
		view.push(viewed - opened);
		home.push(end - viewed);
		entries = Object.values(v.sections).reduce((n, list) => n + list.length, 0);
		await session.lock();
		device.close();
	}
	return { open, load, view, home, entries };
}

/**
 * What the home page reads of a view on its first render: every summary card, the count of
 * unreadable values and the identity. The view computes each part when first read, so this
 * is where the cost of reading the entries shows; the record-open figures include it.
 */
export function readHome(view: RecordView): number {
	const { summary } = view;
	const cards = [
		summary.allergies,
		summary.activeConditions,
		summary.currentTreatments,
		summary.vaccinationsDue,
		summary.contacts,
		summary.latestMeasurements,
		summary.documents.recent
	];
	return cards.reduce((n, card) => n + card.length, view.unreadable + (view.identity ? 1 : 0));
}
