// How any file of a health record is offered, on the patient's pages and in the professional's
// viewer alike: attachment bytes are untrusted, so no blob URL of ours is ever something the
// browser would render as a page of our origin (HTML, SVG, XML). Plain functions: the viewer
// imports them too.

/** Raster image types shown inline (an <img> never runs script; SVG can, so it is not here). */
const INLINE_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp'];

/** The media type without parameters, lower case. */
export function baseType(contentType: string | undefined): string {
	return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * How a file may be opened, and the type its Blob gets: raster images inline (`<img
 * src=blob:>`), PDFs in the browser's viewer in a new tab from a Blob forced to
 * application/pdf, everything else (SVG and HTML included) downloaded only, as
 * application/octet-stream.
 */
export function openMode(contentType: string | undefined): { mode: 'image' | 'pdf' | 'download'; type: string } {
	const type = baseType(contentType);
	if (INLINE_IMAGES.includes(type)) return { mode: 'image', type };
	if (type === 'application/pdf') return { mode: 'pdf', type: 'application/pdf' };
	return { mode: 'download', type: 'application/octet-stream' };
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

/**
 * A harmless file name for a download: the name or title without path or control characters,
 * at most 80 characters, with an extension from the type when it has none.
 */
export function downloadName(name: string | undefined, contentType: string | undefined): string {
	const stem =
		(name ?? '')
			// eslint-disable-next-line no-control-regex
			.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, ' ')
			.replace(/\s+/g, ' ')
			.replace(/^[\s.]+/, '')
			.trim()
			.slice(0, 80) || 'document';
	const extension = EXTENSIONS[baseType(contentType)] ?? 'bin';
	return stem.toLowerCase().endsWith(`.${extension}`) ? stem : `${stem}.${extension}`;
}

/** "12.3 KB", "1.2 MB" (in French "12,3 Ko"). */
export function formatBytes(size: number, locale = 'en-GB'): string {
	const units = locale.startsWith('fr') ? ['o', 'Ko', 'Mo', 'Go'] : ['B', 'KB', 'MB', 'GB'];
	let value = size;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	const digits = unit === 0 || value >= 10 ? 0 : 1;
	return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}
