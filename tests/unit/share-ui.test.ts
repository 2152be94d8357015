// The sharing screens' pure helpers (src/lib/ui/share-api.ts): the new-share form's checks
// and expiry, live status and ordering of shares, countdowns, progress; and the rules, shared
// with the viewer, that decide how a document's file may be opened (src/lib/ui/attachment.ts).
import { describe, expect, it } from 'vitest';
import {
	checkShareForm,
	contributorOf,
	dateBounds,
	endOfDay,
	expiryOf,
	lastOpened,
	liveStatus,
	openCount,
	readProgress,
	remainingParts,
	sortShares,
	type ShareFormInput,
	type ShareInfo
} from '../../src/lib/ui/share-api';
import { downloadName, formatBytes, openMode } from '../../src/lib/ui/attachment';

const NOW = new Date(2026, 10, 26, 10, 0, 0); // 26 Nov 2026, 10:00 local

function form(patch: Partial<ShareFormInput> = {}): ShareFormInput {
	return {
		sections: ['identity', 'allergies'],
		documents: [],
		duration: '30m',
		date: '',
		passcode: '',
		maxUses: '',
		allowContributions: false,
		label: 'Consultation',
		...patch
	};
}

function share(patch: Partial<ShareInfo> = {}): ShareInfo {
	return {
		id: 'x',
		label: 'L',
		kind: 'consultation',
		sections: ['identity'],
		documents: [],
		createdAt: '2026-11-26T09:00:00.000Z',
		createdBy: 'device',
		expiresAt: null,
		flag: '',
		allowContributions: false,
		status: 'active',
		accesses: [],
		...patch
	};
}

describe('checkShareForm', () => {
	it('makes a 30-minute consultation by default, without passcode nor limit', () => {
		const result = checkShareForm(form(), NOW);
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		expect(result.options.kind).toBe('consultation');
		expect(result.options.expiresAt?.getTime()).toBe(NOW.getTime() + 30 * 60_000);
		expect(result.options).not.toHaveProperty('passcode');
		expect(result.options).not.toHaveProperty('maxUses');
		expect(result.options.allowContributions).toBe(false);
	});

	it('refuses an empty selection, a short passcode, a bad limit, an empty or long label', () => {
		const result = checkShareForm(
			form({ sections: [], passcode: '12', maxUses: '0', label: '  ' }),
			NOW
		);
		expect(result).toEqual({
			ok: false,
			errors: {
				what: 'share.error.nothing',
				passcode: 'share.error.passcode',
				maxUses: 'share.error.maxUses',
				label: 'share.error.labelRequired'
			}
		});
		const long = checkShareForm(form({ label: 'x'.repeat(81) }), NOW);
		expect(long.ok ? null : long.errors.label).toBe('share.error.labelTooLong');
		expect(checkShareForm(form({ maxUses: '2.5' }), NOW).ok).toBe(false);
		expect(checkShareForm(form({ maxUses: '101' }), NOW).ok).toBe(false);
	});

	it('accepts documents alone, a passcode, a limit, and contributions', () => {
		const result = checkShareForm(
			form({ sections: [], documents: ['doc1'], passcode: ' 4711 ', maxUses: '3', allowContributions: true }),
			NOW
		);
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		expect(result.options).toMatchObject({ documents: ['doc1'], passcode: '4711', maxUses: 3, allowContributions: true });
	});

	it('wants a custom date from tomorrow to one year ahead, ending that day at 23:59', () => {
		const { min, max } = dateBounds(NOW);
		expect(min).toBe('2026-11-27');
		expect(max).toBe('2027-11-26');
		const errorOf = (date: string) => {
			const result = checkShareForm(form({ duration: 'date', date }), NOW);
			return result.ok ? null : result.errors.date;
		};
		expect(errorOf('')).toBe('share.error.dateRequired');
		expect(errorOf('2026-02-30')).toBe('share.error.dateRequired');
		expect(errorOf('2026-11-26')).toBe('share.error.datePast');
		expect(errorOf('2027-11-27')).toBe('share.error.dateTooFar');
		const ok = checkShareForm(form({ duration: 'date', date: '2027-11-26' }), NOW);
		expect(ok.ok && ok.options.expiresAt?.getTime()).toBe(new Date(2027, 10, 26, 23, 59).getTime());
		expect(ok.ok && ok.options.kind).toBe('custom');
	});

	it('refuses an unknown duration', () => {
		const result = checkShareForm(form({ duration: '1y' }), NOW);
		expect(result.ok ? null : result.errors).toEqual({ what: 'share.error.duration' });
	});
});

describe('expiry', () => {
	it('adds 24 h, 7 days and 6 calendar months', () => {
		expect(expiryOf('24h', NOW).getTime() - NOW.getTime()).toBe(86_400_000);
		expect(expiryOf('7d', NOW).getTime() - NOW.getTime()).toBe(7 * 86_400_000);
		expect(expiryOf('6mo', NOW).getMonth()).toBe(4);
		expect(endOfDay('2027-01-05')?.getHours()).toBe(23);
		expect(endOfDay('nope')).toBeNull();
	});

	it('counts down as m:ss, h:mm:ss, then days and hours', () => {
		expect(remainingParts(29 * 60_000 + 5_000)).toEqual({ clock: '29:05' });
		expect(remainingParts(3_600_000 + 61_000)).toEqual({ clock: '1:01:01' });
		expect(remainingParts(2 * 86_400_000 + 3 * 3_600_000)).toEqual({ days: 2, hours: 3 });
		expect(remainingParts(-5)).toEqual({ clock: '0:00' });
	});
});

describe('status', () => {
	const opened = { share: 'x', seq: 2, at: '2026-11-26T09:32:00.000Z', recipient: 'Dr Martin', outcome: 'opened' as const };
	const wrong = { share: 'x', seq: 1, at: '2026-11-26T09:31:00.000Z', recipient: 'Dr Martin', outcome: 'wrong_passcode' as const };

	it('reads expiry, revocation and used-up limits by the clock of now', () => {
		const now = Date.parse('2026-11-26T10:00:00.000Z');
		expect(liveStatus(share({ expiresAt: '2026-11-26T10:30:00.000Z' }), now)).toBe('active');
		expect(liveStatus(share({ expiresAt: '2026-11-26T09:59:59.000Z' }), now)).toBe('expired');
		expect(liveStatus(share({ revokedAt: '2026-11-26T09:00:00.000Z', status: 'active' }), now)).toBe('revoked');
		expect(liveStatus(share({ maxUses: 1, accesses: [opened] }), now)).toBe('expired');
		expect(liveStatus(share({ maxUses: 2, accesses: [opened, wrong] }), now)).toBe('active');
	});

	it('counts openings only, and finds the last one', () => {
		const s = share({ accesses: [opened, wrong] });
		expect(openCount(s)).toBe(1);
		expect(lastOpened(s)?.recipient).toBe('Dr Martin');
		expect(lastOpened(share())).toBeNull();
	});

	it('lists active shares soonest-ending first, then past ones newest first', () => {
		const now = Date.parse('2026-11-26T10:00:00.000Z');
		const a = share({ id: 'a', expiresAt: null });
		const b = share({ id: 'b', expiresAt: '2026-11-26T10:30:00.000Z' });
		const c = share({ id: 'c', status: 'revoked', revokedAt: '2026-11-26T09:10:00.000Z', createdAt: '2026-11-20T00:00:00.000Z' });
		const d = share({ id: 'd', expiresAt: '2026-11-25T00:00:00.000Z', createdAt: '2026-11-24T00:00:00.000Z' });
		const { active, past } = sortShares([a, c, b, d], now);
		expect(active.map((s) => s.id)).toEqual(['b', 'a']);
		expect(past.map((s) => s.id)).toEqual(['d', 'c']);
	});
});

describe('progress', () => {
	it('names the step running after each finished one', () => {
		expect(readProgress(1, 4, 'summary')).toEqual({ running: 'encrypt', fraction: 0.25 });
		expect(readProgress(3, 4, 'upload')).toEqual({ running: 'save', fraction: 0.75 });
		expect(readProgress(4, 4, 'save')).toEqual({ running: null, fraction: 1 });
	});
});

describe('documents', () => {
	it('opens raster images inline, PDFs as PDF, and everything else as a download only', () => {
		expect(openMode('image/png')).toEqual({ mode: 'image', type: 'image/png' });
		expect(openMode('IMAGE/JPEG; charset=x')).toEqual({ mode: 'image', type: 'image/jpeg' });
		expect(openMode('application/pdf')).toEqual({ mode: 'pdf', type: 'application/pdf' });
		for (const type of ['image/svg+xml', 'text/html', 'application/xhtml+xml', 'text/xml', '', undefined]) {
			expect(openMode(type)).toEqual({ mode: 'download', type: 'application/octet-stream' });
		}
	});

	it('offers safe file names', () => {
		expect(downloadName('../../etc/passwd', 'text/plain')).toBe('etc passwd.txt');
		expect(downloadName('compte rendu.pdf', 'application/pdf')).toBe('compte rendu.pdf');
		expect(downloadName('\u0000', 'text/html')).toBe('document.html');
		expect(downloadName('', undefined)).toBe('document.bin');
	});

	it('reads who contributed a document, from the entry or its author', () => {
		expect(contributorOf({ contributor: { name: 'Dr Martin', rpps: '10003456789' } })).toEqual({
			name: 'Dr Martin',
			rpps: '10003456789'
		});
		expect(contributorOf({ createdBy: 'pro:Dr Kerhervé (RPPS 10001234567)' })).toEqual({
			name: 'Dr Kerhervé',
			rpps: '10001234567'
		});
		expect(contributorOf({ createdBy: 'device:abc' })).toBeNull();
	});

	it('formats sizes', () => {
		expect(formatBytes(512)).toBe('512 B');
		expect(formatBytes(1536)).toBe('1.5 KB');
		expect(formatBytes(20 * 1024 * 1024)).toBe('20 MB');
		expect(formatBytes(1536, 'fr-FR')).toBe('1,5 Ko');
	});
});
