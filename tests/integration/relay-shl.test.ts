import { randomBytes as nodeRandomBytes, createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encrypt, randomBytes, ready, toBase64url, utf8Encode } from '../../src/lib/core/crypto';
import { decryptFile, encryptFileSegments, randomKey } from '../../src/lib/core/crypto/jwe';
import { SHARE_PUT_BINARY_TYPE } from '../../src/lib/core/protocol';
import { signRequest } from '../../src/lib/core/sync';
import { startRelay, type RelayProcess } from '../support/harness';
import { expectFrame, newMember, SyncClient, TestRecord, type Member } from '../support/sync-client';

// The SMART Health Links API of docs/SHARING.md against the real relay process: one relay for
// the file (3 passcode attempts, 4 KiB contributions, 64 KiB shares, 2 s tickets), a fresh
// vault per test. Secrets put in are remembered and searched for in the database and logs.

const ATTEMPTS = 3;
const CONTRIBUTION_MAX = 4096;
const SHARE_MAX = 64 * 1024;
const TICKET_TTL_MS = 2000;

const b64 = (bytes: number) => nodeRandomBytes(bytes).toString('base64url');
const newLinkId = () => b64(32);
/** A compact JWE of about `length` characters (the relay never opens one). */
const fakeJwe = (length = 200) => `eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwiY3R5IjoiYXBwbGljYXRpb24vZmhpcitqc29uIn0..${b64(12)}.${b64(Math.ceil((length * 3) / 4))}.${b64(16)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Vault {
	record: TestRecord;
	admin: Member;
	socket: SyncClient;
}

describe('relay SMART Health Links', () => {
	let relay: RelayProcess;
	let clients: SyncClient[] = [];
	/** Strings that must never reach the database files or the logs. */
	const secrets: string[] = [];
	/** Strings that may be in the database but never in the logs. */
	const unlogged: string[] = [];

	beforeAll(async () => {
		await ready();
		relay = await startRelay({
			SHL_PASSCODE_ATTEMPTS: String(ATTEMPTS),
			CONTRIBUTION_MAX_BYTES: String(CONTRIBUTION_MAX),
			SHL_MAX_BODY_BYTES: String(SHARE_MAX),
			SHL_TICKET_TTL_MS: String(TICKET_TTL_MS),
			// The rate limit has its own test below, on its own relay.
			SHL_RATE_PER_SECOND: '10000',
			SHL_RATE_BURST: '10000'
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

	/** A socket authenticated as `member` for `vault`. */
	async function connect(member: Member, vault?: string): Promise<SyncClient> {
		const client = await SyncClient.connect(relay.url);
		clients.push(client);
		expectFrame(await client.auth(member, vault), 'ok');
		return client;
	}

	/** A registered vault, its admin and the admin's socket, subscribed to the vault. */
	async function newVault(): Promise<Vault> {
		const admin = newMember();
		const record = new TestRecord();
		const socket = await connect(admin);
		expectFrame(await socket.request(record.create(admin, newMember())), 'ok');
		expectFrame(await socket.request({ type: 'subscribe', vault: record.id }), 'ok');
		return { record, admin, socket };
	}

	/** Adds a member with `role` to the vault. */
	async function enrol(vault: Vault, role: 'admin' | 'reader'): Promise<Member> {
		const member = newMember();
		expectFrame(await vault.socket.request(vault.record.add(vault.admin, member, role)), 'ok');
		return member;
	}

	/** A request signed by `member` (Authorization: Carnet …), at `now` unless told. */
	function signed(member: Member, method: string, path: string, body?: unknown, now = new Date()): Promise<Response> {
		const bytes = body === undefined ? new Uint8Array() : utf8Encode(JSON.stringify(body));
		const authorization = signRequest({ method, path, body: bytes, member: member.id, signer: member.sign, now });
		return fetch(relay.url + path, {
			method,
			headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
			body: body === undefined ? undefined : (bytes as Uint8Array<ArrayBuffer>)
		});
	}

	/** A request with these exact body bytes, signed by `member`. */
	function signedBytes(member: Member, method: string, path: string, bytes: Uint8Array, contentType = SHARE_PUT_BINARY_TYPE, signedBody = bytes): Promise<Response> {
		const authorization = signRequest({ method, path, body: signedBody, member: member.id, signer: member.sign, now: new Date() });
		return fetch(relay.url + path, { method, headers: { authorization, 'content-type': contentType }, body: bytes as Uint8Array<ArrayBuffer> });
	}

	/** A binary share PUT body (protocol/shl.ts sharePutMetaSchema): u32be(n) ‖ meta JSON ‖ the files' segments. */
	function binaryBody(meta: Record<string, unknown>, segments: Uint8Array[]): Uint8Array {
		const head = utf8Encode(JSON.stringify(meta));
		const body = new Uint8Array(4 + head.length + segments.reduce((n, s) => n + s.length, 0));
		new DataView(body.buffer).setUint32(0, head.length);
		body.set(head, 4);
		let offset = 4 + head.length;
		for (const segment of segments) {
			body.set(segment, offset);
			offset += segment.length;
		}
		return body;
	}

	/** A share body as a device publishes it. */
	function shareBody(overrides: Record<string, unknown> = {}) {
		return {
			exp: null,
			flag: '',
			label: toBase64url(encrypt(randomBytes(32), utf8Encode('Consultation Dr Martin'))),
			files: [{ contentType: 'application/fhir+json', jwe: fakeJwe() }],
			...overrides
		};
	}

	/** Publishes a share in the vault as its admin; returns the link id. */
	async function publish(vault: Vault, overrides: Record<string, unknown> = {}, id = newLinkId()): Promise<string> {
		if (typeof overrides.passcode === 'string') secrets.push(overrides.passcode);
		const res = await signed(vault.admin, 'PUT', `/api/vaults/${vault.record.id}/shares/${id}`, shareBody(overrides));
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ id });
		unlogged.push(id);
		return id;
	}

	/** POST /api/shl/<id> as a viewer. */
	function manifest(id: string, body: Record<string, unknown> = { recipient: 'Dr Alice Martin' }): Promise<Response> {
		if (typeof body.recipient === 'string') unlogged.push(body.recipient);
		return fetch(`${relay.url}/api/shl/${id}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', origin: 'https://viewer.example' },
			body: JSON.stringify(body)
		});
	}

	async function expectNotFound(res: Response): Promise<void> {
		expect(res.status).toBe(404);
		expect(await res.text()).toBe('{"error":"not_found"}');
		expect(res.headers.get('access-control-allow-origin')).toBe('*');
		expect(res.headers.get('cache-control')).toBe('no-store');
	}

	/** The vault's access log as a member reads it. */
	async function accessLog(vault: Vault, after = 0) {
		const res = await signed(vault.admin, 'GET', `/api/vaults/${vault.record.id}/access?after=${after}`);
		expect(res.status).toBe(200);
		return (await res.json()) as { seq: number; share: string; at: string; recipient: string; outcome: string }[];
	}

	/** The vault's shares as a member lists them. */
	async function listShares(vault: Vault) {
		const res = await signed(vault.admin, 'GET', `/api/vaults/${vault.record.id}/shares`);
		expect(res.status).toBe(200);
		return (await res.json()) as Record<string, unknown>[];
	}

	describe('manifest', () => {
		it('answers files embedded up to embeddedLengthMax and as one-hour locations otherwise', async () => {
			const vault = await newVault();
			const small = fakeJwe(100);
			const big = fakeJwe(3000);
			const id = await publish(vault, {
				files: [
					{ contentType: 'application/fhir+json', jwe: small },
					{ contentType: 'application/vnd.carnet.contribution+json', jwe: big }
				]
			});
			const res = await manifest(id, { recipient: 'Dr Alice Martin', embeddedLengthMax: small.length });
			expect(res.status).toBe(200);
			expect(res.headers.get('content-type')).toBe('application/json');
			expect(res.headers.get('access-control-allow-origin')).toBe('*');
			expect(res.headers.get('cache-control')).toBe('no-store');
			const { files } = (await res.json()) as { files: { contentType: string; embedded?: string; location?: string }[] };
			expect(files[0]).toEqual({ contentType: 'application/fhir+json', embedded: small });
			expect(files[1].contentType).toBe('application/vnd.carnet.contribution+json');
			expect(files[1].location).toMatch(new RegExp(`^${relay.url}/api/shl/${id}/files/[A-Za-z0-9_-]{43}$`));
			const file = await fetch(files[1].location!);
			expect(file.status).toBe(200);
			expect(file.headers.get('content-type')).toBe('application/jose');
			expect(file.headers.get('access-control-allow-origin')).toBe('*');
			expect(file.headers.get('cache-control')).toBe('no-store');
			expect(await file.text()).toBe(big);

			// Without embeddedLengthMax nothing is embedded.
			const again = (await (await manifest(id)).json()) as { files: { location?: string }[] };
			expect(again.files.every((f) => typeof f.location === 'string')).toBe(true);
			expect((await listShares(vault))[0]).toMatchObject({ id, uses: 2, revoked: false, maxUses: null, flag: '' });
		});

		it('logs every request to a known link, in order, and pushes a notice to the vault’s sockets', async () => {
			const vault = await newVault();
			const reader = await enrol(vault, 'reader');
			const readerSocket = await connect(reader, vault.record.id);
			expectFrame(await readerSocket.request({ type: 'subscribe', vault: vault.record.id }), 'ok');
			const outsider = await connect(newMember());
			const id = await publish(vault, { flag: 'P', passcode: 'notice-4711' });

			expect((await manifest(id, { recipient: 'Dr Bob', passcode: 'wrong' })).status).toBe(401);
			expect(await vault.socket.next((f) => f.type === 'notice')).toEqual({ type: 'notice', vault: vault.record.id, kind: 'access', seq: 1 });
			expect(await readerSocket.next((f) => f.type === 'notice')).toEqual({ type: 'notice', vault: vault.record.id, kind: 'access', seq: 1 });
			expect((await manifest(id, { recipient: 'Dr Bob', passcode: 'notice-4711' })).status).toBe(200);
			expect(await vault.socket.next((f) => f.type === 'notice')).toMatchObject({ kind: 'access', seq: 2 });
			await manifest(newLinkId()); // unknown: not logged, no notice

			const log = await accessLog(vault);
			expect(log.map(({ seq, share, recipient, outcome }) => ({ seq, share, recipient, outcome }))).toEqual([
				{ seq: 1, share: id, recipient: 'Dr Bob', outcome: 'wrong_passcode' },
				{ seq: 2, share: id, recipient: 'Dr Bob', outcome: 'opened' }
			]);
			expect(Date.parse(log[0].at)).toBeGreaterThan(Date.now() - 60_000);
			expect((await accessLog(vault, 1)).map((e) => e.seq)).toEqual([2]);
			await sleep(150);
			expect(vault.socket.unsolicited).toEqual([]);
			expect(outsider.unsolicited).toEqual([]);
		});

		it('refuses a bad body (400), a wrong content type (415), and answers 404 for U-style GET and malformed ids', async () => {
			const vault = await newVault();
			const id = await publish(vault);
			for (const body of [{}, { recipient: '' }, { recipient: 'x'.repeat(201) }, { recipient: 'Dr A', embeddedLengthMax: -1 }, { recipient: 3 }]) {
				const res = await manifest(id, body);
				expect(res.status).toBe(400);
				expect(res.headers.get('access-control-allow-origin')).toBe('*');
			}
			const notJson = await fetch(`${relay.url}/api/shl/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
			expect(notJson.status).toBe(400);
			const text = await fetch(`${relay.url}/api/shl/${id}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"recipient":"x"}' });
			expect(text.status).toBe(415);
			const huge = await manifest(id, { recipient: 'Dr A', padding: 'x'.repeat(5000) });
			expect(huge.status).toBe(413);
			await expectNotFound(await fetch(`${relay.url}/api/shl/${id}?recipient=Dr%20A`));
			await expectNotFound(await manifest(id.slice(1)));
			await expectNotFound(await manifest(`${id.slice(0, 42)}_`)); // not canonical base64url
			// Unknown fields are ignored (other SHL viewers).
			expect((await manifest(id, { recipient: 'Dr A', future: true })).status).toBe(200);
			expect((await accessLog(vault)).map((e) => e.outcome)).toEqual(['opened']);
		});

		it('answers exactly the same 404 for unknown, revoked, expired, used-up and locked links', async () => {
			const vault = await newVault();
			const revoked = await publish(vault);
			expect((await signed(vault.admin, 'DELETE', `/api/vaults/${vault.record.id}/shares/${revoked}`)).status).toBe(204);
			const expired = await publish(vault, { exp: Math.floor(Date.now() / 1000) + 1 });
			const usedUp = await publish(vault, { maxUses: 1 });
			expect((await manifest(usedUp)).status).toBe(200);
			const locked = await publish(vault, { flag: 'P', passcode: 'lock-me-1' });
			for (let i = 0; i < ATTEMPTS; i++) expect((await manifest(locked, { recipient: 'x', passcode: 'no' })).status).toBe(401);
			await sleep(2100);
			const answers = await Promise.all(
				[newLinkId(), revoked, expired, usedUp, locked].map(async (id) => {
					const res = await manifest(id, { recipient: 'Dr Eve', passcode: 'lock-me-1' });
					const headers = [...res.headers].filter(([name]) => name !== 'date');
					return { status: res.status, body: await res.text(), headers };
				})
			);
			for (const one of answers) expect(one).toEqual(answers[0]);
			expect(answers[0].status).toBe(404);
			const refused = (await accessLog(vault)).filter((e) => e.recipient === 'Dr Eve');
			expect(refused.map((e) => [e.share, e.outcome])).toEqual([revoked, expired, usedUp, locked].map((id) => [id, 'refused']));
		});
	});

	describe('passcodes', () => {
		it('counts wrong passcodes down, then the link is gone, even for the right one', async () => {
			const vault = await newVault();
			const id = await publish(vault, { flag: 'P', passcode: 'count-down-9' });
			for (let left = ATTEMPTS - 1; left >= 0; left--) {
				const res = await manifest(id, { recipient: 'Dr Mallory', passcode: `guess-${left}` });
				expect(res.status).toBe(401);
				expect(res.headers.get('access-control-allow-origin')).toBe('*');
				expect(await res.json()).toEqual({ error: 'invalid_passcode', remainingAttempts: left });
			}
			await expectNotFound(await manifest(id, { recipient: 'Dr Mallory', passcode: 'count-down-9' }));
			expect((await listShares(vault))[0]).toMatchObject({ attemptsLeft: 0, uses: 0, flag: 'P' });
		});

		it('the right passcode gives its attempt back; a missing one costs none', async () => {
			const vault = await newVault();
			const id = await publish(vault, { flag: 'P', passcode: 'refund-1234' });
			expect(await (await manifest(id, { recipient: 'Dr A', passcode: 'wrong' })).json()).toEqual({
				error: 'invalid_passcode',
				remainingAttempts: ATTEMPTS - 1
			});
			for (let i = 0; i < ATTEMPTS + 1; i++) {
				expect(await (await manifest(id, { recipient: 'Dr A' })).json()).toEqual({ error: 'invalid_passcode', remainingAttempts: ATTEMPTS - 1 });
			}
			expect((await manifest(id, { recipient: 'Dr A', passcode: 'refund-1234' })).status).toBe(200);
			expect((await manifest(id, { recipient: 'Dr A', passcode: 'refund-1234' })).status).toBe(200);
			expect((await listShares(vault))[0]).toMatchObject({ attemptsLeft: ATTEMPTS - 1, uses: 2 });
			const outcomes = (await accessLog(vault)).map((e) => e.outcome);
			expect(outcomes).toEqual(['wrong_passcode', ...Array(ATTEMPTS + 1).fill('wrong_passcode'), 'opened', 'opened']);
		});

		it('never checks more parallel wrong guesses than the budget', async () => {
			const vault = await newVault();
			const id = await publish(vault, { flag: 'P', passcode: 'parallel-77' });
			const answers = await Promise.all(
				Array.from({ length: 10 }, (_, i) => manifest(id, { recipient: 'Dr Parallel', passcode: `wrong-${i}` }).then((res) => res.status))
			);
			const unauthorized = answers.filter((status) => status === 401).length;
			expect(unauthorized).toBeLessThanOrEqual(ATTEMPTS);
			expect(answers.filter((status) => status === 404)).toHaveLength(10 - unauthorized);
			await expectNotFound(await manifest(id, { recipient: 'Dr Parallel', passcode: 'parallel-77' }));
			const outcomes = (await accessLog(vault)).map((e) => e.outcome);
			expect(outcomes.filter((o) => o === 'wrong_passcode')).toHaveLength(unauthorized);
			expect(outcomes.filter((o) => o === 'refused')).toHaveLength(11 - unauthorized);
		});

		it('keeps attempts when the same passcode is republished and resets them for a new one', async () => {
			const vault = await newVault();
			const id = await publish(vault, { flag: 'P', passcode: 'first-code' });
			expect((await manifest(id, { recipient: 'x', passcode: 'nope' })).status).toBe(401);
			await publish(vault, { flag: 'P', passcode: 'first-code' }, id);
			expect((await listShares(vault))[0]).toMatchObject({ attemptsLeft: ATTEMPTS - 1 });
			await publish(vault, { flag: 'P' }, id); // no passcode: the stored one stays
			expect((await manifest(id, { recipient: 'x', passcode: 'first-code' })).status).toBe(200);
			await publish(vault, { flag: 'P', passcode: 'second-code' }, id);
			expect((await listShares(vault))[0]).toMatchObject({ attemptsLeft: ATTEMPTS, uses: 1 });
			expect((await manifest(id, { recipient: 'x', passcode: 'first-code' })).status).toBe(401);
			expect((await manifest(id, { recipient: 'x', passcode: 'second-code' })).status).toBe(200);
		});
	});

	describe('link lifetime', () => {
		it('expires at exp', async () => {
			const vault = await newVault();
			const exp = Math.floor(Date.now() / 1000) + 3;
			const id = await publish(vault, { exp, flag: 'L' });
			const opened = (await (await manifest(id)).json()) as { files: { location: string }[] };
			await sleep(exp * 1000 - Date.now() + 100);
			await expectNotFound(await manifest(id));
			await expectNotFound(await fetch(opened.files[0].location));
			expect((await listShares(vault))[0]).toMatchObject({ id, exp, flag: 'L' });
		});

		it('is revoked at once: files and tickets gone, and the id cannot be published again', async () => {
			const vault = await newVault();
			const id = await publish(vault);
			const opened = (await (await manifest(id)).json()) as { files: { location: string }[] };
			expect((await fetch(opened.files[0].location)).status).toBe(200);
			const res = await signed(vault.admin, 'DELETE', `/api/vaults/${vault.record.id}/shares/${id}`);
			expect(res.status).toBe(204);
			expect(res.headers.get('access-control-allow-origin')).toBeNull();
			await expectNotFound(await fetch(opened.files[0].location));
			await expectNotFound(await manifest(id));
			const again = await signed(vault.admin, 'PUT', `/api/vaults/${vault.record.id}/shares/${id}`, shareBody());
			expect(again.status).toBe(409);
			expect((await listShares(vault))[0]).toMatchObject({ id, revoked: true });
			// Revoking an id never published leaves it revoked for good.
			const early = newLinkId();
			expect((await signed(vault.admin, 'DELETE', `/api/vaults/${vault.record.id}/shares/${early}`)).status).toBe(204);
			expect((await signed(vault.admin, 'PUT', `/api/vaults/${vault.record.id}/shares/${early}`, shareBody())).status).toBe(409);
		});

		it('counts uses up to maxUses; the files of the last answer stay reachable', async () => {
			const vault = await newVault();
			const id = await publish(vault, { maxUses: 2 });
			expect((await manifest(id)).status).toBe(200);
			const last = (await (await manifest(id)).json()) as { files: { location: string }[] };
			await expectNotFound(await manifest(id));
			expect((await fetch(last.files[0].location)).status).toBe(200);
			expect((await listShares(vault))[0]).toMatchObject({ uses: 2, maxUses: 2 });
		});

		it('serves a file only for a real, fresh ticket of that link', async () => {
			const vault = await newVault();
			const id = await publish(vault);
			const other = await publish(vault);
			const { files } = (await (await manifest(id)).json()) as { files: { location: string }[] };
			const ticket = files[0].location.split('/').pop()!;
			await expectNotFound(await fetch(`${relay.url}/api/shl/${id}/files/${newLinkId()}`));
			await expectNotFound(await fetch(`${relay.url}/api/shl/${other}/files/${ticket}`));
			await expectNotFound(await fetch(`${relay.url}/api/shl/${id}/files/not-a-ticket`));
			expect((await fetch(files[0].location)).status).toBe(200);
			await sleep(TICKET_TTL_MS + 200);
			await expectNotFound(await fetch(files[0].location));
			expect((await manifest(id)).status).toBe(200); // the link itself is fine
		});
	});

	describe('CORS and caching', () => {
		it('answers preflights on /api/shl only, and never lets an answer be cached', async () => {
			const id = newLinkId();
			for (const path of [`/api/shl/${id}`, `/api/shl/${id}/files/${newLinkId()}`, `/api/shl/${id}/contributions`]) {
				const res = await fetch(relay.url + path, {
					method: 'OPTIONS',
					headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
				});
				expect(res.status).toBe(204);
				expect(res.headers.get('access-control-allow-origin')).toBe('*');
				expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
				expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization');
				expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
				expect(res.headers.get('cache-control')).toBe('no-store');
			}
			const vault = await newVault();
			const patient = [
				await fetch(`${relay.url}/api/vaults/${vault.record.id}/shares`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } }),
				await signed(vault.admin, 'GET', `/api/vaults/${vault.record.id}/shares`),
				await fetch(`${relay.url}/api/vaults/${vault.record.id}/shares`),
				await fetch(`${relay.url}/api/nothing`)
			];
			for (const res of patient) {
				expect(res.headers.get('access-control-allow-origin')).toBeNull();
				expect(res.headers.get('cache-control')).toBe('no-store');
			}
			expect(patient.map((res) => res.status)).toEqual([405, 200, 401, 404]);
		});
	});

	describe('patient endpoints', () => {
		it('refuse unsigned, forged, stale, outsider and removed members; readers read but do not write', async () => {
			const vault = await newVault();
			const path = `/api/vaults/${vault.record.id}/shares`;
			const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: string }).error];
			expect(await errorOf(await fetch(relay.url + path))).toEqual([401, 'unauthenticated']);
			const forger = newMember();
			const forged = signRequest({ method: 'GET', path, body: new Uint8Array(), member: forger.id, signer: forger.sign, now: new Date() }).replace(
				forger.id,
				vault.admin.id
			);
			expect(await errorOf(await fetch(relay.url + path, { headers: { authorization: forged } }))).toEqual([401, 'unauthenticated']);
			// Signed for another path, replayed here.
			const elsewhere = signRequest({ method: 'GET', path: `${path}?x`, body: new Uint8Array(), member: vault.admin.id, signer: vault.admin.sign, now: new Date() });
			expect(await errorOf(await fetch(relay.url + path, { headers: { authorization: elsewhere } }))).toEqual([401, 'unauthenticated']);
			expect(await errorOf(await signed(vault.admin, 'GET', path, undefined, new Date(Date.now() - 3 * 60_000)))).toEqual([401, 'stale_request']);
			expect(await errorOf(await signed(vault.admin, 'GET', path, undefined, new Date(Date.now() + 3 * 60_000)))).toEqual([401, 'stale_request']);
			expect(await errorOf(await signed(newMember(), 'GET', path))).toEqual([401, 'not_member']);
			expect(await errorOf(await signed(vault.admin, 'GET', `/api/vaults/${b64(16)}/shares`))).toEqual([401, 'not_member']);

			const reader = await enrol(vault, 'reader');
			expect((await signed(reader, 'GET', path)).status).toBe(200);
			const id = newLinkId();
			expect(await errorOf(await signed(reader, 'PUT', `${path}/${id}`, shareBody()))).toEqual([403, 'forbidden']);
			expect(await errorOf(await signed(reader, 'DELETE', `${path}/${id}`))).toEqual([403, 'forbidden']);

			const second = await enrol(vault, 'admin');
			await publish(vault, {}, id);
			expect((await signed(second, 'PUT', `${path}/${id}`, shareBody())).status).toBe(200);
			expectFrame(await vault.socket.request(vault.record.remove(vault.admin, second)), 'ok');
			expect(await errorOf(await signed(second, 'GET', path))).toEqual([401, 'not_member']);
			expect(await errorOf(await signed(second, 'DELETE', `${path}/${id}`))).toEqual([401, 'not_member']);
			expect((await manifest(id)).status).toBe(200);
		});

		it('validates paths, queries and bodies', async () => {
			const vault = await newVault();
			const base = `/api/vaults/${vault.record.id}`;
			const id = newLinkId();
			const status = async (res: Promise<Response>) => (await res).status;
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ flag: 'P' })))).toBe(400); // P needs a passcode
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ passcode: 'x1' })))).toBe(400); // a passcode needs P
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ flag: 'U' })))).toBe(400);
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ files: [] })))).toBe(400);
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ label: 'not base64!' })))).toBe(400);
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ extra: 1 })))).toBe(400);
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ exp: 1.5 })))).toBe(400);
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, shareBody({ files: [{ contentType: 'a/b', jwe: 'not.a.jwe' }] })))).toBe(400);
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/not-an-id`, shareBody()))).toBe(404);
			expect(await status(signed(vault.admin, 'GET', `${base}/access?after=-1`))).toBe(400);
			expect(await status(signed(vault.admin, 'GET', `${base}/access?after=1&after=2`))).toBe(400);
			expect(await status(signed(vault.admin, 'GET', `${base}/access?since=1`))).toBe(400);
			expect(await status(signed(vault.admin, 'GET', `${base}/contributions/${newLinkId()}`))).toBe(404);
			expect(await status(signed(vault.admin, 'GET', `${base}/unknown`))).toBe(404);
			expect(await status(signed(vault.admin, 'POST', `${base}/shares`))).toBe(405);
			expect(await status(signed(vault.admin, 'GET', `${base}/access`))).toBe(200);

			// A share bigger than SHL_MAX_BODY_BYTES is refused before it is parsed.
			const big = shareBody({ files: [{ contentType: 'application/fhir+json', jwe: fakeJwe(SHARE_MAX) }] });
			expect(await status(signed(vault.admin, 'PUT', `${base}/shares/${id}`, big))).toBe(413);

			// An id of another vault is a conflict.
			const mine = await publish(vault);
			const other = await newVault();
			expect(await status(signed(other.admin, 'PUT', `/api/vaults/${other.record.id}/shares/${mine}`, shareBody()))).toBe(409);
			expect(await status(signed(other.admin, 'DELETE', `/api/vaults/${other.record.id}/shares/${mine}`))).toBe(409);
			expect((await manifest(mine)).status).toBe(200);
		});
	});

	describe('binary share PUT', () => {
		/** A real file, encrypted as the patient's device does, and its segment (IV ‖ ciphertext ‖ tag). */
		async function file(key: Uint8Array, text: string, contentType = 'application/fhir+json') {
			const { protectedHeader, iv, sealed } = await encryptFileSegments(utf8Encode(text), key, contentType);
			const segment = new Uint8Array(iv.length + sealed.length);
			segment.set(iv);
			segment.set(sealed, iv.length);
			const b = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
			const jwe = `${protectedHeader}..${b(iv)}.${b(sealed.subarray(0, -16))}.${b(sealed.subarray(-16))}`;
			return { meta: { contentType, protected: protectedHeader, bytes: segment.length }, segment, jwe };
		}

		it('stores the files and serves them as standard compact JWEs, embedded or by location', async () => {
			const vault = await newVault();
			const key = randomKey();
			const ips = await file(key, JSON.stringify({ resourceType: 'Bundle', note: 'é — ✓' }));
			// Longer than the IPS here, so that it is served by location.
			const extension = await file(key, JSON.stringify({ v: 1, pad: 'x'.repeat(500) }), 'application/vnd.carnet.contribution+json');
			const id = newLinkId();
			const meta = { ...shareBody(), files: [ips.meta, extension.meta] };
			const res = await signedBytes(vault.admin, 'PUT', `/api/vaults/${vault.record.id}/shares/${id}`, binaryBody(meta, [ips.segment, extension.segment]));
			expect(res.status).toBe(200);
			expect(await res.json()).toEqual({ id });
			const opened = (await (await manifest(id, { recipient: 'Dr Alice Martin', embeddedLengthMax: ips.jwe.length })).json()) as {
				files: { contentType: string; embedded?: string; location?: string }[];
			};
			expect(opened.files[0]).toEqual({ contentType: 'application/fhir+json', embedded: ips.jwe });
			expect(opened.files[1].contentType).toBe('application/vnd.carnet.contribution+json');
			const served = await (await fetch(opened.files[1].location!)).text();
			expect(served).toBe(extension.jwe);
			expect(Buffer.from((await decryptFile(ips.jwe, key)).plaintext).toString()).toBe('{"resourceType":"Bundle","note":"é — ✓"}');
			expect(await decryptFile(served, key)).toMatchObject({ contentType: 'application/vnd.carnet.contribution+json' });
		});

		it('refuses a body whose parts do not add up, a bad metadata part, or one not signed as sent', async () => {
			const vault = await newVault();
			const path = `/api/vaults/${vault.record.id}/shares/${newLinkId()}`;
			const ips = await file(randomKey(), '{"resourceType":"Bundle"}');
			const status = async (res: Promise<Response>) => (await res).status;
			const meta = (overrides: Record<string, unknown> = {}) => ({ ...shareBody(), files: [ips.meta], ...overrides });
			const good = binaryBody(meta(), [ips.segment]);
			const put = (bytes: Uint8Array) => status(signedBytes(vault.admin, 'PUT', path, bytes));

			expect(await put(binaryBody(meta(), [ips.segment, new Uint8Array(1)]))).toBe(400); // a byte too many
			expect(await put(binaryBody(meta(), [ips.segment.subarray(1)]))).toBe(400); // a byte short
			expect(await put(binaryBody(meta({ files: [{ ...ips.meta, bytes: 28 }] }), [ips.segment.subarray(0, 28)]))).toBe(400); // no ciphertext
			expect(await put(binaryBody(meta({ files: [{ ...ips.meta, protected: 'not base64!' }] }), [ips.segment]))).toBe(400);
			expect(await put(binaryBody(meta({ files: [] }), []))).toBe(400);
			expect(await put(binaryBody(meta({ passcode: 'x1' }), [ips.segment]))).toBe(400); // a passcode needs P
			expect(await put(binaryBody(meta({ extra: 1 }), [ips.segment]))).toBe(400);
			expect(await put(binaryBody(meta({ files: [{ ...ips.meta, jwe: ips.jwe }] }), [ips.segment]))).toBe(400);
			const lying = good.slice();
			new DataView(lying.buffer).setUint32(0, good.length); // a metadata part longer than the body
			expect(await put(lying)).toBe(400);
			const notJson = good.slice();
			notJson[4] = 0x7b + 1;
			expect(await put(notJson)).toBe(400);
			expect(await put(new Uint8Array(3))).toBe(400);
			expect(await status(signedBytes(vault.admin, 'PUT', path, good, 'text/plain'))).toBe(415);
			// The signature covers the bytes sent: one changed byte and the request is refused.
			const tampered = good.slice();
			tampered[tampered.length - 1] ^= 1;
			expect(await status(signedBytes(vault.admin, 'PUT', path, tampered, SHARE_PUT_BINARY_TYPE, good))).toBe(401);
			// Files that would be larger than SHL_MAX_BODY_BYTES once served, though sent in fewer bytes.
			const bulky = new Uint8Array(Math.floor(SHARE_MAX * 0.9));
			expect(await put(binaryBody(meta({ files: [{ ...ips.meta, bytes: bulky.length }] }), [bulky]))).toBe(413);
			expect(await put(good)).toBe(200);
		});
	});

	describe('contributions', () => {
		const token = () => b64(32);
		const tokenHash = (value: string) => createHash('sha256').update(value).digest('base64url');
		const contribute = (id: string, body: Uint8Array, authorization?: string) =>
			fetch(`${relay.url}/api/shl/${id}/contributions`, {
				method: 'POST',
				headers: { 'content-type': 'application/octet-stream', ...(authorization ? { authorization } : {}) },
				body: body as Uint8Array<ArrayBuffer>
			});

		it('stores a sealed contribution for the right token, lists it, serves it, and pushes a notice', async () => {
			const vault = await newVault();
			const secret = token();
			unlogged.push(secret);
			const id = await publish(vault, { contributionTokenHash: tokenHash(secret) });
			const sealed = new Uint8Array(nodeRandomBytes(1000));
			const res = await contribute(id, sealed, `Bearer ${secret}`);
			expect(res.status).toBe(201);
			expect(res.headers.get('access-control-allow-origin')).toBe('*');
			const { id: contributionId } = (await res.json()) as { id: string };
			expect(contributionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
			expect(await vault.socket.next((f) => f.type === 'notice')).toEqual({ type: 'notice', vault: vault.record.id, kind: 'contribution', seq: 1 });

			const list = await signed(vault.admin, 'GET', `/api/vaults/${vault.record.id}/contributions?after=0`);
			const listed = (await list.json()) as { seq: number; id: string; share: string; at: string; bytes: number }[];
			expect(listed).toEqual([{ seq: 1, id: contributionId, share: id, at: expect.any(String), bytes: 1000 }]);
			const fetched = await signed(vault.admin, 'GET', `/api/vaults/${vault.record.id}/contributions/${contributionId}`);
			expect(fetched.headers.get('content-type')).toBe('application/octet-stream');
			expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(sealed);
			const elsewhere = await newVault();
			expect((await signed(elsewhere.admin, 'GET', `/api/vaults/${elsewhere.record.id}/contributions/${contributionId}`)).status).toBe(404);

			// The uses budget is for manifests: a used-up link still takes the professional's contribution.
			const once = await publish(vault, { maxUses: 1, contributionTokenHash: tokenHash(secret) });
			expect((await manifest(once)).status).toBe(200);
			expect((await contribute(once, sealed, `Bearer ${secret}`)).status).toBe(201);
			expect(await vault.socket.next((f) => f.type === 'notice' && f.kind === 'contribution')).toMatchObject({ seq: 2 });
		});

		it('refuses a wrong or missing token (401), links without contributions or revoked (404), too large (413)', async () => {
			const vault = await newVault();
			const secret = token();
			const id = await publish(vault, { contributionTokenHash: tokenHash(secret) });
			const body = new Uint8Array(100);
			expect((await contribute(id, body, `Bearer ${token()}`)).status).toBe(401);
			expect(await (await contribute(id, body)).json()).toEqual({ error: 'invalid_token' });
			expect((await contribute(id, body, secret)).status).toBe(401);
			await expectNotFound(await contribute(await publish(vault), body, `Bearer ${secret}`));
			await expectNotFound(await contribute(newLinkId(), body, `Bearer ${secret}`));

			const tooBig = await contribute(id, new Uint8Array(CONTRIBUTION_MAX + 1), `Bearer ${secret}`);
			expect(tooBig.status).toBe(413);
			expect(tooBig.headers.get('access-control-allow-origin')).toBe('*');
			expect((await contribute(id, new Uint8Array(CONTRIBUTION_MAX), `Bearer ${secret}`)).status).toBe(201);
			expect((await contribute(id, new Uint8Array(), `Bearer ${secret}`)).status).toBe(400);

			// Streamed without a Content-Length: counted as it arrives, refused past the limit.
			const streamed = await new Promise<number>((resolve, reject) => {
				const req = httpRequest(`${relay.url}/api/shl/${id}/contributions`, {
					method: 'POST',
					headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${secret}`, 'transfer-encoding': 'chunked' }
				});
				req.on('response', (res) => {
					res.resume();
					resolve(res.statusCode ?? 0);
				});
				req.on('error', reject);
				req.write(Buffer.alloc(CONTRIBUTION_MAX));
				req.write(Buffer.alloc(10));
				req.end();
			});
			expect(streamed).toBe(413);

			expect((await signed(vault.admin, 'DELETE', `/api/vaults/${vault.record.id}/shares/${id}`)).status).toBe(204);
			await expectNotFound(await contribute(id, body, `Bearer ${secret}`));
			const listed = await signed(vault.admin, 'GET', `/api/vaults/${vault.record.id}/contributions`);
			expect(((await listed.json()) as unknown[]).length).toBe(1);
		});
	});

	it('slows down one address that sends too many public requests (429), preflights aside', async () => {
		const limited = await startRelay({ SHL_RATE_PER_SECOND: '1', SHL_RATE_BURST: '5' });
		try {
			const unknown = `${limited.url}/api/shl/${'A'.repeat(43)}`;
			const statuses: number[] = [];
			for (let i = 0; i < 8; i++) {
				const res = await fetch(unknown, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ recipient: 'Dr X' }) });
				statuses.push(res.status);
				if (res.status === 429) {
					expect(res.headers.get('retry-after')).toBe('1');
					expect(res.headers.get('access-control-allow-origin')).toBe('*');
					expect(await res.json()).toEqual({ error: 'rate_limited' });
				} else await res.body?.cancel();
			}
			expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
			expect(statuses.slice(5)).toEqual([429, 429, 429]);
			expect((await fetch(unknown, { method: 'OPTIONS' })).status).toBe(204);
			await new Promise((resolve) => setTimeout(resolve, 1100));
			expect((await fetch(unknown, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"recipient":"Dr X"}' })).status).toBe(404);
		} finally {
			await limited.stop();
		}
	});

	it('keeps passcodes and label plaintext out of the database, and link ids, names and tokens out of the logs', async () => {
		const vault = await newVault();
		const id = await publish(vault, { flag: 'P', passcode: 'never-stored-8812' });
		expect((await manifest(id, { recipient: 'Dr Zoé Lefèvre', passcode: 'never-stored-8812' })).status).toBe(200);
		await sleep(100);
		const database = ['carnet.sqlite', 'carnet.sqlite-wal']
			.map((name) => {
				try {
					return readFileSync(join(relay.dataDir, name)).toString('latin1');
				} catch {
					return '';
				}
			})
			.join('');
		expect(secrets.length).toBeGreaterThan(3);
		for (const secret of [...secrets, 'Consultation Dr Martin']) expect(database).not.toContain(secret);
		const logs = relay.output();
		expect(logs).toContain('shl manifest');
		// Short test names ('x') occur in any text; every id, token and real name is longer.
		for (const value of [...secrets, ...unlogged].filter((v) => v.length >= 8)) expect(logs).not.toContain(value);
		expect(logs).not.toContain('Zoé');
		const metrics = await (await fetch(`${relay.url}/metrics`)).text();
		expect(Number(/carnet_shl_manifest_requests_total\{outcome="opened"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
		expect(Number(/carnet_shl_contributions_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
	});
});
