/**
 * The views read stored entries without zod (`STORED_READERS`, `ACTIVITY_READER`, each
 * field's `accepts`), because checking 5,000 entries with zod cost more than the whole open
 * budget allows. Stored entries are untrusted, so the readers must give zod's verdict exactly,
 * and zod's value (same keys, same order): these tests hold them equal on the edge values of
 * every field kind and on random JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MEASUREMENT_KIND_IDS, SECTIONS, type SectionId } from '../../src/lib/core/record';
import {
	ACTIVITY_ACTIONS,
	ACTIVITY_READER,
	ACTIVITY_SCHEMA,
	STORED_READERS,
	STORED_SCHEMAS,
	type ObjectReader
} from '../../src/lib/core/record/schema';
import { specOf } from '../../src/lib/core/record/sections';
import type { z } from 'zod';
import * as Automerge from '@automerge/automerge';
import { storedText, storedTexts } from '../../src/lib/core/record/layout';

/** Values at and around every limit the field kinds have, and the wrong types. */
const EDGE_VALUES: unknown[] = [
	undefined,
	null,
	true,
	false,
	0,
	-0,
	-1,
	0.5,
	1,
	45,
	45.1,
	300,
	701,
	1e308,
	JSON.parse('1e999'),
	JSON.parse('-1e999'),
	[],
	['a'],
	{},
	{ a: 1 },
	'',
	' ',
	'a',
	'x'.repeat(20),
	'x'.repeat(21),
	'x'.repeat(30),
	'x'.repeat(31),
	'x'.repeat(50),
	'x'.repeat(51),
	'x'.repeat(80),
	'x'.repeat(81),
	// zod counts code points: a surrogate pair is one character, a lone surrogate one too
	'😀',
	'😀'.repeat(40),
	'😀'.repeat(41),
	'😀'.repeat(100),
	'😀'.repeat(101),
	'x'.repeat(199) + '😀',
	'x'.repeat(200) + '\ud800',
	'\ud800'.repeat(81),
	'\udc00\ud800'.repeat(41),
	'\ud83d'.repeat(40) + '\ude00',
	'x'.repeat(100),
	'x'.repeat(101),
	'x'.repeat(200),
	'x'.repeat(201),
	'x'.repeat(254),
	'x'.repeat(255),
	'x'.repeat(500),
	'x'.repeat(501),
	'x'.repeat(4000),
	'x'.repeat(4001),
	// dates
	'2024-02-29',
	'2023-02-29',
	'2000-02-29',
	'1900-02-29',
	'1899-12-31',
	'1900-01-01',
	'2100-12-31',
	'2101-01-01',
	'2024-13-01',
	'2024-04-31',
	'2024-1-01',
	'02024-01-01',
	'2024-01-01 ',
	// local datetimes
	'2024-01-01T08:00',
	'2024-01-01T08:00:59',
	'2024-01-01T08:00:60',
	'2024-01-01T24:00',
	'2024-01-01T23:59',
	'2024-01-01 08:00',
	'2024-01-01T08:00Z',
	'2023-02-29T08:00',
	'1899-12-31T23:59',
	'2101-01-01T00:00',
	// instants
	'2024-01-01T08:00:00Z',
	'2024-01-01T08:00:00.123Z',
	'2024-01-01T08:00:00.Z',
	'2024-01-01T08:00:00+01:00',
	'2024-01-01T08:00:00',
	'2023-02-29T08:00:00Z',
	'2024-01-01t08:00:00z',
	// phones, e-mails, ids
	'06 12 34 56 78',
	'+33 6 12 34 56 78',
	'(01) 23.45-67',
	'12',
	'123',
	'123456789012345',
	'1234567890123456',
	'06 12 34 56 7a',
	'a@b.co',
	'a.b+c@d-e.fr',
	'a@b',
	'a.@b.co',
	'.a@b.co',
	'a@-b.co',
	'a@b.c',
	'A'.repeat(22),
	'A'.repeat(21),
	'AAAAAAAAAAAAAAAAAAAAA=',
	'device:abc',
	// every option of every select, and of the activity enums
	...new Set(
		SECTIONS.flatMap((s) => Object.values(specOf(s).fields).flatMap((f) => f.options ?? []))
	),
	...ACTIVITY_ACTIONS,
	...SECTIONS,
	...MEASUREMENT_KIND_IDS.map((k) => k.toUpperCase())
];

/** A JSON value as `JSON.parse` returns it (what a stored entry can hold). */
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

function expectSameAsZod(reader: ObjectReader, schema: z.ZodType, input: unknown): void {
	const parsed = schema.safeParse(input);
	const read = reader(input);
	expect(read !== undefined, JSON.stringify(input)).toBe(parsed.success);
	// Same keys in the same order: callers compare entries by their JSON text.
	if (parsed.success) expect(JSON.stringify(read)).toBe(JSON.stringify(parsed.data));
}

/** A valid stored value for each section, from the field table's edge values. */
function validStored(section: SectionId, full: boolean): Record<string, unknown> {
	const meta =
		section === 'identity' || section === 'directives'
			? { updatedAt: '2026-11-26T12:00:00.000Z', updatedBy: 'device:abc' }
			: {
					createdAt: '2026-11-26T12:00:00.000Z',
					updatedAt: '2026-11-26T12:00:00Z',
					createdBy: 'device:abc',
					updatedBy: 'Dr Martin'
				};
	const value: Record<string, unknown> = {};
	for (const [name, field] of Object.entries(specOf(section).fields)) {
		if (!field.required && !full) continue;
		const ok = EDGE_VALUES.find((v) => v !== undefined && field.schema.safeParse(v).success);
		if (ok === undefined) throw new Error(`no valid edge value for ${section}.${name}`);
		value[name] = ok;
	}
	// Stored key order differs from the schema's: the reader must put it back.
	return { ...meta, ...value };
}

describe('stored readers', () => {
	it("give each field kind's zod verdict on every edge value", () => {
		for (const section of SECTIONS) {
			for (const [name, field] of Object.entries(specOf(section).fields)) {
				for (const value of EDGE_VALUES) {
					if (value === undefined) continue;
					expect(field.accepts(value), `${section}.${name} ${JSON.stringify(value)}`).toBe(
						field.schema.safeParse(value).success
					);
				}
			}
		}
	});

	it('give zod verdict and value on stored entries with any one key changed, dropped or added', () => {
		for (const section of SECTIONS) {
			for (const full of [false, true]) {
				const base = validStored(section, full);
				expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], base);
				for (const key of [...Object.keys(base), ...Object.keys(specOf(section).fields)]) {
					const { [key]: _, ...dropped } = base;
					expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], dropped);
					for (const value of EDGE_VALUES) {
						expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], { ...base, [key]: value });
					}
				}
				for (const extra of ['__proto__', 'toString', 'constructor', 'id', 'hidden', 'extra', '']) {
					expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], JSON.parse(JSON.stringify(base).replace(/^\{/, `{${JSON.stringify(extra)}:1,`)));
				}
			}
			for (const input of [null, [], [base(section)], 'text', 42, true, {}]) {
				expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], input);
			}
		}
		function base(section: SectionId) {
			return validStored(section, false);
		}
	});

	it('give zod verdict and value on random JSON', () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...SECTIONS),
				fc.boolean(),
				fc.dictionary(fc.string(), json),
				fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDGE_VALUES.filter((v) => v !== undefined))), {
					maxLength: 4
				}),
				(section, full, extra, edits) => {
					const value = validStored(section, full);
					const keys = Object.keys(value);
					for (const [i, edit] of edits) value[keys[i % keys.length]] = edit;
					expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], value);
					expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], { ...value, ...extra });
				}
			),
			{ numRuns: 500 }
		);
		fc.assert(
			fc.property(fc.constantFrom(...SECTIONS), json, (section, value) => {
				expectSameAsZod(STORED_READERS[section], STORED_SCHEMAS[section], value);
			}),
			{ numRuns: 300 }
		);
	});

	it('read activity lines as ACTIVITY_SCHEMA does', () => {
		const line = {
			at: '2026-11-26T12:00:00.000Z',
			author: 'device:abc',
			action: 'add',
			section: 'visits',
			entryId: 'A'.repeat(22),
			summary: 'Dr Martin'
		};
		const shuffled = { summary: line.summary, section: line.section, at: line.at, entryId: line.entryId, action: line.action, author: line.author };
		expectSameAsZod(ACTIVITY_READER, ACTIVITY_SCHEMA, line);
		expectSameAsZod(ACTIVITY_READER, ACTIVITY_SCHEMA, shuffled);
		for (const key of Object.keys(line)) {
			const { [key as keyof typeof line]: _, ...dropped } = line;
			expectSameAsZod(ACTIVITY_READER, ACTIVITY_SCHEMA, dropped);
			for (const value of EDGE_VALUES) expectSameAsZod(ACTIVITY_READER, ACTIVITY_SCHEMA, { ...line, [key]: value });
		}
		expectSameAsZod(ACTIVITY_READER, ACTIVITY_SCHEMA, { ...line, id: 'x' });
		fc.assert(
			fc.property(fc.dictionary(fc.constantFrom(...Object.keys(line), 'id', 'x'), json), (patch) => {
				expectSameAsZod(ACTIVITY_READER, ACTIVITY_SCHEMA, { ...line, ...patch });
			}),
			{ numRuns: 300 }
		);
	});

	it('decode the bytes of a whole map at once exactly as one by one', () => {
		const utf8 = (text: string) => new TextEncoder().encode(text);
		const value = fc.oneof(
			fc.string({ unit: 'grapheme' }).map(utf8),
			fc.string({ unit: 'binary' }).map(utf8),
			fc.uint8Array({ maxLength: 12 }),
			fc.constantFrom(
				new Uint8Array(0),
				Uint8Array.of(0),
				Uint8Array.of(0x7b, 0, 0x7d),
				Uint8Array.of(0xc3),
				Uint8Array.of(0xa9, 0x41),
				Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d),
				Uint8Array.of(0xf0, 0x9f, 0x98),
				utf8('{"a":"é°µ😀"}'),
				new Automerge.ImmutableString('{"a":1}'),
				'{"b":2}',
				42,
				null,
				{}
			)
		);
		fc.assert(
			fc.property(fc.array(value, { maxLength: 8 }), (values) => {
				expect(storedTexts(values)).toEqual(values.map(storedText));
			}),
			{ numRuns: 2000 }
		);
	});

	it('put the id first when asked, as the views return entries', () => {
		const value = validStored('visits', true);
		const read = STORED_READERS.visits(value, 'B'.repeat(22));
		expect(Object.keys(read ?? {})[0]).toBe('id');
		expect(read).toEqual({ id: 'B'.repeat(22), ...STORED_SCHEMAS.visits.parse(value) });
	});
});
