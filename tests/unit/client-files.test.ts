/**
 * The client's file service (src/lib/client/files) on one device over fake-indexeddb, without a
 * relay: sealing into pieces, opening them again, the checks before anything is written, the
 * statuses, damage on the disk, deletion, and entries written before files had keys.
 * Against the real relay: tests/integration/files-relay.test.ts.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	Carnet,
	DEFAULT_MAX_FILE_BYTES,
	FileTooLargeError,
	FileUnavailableError,
	LockedError,
	type FileService,
	type FileStatus,
	type RecordHandle,
	type Session
} from '../../src/lib/client';
import { openCarnetDb } from '../../src/lib/client/db';
import { InProcessCipher } from '../../src/lib/client/files';
import { CIPHER_CHECKS } from '../support/file-cipher-conformance';
import { FILE_PIECE_BYTES, fromBase64url, hash, ready, sealedLength, toBase64url } from '../../src/lib/core/crypto';
import { addEntry, RecordValidationError } from '../../src/lib/core/record';
import { bucketFor, toStoredBytes } from '../../src/lib/core/record/layout';

const DB_NAME = 'carnet-files';

/** Random bytes of any length (getRandomValues draws at most 64 KiB at a time). */
function random(size: number): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(size);
	for (let o = 0; o < size; o += 65536) crypto.getRandomValues(out.subarray(o, Math.min(size, o + 65536)));
	return out;
}

// The FileCipher suite (tests/support/file-cipher-conformance.ts) on the in-process cipher; the
// worker one runs it in Chromium (tests/e2e/files-worker.test.ts).
describe('FileCipher conformance: in process', () => {
	it.each(CIPHER_CHECKS.map((check) => [check.name, check] as const))('%s', async (_name, check) => {
		await ready();
		await check.run(() => new InProcessCipher());
	});
});

describe('the file service of one record, offline', () => {
	let factory: IDBFactory;
	let carnet: Carnet;
	let session: Session;
	let vaultId: string;
	let record: RecordHandle;
	let files: FileService;

	const addDocument = async (title = 'Ordonnance') => {
		let id = '';
		await record.change((doc, ctx) => {
			id = addEntry(doc, 'documents', { type: 'prescription', title, date: '2026-11-02' }, ctx);
		});
		return id;
	};
	/** Every row of the file stores. */
	const rows = async () => {
		const db = await openCarnetDb(factory, DB_NAME);
		try {
			const tx = db.transaction(['blobs', 'blobState']);
			return {
				blobs: await tx.objectStore('blobs').getAllKeys(),
				blobState: (await tx.objectStore('blobState').getAllKeys()).filter((k) => !k[1].startsWith('~'))
			};
		} finally {
			db.close();
		}
	};

	beforeAll(async () => {
		await ready();
		factory = new IDBFactory();
		carnet = await Carnet.open({ indexedDB: factory, dbName: DB_NAME });
		session = (await carnet.create({ passphrase: 'correct horse battery staple', identity: { givenName: 'Anaïs', familyName: 'Quintard', birthDate: '1984-03-09' } })).session;
		vaultId = session.records()[0].vaultId;
		record = await session.open(vaultId);
		files = session.files(vaultId);
	});
	afterAll(async () => {
		await session?.lock();
		carnet?.close();
	});

	it('attaches and opens a file byte for byte: pieces here, the upload queued', async () => {
		const id = await addDocument();
		const data = random(FILE_PIECE_BYTES * 2 + 12345);
		const progress: number[] = [];
		const meta = await files.attach(id, { name: 'scan.pdf', contentType: 'application/pdf', data }, (p) => progress.push(p));
		expect(meta).toMatchObject({ name: 'scan.pdf', contentType: 'application/pdf', size: data.length });
		expect(fromBase64url(meta.key)).toHaveLength(32);
		expect(meta.hash).toBe(toBase64url(hash(data, undefined, 32)));
		expect(progress.at(-1)).toBe(1);
		expect(record.view().sections.documents.find((d) => d.id === id)?.file).toEqual(meta);
		const { blobs, blobState } = await rows();
		expect(blobs.filter((k) => k[1] === meta.blob)).toHaveLength(Math.ceil(sealedLength(data.length) / FILE_PIECE_BYTES));
		expect(blobState).toContainEqual([vaultId, meta.blob]);
		// No relay: it waits.
		expect(files.status(id)).toEqual({ state: 'waiting' });

		const opened = await files.open(id);
		expect(opened.meta).toEqual(meta);
		expect(opened.blob.type).toBe('application/pdf');
		expect(Buffer.from(await opened.blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
		const [stored] = await files.getMany([id]);
		expect(Buffer.from(stored!.bytes).equals(Buffer.from(data))).toBe(true);
	});

	it('takes a Blob, read a piece at a time, and an empty file', async () => {
		const id = await addDocument();
		const data = random(FILE_PIECE_BYTES + 3);
		await files.attach(id, { name: 'photo.jpg', contentType: 'image/jpeg', data: new Blob([data]), thumb: Buffer.from('jpeg').toString('base64') });
		expect(Buffer.from(await (await files.open(id)).blob.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
		expect(record.view().sections.documents.find((d) => d.id === id)?.file?.thumb).toBe('anBlZw==');
		const empty = await addDocument();
		await files.attach(empty, { name: 'vide.txt', contentType: 'text/plain', data: new Uint8Array(0) });
		expect((await files.open(empty)).blob.size).toBe(0);
	});

	it('refuses a file over the relay’s limit, and bad metadata, before writing anything', async () => {
		const id = await addDocument();
		const before = await rows();
		// Zero pages the refusal never reads: no 100 MB actually touched.
		await expect(files.attach(id, { name: 'big.bin', contentType: 'application/octet-stream', data: new Uint8Array(DEFAULT_MAX_FILE_BYTES + 1) })).rejects.toSatisfy(
			(error) => error instanceof FileTooLargeError && error.code === 'file_too_large' && error.params.max === DEFAULT_MAX_FILE_BYTES
		);
		await expect(files.attach(id, { name: '', contentType: 'text/plain', data: new Uint8Array(1) })).rejects.toBeInstanceOf(RecordValidationError);
		await expect(files.attach(id, { name: 'x', contentType: 'text/plain', data: new Uint8Array(1), thumb: 'not base64!' })).rejects.toBeInstanceOf(RecordValidationError);
		await expect(files.attach('unknown-document', { name: 'x', contentType: 'text/plain', data: new Uint8Array(1) })).rejects.toBeInstanceOf(RecordValidationError);
		expect(await rows()).toEqual(before);
		expect(record.view().sections.documents.find((d) => d.id === id)?.file).toBeUndefined();
		expect(files.status(id)).toEqual({ state: 'none' });
	});

	it('reports sealing with its progress, then waiting, to subscribers', async () => {
		const id = await addDocument();
		const seen: FileStatus[] = [];
		const stop = files.subscribe(() => seen.push(files.status(id)));
		await files.attach(id, { name: 'a.pdf', contentType: 'application/pdf', data: random(FILE_PIECE_BYTES * 3) });
		stop();
		const states = seen.map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
		expect(states).toEqual(['sealing', 'waiting']);
		const progress = seen.filter((s) => s.state === 'sealing').map((s) => (s as { progress: number }).progress);
		expect(progress[0]).toBe(0);
		expect(progress.at(-1)).toBe(1);
		expect([...progress].sort((x, y) => x - y)).toEqual(progress);
	});

	it('answers file_corrupt for an altered piece and drops it, so the next open fetches it again', async () => {
		const id = await addDocument();
		const meta = await files.attach(id, { name: 'a.pdf', contentType: 'application/pdf', data: random(FILE_PIECE_BYTES + 10) });
		const db = await openCarnetDb(factory, DB_NAME);
		const piece = (await db.get('blobs', [vaultId, meta.blob, 1]))!;
		piece[5] ^= 0x40;
		await db.put('blobs', piece, [vaultId, meta.blob, 1]);
		db.close();
		await expect(files.open(id)).rejects.toSatisfy((error) => error instanceof FileUnavailableError && error.code === 'file_corrupt');
		expect(files.status(id)).toEqual({ state: 'failed', code: 'file_corrupt' });
		expect((await rows()).blobs.filter((k) => k[1] === meta.blob)).toEqual([[vaultId, meta.blob, 0]]);
		// The rest must come from the relay, which this device has none of.
		await expect(files.open(id)).rejects.toMatchObject({ code: 'offline' });
	});

	it('deletes a document: its entry, its pieces here, and queues the relay’s copy for deletion', async () => {
		const id = await addDocument();
		const meta = await files.attach(id, { name: 'a.pdf', contentType: 'application/pdf', data: random(5000) });
		await files.deleteDocument(id);
		expect(record.view().sections.documents.some((d) => d.id === id)).toBe(false);
		const { blobs } = await rows();
		expect(blobs.filter((k) => k[1] === meta.blob)).toEqual([]);
		const db = await openCarnetDb(factory, DB_NAME);
		expect(await db.get('blobState', [vaultId, meta.blob])).toMatchObject({ delete: true, stored: 0 });
		db.close();
		await expect(files.open(id)).rejects.toMatchObject({ code: 'file_missing' });
	});

	it('reads a document whose file has the shape of before (sha256, no key) as a document without file', async () => {
		const id = await addDocument('Ancien scan');
		const entry = record.view().sections.documents.find((d) => d.id === id)!;
		await record.change((doc) => {
			const { id: _id, hidden: _hidden, ...stored } = entry as typeof entry & { hidden?: boolean };
			bucketFor(doc, 'documents', id)[id] = toStoredBytes({ ...stored, file: { name: 'old.pdf', contentType: 'application/pdf', size: 3, sha256: 's'.repeat(43) } });
		});
		const read = record.view().sections.documents.find((d) => d.id === id);
		expect(read).toMatchObject({ id, title: 'Ancien scan' });
		expect(read?.file).toBeUndefined();
		expect(files.status(id)).toEqual({ state: 'none' });
		await expect(files.open(id)).rejects.toMatchObject({ code: 'file_missing' });
		// And a file can be attached to it now.
		await files.attach(id, { name: 'new.pdf', contentType: 'application/pdf', data: random(10) });
		expect(record.view().sections.documents.find((d) => d.id === id)?.file?.name).toBe('new.pdf');
	});

	it('stops with the session’s lock', async () => {
		const id = await addDocument();
		await files.attach(id, { name: 'a.pdf', contentType: 'application/pdf', data: random(10) });
		await session.lock();
		expect(() => session.files(vaultId)).toThrow(LockedError);
		await expect(files.open(id)).rejects.toBeInstanceOf(LockedError);
	});
});

describe('IndexedDB version 4', () => {
	it('replaces version 3’s device-only attachments with the blob stores', async () => {
		const factory = new IDBFactory();
		await new Promise<void>((resolve, reject) => {
			const request = factory.open('v3', 3);
			request.onupgradeneeded = () => {
				for (const name of ['device', 'vaults', 'chunks', 'sync', 'outbox', 'attachments', 'shareState']) request.result.createObjectStore(name);
			};
			request.onsuccess = () => {
				const tx = request.result.transaction('attachments', 'readwrite');
				tx.objectStore('attachments').put(new Uint8Array([1, 2, 3]), ['vault', 'document']);
				tx.oncomplete = () => {
					request.result.close();
					resolve();
				};
			};
			request.onerror = () => reject(request.error);
		});
		const db = await openCarnetDb(factory, 'v3');
		expect(db.version).toBe(4);
		expect([...db.objectStoreNames].sort()).toEqual(['blobState', 'blobs', 'chunks', 'device', 'outbox', 'shareState', 'sync', 'vaults']);
		db.close();
		const fresh = await openCarnetDb(new IDBFactory(), 'new');
		expect([...fresh.objectStoreNames].sort()).toEqual(['blobState', 'blobs', 'chunks', 'device', 'outbox', 'shareState', 'sync', 'vaults']);
		fresh.close();
	});
});
