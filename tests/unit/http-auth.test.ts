import { beforeAll, describe, expect, it } from 'vitest';
import { hash, ready, sign, signKeyPair, toBase64url, utf8Encode, type SignKeyPair } from '../../src/lib/core/crypto';
import { canonicalBytes, memberId, parseAuthorization, signRequest, verifyRequest } from '../../src/lib/core/sync';

// Signed patient requests (docs/SHARING.md, "Patient endpoints (signed)").

describe('signed HTTP requests', () => {
	let signer: SignKeyPair;
	let member: string;
	const now = new Date('2026-11-26T10:00:00.000Z');
	const body = utf8Encode('{"exp":null}');
	const path = '/api/vaults/AAAAAAAAAAAAAAAAAAAAAA/access?after=3';

	beforeAll(async () => {
		await ready();
		signer = signKeyPair();
		member = memberId(signer.publicKey);
	});

	const header = (overrides: Partial<Parameters<typeof signRequest>[0]> = {}) =>
		signRequest({ method: 'GET', path, body, member, signer, now, ...overrides });

	it('has the documented header format and verifies for the same request', () => {
		const value = header();
		expect(value).toMatch(/^Carnet member=[A-Za-z0-9_-]{43},ts=\d+,sig=[A-Za-z0-9_-]{86}$/);
		expect(parseAuthorization(value)).toEqual({ member, ts: now.getTime(), sig: expect.any(String) });
		expect(verifyRequest(value, { method: 'GET', path, body, now })).toEqual({ member });
		expect(verifyRequest(value, { method: 'get', path, body, now })).toEqual({ member });
	});

	it('signs exactly the documented bytes: domain, 0x00, canonical {method, path, ts, body hash}', () => {
		const value = header();
		const { sig } = parseAuthorization(value)!;
		const message = new Uint8Array([
			...utf8Encode('carnet/http/v1'),
			0,
			...canonicalBytes({ method: 'GET', path, ts: now.getTime(), body: toBase64url(hash(body, undefined, 32)) })
		]);
		expect(sig).toBe(toBase64url(sign(signer.privateKey, message)));
	});

	it('hashes an empty body as the hash of nothing', () => {
		const value = header({ method: 'DELETE', body: new Uint8Array() });
		expect(verifyRequest(value, { method: 'DELETE', path, body: new Uint8Array(), now })).toEqual({ member });
	});

	it('refuses another method, path, query or body', () => {
		const value = header();
		expect(verifyRequest(value, { method: 'PUT', path, body, now })).toBeNull();
		expect(verifyRequest(value, { method: 'GET', path: path.replace('after=3', 'after=0'), body, now })).toBeNull();
		expect(verifyRequest(value, { method: 'GET', path: '/api/vaults/BBBBBBBBBBBBBBBBBBBBBA/access?after=3', body, now })).toBeNull();
		expect(verifyRequest(value, { method: 'GET', path, body: utf8Encode('{"exp":1}'), now })).toBeNull();
	});

	it('accepts a timestamp up to two minutes off either way, not more', () => {
		const value = header();
		const at = (ms: number) => new Date(now.getTime() + ms);
		expect(verifyRequest(value, { method: 'GET', path, body, now: at(120_000) })).toEqual({ member });
		expect(verifyRequest(value, { method: 'GET', path, body, now: at(-120_000) })).toEqual({ member });
		expect(verifyRequest(value, { method: 'GET', path, body, now: at(120_001) })).toBeNull();
		expect(verifyRequest(value, { method: 'GET', path, body, now: at(-120_001) })).toBeNull();
	});

	it('refuses a signature by another key, a changed ts, and malformed headers', () => {
		const other = signKeyPair();
		const forged = header().replace(/member=[^,]+/, `member=${memberId(other.publicKey)}`);
		expect(verifyRequest(forged, { method: 'GET', path, body, now })).toBeNull();
		const moved = header().replace(/ts=\d+/, `ts=${now.getTime() + 1}`);
		expect(verifyRequest(moved, { method: 'GET', path, body, now })).toBeNull();
		const value = header();
		for (const bad of ['', 'Bearer abc', value.replace('Carnet ', 'carnet '), `${value},x=1`, value.replace(',ts=', ', ts='), value.replace('ts=', 'ts=0')]) {
			expect(verifyRequest(bad, { method: 'GET', path, body, now })).toBeNull();
		}
		expect(verifyRequest(undefined as unknown as string, { method: 'GET', path, body, now })).toBeNull();
	});

	it('will not sign for a member id that is not the signer', () => {
		expect(() => header({ member: memberId(signKeyPair().publicKey) })).toThrow();
	});
});
