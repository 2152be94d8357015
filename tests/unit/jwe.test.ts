import { deflateRawSync } from 'node:zlib';
import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '$lib/core/crypto/errors';
import { decryptFile, encryptFile, encryptFileSegments, hkdfSha256, randomKey, sha256 } from '$lib/core/crypto/jwe';

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const utf8 = (text: string) => new TextEncoder().encode(text);

async function expectCryptoError(run: () => Promise<unknown>, code: CryptoError['code']): Promise<CryptoError> {
	try {
		await run();
	} catch (error) {
		expect(error).toBeInstanceOf(CryptoError);
		expect((error as CryptoError).code).toBe(code);
		return error as CryptoError;
	}
	throw new Error(`expected CryptoError ${code}`);
}

/**
 * A compact JWE made without jose, as RFC 7516 spells it: AES-256-GCM over the (optionally
 * raw-DEFLATEd) plaintext with AAD = ASCII of the protected header segment.
 */
async function handMadeJwe(key: Uint8Array, header: Record<string, unknown>, plaintext: Uint8Array): Promise<string> {
	const protectedSegment = b64u(JSON.stringify(header));
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const aesKey = await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['encrypt']);
	const sealed = new Uint8Array(
		await crypto.subtle.encrypt(
			{ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(protectedSegment), tagLength: 128 },
			aesKey,
			new Uint8Array(plaintext)
		)
	);
	const ciphertext = sealed.subarray(0, sealed.length - 16);
	const tag = sealed.subarray(sealed.length - 16);
	return `${protectedSegment}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(tag)}`;
}

describe('hkdfSha256 (RFC 5869 known answers)', () => {
	const ikm = hex('0b'.repeat(22));

	it('test case 1: salt and info', async () => {
		const okm = await hkdfSha256(ikm, hex('f0f1f2f3f4f5f6f7f8f9'), 42, hex('000102030405060708090a0b0c'));
		expect(toHex(okm)).toBe(
			'3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'
		);
	});

	it('test case 3: empty salt and info (salt defaults to empty)', async () => {
		const expected = '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8';
		expect(toHex(await hkdfSha256(ikm, '', 42))).toBe(expected);
		expect(toHex(await hkdfSha256(ikm, new Uint8Array(0), 42, new Uint8Array(0)))).toBe(expected);
	});

	it('encodes a string info as UTF-8', async () => {
		const key = randomKey();
		expect(await hkdfSha256(key, 'carnet/é', 32)).toEqual(await hkdfSha256(key, utf8('carnet/é'), 32));
	});

	it('refuses a bad length or a non-bytes ikm', async () => {
		await expectCryptoError(() => hkdfSha256(ikm, '', 0), 'bad_input');
		await expectCryptoError(() => hkdfSha256(ikm, '', 255 * 32 + 1), 'bad_input');
		await expectCryptoError(() => hkdfSha256('key' as unknown as Uint8Array, '', 32), 'bad_input');
	});
});

describe('sha256', () => {
	it('matches the FIPS 180-2 known answers', async () => {
		expect(toHex(await sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
		expect(toHex(await sha256(new Uint8Array(0)))).toBe(
			'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
		);
	});
});

describe('randomKey', () => {
	it('gives 32 fresh bytes', () => {
		const a = randomKey();
		expect(a).toBeInstanceOf(Uint8Array);
		expect(a.length).toBe(32);
		expect(a).not.toEqual(randomKey());
	});
});

describe('encryptFile / decryptFile', () => {
	const plaintext = utf8('{"resourceType":"Bundle","type":"document"}');

	it('round-trips with the content type', async () => {
		const key = randomKey();
		const jwe = await encryptFile(plaintext, key, 'application/fhir+json');
		expect(jwe.split('.')).toHaveLength(5);
		expect(jwe.split('.')[1]).toBe(''); // dir: no encrypted key
		const out = await decryptFile(jwe, key);
		expect(out.contentType).toBe('application/fhir+json');
		expect(out.plaintext).toEqual(plaintext);
	});

	it('writes exactly alg dir, enc A256GCM, cty, and no zip', async () => {
		const key = randomKey();
		const jwe = await encryptFile(plaintext, key, 'application/smart-health-card');
		const header = JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString('utf8'));
		expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', cty: 'application/smart-health-card' });
	});

	it('uses a fresh IV each time', async () => {
		const key = randomKey();
		const a = await encryptFile(plaintext, key, 'text/plain');
		const b = await encryptFile(plaintext, key, 'text/plain');
		expect(a).not.toBe(b);
		expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
	});

	it('is readable by jose directly', async () => {
		const key = randomKey();
		const jwe = await encryptFile(plaintext, key, 'application/fhir+json');
		const { plaintext: out, protectedHeader } = await compactDecrypt(jwe, key);
		expect(out).toEqual(plaintext);
		expect(protectedHeader.cty).toBe('application/fhir+json');
	});

	it('fails on a flipped byte of the ciphertext, tag, IV or header', async () => {
		const key = randomKey();
		const jwe = await encryptFile(plaintext, key, 'application/fhir+json');
		for (const part of [2, 3, 4]) {
			const parts = jwe.split('.');
			const bytes = Buffer.from(parts[part], 'base64url');
			bytes[0] ^= 1;
			parts[part] = bytes.toString('base64url');
			await expectCryptoError(() => decryptFile(parts.join('.'), key), 'decrypt_failed');
		}
		// The header is authenticated too (it is the AAD): change the cty.
		const parts = jwe.split('.');
		parts[0] = b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM', cty: 'text/plain' }));
		await expectCryptoError(() => decryptFile(parts.join('.'), key), 'decrypt_failed');
	});

	it('fails with the wrong key', async () => {
		const jwe = await encryptFile(plaintext, randomKey(), 'text/plain');
		await expectCryptoError(() => decryptFile(jwe, randomKey()), 'decrypt_failed');
	});

	it('accepts a missing cty and surrounding whitespace', async () => {
		const key = randomKey();
		const jwe = await handMadeJwe(key, { alg: 'dir', enc: 'A256GCM' }, plaintext);
		const out = await decryptFile(`\n ${jwe}\n`, key);
		expect(out.contentType).toBeUndefined();
		expect(out.plaintext).toEqual(plaintext);
	});

	it('decrypts a zip:DEF JWE made with node:zlib and WebCrypto', async () => {
		const key = randomKey();
		const big = utf8(JSON.stringify({ resourceType: 'Bundle', entry: Array.from({ length: 500 }, (_, i) => ({ i })) }));
		const jwe = await handMadeJwe(
			key,
			{ alg: 'dir', enc: 'A256GCM', zip: 'DEF', cty: 'application/fhir+json' },
			deflateRawSync(big)
		);
		const out = await decryptFile(jwe, key);
		expect(out.contentType).toBe('application/fhir+json');
		expect(out.plaintext).toEqual(big);
	});

	it('stops a zip bomb at 64 MiB', async () => {
		const key = randomKey();
		const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024 + 1024));
		expect(bomb.length).toBeLessThan(100 * 1024);
		const jwe = await handMadeJwe(key, { alg: 'dir', enc: 'A256GCM', zip: 'DEF' }, bomb);
		await expectCryptoError(() => decryptFile(jwe, key), 'bad_input');
	});

	it('refuses other alg, enc or zip values as unsupported', async () => {
		const key = randomKey();
		for (const header of [
			{ alg: 'A256KW', enc: 'A256GCM' },
			{ alg: 'dir', enc: 'A128GCM' },
			{ alg: 'dir', enc: 'A256CBC-HS512' },
			{ alg: 'dir', enc: 'A256GCM', zip: 'GZ' }
		]) {
			const jwe = await handMadeJwe(key, header, plaintext);
			const error = await expectCryptoError(() => decryptFile(jwe, key), 'unsupported');
			expect(error.message).toMatch(/alg|enc|zip/);
		}
	});

	it('refuses non-JWE input and wrong-size keys as bad input', async () => {
		const key = randomKey();
		await expectCryptoError(() => decryptFile('not a jwe', key), 'bad_input');
		await expectCryptoError(() => decryptFile('a.b.c', key), 'bad_input');
		await expectCryptoError(() => decryptFile('!!.x.y.z.w', key), 'bad_input');
		const jwe = await encryptFile(plaintext, key, 'text/plain');
		await expectCryptoError(() => decryptFile(jwe, key.subarray(0, 16)), 'bad_input');
		await expectCryptoError(() => encryptFile(plaintext, new Uint8Array(31), 'text/plain'), 'bad_input');
		await expectCryptoError(() => encryptFile(plaintext, key, ''), 'bad_input');
	});
});

describe('encryptFileSegments (the binary form the patient uploads)', () => {
	it('assembles into a standard compact JWE that jose decrypts, with a fresh IV each time', async () => {
		const key = randomKey();
		const plaintext = new TextEncoder().encode(JSON.stringify({ resourceType: 'Bundle', type: 'document' }));
		const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
		const compact = async () => {
			const { protectedHeader, iv, sealed } = await encryptFileSegments(plaintext, key, 'application/fhir+json');
			const tag = sealed.subarray(sealed.length - 16);
			return `${protectedHeader}..${b64u(iv)}.${b64u(sealed.subarray(0, sealed.length - 16))}.${b64u(tag)}`;
		};
		const first = await compact();
		const { plaintext: out, protectedHeader } = await compactDecrypt(first, key);
		expect(new TextDecoder().decode(out)).toBe(new TextDecoder().decode(plaintext));
		expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM', cty: 'application/fhir+json' });
		expect(first.split('.')[2]).not.toBe((await compact()).split('.')[2]);
		expect(new TextDecoder().decode((await decryptFile(first, key)).plaintext)).toBe(new TextDecoder().decode(plaintext));
	});
});
