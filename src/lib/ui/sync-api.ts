// The part of the client's sync API the UI uses (docs/SYNC.md, src/lib/client), and the
// invitation link helpers of the new-device pages. The types mirror the client's SyncEngine,
// SyncStatus and MemberInfo (src/lib/client/sync, not re-exported by $lib/client yet);
// `syncOf` makes the compiler check that a Session still satisfies them.
import type { Session } from '$lib/client';
import { INVITE_SCHEME, parseInviteLink } from '$lib/core/sync';

export type SyncState = 'offline' | 'connecting' | 'catching-up' | 'sending' | 'synced' | 'error';

export interface SyncStatus {
	state: SyncState;
	/** Local changes not yet acknowledged by the relay. */
	pending: number;
	/** While catching up: envelopes received out of those announced. */
	progress?: { done: number; total: number };
	/**
	 * An i18n code `error.<code>`: with state 'error', why syncing stopped (`revoked`…); with
	 * another state, the last problem met and skipped (the header shows only the first kind).
	 */
	error?: string;
}

export interface SyncEngine {
	status(vaultId: string): SyncStatus;
	subscribe(fn: (vaultId: string, status: SyncStatus) => void): () => void;
	connect(): void;
	disconnect(): void;
	whenSynced(vaultId: string): Promise<void>;
}

export interface DeviceInfo {
	memberId: string;
	name?: string;
	role: string;
	kind: 'device' | 'recovery';
	lastSeen?: string;
	thisDevice: boolean;
}

export interface Invitation {
	link: string;
	expiresAt: Date;
}

/** What an unlocked session offers for sync and devices. */
export interface SyncSession {
	sync: SyncEngine;
	devices(vaultId: string): Promise<DeviceInfo[]>;
	inviteDevice(): Promise<Invitation>;
	removeDevice(vaultId: string, memberId: string): Promise<void>;
	renameThisDevice(name: string): Promise<void>;
}

/** The session's sync and devices side (every session has one; null when locked). */
export function syncOf(session: Session | null): SyncSession | null {
	return session;
}

export type InviteCheck =
	| {
			ok: true;
			link: string;
			/** It invites another person to one record (docs/FAMILY.md §3), not a device of the inviter's. */
			forPerson: boolean;
	  }
	| { ok: false; code: 'invalid_link' | 'invite_expired' };

/**
 * Checks a scanned or pasted text before asking for a passphrase: a Carnet invitation
 * (`…/link#carnet-invite:/…` or the bare `carnet-invite:/…` part) that has not expired by
 * this device's clock. The client checks it again, fully, when joining.
 */
export function checkInvite(text: string, now = Date.now()): InviteCheck {
	const link = text.trim();
	const parsed = parseInviteLink(link);
	if (!parsed.ok) return { ok: false, code: 'invalid_link' };
	parsed.invite.seed.fill(0);
	if (parsed.invite.expires.getTime() <= now) return { ok: false, code: 'invite_expired' };
	return { ok: true, link, forPerson: parsed.invite.forPerson === true };
}

// An invitation found in the address bar at start-up (`/link#carnet-invite:/…`), already
// removed from it. The /link page takes it once.
let pendingInvite: string | null = null;

/**
 * Reads an invitation from the address bar's fragment and removes it at once with
 * history.replaceState (keeping the router's state), so the secret does not linger in the
 * address bar or the history. Call as early as possible on start-up.
 */
export function captureInviteFromLocation(): void {
	if (typeof location === 'undefined') return;
	const fragment = location.hash.slice(1);
	let decoded = fragment;
	try {
		decoded = decodeURIComponent(fragment);
	} catch {
		// keep the raw fragment
	}
	if (!decoded.startsWith(INVITE_SCHEME)) return;
	pendingInvite = `${location.origin}${location.pathname}#${decoded}`;
	history.replaceState(history.state, '', location.pathname + location.search);
}

/** The invitation captured at start-up, once. */
export function takePendingInvite(): string | null {
	const invite = pendingInvite;
	pendingInvite = null;
	return invite;
}
