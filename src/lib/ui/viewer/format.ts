// Display helpers of the professional's viewer: FHIR dates as the bundle gave them (a year, a
// month, a day or an instant), ages, link expiry. How attachments are offered and sized is
// src/lib/ui/attachment.ts, shared with the patient's pages. Plain functions.
import { formatDate, formatDateTime, locale, t } from '../i18n/index.svelte';

/** A FHIR date or dateTime ("2010", "2010-05", "2010-05-03", "2010-05-03T10:00:00Z"), for display. */
export function formatFhirDate(value: string | undefined): string {
	if (!value) return '';
	if (/^\d{4}$/.test(value)) return value;
	const month = /^(\d{4})-(\d{2})$/.exec(value);
	if (month) {
		return new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
			new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 1))
		);
	}
	if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return formatDate(value);
	return formatDateTime(value);
}

/** Age in whole years (or months under 2) on `now`, for a FHIR birth date; '' when unknown. */
export function formatAge(birthDate: string | undefined, now = new Date()): string {
	const match = birthDate ? /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate) : null;
	if (!match) return '';
	const year = Number(match[1]);
	const month = match[2] ? Number(match[2]) : 1;
	const day = match[3] ? Number(match[3]) : 1;
	let months = (now.getUTCFullYear() - year) * 12 + (now.getUTCMonth() + 1 - month);
	if (now.getUTCDate() < day) months -= 1;
	if (months < 0) return '';
	if (months < 24) return t(months === 1 ? 'viewer.patient.ageMonth' : 'viewer.patient.ageMonths', { months });
	const years = Math.floor(months / 12);
	return t('viewer.patient.ageYears', { years });
}

/** "26/11 10:32" (the year added when it is not this year), in the user's language. */
export function formatExpiry(exp: Date, now = new Date()): string {
	const options: Intl.DateTimeFormatOptions = { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' };
	if (exp.getFullYear() !== now.getFullYear()) options.year = 'numeric';
	return new Intl.DateTimeFormat(locale(), options).format(exp).replace(',', '');
}
