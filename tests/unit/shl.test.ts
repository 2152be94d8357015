import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { compactDecrypt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decryptFile, encryptFile, randomKey } from '$lib/core/crypto/jwe';
import {
	Contribution,
	ContributionInfo,
	ShlError,
	contributionToken,
	encodeShlink,
	isValidRpps,
	manifestUrl,
	newLinkId,
	openShl,
	parseShlink,
	payloadKey,
	shcBundles,
	tokenHash,
	viewerLink,
	type ShlPayload,
	type ShlProblem
} from '$lib/core/share';
import { decodeQrPng } from '../support/qr';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = resolve(here, '../fixtures');
const fixture = (path: string) => readFileSync(join(FIXTURES, path));
const fixtureText = (path: string) => fixture(path).toString('utf8');

const SHLINK_TEXT = fixtureText('shl/ips-bundle-01.shlink.txt').trim();
const FIXTURE_JWE = fixtureText('shl/ips-bundle-01.jwe');
const IPS_BUNDLE = JSON.parse(fixtureText('fhir/ips-bundle-01.json'));
const PAYLOAD_1 = JSON.parse(fixtureText('shl/shl-payload-1.json'));
const PAYLOAD_2 = JSON.parse(fixtureText('shl/shl-payload-2.json'));

const utf8 = (text: string) => new TextEncoder().encode(text);
/** A shlink built with plain Buffer + JSON, independent of encodeShlink. */
const rawShlink = (payload: unknown) => `shlink:/${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
/** A payload decoded with plain Buffer + JSON, independent of parseShlink. */
const rawPayload = (link: string) => JSON.parse(Buffer.from(link.slice(link.indexOf('shlink:/') + 8), 'base64url').toString('utf8'));

async function shlError(run: () => unknown): Promise<ShlError> {
	try {
		await run();
	} catch (error) {
		expect(error).toBeInstanceOf(ShlError);
		return error as ShlError;
	}
	throw new Error('expected a ShlError');
}

describe('fixtures (HL7 IG)', () => {
	it('decrypts ips-bundle-01.jwe with the key of its link to exactly the IPS Bundle', async () => {
		const payload = parseShlink(SHLINK_TEXT);
		const { contentType, plaintext } = await decryptFile(FIXTURE_JWE, payloadKey(payload));
		expect(contentType).toBeUndefined(); // the fixture has no cty
		expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(IPS_BUNDLE);
	});

	it('reads the QR image as that same link', () => {
		expect(decodeQrPng(fixture('shl/ips-bundle-01.qr.png'))).toBe(SHLINK_TEXT);
	});

	it('the viewer-prefixed link holds shl-payload-2.json', () => {
		expect(parseShlink(SHLINK_TEXT)).toEqual({ ...PAYLOAD_2, v: 1 });
		expect(parseShlink(`  ${SHLINK_TEXT}\n`)).toEqual({ ...PAYLOAD_2, v: 1 });
	});

	it('shl-payload-1.json: exp as a string in ms, unknown field ignored', () => {
		const payload = parseShlink(rawShlink(PAYLOAD_1));
		expect(payload).toEqual({
			url: PAYLOAD_1.url,
			key: PAYLOAD_1.key,
			exp: 1767225600,
			flag: 'LP',
			v: 1
		});
		expect(payload).not.toHaveProperty('labelzzz');
		// The canonical form re-encodes and reads back the same.
		expect(parseShlink(encodeShlink(payload))).toEqual(payload);
	});

	it('shl-payload-2.json: no v means 1, flags L and U', () => {
		const payload = parseShlink(rawShlink(PAYLOAD_2));
		expect(payload).toEqual({ ...PAYLOAD_2, v: 1 });
		expect(parseShlink(encodeShlink(payload))).toEqual(payload);
		expect(rawPayload(encodeShlink(payload))).toEqual({ ...PAYLOAD_2, v: 1 });
	});
});

describe('parseShlink', () => {
	const base = { url: 'https://relay.example/api/shl/abc', key: PAYLOAD_2.key };

	it('takes a raw link, a viewer-prefixed one, with whitespace', () => {
		const link = rawShlink(base);
		expect(parseShlink(link)).toEqual({ ...base, v: 1 });
		expect(parseShlink(`https://carnet.example/shl#${link}`)).toEqual({ ...base, v: 1 });
		expect(parseShlink(`\t https://viewer.tcpdev.org/shlink.html#${link}  \n`)).toEqual({ ...base, v: 1 });
	});

	it('says not_a_link for text without shlink:/', async () => {
		for (const text of ['', 'hello', 'https://example.org/#nothing', 'shlink:', 'xshlink:/abc']) {
			expect((await shlError(() => parseShlink(text))).code).toBe('not_a_link');
		}
		expect((await shlError(() => parseShlink(42 as unknown as string))).code).toBe('not_a_link');
	});

	it('refuses v above 1 as unsupported_version, even with other oddities', async () => {
		expect((await shlError(() => parseShlink(rawShlink({ ...base, v: 2 })))).code).toBe('unsupported_version');
		expect((await shlError(() => parseShlink(rawShlink({ v: 2, url: 'ftp://x' })))).code).toBe('unsupported_version');
		expect(parseShlink(rawShlink({ ...base, v: 1 }))).toEqual({ ...base, v: 1 });
	});

	it('reads exp as a number, a numeric string, seconds or milliseconds', () => {
		expect(parseShlink(rawShlink({ ...base, exp: 1767225600 })).exp).toBe(1767225600);
		expect(parseShlink(rawShlink({ ...base, exp: '1767225600' })).exp).toBe(1767225600);
		expect(parseShlink(rawShlink({ ...base, exp: 1767225600123 })).exp).toBe(1767225600);
		expect(parseShlink(rawShlink({ ...base, exp: null }))).not.toHaveProperty('exp');
	});

	it('ignores unknown flags and sorts the known ones', () => {
		expect(parseShlink(rawShlink({ ...base, flag: 'PXL' })).flag).toBe('LP');
		expect(parseShlink(rawShlink({ ...base, flag: 'Z' }))).not.toHaveProperty('flag');
	});

	it('cuts a label over 80 characters and drops a non-string one', () => {
		expect(parseShlink(rawShlink({ ...base, label: 'é'.repeat(100) })).label).toBe('é'.repeat(80));
		expect(parseShlink(rawShlink({ ...base, label: 12 }))).not.toHaveProperty('label');
	});

	it('says bad_payload for broken rules', async () => {
		const cases: unknown[] = [
			{ ...base, flag: 'PU' }, // P with U
			{ ...base, key: PAYLOAD_2.key.slice(0, 42) }, // 31.5 bytes
			{ ...base, key: Buffer.alloc(16).toString('base64url') }, // 16 bytes
			{ url: base.url }, // no key
			{ ...base, url: 'http://relay.example/api/shl/abc' }, // http off localhost
			{ ...base, url: 'ftp://relay.example/x' },
			{ key: base.key }, // no url
			{ ...base, exp: 'tomorrow' },
			{ ...base, exp: -5 },
			{ ...base, flag: 5 },
			{ ...base, v: 0 },
			[1, 2]
		];
		for (const payload of cases) {
			expect((await shlError(() => parseShlink(rawShlink(payload)))).code).toBe('bad_payload');
		}
		expect((await shlError(() => parseShlink('shlink:/%%%'))).code).toBe('bad_payload');
		expect((await shlError(() => parseShlink(`shlink:/${Buffer.from('not json').toString('base64url')}`))).code).toBe(
			'bad_payload'
		);
	});

	it('accepts http on localhost and 127.0.0.1 (tests)', () => {
		for (const url of ['http://localhost:5173/api/shl/x', 'http://127.0.0.1:8080/api/shl/x']) {
			expect(parseShlink(rawShlink({ ...base, url })).url).toBe(url);
		}
	});
});

describe('encodeShlink / viewerLink / newLinkId', () => {
	const id = newLinkId();
	const key = Buffer.from(randomKey()).toString('base64url');
	const url = manifestUrl('https://carnet.example/', id);

	it('makes 43-character ids of 32 random bytes', () => {
		expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(Buffer.from(id, 'base64url')).toHaveLength(32);
		expect(newLinkId()).not.toBe(id);
		expect(url).toBe(`https://carnet.example/api/shl/${id}`);
	});

	it('writes minified JSON in contract order, flags sorted, readable without our code', () => {
		const link = encodeShlink({ label: 'Consultation', flag: 'PL', exp: 1767225600, key, url });
		expect(link.startsWith('shlink:/')).toBe(true);
		const json = Buffer.from(link.slice(8), 'base64url').toString('utf8');
		expect(json).not.toMatch(/\s/);
		const raw = JSON.parse(json);
		expect(Object.keys(raw)).toEqual(['url', 'key', 'exp', 'flag', 'label', 'v']);
		expect(raw).toEqual({ url, key, exp: 1767225600, flag: 'LP', label: 'Consultation', v: 1 });
		expect(raw.key).toHaveLength(43);
		expect(Buffer.from(raw.key, 'base64url')).toHaveLength(32);
		// >= 256 bits of randomness in the URL: its last segment is 32 random bytes.
		const segment = new URL(raw.url).pathname.split('/').pop() as string;
		expect(Buffer.from(segment, 'base64url')).toHaveLength(32);
		expect(raw.url.length).toBeLessThanOrEqual(128);
		expect(parseShlink(link)).toEqual(raw);
	});

	it('leaves out absent exp, empty flag and empty label', () => {
		const raw = rawPayload(encodeShlink({ url, key, flag: '', label: '' }));
		expect(Object.keys(raw)).toEqual(['url', 'key', 'v']);
	});

	it('refuses what we must not produce', async () => {
		const bad = [
			{ url, key, label: 'x'.repeat(81) },
			{ url, key, flag: 'PU' },
			{ url, key, flag: 'LX' },
			{ url, key, exp: 1767225600000 }, // milliseconds
			{ url, key, exp: 1.5 },
			{ url, key: key.slice(1) },
			{ url: 'http://carnet.example/api/shl/x', key },
			{ url: `https://carnet.example/${'x'.repeat(130)}`, key }
		];
		for (const payload of bad) {
			expect((await shlError(() => encodeShlink(payload))).code).toBe('bad_payload');
		}
		expect(encodeShlink({ url, key, label: 'x'.repeat(80) })).toMatch(/^shlink:\//);
	});

	it('viewerLink puts the link after <origin>/shl#', () => {
		const link = viewerLink('https://carnet.example', { url, key });
		expect(link).toBe(`https://carnet.example/shl#${encodeShlink({ url, key })}`);
		expect(viewerLink('https://carnet.example/', { url, key })).toBe(link);
		expect(parseShlink(link)).toEqual({ url, key, v: 1 });
	});
});

describe('openShl against a local server', () => {
	type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
	let server: Server;
	let origin: string;
	let routes: Record<string, Handler>;
	let seen: { method: string; url: string; body: string }[];

	beforeAll(async () => {
		server = createServer((req, res) => {
			let body = '';
			req.setEncoding('utf8');
			req.on('data', (chunk) => (body += chunk));
			req.on('end', () => {
				seen.push({ method: req.method ?? '', url: req.url ?? '', body });
				const path = new URL(req.url ?? '/', 'http://x').pathname;
				const handler = routes[`${req.method} ${path}`];
				if (handler) handler(req, body, res);
				else res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not_found"}');
			});
		});
		await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
		origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(() => new Promise<void>((done) => server.close(() => done())));
	beforeEach(() => {
		routes = {};
		seen = [];
	});

	const json = (res: ServerResponse, status: number, value: unknown) =>
		res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));

	it('U flag: GET url?recipient=…, the fixture JWE, sniffed as FHIR', async () => {
		routes['GET /u/file'] = (_req, _body, res) => res.writeHead(200, { 'Content-Type': 'application/jose' }).end(FIXTURE_JWE);
		const payload = parseShlink(rawShlink({ ...PAYLOAD_2, url: `${origin}/u/file` }));
		const files = await openShl(payload, { recipient: 'Dr Émile Roux' });
		expect(files).toHaveLength(1);
		expect(files[0].contentType).toBe('application/fhir+json');
		expect(files[0].json).toEqual(IPS_BUNDLE);
		expect(seen).toHaveLength(1);
		expect(seen[0].method).toBe('GET');
		expect(new URL(seen[0].url, origin).searchParams.get('recipient')).toBe('Dr Émile Roux');
	});

	it('manifest: POSTs the body, returns embedded and location files in order', async () => {
		const key = randomKey();
		const id = newLinkId();
		const bundle = { resourceType: 'Bundle', type: 'document', entry: [] };
		const info = { v: 1, endpoint: `${origin}/api/shl/${id}/contributions`, inboxKey: newLinkId(), maxBytes: 1000, extra: true };
		const fhirJwe = await encryptFile(utf8(JSON.stringify(bundle)), key, 'application/fhir+json');
		const infoJwe = await encryptFile(utf8(JSON.stringify(info)), key, 'application/vnd.carnet.contribution+json');
		const pdfJwe = await encryptFile(utf8('%PDF-1.7'), key, 'application/pdf');
		routes[`POST /api/shl/${id}`] = (_req, _body, res) =>
			json(res, 200, {
				files: [
					{ contentType: 'application/fhir+json', embedded: fhirJwe, lastUpdated: '2026-01-01T00:00:00Z' },
					{ contentType: 'application/vnd.carnet.contribution+json', location: `${origin}/api/shl/${id}/files/t1` },
					{ contentType: 'application/pdf', location: `${origin}/api/shl/${id}/files/t2` }
				]
			});
		routes[`GET /api/shl/${id}/files/t1`] = (_req, _body, res) => res.writeHead(200).end(infoJwe);
		routes[`GET /api/shl/${id}/files/t2`] = (_req, _body, res) => res.writeHead(200).end(pdfJwe);
		const link = encodeShlink({ url: manifestUrl(origin, id), key: Buffer.from(key).toString('base64url'), flag: 'P' });
		const files = await openShl(parseShlink(link), {
			recipient: 'Dr House',
			passcode: '1234',
			embeddedLengthMax: 100_000
		});
		expect(files.map((file) => file.contentType)).toEqual([
			'application/fhir+json',
			'application/vnd.carnet.contribution+json',
			'application/pdf'
		]);
		expect(files[0].json).toEqual(bundle);
		expect(ContributionInfo.parse(files[1].json)).toEqual({ v: 1, endpoint: info.endpoint, inboxKey: info.inboxKey, maxBytes: 1000 });
		expect(files[2].json).toBeUndefined();
		expect(new TextDecoder().decode(files[2].plaintext)).toBe('%PDF-1.7');
		const post = seen.find((request) => request.method === 'POST');
		expect(JSON.parse(post?.body ?? '')).toEqual({ recipient: 'Dr House', passcode: '1234', embeddedLengthMax: 100_000 });
	});

	it('skips a broken file, reports it, and throws when every file is broken', async () => {
		const key = randomKey();
		const good = await encryptFile(utf8('{"resourceType":"Bundle"}'), key, 'application/fhir+json');
		const wrongKey = await encryptFile(utf8('{}'), randomKey(), 'application/fhir+json');
		routes['POST /m'] = (_req, _body, res) =>
			json(res, 200, {
				files: [
					{ contentType: 'application/fhir+json', embedded: wrongKey },
					{ contentType: 'application/fhir+json', location: `${origin}/gone` },
					{ contentType: 'application/fhir+json', embedded: good }
				]
			});
		const payload: ShlPayload = { url: `${origin}/m`, key: Buffer.from(key).toString('base64url'), v: 1 };
		const problems: ShlProblem[] = [];
		const files = await openShl(payload, { recipient: 'Dr X', onProblem: (problem) => problems.push(problem) });
		expect(files).toHaveLength(1);
		expect(problems.map(({ index, code }) => ({ index, code }))).toEqual([
			{ index: 0, code: 'bad_file' },
			{ index: 1, code: 'not_found' }
		]);

		routes['POST /m'] = (_req, _body, res) =>
			json(res, 200, { files: [{ contentType: 'application/fhir+json', embedded: wrongKey }] });
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X' }))).code).toBe('bad_file');
	});

	it('says bad_file for a manifest that is not STU1-shaped', async () => {
		const payload: ShlPayload = { url: `${origin}/m`, key: PAYLOAD_2.key, v: 1 };
		for (const body of ['not json', '{"files":[{"contentType":"a","embedded":"x","location":"y"}]}', '{"nofiles":1}']) {
			routes['POST /m'] = (_req, _body, res) => res.writeHead(200).end(body);
			expect((await shlError(() => openShl(payload, { recipient: 'Dr X' }))).code).toBe('bad_file');
		}
	});

	it('401 gives invalid_passcode with remainingAttempts', async () => {
		routes['POST /p'] = (_req, _body, res) => json(res, 401, { error: 'invalid_passcode', remainingAttempts: 3 });
		const payload: ShlPayload = { url: `${origin}/p`, key: PAYLOAD_2.key, flag: 'P', v: 1 };
		const error = await shlError(() => openShl(payload, { recipient: 'Dr X', passcode: 'nope' }));
		expect(error.code).toBe('invalid_passcode');
		expect(error.remainingAttempts).toBe(3);
		expect(JSON.parse(seen[0].body)).toEqual({ recipient: 'Dr X', passcode: 'nope' });
	});

	it('404 gives not_found', async () => {
		const payload: ShlPayload = { url: `${origin}/api/shl/${newLinkId()}`, key: PAYLOAD_2.key, v: 1 };
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X' }))).code).toBe('not_found');
		expect(seen).toHaveLength(1);
	});

	it('expired: refused before any request', async () => {
		const payload: ShlPayload = { url: `${origin}/m`, key: PAYLOAD_2.key, exp: 1_700_000_000, v: 1 };
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X' }))).code).toBe('expired');
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X', now: 1_700_000_000_000 }))).code).toBe('expired');
		expect(seen).toHaveLength(0);
		// One second before exp it is still open.
		routes['POST /m'] = (_req, _body, res) => json(res, 200, { files: [] });
		expect(await openShl(payload, { recipient: 'Dr X', now: new Date(1_699_999_999_000) })).toEqual([]);
	});

	it('passcode_required: refused before any request', async () => {
		const payload: ShlPayload = { url: `${origin}/p`, key: PAYLOAD_2.key, flag: 'LP', v: 1 };
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X' }))).code).toBe('passcode_required');
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X', passcode: '' }))).code).toBe('passcode_required');
		expect(seen).toHaveLength(0);
	});

	it('v:2 refused, nothing fetched', async () => {
		const raw = { url: `${origin}/m`, key: PAYLOAD_2.key, v: 2 };
		expect((await shlError(() => parseShlink(rawShlink(raw)))).code).toBe('unsupported_version');
		const forged = raw as unknown as ShlPayload;
		expect((await shlError(() => openShl(forged, { recipient: 'Dr X' }))).code).toBe('unsupported_version');
		expect(seen).toHaveLength(0);
	});

	it('network failures give network', async () => {
		const closed = createServer();
		await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
		const port = (closed.address() as AddressInfo).port;
		await new Promise<void>((done) => closed.close(() => done()));
		const payload: ShlPayload = { url: `http://127.0.0.1:${port}/m`, key: PAYLOAD_2.key, v: 1 };
		expect((await shlError(() => openShl(payload, { recipient: 'Dr X' }))).code).toBe('network');
		routes['POST /m'] = (_req, _body, res) => json(res, 500, { error: 'boom' });
		const error = await shlError(() => openShl({ ...payload, url: `${origin}/m` }, { recipient: 'Dr X' }));
		expect(error.code).toBe('network');
	});

	it('uses the fetch it is given', async () => {
		const key = randomKey();
		const jwe = await encryptFile(utf8('{"resourceType":"Patient"}'), key, 'application/fhir+json');
		const calls: string[] = [];
		const fakeFetch = (async (url: string | URL | Request) => {
			calls.push(String(url));
			return new Response(JSON.stringify({ files: [{ contentType: 'application/fhir+json', embedded: jwe }] }));
		}) as typeof fetch;
		const payload: ShlPayload = { url: 'https://relay.example/api/shl/x', key: Buffer.from(key).toString('base64url'), v: 1 };
		const files = await openShl(payload, { recipient: 'Dr X', fetch: fakeFetch });
		expect(calls).toEqual(['https://relay.example/api/shl/x']);
		expect(files[0].json).toEqual({ resourceType: 'Patient' });
	});
});

describe('shcBundles', () => {
	const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }] };
	const jws = (payload: unknown, zip = true) => {
		const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k', ...(zip ? { zip: 'DEF' } : {}) })).toString('base64url');
		const bytes = Buffer.from(JSON.stringify(payload));
		const body = (zip ? deflateRawSync(bytes) : bytes).toString('base64url');
		return `${header}.${body}.c2lnbmF0dXJl`;
	};
	const vc = {
		iss: 'https://issuer.example',
		vc: {
			type: ['https://smarthealth.cards#health-card'],
			credentialSubject: { fhirVersion: '4.0.1', fhirBundle: bundle }
		}
	};

	it('returns the bundles of each card, deflated or not, signatures unchecked', async () => {
		expect(await shcBundles({ verifiableCredential: [jws(vc), jws(vc, false)] })).toEqual([bundle, bundle]);
	});

	it('says bad_file for malformed cards', async () => {
		for (const file of [
			null,
			{},
			{ verifiableCredential: ['a.b'] },
			{ verifiableCredential: [jws({ vc: {} })] },
			{ verifiableCredential: [`${jws(vc).split('.')[0]}.AAAA.sig`] }
		]) {
			expect((await shlError(() => shcBundles(file))).code).toBe('bad_file');
		}
	});
});

describe('contributions', () => {
	it('isValidRpps: 11 digits with a Luhn key', () => {
		for (const rpps of ['10003625364', '10000000009', '10101234564', '81000000000', '12345678903']) {
			expect(isValidRpps(rpps)).toBe(true);
		}
		for (const rpps of ['10003625365', '10003625354', '1000362536', '100036253640', '1000362536a', ' 10003625364', '', 12345678903]) {
			expect(isValidRpps(rpps as string)).toBe(false);
		}
	});

	it('contributionToken is deterministic, 43 characters, HKDF of the link key', async () => {
		const key = new Uint8Array(32).fill(7);
		const token = await contributionToken(key);
		expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(await contributionToken(new Uint8Array(32).fill(7))).toBe(token);
		expect(await contributionToken(new Uint8Array(32).fill(8))).not.toBe(token);
		// Independently: HKDF-SHA256 by node:crypto with empty salt and the contract's info.
		const { hkdfSync } = await import('node:crypto');
		const expected = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), 'carnet/shl/contribution-token/v1', 32));
		expect(token).toBe(expected.toString('base64url'));
		await expect(contributionToken(new Uint8Array(16))).rejects.toThrow(TypeError);
	});

	it('tokenHash is base64url(SHA-256(utf8(token)))', async () => {
		const { createHash } = await import('node:crypto');
		const token = await contributionToken(randomKey());
		expect(await tokenHash(token)).toBe(createHash('sha256').update(token, 'utf8').digest('base64url'));
		expect(await tokenHash(token)).toHaveLength(43);
	});

	it('Contribution accepts the contract shape and refuses bad fields', () => {
		const good = {
			v: 1,
			type: 'lab-report',
			title: 'Bilan sanguin',
			date: '2026-11-20',
			note: 'RAS',
			author: { name: 'Dr Marie Curie', rpps: '10003625364' },
			file: { name: 'bilan.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF').toString('base64') },
			unknown: 'dropped'
		};
		const { unknown: _dropped, ...expected } = good;
		expect(Contribution.parse(good)).toEqual(expected);
		for (const patch of [
			{ v: 2 },
			{ type: 'not-a-type' },
			{ title: '' },
			{ date: '2026-02-30' },
			{ date: '20/11/2026' },
			{ author: { name: 'Dr X', rpps: '10003625365' } },
			{ author: { name: '', rpps: '10003625364' } },
			{ file: { name: 'a', contentType: 'text/plain', data: 'not base64!' } }
		]) {
			expect(Contribution.safeParse({ ...good, ...patch }).success).toBe(false);
		}
	});

	it('ContributionInfo checks endpoint, inboxKey and maxBytes', () => {
		const good = {
			v: 1,
			endpoint: 'https://carnet.example/api/shl/x/contributions',
			inboxKey: newLinkId(),
			maxBytes: 20 * 1024 * 1024
		};
		expect(ContributionInfo.parse(good)).toEqual(good);
		for (const patch of [{ endpoint: 'http://carnet.example/x' }, { inboxKey: 'short' }, { maxBytes: 0 }, { v: 2 }]) {
			expect(ContributionInfo.safeParse({ ...good, ...patch }).success).toBe(false);
		}
	});
});

describe('viewer safety', () => {
	it('the share module and jwe.ts import neither libsodium, Automerge nor the record (but document types)', () => {
		const root = resolve(here, '../../src/lib/core');
		const seenFiles = new Set<string>();
		const packages = new Set<string>();
		const visit = (file: string) => {
			if (seenFiles.has(file)) return;
			seenFiles.add(file);
			const source = readFileSync(file, 'utf8');
			for (const match of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
				const spec = match[1];
				if (spec.startsWith('.')) visit(resolve(dirname(file), `${spec}.ts`));
				else packages.add(spec);
			}
		};
		visit(join(root, 'share/index.ts'));
		visit(join(root, 'crypto/jwe.ts'));
		const local = [...seenFiles].map((file) => file.slice(root.length + 1)).sort();
		expect(local.filter((file) => !file.startsWith('share/'))).toEqual([
			'crypto/errors.ts',
			'crypto/jwe.ts',
			'record/document-types.ts'
		]);
		expect([...packages].sort()).toEqual(['jose', 'zod']);
	});
});
