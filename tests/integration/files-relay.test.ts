/**
 * Documents' files between two devices of one record through the real relay process
 * (docs/ATTACHMENTS.md): each device is the app's client code over its own fake IndexedDB.
 * Lazy download, resumed uploads across a relay crash, the offline outbox, deletion and the
 * relay's references, what the relay's disk holds, and sharing with files from another device.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileService, FileStatus, RecordHandle } from '../../src/lib/client';
import type { Files } from '../../src/lib/client/files';
import { FILE_PIECE_BYTES, ready, sealedLength } from '../../src/lib/core/crypto';
import { openShl, parseShlink } from '../../src/lib/core/share';
import { setHidden } from '../../src/lib/core/record';
import { startRelay, type RelayProcess } from '../support/harness';
import { add, creator, freePort, joiner, settle, until, type TestDevice } from '../support/devices';

/** Random bytes of any length (getRandomValues draws at most 64 KiB at a time). */
function random(size: number): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(size);
	for (let o = 0; o < size; o += 65536) crypto.getRandomValues(out.subarray(o, Math.min(size, o + 65536)));
	return out;
}

/** Resolves once `files.status(id)` satisfies `check`. */
function untilStatus(files: FileService, id: string, check: (s: FileStatus) => boolean, timeoutMs = 20_000): Promise<void> {
	return new Promise((resolve, reject) => {
		if (check(files.status(id))) return resolve();
		const timer = setTimeout(() => {
			stop();
			reject(new Error(`status stayed ${JSON.stringify(files.status(id))}`));
		}, timeoutMs);
		const stop = files.subscribe(() => {
			if (!check(files.status(id))) return;
			clearTimeout(timer);
			stop();
			resolve();
		});
	});
}

/** Every file under `dir`, recursively. */
function walk(dir: string): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		return statSync(path).isDirectory() ? walk(path) : [path];
	});
}

/** The bytes the relay's blob endpoints received in PUT bodies, counted from when `start` is called. */
function countUploads() {
	const real = globalThis.fetch;
	let sent = 0;
	const offsets: number[] = [];
	globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
		const url = String(input);
		if (init?.method === 'PUT' && url.includes('/blobs/')) {
			const body = init.body;
			sent += body instanceof Blob ? body.size : body instanceof Uint8Array ? body.length : 0;
			offsets.push(Number(new URL(url).searchParams.get('offset')));
		}
		return real(input, init);
	}) as typeof fetch;
	return {
		get sent() {
			return sent;
		},
		offsets,
		reset() {
			sent = 0;
			offsets.length = 0;
		},
		stop() {
			globalThis.fetch = real;
		}
	};
}

describe('documents’ files through the relay', () => {
	let relay: RelayProcess;
	let a: TestDevice & { vaultId: string };
	let b: TestDevice;
	let vaultId: string;
	let ra: RecordHandle;
	let rb: RecordHandle;
	const filesA = () => a.session!.files(vaultId);
	const filesB = () => b.session!.files(vaultId);
	/** A document on A with `data` attached; its id. */
	const documentWith = async (data: Uint8Array, name = 'scan.pdf') => {
		const id = await add(ra, 'documents', { type: 'lab-report', title: `Bilan ${name}`, date: '2026-11-20' });
		await filesA().attach(id, { name, contentType: 'application/pdf', data });
		return id;
	};

	beforeAll(async () => {
		await ready();
		// A fixed port, so that the relay restarted on the same data keeps its address; no grace
		// before unreferenced blobs are collected, so that refs can be seen at work.
		relay = await startRelay({ PORT: String(await freePort()), RATE_PER_SECOND: '10000', RATE_BURST: '10000', BLOB_GC_GRACE_MS: '0' });
		a = await creator(relay.url);
		vaultId = a.vaultId;
		b = await joiner(relay.url, (await a.session!.inviteDevice()).link);
		ra = await a.session!.open(vaultId);
		rb = await b.session!.open(vaultId);
		await settle([a.session!, b.session!], vaultId);
	}, 60_000);
	afterAll(async () => {
		await Promise.allSettled([a?.session?.lock(), b?.session?.lock()]);
		await relay?.stop();
	});

	it('uploads a document’s file from A; B downloads it when opened, byte for byte, and keeps it', async () => {
		const data = random(FILE_PIECE_BYTES * 2 + 777);
		const seenA: string[] = [];
		const id = await add(ra, 'documents', { type: 'lab-report', title: 'Bilan', date: '2026-11-20' });
		const stopA = filesA().subscribe(() => seenA.push(filesA().status(id).state));
		const meta = await filesA().attach(id, { name: 'bilan.pdf', contentType: 'application/pdf', data });
		await untilStatus(filesA(), id, (s) => s.state === 'uploaded');
		stopA();
		// Sealing, maybe waiting a moment, uploading, uploaded: in that order.
		const order = ['sealing', 'waiting', 'uploading', 'uploaded'];
		const states = seenA.filter((s, i) => s !== seenA[i - 1]);
		expect(states).toEqual([...states].sort((x, y) => order.indexOf(x) - order.indexOf(y)));
		expect(states).toEqual(expect.arrayContaining(['sealing', 'uploading', 'uploaded']));

		await settle([a.session!, b.session!], vaultId);
		await until(rb, () => rb.view().sections.documents.some((d) => d.id === id && d.file !== undefined));
		expect(filesB().status(id)).toEqual({ state: 'remote' });
		const seenB: string[] = [];
		const stopB = filesB().subscribe(() => seenB.push(filesB().status(id).state));
		const progress: number[] = [];
		const opened = await filesB().open(id, (p) => progress.push(p));
		stopB();
		expect(opened.meta).toEqual(meta);
		expect(Buffer.from(await opened.blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
		expect(seenB).toContain('downloading');
		expect(filesB().status(id)).toEqual({ state: 'uploaded' });
		expect(progress.at(-1)).toBe(1);
		// Kept: it opens with the relay out of reach.
		b.session!.sync.disconnect();
		const realFetch = globalThis.fetch;
		globalThis.fetch = (() => Promise.reject(new TypeError('no network'))) as typeof fetch;
		try {
			expect(Buffer.from(await (await filesB().open(id)).blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
		} finally {
			globalThis.fetch = realFetch;
			b.session!.sync.connect();
		}
	});

	it('resumes a cut download from the pieces it kept (?from=), then opens the file', async () => {
		const data = random(FILE_PIECE_BYTES * 3 + 5);
		const id = await documentWith(data, 'coupe.pdf');
		await untilStatus(filesA(), id, (s) => s.state === 'uploaded');
		await settle([a.session!, b.session!], vaultId);
		await until(rb, () => rb.view().sections.documents.some((d) => d.id === id && d.file !== undefined));
		const real = globalThis.fetch;
		const downloads: string[] = [];
		// The first download's body breaks after 1.5 MiB, as a dropped connection would.
		globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
			const response = await real(input, init);
			const url = new URL(String(input));
			if ((init?.method ?? 'GET') !== 'GET' || !/\/blobs\/[^/]+$/.test(url.pathname)) return response;
			downloads.push(url.search);
			if (downloads.length > 1) return response;
			const reader = response.body!.getReader();
			let passed = 0;
			const cut = new ReadableStream<Uint8Array>({
				async pull(controller) {
					const next = await reader.read();
					if (next.done || passed >= 1.5 * FILE_PIECE_BYTES) {
						await reader.cancel();
						return controller.error(new TypeError('connection reset'));
					}
					passed += next.value.length;
					controller.enqueue(next.value);
				}
			});
			return new Response(cut, { status: response.status, headers: response.headers });
		}) as typeof fetch;
		try {
			await expect(filesB().open(id)).rejects.toMatchObject({ code: 'offline' });
			expect(filesB().status(id)).toEqual({ state: 'remote' });
			const opened = await filesB().open(id);
			expect(Buffer.from(await opened.blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
		} finally {
			globalThis.fetch = real;
		}
		expect(downloads).toEqual(['', `?from=${FILE_PIECE_BYTES}`]);
	});

	it('resumes an upload cut by a relay crash from the relay’s offset, not from 0', async () => {
		const data = random(20 * 1024 * 1024);
		const length = sealedLength(data.length);
		const counter = countUploads();
		try {
			const id = await add(ra, 'documents', { type: 'imaging-report', title: 'IRM', date: '2026-11-20' });
			// Crash the relay once two 4 MiB parts are in.
			const crashed = untilStatus(filesA(), id, (s) => s.state === 'uploading' && s.progress >= 0.35, 30_000).then(() => relay.crash());
			await filesA().attach(id, { name: 'irm.dcm', contentType: 'application/dicom', data });
			await crashed;
			const before = counter.sent;
			expect(before).toBeLessThan(length);
			counter.reset();
			relay = await relay.restart();
			// The device reconnects by itself; its outbox resumes.
			await untilStatus(filesA(), id, (s) => s.state === 'uploaded', 60_000);
			expect(counter.offsets[0]).toBeGreaterThan(0);
			expect(counter.sent).toBeLessThan(length);
			expect(counter.sent).toBeLessThanOrEqual(length - counter.offsets[0] + 4 * 1024 * 1024);
			await settle([a.session!, b.session!], vaultId);
			expect(Buffer.from(await (await filesB().open(id)).blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
		} finally {
			counter.stop();
		}
	}, 120_000);

	it('queues a file attached offline, and a deletion made offline, until the device connects', async () => {
		a.session!.sync.disconnect();
		const data = random(100_000);
		const id = await documentWith(data, 'hors-ligne.pdf');
		expect(filesA().status(id)).toEqual({ state: 'waiting' });
		await filesA().flush();
		expect(filesA().status(id)).toEqual({ state: 'waiting' });
		a.session!.sync.connect();
		await untilStatus(filesA(), id, (s) => s.state === 'uploaded');
		await settle([a.session!, b.session!], vaultId);
		expect(Buffer.from(await (await filesB().open(id)).blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);

		const blob = (ra.view().sections.documents.find((d) => d.id === id)!.file as { blob: string }).blob;
		const onRelay = () => walk(join(relay.dataDir, 'blobs')).some((path) => path.endsWith(`/${blob}`));
		a.session!.sync.disconnect();
		await filesA().deleteDocument(id);
		await filesA().flush();
		expect(onRelay()).toBe(true);
		a.session!.sync.connect();
		const deadline = Date.now() + 10_000;
		while (onRelay() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		expect(onRelay()).toBe(false);
	});

	it('deletes a document’s blob on the relay: a device that still has the entry gets file_missing', async () => {
		const id = await documentWith(random(50_000), 'supprime.pdf');
		await untilStatus(filesA(), id, (s) => s.state === 'uploaded');
		await settle([a.session!, b.session!], vaultId);
		const blob = (ra.view().sections.documents.find((d) => d.id === id)!.file as { blob: string }).blob;
		const onRelay = () => walk(join(relay.dataDir, 'blobs')).some((path) => path.endsWith(`/${blob}`));
		expect(onRelay()).toBe(true);
		// B stays on the old record (no sync) while A deletes.
		b.session!.sync.disconnect();
		await filesA().deleteDocument(id);
		await filesA().flush();
		expect(onRelay()).toBe(false);
		expect(ra.view().sections.documents.some((d) => d.id === id)).toBe(false);
		await expect(filesB().open(id)).rejects.toMatchObject({ code: 'file_missing' });
		expect(filesB().status(id)).toEqual({ state: 'failed', code: 'file_missing' });
		b.session!.sync.connect();
		await settle([a.session!, b.session!], vaultId);
		expect(rb.view().sections.documents.some((d) => d.id === id)).toBe(false);
	});

	it('collects blobs the record does not reference once a device posts its refs', async () => {
		// A blob stored without an entry (an import whose entry write failed, say).
		const id = await add(ra, 'documents', { type: 'lab-report', title: 'Orphelin', date: '2026-11-20' });
		const orphan = await (filesA() as Files).store(id, { name: 'orphelin.pdf', contentType: 'application/pdf', data: random(1000) });
		await filesA().flush();
		const onRelay = (blob: string) => walk(join(relay.dataDir, 'blobs')).some((path) => path.endsWith(`/${blob}`));
		expect(onRelay(orphan.blob)).toBe(true);
		// A deletion makes the device post its refs (after syncing).
		const other = await documentWith(random(10), 'autre.pdf');
		await filesA().flush();
		await filesA().deleteDocument(other);
		await filesA().flush();
		const deadline = Date.now() + 10_000;
		while (onRelay(orphan.blob) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
		expect(onRelay(orphan.blob)).toBe(false);
	});

	it('leaves the relay’s disk without a byte of plaintext', async () => {
		const marker = 'CARNET-PLAINTEXT-MARKER-7f3a';
		const text = Buffer.from(`${marker} `.repeat(20_000));
		const id = await documentWith(new Uint8Array(text), 'compte-rendu-confidentiel.txt');
		await untilStatus(filesA(), id, (s) => s.state === 'uploaded');
		const files = walk(join(relay.dataDir, 'blobs'));
		expect(files.length).toBeGreaterThan(0);
		for (const path of files) {
			const bytes = readFileSync(path);
			expect(bytes.includes(marker)).toBe(false);
			expect(bytes.includes('compte-rendu-confidentiel')).toBe(false);
			expect(path).not.toContain(id);
		}
	});

	it('builds a share on B with a file added on A, and never carries a hidden document’s file', async () => {
		const data = utf8('%PDF-1.7 radio du genou');
		const id = await documentWith(data, 'radio.pdf');
		await untilStatus(filesA(), id, (s) => s.state === 'uploaded');
		await settle([a.session!, b.session!], vaultId);
		await until(rb, () => rb.view().sections.documents.some((d) => d.id === id && d.file !== undefined));
		expect(filesB().status(id)).toEqual({ state: 'remote' });
		const info = await b.session!.shares(vaultId).create({
			kind: 'custom',
			label: 'Genou',
			sections: [],
			documents: [id],
			expiresAt: null,
			allowContributions: false
		});
		const attachmentData = async () => {
			const ips = (await openShl(parseShlink(info.link), { recipient: 'Dr Test' })).find((f) => f.contentType === 'application/fhir+json')!;
			const entries = (ips.json as { entry: { resource: Record<string, unknown> }[] }).entry.map((e) => e.resource);
			const references = entries.filter((r) => r.resourceType === 'DocumentReference') as { content: { attachment: { data?: string } }[] }[];
			return references.map((r) => r.content[0].attachment.data);
		};
		expect(await attachmentData()).toEqual([Buffer.from(data).toString('base64')]);
		// Hidden afterwards: the next publication leaves it out, file and all.
		await rb.change((doc, ctx) => setHidden(doc, id, true, ctx));
		expect(await b.session!.shares(vaultId).republish()).toBe(1);
		expect(await attachmentData()).toEqual([]);
	});
});

function utf8(text: string): Uint8Array {
	return new TextEncoder().encode(text);
}

describe('a record’s quota and part size on the relay', () => {
	let relay: RelayProcess;
	let device: TestDevice & { vaultId: string };
	beforeAll(async () => {
		await ready();
		// Parts of 64 KiB at most: the client learns it from the relay and sends parts that fit.
		relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000', BLOB_QUOTA_BYTES: '400000', BLOB_PART_MAX_BYTES: '65536' });
		device = await creator(relay.url);
		await device.session!.sync.whenSynced(device.vaultId);
	}, 60_000);
	afterAll(async () => {
		await device?.session?.lock();
		await relay?.stop();
	});

	it('refuses a file the last known usage leaves no room for, before writing anything', async () => {
		const files = device.session!.files(device.vaultId);
		const record = await device.session!.open(device.vaultId);
		expect(await files.limits()).toEqual({ maxFileBytes: 104857600, quota: 400000, used: 0 });
		const first = await add(record, 'documents', { type: 'lab-report', title: 'Un', date: '2026-11-20' });
		await files.attach(first, { name: 'un.pdf', contentType: 'application/pdf', data: random(200_000) });
		// Five parts of 64 KiB, not one of 4 MiB that this relay would refuse.
		await untilStatus(files, first, (s) => s.state === 'uploaded');
		expect((await files.limits()).used).toBe(sealedLength(200_000));
		const second = await add(record, 'documents', { type: 'lab-report', title: 'Deux', date: '2026-11-20' });
		await expect(files.attach(second, { name: 'deux.pdf', contentType: 'application/pdf', data: random(200_000) })).rejects.toMatchObject({
			code: 'quota',
			params: { used: sealedLength(200_000), quota: 400000 }
		});
		expect(record.view().sections.documents.find((d) => d.id === second)?.file).toBeUndefined();
		expect(files.status(second)).toEqual({ state: 'none' });
	});
});
