// What the documents screens use of the client's file service (docs/ATTACHMENTS.md, section 4:
// `session.files(vaultId)`), and their helpers: messages for its errors and statuses, the
// thumbnail an image gets in the page before it is sealed.
import type { Session } from '$lib/client';
import type { FileLimits, FileService, FileStatus } from '$lib/client/files/types';
import { THUMB_MAX_CHARS } from '$lib/core/record/schema';
import { formatBytes } from './attachment';
import { clientErrorMessage } from './errors';
import { locale, t } from './i18n/index.svelte';

export type { FileLimits, FileService, FileStatus };

/** The record's file service, or null (locked, or a record not on this device). */
export function fileService(session: Session | null, vaultId: string | null): FileService | null {
	if (!session || !vaultId) return null;
	try {
		return session.files(vaultId);
	} catch {
		return null;
	}
}

/** "45 %" (French) or "45%". */
export function formatPercent(fraction: number): string {
	const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
	return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(clamped);
}

/** The message of an error of the file service, its byte counts written for people. */
export function fileErrorMessage(error: unknown): string {
	const e = error as { code?: unknown; params?: Record<string, unknown> } | null;
	const params = e && typeof e === 'object' ? e.params : undefined;
	if (e?.code === 'file_too_large' && typeof params?.max === 'number') {
		return t('error.file_too_large', { max: formatBytes(params.max, locale()) });
	}
	if (e?.code === 'quota' && typeof params?.used === 'number' && typeof params?.quota === 'number') {
		return t('documents.quotaFull', {
			used: formatBytes(params.used, locale()),
			quota: formatBytes(params.quota, locale())
		});
	}
	// A file not here while offline: say what to do about it, not just that the relay is away.
	if (e?.code === 'offline') return t('documents.offline');
	return clientErrorMessage(error);
}

/** The message of a failed status's code. */
export function fileCodeMessage(code: string): string {
	return clientErrorMessage({ code });
}

/** What a document's row says of its file. '' for a document without one. */
export function fileStatusText(status: FileStatus): string {
	switch (status.state) {
		case 'none':
			return '';
		case 'sealing':
			return t('documents.status.sealing', { percent: formatPercent(status.progress) });
		case 'waiting':
			return t('documents.status.waiting');
		case 'uploading':
			return t('documents.status.uploading', { percent: formatPercent(status.progress) });
		case 'uploaded':
			return t('documents.status.uploaded');
		case 'downloading':
			return t('documents.status.downloading', { percent: formatPercent(status.progress) });
		case 'remote':
			return t('documents.status.remote');
		case 'failed':
			return t('documents.status.failed', { reason: fileCodeMessage(status.code) });
	}
}

/** The fraction a status's progress bar shows, or null when it has none. */
export function statusProgress(status: FileStatus): number | null {
	return 'progress' in status ? status.progress : null;
}

/** The longest side of a thumbnail, in pixels. */
const THUMB_SIDE = 160;
const THUMB_QUALITIES = [0.8, 0.65, 0.5, 0.35];
/**
 * Larger images get no thumbnail (the list shows the type's icon): decoding a 100 MB scan
 * would take hundreds of MB of memory for a 160-pixel picture, too much for a phone.
 */
const THUMB_SOURCE_MAX_BYTES = 25 * 1024 * 1024;

/**
 * A small JPEG preview of an image (standard base64, at most THUMB_MAX_CHARS characters, the
 * record's limit), made in the page so the list shows it on every device without downloading
 * the file. Undefined when this browser cannot decode the image (HEIC on most browsers, a
 * damaged file) or it is too large: the list then shows the type's icon.
 */
export async function makeThumbnail(image: Blob): Promise<string | undefined> {
	if (image.size > THUMB_SOURCE_MAX_BYTES) return undefined;
	let bitmap: ImageBitmap;
	try {
		// The browser decodes and scales off the main thread; a portrait image is decoded again
		// to bound its height instead (the options cannot say "longest side").
		bitmap = await createImageBitmap(image, { resizeWidth: THUMB_SIDE, resizeQuality: 'medium' });
		if (bitmap.height > bitmap.width) {
			bitmap.close();
			bitmap = await createImageBitmap(image, { resizeHeight: THUMB_SIDE, resizeQuality: 'medium' });
		}
	} catch {
		return undefined;
	}
	try {
		const canvas = document.createElement('canvas');
		const context = canvas.getContext('2d');
		if (!context) return undefined;
		// Lower the quality first, then the size, until the text fits.
		for (let scale = 1; scale > 0.25; scale *= 0.75) {
			canvas.width = Math.max(1, Math.round(bitmap.width * scale));
			canvas.height = Math.max(1, Math.round(bitmap.height * scale));
			// JPEG has no transparency: a transparent PNG gets a white background, not a black one.
			context.fillStyle = '#fff';
			context.fillRect(0, 0, canvas.width, canvas.height);
			context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
			for (const quality of THUMB_QUALITIES) {
				const base64 = canvas.toDataURL('image/jpeg', quality).split(',')[1] ?? '';
				if (base64 && base64.length <= THUMB_MAX_CHARS) return base64;
			}
		}
		return undefined;
	} finally {
		bitmap.close();
	}
}

/** How many of `documentIds` have a file still to reach the relay from this device. */
export function pendingUploads(files: FileService, documentIds: readonly string[]): number {
	let count = 0;
	for (const id of documentIds) {
		const { state } = files.status(id);
		if (state === 'sealing' || state === 'waiting' || state === 'uploading') count++;
	}
	return count;
}
