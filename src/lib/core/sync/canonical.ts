/**
 * Canonical JSON: the one byte form of a value that every device and the relay sign, hash
 * and authenticate, whatever order its keys were built in. Keys are sorted by UTF-16 code
 * units and strings and numbers are written as JSON.stringify writes them, which makes it
 * RFC 8785 (JCS) for the values Carnet signs.
 */
import { utf8Encode } from '../crypto';

/**
 * The UTF-8 bytes of `value` as canonical JSON. Throws TypeError for anything JSON cannot
 * carry faithfully (undefined outside an object property, NaN, ±Infinity, bigint, functions,
 * symbols, class instances such as Date or Uint8Array, cycles): signing a lossy rendering
 * would sign something other than what the caller holds. Properties whose value is
 * undefined are omitted, as JSON.stringify does.
 */
export function canonicalBytes(value: unknown): Uint8Array {
	return utf8Encode(canonicalJson(value, '$', new Set()));
}

function canonicalJson(value: unknown, path: string, ancestors: Set<object>): string {
	switch (typeof value) {
		case 'string':
		case 'boolean':
			return JSON.stringify(value);
		case 'number':
			if (!Number.isFinite(value)) throw new TypeError(`canonicalBytes: ${path} is not a finite number`);
			return JSON.stringify(value);
		case 'object':
			if (value === null) return 'null';
			break;
		default:
			throw new TypeError(`canonicalBytes: ${path} (${typeof value}) is not a JSON value`);
	}
	if (ancestors.has(value)) throw new TypeError(`canonicalBytes: ${path} is a cycle`);
	ancestors.add(value);
	try {
		if (Array.isArray(value)) {
			// Array.from visits holes (as undefined, refused) where map would skip them.
			return `[${Array.from(value, (item, i) => canonicalJson(item, `${path}[${i}]`, ancestors)).join(',')}]`;
		}
		const proto = Object.getPrototypeOf(value);
		if (proto !== Object.prototype && proto !== null) {
			throw new TypeError(`canonicalBytes: ${path} is not a plain object`);
		}
		const record = value as Record<string, unknown>;
		const members: string[] = [];
		for (const key of Object.keys(record).sort()) {
			if (record[key] === undefined) continue;
			members.push(`${JSON.stringify(key)}:${canonicalJson(record[key], `${path}.${key}`, ancestors)}`);
		}
		return `{${members.join(',')}}`;
	} finally {
		ancestors.delete(value);
	}
}
