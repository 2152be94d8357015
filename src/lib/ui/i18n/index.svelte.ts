// The UI's translations: a reactive language and `t(key, params)` with `{param}` interpolation.
// Catalogues are flat JSON files (`messages/fr.json`, `messages/en.json`) with identical keys
// (tests/unit/i18n.test.ts checks it).
import fr from './messages/fr.json';
import en from './messages/en.json';

export const LANGS = ['fr', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export type Params = Record<string, string | number>;

const STORAGE_KEY = 'carnet.lang';

export const catalogues: Record<Lang, Record<string, string>> = { fr, en };

let current = $state<Lang>('fr');

function isLang(value: unknown): value is Lang {
	return typeof value === 'string' && (LANGS as readonly string[]).includes(value);
}

/** The stored language, else French when the browser speaks French, else English. */
export function detectLang(): Lang {
	try {
		const stored = localStorage.getItem(STORAGE_KEY);
		if (isLang(stored)) return stored;
	} catch {
		// storage may be unavailable (private mode): fall through
	}
	const nav = typeof navigator !== 'undefined' ? navigator.language || '' : '';
	return nav.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

function applyHtmlLang(lang: Lang): void {
	if (typeof document !== 'undefined') document.documentElement.lang = lang;
}

export function initLang(): void {
	current = detectLang();
	applyHtmlLang(current);
}

export function getLang(): Lang {
	return current;
}

export function setLang(lang: Lang): void {
	current = lang;
	try {
		localStorage.setItem(STORAGE_KEY, lang);
	} catch {
		// not persisted; the choice holds for this page
	}
	applyHtmlLang(lang);
}

export function interpolate(template: string, params?: Params): string {
	if (!params) return template;
	return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
		name in params ? String(params[name]) : whole
	);
}

/** Whether a key exists in the current catalogue (for optional, data-driven keys). */
export function has(key: string): boolean {
	return key in catalogues[current];
}

/** Translate `key`; unknown keys fall back to English, then to the key itself. */
export function t(key: string, params?: Params): string {
	const template = catalogues[current][key] ?? catalogues.en[key] ?? key;
	return interpolate(template, params);
}

/** BCP 47 locale for Intl formatting. */
export function locale(): string {
	return current === 'fr' ? 'fr-FR' : 'en-GB';
}

export function formatDate(value: string | number | Date | undefined | null): string {
	if (value === undefined || value === null || value === '') return '';
	// A bare ISO date (YYYY-MM-DD) is a calendar day: format it without a time-zone shift.
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
		const [y, m, d] = value.split('-').map(Number);
		return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(
			new Date(Date.UTC(y, m - 1, d))
		);
	}
	const date = value instanceof Date ? value : new Date(value);
	if (Number.isNaN(date.getTime())) return String(value);
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(date);
}

export function formatDateTime(value: string | number | Date | undefined | null): string {
	if (value === undefined || value === null || value === '') return '';
	const date = value instanceof Date ? value : new Date(value);
	if (Number.isNaN(date.getTime())) return String(value);
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(
		date
	);
}

export function formatNumber(value: number): string {
	return new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(value);
}
