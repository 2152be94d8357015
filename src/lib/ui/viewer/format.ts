// Display helpers of the professional's viewer: FHIR dates as the bundle gave them (a year, a
// month, a day or an instant), ages, link expiry, sizes, and the rules that decide how the
// untrusted bytes of an attachment may be shown. Plain functions: no storage, no network.
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

/** "1.2 MB", "340 KB", "12 bytes". */
export function formatBytes(bytes: number): string {
	const number = (value: number) => new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(value);
	if (bytes >= 1024 * 1024) return t('viewer.size.mb', { size: number(bytes / (1024 * 1024)) });
	if (bytes >= 1024) return t('viewer.size.kb', { size: number(bytes / 1024) });
	return t('viewer.size.bytes', { size: bytes });
}

/** Image types shown inline (an <img> never runs script; SVG can, so it is not here). */
const INLINE_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp'];

export type AttachmentKind = 'image' | 'pdf' | 'download';

/** The media type without parameters, lower case. */
export function baseType(contentType: string | undefined): string {
	return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** How an attachment of this declared type is offered: an inline image, the browser's PDF viewer, or a download. */
export function attachmentKind(contentType: string | undefined): AttachmentKind {
	const type = baseType(contentType);
	if (INLINE_IMAGES.includes(type)) return 'image';
	if (type === 'application/pdf') return 'pdf';
	return 'download';
}

/**
 * The type the Blob gets: only a raster image type or application/pdf as declared, everything
 * else application/octet-stream, so no blob URL of ours can ever be a page (HTML, SVG, XML).
 */
export function blobType(kind: AttachmentKind, contentType: string | undefined): string {
	if (kind === 'image') return baseType(contentType);
	if (kind === 'pdf') return 'application/pdf';
	return 'application/octet-stream';
}

/** Bytes of standard (or URL-safe) base64, whitespace tolerated; throws on anything else. */
export function base64ToBytes(data: string): Uint8Array<ArrayBuffer> {
	const clean = data.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
	const binary = atob(clean);
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return bytes;
}

/** Standard base64 of bytes (in slices: String.fromCharCode takes a bounded argument list). */
export function bytesToBase64(bytes: Uint8Array): string {
	let binary = '';
	const slice = 0x8000;
	for (let i = 0; i < bytes.length; i += slice) {
		binary += String.fromCharCode(...bytes.subarray(i, i + slice));
	}
	return btoa(binary);
}

const EXTENSIONS: Record<string, string> = {
	'application/pdf': 'pdf',
	'image/png': 'png',
	'image/jpeg': 'jpg',
	'image/gif': 'gif',
	'image/webp': 'webp',
	'image/avif': 'avif',
	'image/bmp': 'bmp',
	'image/svg+xml': 'svg',
	'text/plain': 'txt',
	'text/html': 'html',
	'application/xml': 'xml',
	'text/xml': 'xml',
	'application/dicom': 'dcm'
};

/** A harmless file name for a download: the title without path or control characters, plus an extension from the type. */
export function downloadName(title: string, contentType: string | undefined): string {
	// eslint-disable-next-line no-control-regex
	const stem = title.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80) || 'document';
	const extension = EXTENSIONS[baseType(contentType)] ?? 'bin';
	return stem.toLowerCase().endsWith(`.${extension}`) ? stem : `${stem}.${extension}`;
}
