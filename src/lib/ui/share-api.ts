// What the sharing screens use of the patient's sharing API (docs/SHARING.md, "Module
// contracts": `session.shares(vaultId)`, `RecordView.shares()`), and
// their pure helpers (expiry choices, the new-share form's zod schema, live status and
// countdowns, creation progress). The screens reach the
// client's share side only through this file (tests/unit/share-ui.test.ts).
import { z } from 'zod';
import type { Session } from '$lib/client';
import type { ShareOptions, ShareService, ShareStep } from '$lib/client/share';
import {
	EMERGENCY_SECTIONS,
	type AccessEntry,
	type FileMeta,
	type RecordView,
	type ShareableSection,
	type ShareInfo
} from '$lib/core/record';

export type { AccessEntry, FileMeta, ShareableSection, ShareInfo, ShareOptions, ShareService };
export type { AccessOutcome, ShareKind } from '$lib/core/record';
export type { ShareEvent } from '$lib/client/share';
export type ShareStatus = ShareInfo['status'];

/** Every section the new-share form offers (the consultation's first, then the others). */
export const SHAREABLE_SECTIONS: readonly ShareableSection[] = [
	'identity',
	'allergies',
	'history',
	'treatments',
	'vaccinations',
	'measurements',
	'contacts',
	'directives',
	'visits'
];

/** What a consultation shows by default. */
export const CONSULTATION_SECTIONS: readonly ShareableSection[] = [
	'identity',
	'allergies',
	'history',
	'treatments',
	'vaccinations',
	'measurements'
];

/** The record's share service, or null (locked, or a record not on this device). */
export function shareService(session: Session | null, vaultId: string | null): ShareService | null {
	if (!session || !vaultId) return null;
	try {
		return session.shares(vaultId);
	} catch {
		return null;
	}
}

/** The record's shares (newest first), from the view. */
export function sharesOf(view: RecordView | null): readonly ShareInfo[] {
	return view ? view.shares() : [];
}

/** What the emergency card shares (the record's EMERGENCY_SECTIONS). */
export function emergencySections(): ShareableSection[] {
	return [...EMERGENCY_SECTIONS];
}

/**
 * The viewer link of a share. The service answers only once it has opened the record: open
 * it first when it has not.
 */
export async function shareLink(service: ShareService, id: string): Promise<string> {
	try {
		return service.link(id);
	} catch (error) {
		const open = (service as ShareService & { open?: () => Promise<void> }).open;
		if (typeof open !== 'function') throw error;
		await open.call(service);
		return service.link(id);
	}
}

/** The professional who added a document through a share, when one did. */
export function contributorOf(entry: Record<string, unknown>): { name: string; rpps?: string } | null {
	const c = entry.contributor;
	if (c && typeof c === 'object') {
		const r = c as Record<string, unknown>;
		if (typeof r.name === 'string' && r.name) {
			return { name: r.name, rpps: typeof r.rpps === 'string' ? r.rpps : undefined };
		}
	}
	// The record attributes contributions `pro:<name> (RPPS <rpps>)`.
	const by = typeof entry.createdBy === 'string' ? entry.createdBy : '';
	const match = /^pro:(.+?)(?: \(RPPS (\d+)\))?$/.exec(by);
	return match ? { name: match[1], rpps: match[2] } : null;
}

// ——— Expiry ———

export const DURATIONS = ['30m', '24h', '7d', '6mo', 'date'] as const;
export type Duration = (typeof DURATIONS)[number];

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The expiry of a preset duration from `now`. */
export function expiryOf(duration: Exclude<Duration, 'date'>, now: Date): Date {
	switch (duration) {
		case '30m':
			return new Date(now.getTime() + 30 * MINUTE);
		case '24h':
			return new Date(now.getTime() + DAY);
		case '7d':
			return new Date(now.getTime() + 7 * DAY);
		case '6mo': {
			const date = new Date(now);
			date.setMonth(date.getMonth() + 6);
			return date;
		}
	}
}

/** YYYY-MM-DD of a local day. */
export function isoDay(date: Date): string {
	const y = date.getFullYear();
	const m = String(date.getMonth() + 1).padStart(2, '0');
	const d = String(date.getDate()).padStart(2, '0');
	return `${y}-${m}-${d}`;
}

/** The end (23:59 local) of a YYYY-MM-DD day, or null when it is not a date. */
export function endOfDay(day: string): Date | null {
	const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
	if (!match) return null;
	const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 0, 0);
	return Number.isNaN(date.getTime()) || isoDay(date) !== day ? null : date;
}

/** The first and last days a custom expiry may take: tomorrow, and one year from today. */
export function dateBounds(now: Date): { min: string; max: string } {
	const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
	const max = new Date(now.getFullYear() + 1, now.getMonth(), now.getDate());
	return { min: isoDay(tomorrow), max: isoDay(max) };
}

// ——— The new-share form ———

export interface ShareFormInput {
	sections: string[];
	documents: string[];
	duration: string;
	date: string;
	passcode: string;
	maxUses: string;
	allowContributions: boolean;
	label: string;
}

/** i18n keys of the form's errors, by field. */
export type ShareFormErrors = Partial<Record<'what' | 'date' | 'passcode' | 'maxUses' | 'label', string>>;

function formSchema(now: Date) {
	const { min, max } = dateBounds(now);
	return z
		.object({
			sections: z.array(z.enum(SHAREABLE_SECTIONS as [ShareableSection, ...ShareableSection[]])),
			documents: z.array(z.string().min(1)),
			duration: z.enum(DURATIONS, { message: 'share.error.duration' }),
			date: z.string(),
			passcode: z
				.string()
				.trim()
				.refine((v) => v === '' || (v.length >= 4 && v.length <= 40), { message: 'share.error.passcode' }),
			maxUses: z
				.string()
				.trim()
				.refine((v) => v === '' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 100), {
					message: 'share.error.maxUses'
				}),
			allowContributions: z.boolean(),
			label: z
				.string()
				.trim()
				.min(1, { message: 'share.error.labelRequired' })
				.max(80, { message: 'share.error.labelTooLong' })
		})
		.superRefine((value, ctx) => {
			if (value.sections.length === 0 && value.documents.length === 0) {
				ctx.addIssue({ code: 'custom', path: ['what'], message: 'share.error.nothing' });
			}
			if (value.duration === 'date') {
				const end = endOfDay(value.date);
				if (!end) ctx.addIssue({ code: 'custom', path: ['date'], message: 'share.error.dateRequired' });
				else if (value.date < min) ctx.addIssue({ code: 'custom', path: ['date'], message: 'share.error.datePast' });
				else if (value.date > max) ctx.addIssue({ code: 'custom', path: ['date'], message: 'share.error.dateTooFar' });
			}
		});
}

export type ShareFormResult = { ok: true; options: ShareOptions } | { ok: false; errors: ShareFormErrors };

/** Checks the new-share form; errors are i18n keys by field. */
export function checkShareForm(input: ShareFormInput, now: Date = new Date()): ShareFormResult {
	const parsed = formSchema(now).safeParse(input);
	if (!parsed.success) {
		const errors: ShareFormErrors = {};
		for (const issue of parsed.error.issues) {
			const field = String(issue.path[0] ?? 'what');
			const key = (['what', 'date', 'passcode', 'maxUses', 'label'].includes(field) ? field : 'what') as keyof ShareFormErrors;
			errors[key] ??= issue.message;
		}
		return { ok: false, errors };
	}
	const value = parsed.data;
	const duration = value.duration;
	const expiresAt = duration === 'date' ? endOfDay(value.date) : expiryOf(duration, now);
	return {
		ok: true,
		options: {
			kind: duration === '30m' ? 'consultation' : 'custom',
			label: value.label,
			sections: value.sections,
			documents: value.documents,
			expiresAt,
			...(value.passcode ? { passcode: value.passcode } : {}),
			...(value.maxUses ? { maxUses: Number(value.maxUses) } : {}),
			allowContributions: value.allowContributions
		}
	};
}

// ——— Status and time ———

function time(value: string | Date | null | undefined): number | null {
	if (value === null || value === undefined || value === '') return null;
	const ms = (value instanceof Date ? value : new Date(value)).getTime();
	return Number.isNaN(ms) ? null : ms;
}

/** The expiry as epoch ms, or null for none. */
export function expiryMs(share: Pick<ShareInfo, 'expiresAt'>): number | null {
	return time(share.expiresAt);
}

/** The share's status by this device's clock (a view computed earlier may be a little stale). */
export function liveStatus(share: Pick<ShareInfo, 'status' | 'expiresAt' | 'revokedAt' | 'maxUses' | 'accesses'>, now: number): ShareStatus {
	if (share.status === 'revoked' || share.revokedAt) return 'revoked';
	const exp = time(share.expiresAt);
	if (share.status === 'expired' || (exp !== null && exp <= now)) return 'expired';
	if (share.maxUses !== undefined && share.maxUses !== null && openCount(share) >= share.maxUses) return 'expired';
	return 'active';
}

/** How many times the professional opened it. */
export function openCount(share: Pick<ShareInfo, 'accesses'>): number {
	return share.accesses.filter((a) => a.outcome === 'opened').length;
}

/** What to say of how many times a share was opened: a message key and its params. */
export function openCountMessage(opens: number): [key: string, params?: { count: number }] {
	if (opens === 0) return ['share.neverOpened'];
	return opens === 1 ? ['share.openedOnce'] : ['share.openedTimes', { count: opens }];
}

/** The latest successful opening. */
export function lastOpened(share: Pick<ShareInfo, 'accesses'>): AccessEntry | null {
	let latest: AccessEntry | null = null;
	for (const access of share.accesses) {
		if (access.outcome !== 'opened') continue;
		if (!latest || access.at > latest.at) latest = access;
	}
	return latest;
}

/** Active shares first (soonest expiry first, no expiry last), then past ones, newest first. */
export function sortShares<T extends Pick<ShareInfo, 'status' | 'expiresAt' | 'revokedAt' | 'createdAt' | 'maxUses' | 'accesses'>>(
	shares: readonly T[],
	now: number
): { active: T[]; past: T[] } {
	const active: T[] = [];
	const past: T[] = [];
	for (const share of shares) (liveStatus(share, now) === 'active' ? active : past).push(share);
	active.sort((a, b) => (expiryMs(a) ?? Infinity) - (expiryMs(b) ?? Infinity));
	past.sort((a, b) => (b.createdAt > a.createdAt ? 1 : b.createdAt < a.createdAt ? -1 : 0));
	return { active, past };
}

/** Parts of a remaining time: days and hours beyond a day, else h:mm:ss or m:ss. */
export function remainingParts(ms: number): { days: number; hours: number } | { clock: string } {
	const total = Math.max(0, Math.ceil(ms / 1000));
	if (total >= 86_400) return { days: Math.floor(total / 86_400), hours: Math.floor((total % 86_400) / 3600) };
	const h = Math.floor(total / 3600);
	const m = Math.floor((total % 3600) / 60);
	const s = total % 60;
	const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
	return { clock: `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}` };
}

// ——— Creation progress ———

/** The steps of `create`, in order. */
export const PROGRESS_STEPS: readonly ShareStep[] = ['summary', 'encrypt', 'upload', 'save'];

/**
 * What the progress bar shows after `create` told that `done` of `total` steps are finished,
 * the last being `step`: the step now running (null: all done) and the fraction done.
 */
export function readProgress(done: number, total: number, step: string): { running: ShareStep | null; fraction: number } {
	const index = PROGRESS_STEPS.indexOf(step as ShareStep);
	const running = index >= 0 ? (PROGRESS_STEPS[index + 1] ?? null) : null;
	const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
	return { running: fraction >= 1 ? null : running, fraction };
}
