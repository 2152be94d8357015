// Maps errors thrown by the client to translated messages, without ever echoing secrets.
import { t } from './i18n/index.svelte';

/** The i18n message for a client error (its stable `code`), else the generic one. */
export function clientErrorMessage(error: unknown, fallback = 'error.unexpected'): string {
	const code =
		error && typeof error === 'object' && 'code' in error && typeof error.code === 'string'
			? error.code
			: null;
	const key = code ? `error.${code}` : fallback;
	const message = t(key);
	return message === key ? t(fallback) : message;
}
