// The UI's two catalogues must have the same keys, no empty message, the same {params}, and a
// message for every key the record and client modules can hand the UI (fields, options,
// document types, issue and error codes, sections, activity actions).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from '../../src/lib/ui/i18n/messages/en.json';
import fr from '../../src/lib/ui/i18n/messages/fr.json';
import {
	ACTIVITY_ACTIONS,
	DOCUMENT_TYPES,
	FIELDS,
	ISSUE_CODES,
	LIST_SECTIONS,
	SECTIONS
} from '../../src/lib/core/record';
import * as clientErrors from '../../src/lib/client/errors';
import { ERROR_CODES } from '../../src/lib/core/protocol';
import { interpolate } from '../../src/lib/ui/i18n/index.svelte';
import { estimateStrength, STRENGTH_LEVELS } from '../../src/lib/ui/passphrase-strength';

const catalogues: Record<string, Record<string, string>> = { en, fr };
const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

function requiredKeys(): string[] {
	const keys: string[] = ['section.activity'];
	for (const section of SECTIONS) {
		keys.push(`section.${section}`);
		for (const field of FIELDS[section]) {
			keys.push(`field.${section}.${field.name}`);
			for (const option of field.options ?? []) keys.push(`option.${section}.${field.name}.${option}`);
		}
	}
	for (const type of DOCUMENT_TYPES) keys.push(`option.documents.type.${type.id}`);
	for (const code of ISSUE_CODES) keys.push(`error.${code}`);
	for (const action of ACTIVITY_ACTIONS) keys.push(`activity.action.${action}`);
	for (const section of LIST_SECTIONS) keys.push(`add.${section}`, `new.${section}`, `empty.${section}`);
	for (const level of STRENGTH_LEVELS) keys.push(`strength.level.${level}`);
	return keys;
}

/** `code` of every error class the client exports (each is an i18n key `error.<code>`). */
function clientErrorCodes(): string[] {
	const codes: string[] = [];
	for (const value of Object.values(clientErrors)) {
		if (typeof value !== 'function' || value === clientErrors.CarnetError) continue;
		if (!(value.prototype instanceof clientErrors.CarnetError)) continue;
		const error = new (value as new (...args: unknown[]) => clientErrors.CarnetError)([]);
		// Classes that take their code as an argument (RelayError, IntegrityError) are covered
		// by the lists of codes below.
		if (typeof error.code === 'string' && error.code !== '') codes.push(error.code);
	}
	return codes;
}

/** Codes the client hands through from the relay (`RelayError`) or its integrity checks (`IntegrityError`). */
const PASSED_THROUGH_CODES = [
	...ERROR_CODES,
	'bad_membership',
	'bad_lockbox',
	'corrupt_envelope',
	'corrupt_snapshot',
	'forbidden_author',
	'no_key'
];

/** Literal keys passed to t('...') in the UI's sources. */
function literalKeysInSources(): string[] {
	const roots = ['src/lib/ui', 'src/routes'];
	const keys = new Set<string>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir)) {
			const path = join(dir, name);
			if (statSync(path).isDirectory()) walk(path);
			else if (/\.(svelte|ts)$/.test(name)) {
				const text = readFileSync(path, 'utf8');
				for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.-]+)'/g)) keys.add(m[1]);
			}
		}
	};
	for (const root of roots) walk(root);
	return [...keys];
}

describe('i18n catalogues', () => {
	it('have identical key sets', () => {
		expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
	});

	it('have no empty message', () => {
		for (const [lang, messages] of Object.entries(catalogues)) {
			for (const [key, text] of Object.entries(messages)) {
				expect(text.trim(), `${lang} ${key}`).not.toBe('');
			}
		}
	});

	it('use the same {params} in both languages', () => {
		for (const key of Object.keys(en)) {
			expect(params(fr[key as keyof typeof fr]), key).toEqual(params(en[key as keyof typeof en]));
		}
	});

	it('name every field, option, document type, section, issue code and activity action', () => {
		const missing = requiredKeys().filter((key) => !(key in en) || !(key in fr));
		expect(missing).toEqual([]);
	});

	it('translate every error code the client throws', () => {
		const codes = clientErrorCodes();
		expect(codes.length).toBeGreaterThan(5);
		const missing = codes.map((code) => `error.${code}`).filter((key) => !(key in en) || !(key in fr));
		expect(missing).toEqual([]);
	});

	it('translate every relay error code and integrity failure the client passes on', () => {
		const missing = PASSED_THROUGH_CODES.map((code) => `error.${code}`).filter((key) => !(key in en) || !(key in fr));
		expect(missing).toEqual([]);
	});

	it('hold every key the UI sources pass to t() literally', () => {
		const missing = literalKeysInSources().filter((key) => !(key in en));
		expect(missing).toEqual([]);
	});

	it('hold every hint the passphrase estimator gives', () => {
		for (const sample of ['a', 'password', 'azertyuiop', 'aaaaaaaaaaaa', 'Soleil2024!', 'tartempion']) {
			for (const hint of estimateStrength(sample).hints) expect(hint in en, hint).toBe(true);
		}
	});
});

describe('interpolate', () => {
	it('fills {params} and leaves unknown ones', () => {
		expect(interpolate('Word #{n} of {total}', { n: 3 })).toBe('Word #3 of {total}');
		expect(interpolate('{a}{a}', { a: 'x' })).toBe('xx');
	});
});
