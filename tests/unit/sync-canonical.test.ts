import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready, signKeyPair, utf8Decode } from '../../src/lib/core/crypto';
import { DOMAINS, canonicalBytes, memberId, signObject, signedBytes, verifyObject } from '../../src/lib/core/sync';

const text = (value: unknown) => utf8Decode(canonicalBytes(value));

/** The same JSON value with every object's keys inserted in reverse order. */
function reversed(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(reversed);
	if (typeof value === 'object' && value !== null) {
		// fromEntries defines own properties, so a "__proto__" key stays a plain key.
		return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
	}
	return value;
}

beforeAll(async () => {
	await ready();
});

describe('canonicalBytes', () => {
	it('sorts keys, recursively, with no spaces', () => {
		expect(text({ b: 1, a: [3, { d: true, c: null }], é: 'x', A: -2.5 })).toBe(
			'{"A":-2.5,"a":[3,{"c":null,"d":true}],"b":1,"é":"x"}'
		);
	});

	it('does not depend on key insertion order; arrays keep their order', () => {
		expect(canonicalBytes({ x: { q: 1, p: 2 }, y: 0 })).toEqual(canonicalBytes({ y: 0, x: { p: 2, q: 1 } }));
		expect(text([2, 1])).not.toBe(text([1, 2]));
	});

	it('omits undefined properties like JSON.stringify', () => {
		expect(text({ a: undefined, b: 1 })).toBe('{"b":1}');
	});

	it('writes strings and numbers as JSON.stringify does', () => {
		expect(text('a"\\\n\u0001\u2028😀')).toBe(JSON.stringify('a"\\\n\u0001\u2028😀'));
		expect(text([0, -0, 1e21, 1e-7, 0.1])).toBe('[0,0,1e+21,1e-7,0.1]');
	});

	it('refuses values JSON cannot carry faithfully', () => {
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		const sparse = [1, , 2];
		for (const bad of [
			undefined,
			NaN,
			Infinity,
			-Infinity,
			1n,
			() => 1,
			Symbol('s'),
			new Date(0),
			new Uint8Array(2),
			new Map(),
			[undefined],
			sparse,
			{ a: { b: NaN } },
			cyclic
		]) {
			expect(() => canonicalBytes(bad)).toThrow(TypeError);
		}
	});

	it('names where the bad value is, not what it is', () => {
		expect(() => canonicalBytes({ a: [1, { b: NaN }] })).toThrow('$.a[1].b');
	});

	it('accepts a shared (non-cyclic) object twice', () => {
		const shared = { k: 1 };
		expect(text({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
	});

	it('property: parses back to JSON, is independent of key order and idempotent', () => {
		fc.assert(
			fc.property(fc.jsonValue(), (value) => {
				const once = text(value);
				expect(text(reversed(value))).toBe(once);
				expect(text(JSON.parse(once))).toBe(once);
				expect(once).not.toMatch(/^\s|\s$/);
			}),
			{ numRuns: 500 }
		);
	});
});

describe('signedBytes and domain separation', () => {
	it('is domain ‖ 0x00 ‖ canonical bytes without sig', () => {
		const bytes = signedBytes(DOMAINS.auth, { sig: 'x', b: 2, a: 1 });
		expect(utf8Decode(bytes)).toBe('carnet/auth/v1\u0000{"a":1,"b":2}');
	});

	it('a signature for one domain is worthless in another', () => {
		const signer = signKeyPair();
		const id = memberId(signer.publicKey);
		const signed = signObject(DOMAINS.envelope, { a: 1 }, signer);
		expect(verifyObject(DOMAINS.envelope, signed, id)).toBe(true);
		for (const domain of Object.values(DOMAINS).filter((d) => d !== DOMAINS.envelope)) {
			expect(verifyObject(domain, signed, id)).toBe(false);
		}
	});

	it('verifyObject is false, never a throw, on malformed ids and signatures', () => {
		const signer = signKeyPair();
		const id = memberId(signer.publicKey);
		const signed = signObject(DOMAINS.lockbox, { a: 1 }, signer);
		expect(verifyObject(DOMAINS.lockbox, signed, 'not base64url!')).toBe(false);
		expect(verifyObject(DOMAINS.lockbox, signed, id.slice(2))).toBe(false);
		expect(verifyObject(DOMAINS.lockbox, { ...signed, sig: '%%' }, id)).toBe(false);
		const withNaN: { sig: string; extra: number } = { ...signed, extra: NaN };
		expect(verifyObject(DOMAINS.lockbox, withNaN, id)).toBe(false);
	});
});
