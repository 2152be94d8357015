import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encryptStream, hash, paddedSize, randomBytes, ready, sealedLength, toBase64url, utf8Encode } from '../../src/lib/core/crypto';
import { signRequest } from '../../src/lib/core/sync';
import { startRelay, type RelayProcess } from '../support/harness';
import { expectFrame, newMember, SyncClient, TestRecord, type Member } from '../support/sync-client';

// The blob endpoints of docs/ATTACHMENTS.md against the real relay process, with small limits:
// 1 MiB files, 64 KiB parts, a 300 000-byte quota per vault, 1.5 s of grace before refs
// collects. A second relay sweeps uploads after 1.5 s and collects with no grace at all.
// Every blob id used is remembered: none may appear whole in the logs.

const MAX_FILE = 1024 * 1024;
const PART = 64 * 1024;
const QUOTA = 300_000;
const GRACE_MS = 1500;
const TTL_MS = 1500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

interface Blob {
	bytes: Uint8Array;
	id: string;
}

interface Vault {
	record: TestRecord;
	admin: Member;
	socket: SyncClient;
	base: string;
}

/** Every blob id a test used. */
const ids: string[] = [];

/** A file of `size` random bytes sealed as devices seal them: padded, secretstream, its BLAKE2b-256 the id. */
async function sealedFile(size: number): Promise<Blob> {
	const padded = new Uint8Array(paddedSize(size));
	padded.set(randomBytes(size));
	const pieces: Uint8Array[] = [];
	for await (const piece of encryptStream(randomBytes(32), (async function* () {
		yield padded;
	})()))
		pieces.push(piece);
	const bytes = new Uint8Array(Buffer.concat(pieces));
	expect(bytes.length).toBe(sealedLength(size));
	const id = toBase64url(hash(bytes));
	ids.push(id);
	return { bytes, id };
}

/** Random bytes of a possible sealed length under another blob's id: they cannot hash to it. */
function misnamed(length: number): Blob {
	const id = toBase64url(hash(randomBytes(8)));
	ids.push(id);
	return { bytes: new Uint8Array(nodeRandomBytes(length)), id };
}

describe('relay blobs', () => {
	let relay: RelayProcess;
	let clients: SyncClient[] = [];

	beforeAll(async () => {
		await ready();
		relay = await startRelay({
			BLOB_MAX_BYTES: String(MAX_FILE),
			BLOB_PART_MAX_BYTES: String(PART),
			BLOB_QUOTA_BYTES: String(QUOTA),
			BLOB_GC_GRACE_MS: String(GRACE_MS)
		});
	}, 30_000);
	afterEach(async () => {
		for (const client of clients) expect(client.offProtocol).toEqual([]);
		await Promise.all(clients.map((client) => client.close()));
		clients = [];
	});
	afterAll(async () => {
		await relay?.stop();
	});

	/** A registered vault on `on`, its admin and the admin's socket. */
	async function newVault(on: RelayProcess = relay): Promise<Vault> {
		const admin = newMember();
		const record = new TestRecord();
		const socket = await SyncClient.connect(on.url);
		clients.push(socket);
		expectFrame(await socket.auth(admin), 'ok');
		expectFrame(await socket.request(record.create(admin, newMember())), 'ok');
		return { record, admin, socket, base: `/api/vaults/${record.id}/blobs` };
	}

	/** Adds a member with `role` to the vault. */
	async function enrol(vault: Vault, role: 'admin' | 'reader'): Promise<Member> {
		const member = newMember();
		expectFrame(await vault.socket.request(vault.record.add(vault.admin, member, role)), 'ok');
		return member;
	}

	interface Send {
		bytes?: Uint8Array;
		contentType?: string;
		now?: Date;
		/** What the signature covers, when it is not what is sent. */
		signedPath?: string;
		signedBytes?: Uint8Array;
		on?: RelayProcess;
	}

	/** A request signed by `member`. */
	function signed(member: Member, method: string, path: string, send: Send = {}): Promise<Response> {
		const bytes = send.bytes ?? new Uint8Array();
		const authorization = signRequest({
			method,
			path: send.signedPath ?? path,
			body: send.signedBytes ?? bytes,
			member: member.id,
			signer: member.sign,
			now: send.now ?? new Date()
		});
		const headers: Record<string, string> = { authorization };
		if (send.bytes !== undefined) headers['content-type'] = send.contentType ?? 'application/octet-stream';
		return fetch((send.on ?? relay).url + path, { method, headers, body: send.bytes === undefined ? undefined : (bytes as Uint8Array<ArrayBuffer>) });
	}

	/** PUT one part of `blob` at `offset` (PART bytes or what is left). */
	function putPart(vault: Vault, blob: Blob, offset: number, send: Send = {}, member = vault.admin): Promise<Response> {
		const bytes = blob.bytes.subarray(offset, offset + PART);
		return signed(member, 'PUT', `${vault.base}/${blob.id}?offset=${offset}&length=${blob.bytes.length}`, { bytes, ...send });
	}

	/** Uploads `blob` whole; expects the 201. */
	async function upload(vault: Vault, blob: Blob, on?: RelayProcess): Promise<void> {
		for (let offset = 0; offset < blob.bytes.length; offset += PART) {
			const res = await putPart(vault, blob, offset, { on });
			const last = offset + PART >= blob.bytes.length;
			expect(res.status).toBe(last ? 201 : 200);
			expect(await res.json()).toEqual(last ? { state: 'complete', length: blob.bytes.length } : { state: 'partial', offset: offset + PART });
		}
	}

	async function answer(res: Promise<Response> | Response): Promise<[number, unknown]> {
		const r = await res;
		const text = await r.text();
		return [r.status, text === '' ? undefined : JSON.parse(text)];
	}

	async function status(vault: Vault, id: string, member = vault.admin, on?: RelayProcess): Promise<unknown> {
		const [code, body] = await answer(signed(member, 'GET', `${vault.base}/${id}/status`, { on }));
		expect(code).toBe(200);
		return body;
	}

	async function usage(vault: Vault): Promise<unknown> {
		const [code, body] = await answer(signed(vault.admin, 'GET', vault.base));
		expect(code).toBe(200);
		return body;
	}

	/**
	 * A PUT written by hand: headers sent, then `body` if any, and never the end of the body.
	 * Resolves with the answer, which therefore came before the relay read the body.
	 */
	function unfinishedPut(member: Member, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
		const authorization = signRequest({ method: 'PUT', path, body: new Uint8Array(), member: member.id, signer: member.sign, now: new Date() });
		return new Promise((resolve, reject) => {
			const req = httpRequest(relay.url + path, { method: 'PUT', headers: { authorization, 'content-type': 'application/octet-stream', ...headers } }, (res) => {
				let text = '';
				res.on('data', (chunk: Buffer) => (text += chunk.toString()));
				res.on('end', () => {
					req.destroy();
					resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) });
				});
			});
			req.on('error', reject);
			req.flushHeaders();
			if (body !== undefined) req.write(body);
		});
	}

	/** The relay's counters. */
	async function metrics(): Promise<Record<string, number>> {
		const text = await (await fetch(`${relay.url}/metrics`)).text();
		const values: Record<string, number> = {};
		for (const [, name, value] of text.matchAll(/^(carnet_blob\w+) (\d+)$/gm)) values[name] = Number(value);
		return values;
	}

	describe('uploads', () => {
		it('resumes in parts: a lost answer costs a 409 with the offset held; the last part answers 201', async () => {
			const vault = await newVault();
			const blob = await sealedFile(100_000); // 131 130 sealed bytes: 3 parts
			const length = blob.bytes.length;
			expect(await status(vault, blob.id)).toEqual({ state: 'absent' });
			expect(await answer(putPart(vault, blob, 0))).toEqual([200, { state: 'partial', offset: PART }]);
			// The answer was lost: the device sends the same part again, and learns where to go on.
			expect(await answer(putPart(vault, blob, 0))).toEqual([409, { error: 'offset', offset: PART }]);
			expect(await answer(putPart(vault, blob, 2 * PART))).toEqual([409, { error: 'offset', offset: PART }]);
			expect(await status(vault, blob.id)).toEqual({ state: 'partial', offset: PART, length });
			expect(await usage(vault)).toEqual({ used: PART, quota: QUOTA, maxFileBytes: MAX_FILE, partMaxBytes: PART, count: 0 });
			expect(await answer(putPart(vault, blob, PART))).toEqual([200, { state: 'partial', offset: 2 * PART }]);
			expect(await answer(putPart(vault, blob, 2 * PART))).toEqual([201, { state: 'complete', length }]);
			// Once complete, any PUT of it writes nothing.
			expect(await answer(putPart(vault, blob, 2 * PART))).toEqual([200, { state: 'complete', length }]);
			expect(await answer(putPart(vault, blob, 0))).toEqual([200, { state: 'complete', length }]);
			expect(await status(vault, blob.id)).toEqual({ state: 'complete', length });
			expect(await usage(vault)).toEqual({ used: length, quota: QUOTA, maxFileBytes: MAX_FILE, partMaxBytes: PART, count: 1 });
		});

		it('lets one of two PUTs of the same part at once in, and tells the other where the upload is', async () => {
			const vault = await newVault();
			const blob = await sealedFile(100_000);
			const answers = await Promise.all([answer(putPart(vault, blob, 0)), answer(putPart(vault, blob, 0))]);
			expect(answers).toContainEqual([200, { state: 'partial', offset: PART }]);
			expect(answers).toContainEqual([409, { error: 'offset', offset: PART }]);
			expect(await answer(putPart(vault, blob, PART))).toEqual([200, { state: 'partial', offset: 2 * PART }]);
			expect((await putPart(vault, blob, 2 * PART)).status).toBe(201);
		});

		it('completes an upload a crash left with every byte but not completed, on its status or its next PUT', async () => {
			const vault = await newVault();
			const [byStatus, byPut] = [await sealedFile(10), await sealedFile(20)];
			const wrong = misnamed(sealedLength(0));
			// What the relay leaves on disk when it dies between a last part's fsync and the rename.
			const dir = join(relay.dataDir, 'blobs', vault.record.id);
			mkdirSync(dir, { recursive: true });
			for (const blob of [byStatus, byPut, wrong]) writeFileSync(join(dir, `${blob.id}.${blob.bytes.length}.part`), blob.bytes);
			expect(await status(vault, byStatus.id)).toEqual({ state: 'complete', length: byStatus.bytes.length });
			expect(await status(vault, wrong.id)).toEqual({ state: 'absent' });
			expect(await answer(putPart(vault, byPut, PART))).toEqual([201, { state: 'complete', length: byPut.bytes.length }]);
			expect(readdirSync(dir).sort()).toEqual([byStatus.id, byPut.id].sort());
			expect(await usage(vault)).toEqual({ used: byStatus.bytes.length + byPut.bytes.length, quota: QUOTA, maxFileBytes: MAX_FILE, partMaxBytes: PART, count: 2 });
		});

		it('discards an upload whose bytes do not hash to its id (422)', async () => {
			const vault = await newVault();
			const blob = misnamed(sealedLength(0)); // one 65 577-byte chunk: 2 parts
			expect((await putPart(vault, blob, 0)).status).toBe(200);
			expect(await answer(putPart(vault, blob, PART))).toEqual([422, { error: 'hash_mismatch' }]);
			expect(await status(vault, blob.id)).toEqual({ state: 'absent' });
			expect(await usage(vault)).toMatchObject({ used: 0, count: 0 });
			expect((await signed(vault.admin, 'GET', `${vault.base}/${blob.id}`)).status).toBe(404);
		});

		it('answers 413 before reading the body: a length over the limit or impossible, a part over the limit', async () => {
			const vault = await newVault();
			const id = misnamed(1).id;
			const path = (length: number) => `${vault.base}/${id}?offset=0&length=${length}`;
			const tooLarge = { error: 'too_large', maxFileBytes: MAX_FILE };
			// A huge file announced with a 1-byte body that never comes.
			for (const length of [sealedLength(MAX_FILE + 1), sealedLength(100 * MAX_FILE), sealedLength(0) + 1, 1]) {
				const res = await unfinishedPut(vault.admin, path(length), { 'content-length': '1' });
				expect([res.status, res.body]).toEqual([413, tooLarge]);
				expect(res.headers.connection).toBe('close');
			}
			// A part declared past BLOB_PART_MAX_BYTES, half sent.
			const res = await unfinishedPut(vault.admin, path(sealedLength(MAX_FILE)), { 'content-length': String(PART + 1) }, new Uint8Array(1000));
			expect([res.status, res.body]).toEqual([413, tooLarge]);
			// Without a Content-Length, the bytes are counted as they come.
			const chunked = await unfinishedPut(vault.admin, path(sealedLength(MAX_FILE)), { 'transfer-encoding': 'chunked' }, new Uint8Array(PART + 1));
			expect([chunked.status, chunked.body]).toEqual([413, tooLarge]);
			expect(await status(vault, id)).toEqual({ state: 'absent' });
		});

		it('answers 507 past the vault’s quota, counting the whole length of an upload and what it holds', async () => {
			const vault = await newVault();
			// The largest file there is fits the limit, not this quota.
			const big = misnamed(sealedLength(MAX_FILE));
			expect(await answer(putPart(vault, big, 0))).toEqual([507, { error: 'quota', used: 0, quota: QUOTA }]);
			const [a, b] = [await sealedFile(70_000), await sealedFile(70_000)]; // 131 130 bytes each
			await upload(vault, a);
			expect((await putPart(vault, b, 0)).status).toBe(200);
			expect((await putPart(vault, b, PART)).status).toBe(200);
			const c = await sealedFile(0); // 65 577 bytes: 262 260 + 65 577 > 300 000
			expect(await answer(putPart(vault, c, 0))).toEqual([507, { error: 'quota', used: 131_130 + 2 * PART, quota: QUOTA }]);
			expect((await putPart(vault, b, 2 * PART)).status).toBe(201);
			expect(await status(vault, c.id)).toEqual({ state: 'absent' });
			expect((await signed(vault.admin, 'DELETE', `${vault.base}/${a.id}`)).status).toBe(204);
			await upload(vault, c);
			expect(await usage(vault)).toEqual({ used: 131_130 + 65_577, quota: QUOTA, maxFileBytes: MAX_FILE, partMaxBytes: PART, count: 2 });
		});

		it('answers 400 for a bad query or body, 415 for another type, and keeps the upload as it was', async () => {
			const vault = await newVault();
			const blob = await sealedFile(100_000);
			const length = blob.bytes.length;
			const part = blob.bytes.subarray(0, PART);
			const put = (query: string, bytes = part, contentType?: string) => answer(signed(vault.admin, 'PUT', `${vault.base}/${blob.id}${query}`, { bytes, contentType }));
			for (const query of [
				'',
				'?offset=0',
				`?length=${length}`,
				`?offset=00&length=${length}`,
				`?offset=-1&length=${length}`,
				`?offset=0x0&length=${length}`,
				`?offset=0&length=${length}&length=${length}`,
				`?offset=0&length=${length}&extra=1`,
				`?offset=${length}&length=${length}`,
				`?offset=0&length=${length}.0`,
				`?offset=99999999999999999&length=${length}`
			]) {
				expect(await put(query)).toEqual([400, { error: 'bad_request' }]);
			}
			expect(await put(`?offset=0&length=${length}`, new Uint8Array())).toEqual([400, { error: 'bad_request' }]);
			expect(await put(`?offset=0&length=${length}`, part, 'text/plain')).toEqual([415, { error: 'unsupported_media_type' }]);
			expect(await put(`?offset=0&length=${length}`)).toEqual([200, { state: 'partial', offset: PART }]);
			// Another length than the upload's first, a body past the length.
			expect(await put(`?offset=${PART}&length=${sealedLength(200_000)}`, blob.bytes.subarray(PART, 2 * PART))).toEqual([400, { error: 'bad_request' }]);
			expect(await put(`?offset=${2 * PART}&length=${length}`, new Uint8Array(length - 2 * PART + 1))).toEqual([409, { error: 'offset', offset: PART }]);
			expect((await putPart(vault, blob, PART)).status).toBe(200);
			expect(await put(`?offset=${2 * PART}&length=${length}`, new Uint8Array(length - 2 * PART + 1))).toEqual([400, { error: 'bad_request' }]);
			expect(await status(vault, blob.id)).toEqual({ state: 'partial', offset: 2 * PART, length });
			expect((await putPart(vault, blob, 2 * PART)).status).toBe(201);
		});
	});

	describe('downloads', () => {
		it('streams the blob whole (200) or from a byte (206), 416 from its end on, 404 until complete', async () => {
			const vault = await newVault();
			const blob = await sealedFile(150_000);
			const length = blob.bytes.length;
			const path = `${vault.base}/${blob.id}`;
			expect(await answer(signed(vault.admin, 'GET', path))).toEqual([404, { error: 'not_found' }]);
			expect((await putPart(vault, blob, 0)).status).toBe(200);
			expect(await answer(signed(vault.admin, 'GET', path))).toEqual([404, { error: 'not_found' }]);
			for (let offset = PART; offset < length; offset += PART) await putPart(vault, blob, offset);

			for (const query of ['', '?from=0']) {
				const whole = await signed(vault.admin, 'GET', path + query);
				expect(whole.status).toBe(200);
				expect(whole.headers.get('content-type')).toBe('application/octet-stream');
				expect(whole.headers.get('content-length')).toBe(String(length));
				expect(whole.headers.get('cache-control')).toBe('no-store');
				expect(hex(new Uint8Array(await whole.arrayBuffer()))).toBe(hex(blob.bytes));
			}
			for (const from of [1, 100_000, length - 1]) {
				const res = await signed(vault.admin, 'GET', `${path}?from=${from}`);
				expect(res.status).toBe(206);
				expect(res.headers.get('content-length')).toBe(String(length - from));
				expect(res.headers.get('content-range')).toBe(`bytes ${from}-${length - 1}/${length}`);
				expect(hex(new Uint8Array(await res.arrayBuffer()))).toBe(hex(blob.bytes.subarray(from)));
			}
			for (const from of [length, length + 1]) {
				const res = await signed(vault.admin, 'GET', `${path}?from=${from}`);
				expect(res.status).toBe(416);
				expect(res.headers.get('content-range')).toBe(`bytes */${length}`);
				expect(await res.json()).toEqual({ error: 'range' });
			}
			for (const query of ['?from=-1', '?from=01', '?from=1&from=2', '?to=3', '?from=']) {
				expect(await answer(signed(vault.admin, 'GET', path + query))).toEqual([400, { error: 'bad_request' }]);
			}
		});

		it('keeps blobs per vault: the same id elsewhere is another blob, and another vault cannot see it', async () => {
			const [one, two] = [await newVault(), await newVault()];
			const blob = await sealedFile(10);
			await upload(one, blob);
			expect(await status(two, blob.id)).toEqual({ state: 'absent' });
			expect((await signed(two.admin, 'GET', `${two.base}/${blob.id}`)).status).toBe(404);
			// Two's admin asking in one's vault is no member there.
			expect(await answer(signed(two.admin, 'GET', `${one.base}/${blob.id}/status`))).toEqual([401, { error: 'not_member' }]);
			await upload(two, blob);
			expect((await signed(two.admin, 'DELETE', `${two.base}/${blob.id}`)).status).toBe(204);
			expect(await status(one, blob.id)).toEqual({ state: 'complete', length: blob.bytes.length });
		});
	});

	describe('deletion and collection', () => {
		it('DELETE answers 204 every time; the blob, complete or partial, is gone at once', async () => {
			const vault = await newVault();
			const blob = await sealedFile(10);
			await upload(vault, blob);
			const path = `${vault.base}/${blob.id}`;
			const res = await signed(vault.admin, 'DELETE', path);
			expect(res.status).toBe(204);
			expect(await res.text()).toBe('');
			expect((await signed(vault.admin, 'GET', path)).status).toBe(404);
			expect(await status(vault, blob.id)).toEqual({ state: 'absent' });
			expect((await signed(vault.admin, 'DELETE', path)).status).toBe(204);
			const partial = await sealedFile(100_000);
			expect((await putPart(vault, partial, 0)).status).toBe(200);
			expect((await signed(vault.admin, 'DELETE', `${vault.base}/${partial.id}`)).status).toBe(204);
			expect(await status(vault, partial.id)).toEqual({ state: 'absent' });
			expect(await usage(vault)).toMatchObject({ used: 0, count: 0 });
			expect(await answer(signed(vault.admin, 'DELETE', `${path}?x=1`))).toEqual([400, { error: 'bad_request' }]);
		});

		it('refs deletes the blobs not listed and older than the grace, complete or partial, and nothing else', async () => {
			const vault = await newVault();
			const [listed, old, partial] = [await sealedFile(10), await sealedFile(20), await sealedFile(100_000)];
			await upload(vault, listed);
			await upload(vault, old);
			expect((await putPart(vault, partial, 0)).status).toBe(200);
			await sleep(GRACE_MS + 100);
			const recent = await sealedFile(30);
			await upload(vault, recent);
			const refs = (ids: string[], send: Send = {}, member = vault.admin) =>
				answer(signed(member, 'POST', `${vault.base}/refs`, { bytes: utf8Encode(JSON.stringify({ ids })), contentType: 'application/json', ...send }));
			// Not JSON, not the schema: nothing happens.
			expect(await refs([listed.id], { contentType: 'text/plain' })).toEqual([415, { error: 'unsupported_media_type' }]);
			expect(await refs([listed.id.slice(1)])).toEqual([400, { error: 'bad_request' }]);
			expect(await answer(signed(vault.admin, 'POST', `${vault.base}/refs`, { bytes: utf8Encode('{"ids":[],"x":1}'), contentType: 'application/json' }))).toEqual([400, { error: 'bad_request' }]);
			expect(await answer(signed(vault.admin, 'POST', `${vault.base}/refs`, { bytes: utf8Encode('[1'), contentType: 'application/json' }))).toEqual([400, { error: 'bad_request' }]);
			expect(await usage(vault)).toMatchObject({ count: 3 });

			expect(await refs([listed.id, misnamed(1).id])).toEqual([200, { removed: 2 }]);
			expect(await status(vault, old.id)).toEqual({ state: 'absent' });
			expect(await status(vault, partial.id)).toEqual({ state: 'absent' });
			expect(await status(vault, listed.id)).toMatchObject({ state: 'complete' });
			expect(await status(vault, recent.id)).toMatchObject({ state: 'complete' });
			expect(await refs([listed.id])).toEqual([200, { removed: 0 }]);
			expect(await usage(vault)).toEqual({ used: listed.bytes.length + recent.bytes.length, quota: QUOTA, maxFileBytes: MAX_FILE, partMaxBytes: PART, count: 2 });
		});
	});

	describe('access', () => {
		it('refuses unsigned, forged, stale and replayed requests, outsiders and removed members; readers only read', async () => {
			const vault = await newVault();
			const blob = await sealedFile(100_000);
			const stored = await sealedFile(10);
			await upload(vault, stored);
			const path = `${vault.base}/${stored.id}`;
			expect(await answer(fetch(relay.url + path))).toEqual([401, { error: 'unauthenticated' }]);
			const forger = newMember();
			const forged = signRequest({ method: 'GET', path, body: new Uint8Array(), member: forger.id, signer: forger.sign, now: new Date() }).replace(forger.id, vault.admin.id);
			expect(await answer(fetch(relay.url + path, { headers: { authorization: forged } }))).toEqual([401, { error: 'unauthenticated' }]);
			expect(await answer(signed(vault.admin, 'GET', path, { now: new Date(Date.now() - 3 * 60_000) }))).toEqual([401, { error: 'stale_request' }]);
			// The signature covers the query (offsets and lengths) and the body.
			expect(await answer(signed(vault.admin, 'GET', `${path}?from=5`, { signedPath: `${path}?from=6` }))).toEqual([401, { error: 'unauthenticated' }]);
			expect(await answer(putPart(vault, blob, 0, { signedPath: `${vault.base}/${blob.id}?offset=0&length=${sealedLength(0)}` }))).toEqual([401, { error: 'unauthenticated' }]);
			expect(await answer(putPart(vault, blob, 0, { signedBytes: new Uint8Array(PART) }))).toEqual([401, { error: 'unauthenticated' }]);
			expect(await answer(signed(newMember(), 'GET', path))).toEqual([401, { error: 'not_member' }]);
			expect(await answer(signed(newMember(), 'PUT', `${vault.base}/${blob.id}?offset=0&length=${blob.bytes.length}`, { bytes: blob.bytes.subarray(0, PART) }))).toEqual([401, { error: 'not_member' }]);
			expect(await answer(signed(vault.admin, 'GET', `/api/vaults/${toBase64url(randomBytes(16))}/blobs`))).toEqual([401, { error: 'not_member' }]);
			expect(await status(vault, blob.id)).toEqual({ state: 'absent' });

			const reader = await enrol(vault, 'reader');
			expect(await status(vault, stored.id, reader)).toMatchObject({ state: 'complete' });
			expect((await signed(reader, 'GET', vault.base)).status).toBe(200);
			const read = await signed(reader, 'GET', path);
			expect(read.status).toBe(200);
			expect(hex(new Uint8Array(await read.arrayBuffer()))).toBe(hex(stored.bytes));
			expect(await answer(putPart(vault, blob, 0, {}, reader))).toEqual([403, { error: 'forbidden' }]);
			expect(await answer(signed(reader, 'DELETE', path))).toEqual([403, { error: 'forbidden' }]);
			const refs = { bytes: utf8Encode(JSON.stringify({ ids: [] })), contentType: 'application/json' };
			expect(await answer(signed(reader, 'POST', `${vault.base}/refs`, refs))).toEqual([403, { error: 'forbidden' }]);
			expect(await status(vault, stored.id)).toMatchObject({ state: 'complete' });

			const second = await enrol(vault, 'admin');
			expect((await putPart(vault, blob, 0, {}, second)).status).toBe(200);
			expectFrame(await vault.socket.request(vault.record.remove(vault.admin, second)), 'ok');
			expect(await answer(signed(second, 'GET', path))).toEqual([401, { error: 'not_member' }]);
			expect(await answer(putPart(vault, blob, PART, {}, second))).toEqual([401, { error: 'not_member' }]);
			expect(await answer(signed(second, 'DELETE', path))).toEqual([401, { error: 'not_member' }]);
			expect(await answer(signed(second, 'POST', `${vault.base}/refs`, refs))).toEqual([401, { error: 'not_member' }]);
			expect(await status(vault, blob.id)).toEqual({ state: 'partial', offset: PART, length: blob.bytes.length });
		});

		it('answers 404 for malformed paths and ids, 405 for other methods', async () => {
			const vault = await newVault();
			const id = misnamed(1).id;
			const get = (path: string) => answer(signed(vault.admin, 'GET', path));
			for (const path of [
				`${vault.base}/${id.slice(1)}`,
				`${vault.base}/${id}x`,
				`${vault.base}/${id.slice(0, 42)}_`, // not canonical base64url
				`${vault.base}/${id}/status/x`,
				`${vault.base}/${id}/other`,
				`${vault.base}/`,
				`/api/vaults/not-a-vault/blobs`
			]) {
				expect(await get(path)).toEqual([404, { error: 'not_found' }]);
			}
			expect((await signed(vault.admin, 'POST', `${vault.base}/${id}`)).status).toBe(405);
			expect((await signed(vault.admin, 'GET', `${vault.base}/refs`)).status).toBe(405);
			expect((await signed(vault.admin, 'PUT', vault.base)).status).toBe(405);
			expect((await signed(vault.admin, 'DELETE', `${vault.base}/${id}/status`)).status).toBe(405);
			expect(await answer(signed(vault.admin, 'GET', `${vault.base}?x=1`))).toEqual([400, { error: 'bad_request' }]);
		});
	});

	describe('observability', () => {
		it('counts bytes in, bytes out and deletions', async () => {
			const vault = await newVault();
			const blob = await sealedFile(10);
			const before = await metrics();
			await upload(vault, blob);
			expect((await putPart(vault, blob, 0)).status).toBe(200); // complete already: nothing written
			const from = 1000;
			await (await signed(vault.admin, 'GET', `${vault.base}/${blob.id}?from=${from}`)).arrayBuffer();
			expect((await signed(vault.admin, 'DELETE', `${vault.base}/${blob.id}`)).status).toBe(204);
			expect((await signed(vault.admin, 'DELETE', `${vault.base}/${blob.id}`)).status).toBe(204);
			const after = await metrics();
			expect(after.carnet_blob_bytes_in_total - before.carnet_blob_bytes_in_total).toBe(blob.bytes.length);
			expect(after.carnet_blob_bytes_out_total - before.carnet_blob_bytes_out_total).toBe(blob.bytes.length - from);
			expect(after.carnet_blobs_deleted_total - before.carnet_blobs_deleted_total).toBe(1);
		});

		it('never logs a whole blob id', async () => {
			const output = relay.output();
			expect(ids.length).toBeGreaterThan(10);
			for (const id of ids) expect(output).not.toContain(id);
			expect(output).toContain('"msg":"blob stored"');
			expect(ids.some((id) => output.includes(`"blob":"${id.slice(0, 8)}"`))).toBe(true);
			// Every refusal above was an answer, not a failure.
			expect(output).not.toContain('"level":"error"');
		});
	});

	describe('expiry', () => {
		let second: RelayProcess;
		beforeAll(async () => {
			second = await startRelay({ BLOB_PARTIAL_TTL_MS: String(TTL_MS), BLOB_SWEEP_MS: '250', BLOB_GC_GRACE_MS: '0' });
		}, 30_000);
		afterAll(async () => {
			await second?.stop();
		});

		it('sweeps an upload untouched for BLOB_PARTIAL_TTL_MS, not before; a grace of 0 collects at once', async () => {
			const vault = await newVault(second);
			const complete = await sealedFile(10);
			await upload(vault, complete, second);
			const partial = await sealedFile(100_000);
			const started = Date.now();
			expect((await putPart(vault, partial, 0, { on: second })).status).toBe(200);
			expect(await status(vault, partial.id, vault.admin, second)).toMatchObject({ state: 'partial' });
			let gone: number | undefined;
			while (gone === undefined && Date.now() - started < 10_000) {
				await sleep(100);
				if (((await status(vault, partial.id, vault.admin, second)) as { state: string }).state === 'absent') gone = Date.now();
			}
			expect(gone).toBeDefined();
			// File times are a few milliseconds coarser than Date.now().
			expect(gone! - started).toBeGreaterThanOrEqual(TTL_MS - 20);
			expect(await status(vault, complete.id, vault.admin, second)).toMatchObject({ state: 'complete' });

			const fresh = await sealedFile(20);
			await upload(vault, fresh, second);
			const [code, body] = await answer(
				signed(vault.admin, 'POST', `${vault.base}/refs`, { bytes: utf8Encode(JSON.stringify({ ids: [complete.id] })), contentType: 'application/json', on: second })
			);
			expect([code, body]).toEqual([200, { removed: 1 }]);
			expect(await status(vault, fresh.id, vault.admin, second)).toEqual({ state: 'absent' });
			expect(second.output()).toContain('"msg":"blob uploads expired"');
			for (const id of ids) expect(second.output()).not.toContain(id);
		});
	});
});
