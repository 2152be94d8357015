/** The FHIR module's own synchronous byte helpers, checked against Node's implementations. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, sha1, toBase64, uuidFromName, UUID_PATTERN } from '../../src/lib/core/fhir/bytes';

describe('bytes', () => {
	it('base64 and SHA-1 agree with Node for any bytes', () => {
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
				expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
				expect(fromBase64(toBase64(bytes))).toEqual(bytes);
				expect(Buffer.from(sha1(bytes)).toString('hex')).toBe(createHash('sha1').update(bytes).digest('hex'));
			}),
			{ numRuns: 300 }
		);
		expect(fromBase64('JVBERi0xLjcKAP_-gA')).toEqual(new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a, 0x00, 0xff, 0xfe, 0x80]));
		expect(fromBase64('not base64!')).toBeUndefined();
	});

	it('derives RFC 9562 version 5 UUIDs, stable and distinct', () => {
		const id = uuidFromName('Observation/abc');
		expect(id).toMatch(UUID_PATTERN);
		expect(id[14]).toBe('5');
		expect('89ab').toContain(id[19]);
		expect(uuidFromName('Observation/abc')).toBe(id);
		expect(uuidFromName('Observation/abd')).not.toBe(id);
		// Same as a reference v5 computation over the URL namespace.
		const ns = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
		const hash = createHash('sha1').update(Buffer.concat([ns, Buffer.from('carnet:fhir:Observation/abc')])).digest();
		hash[6] = (hash[6] & 0x0f) | 0x50;
		hash[8] = (hash[8] & 0x3f) | 0x80;
		const hex = hash.subarray(0, 16).toString('hex');
		expect(id).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
	});
});
