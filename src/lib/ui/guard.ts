// Which screen each app status may show. The root layout redirects anything else.
import type { Status } from './app-state.svelte';

export const ONBOARDING_PATH = '/welcome';
export const UNLOCK_PATH = '/unlock';
export const RECOVER_PATH = '/recover';
/**
 * Invitations: a new device joins with one from another device; a set-up device joins another
 * person's record with one (docs/FAMILY.md §3), after unlocking.
 */
export const LINK_PATH = '/link';
/** A brand-new device gets the record back from the relay with the recovery phrase. */
export const RESTORE_PATH = '/restore';
const NEW_DEVICE_PATHS = [ONBOARDING_PATH, LINK_PATH, RESTORE_PATH];
const LOCKED_PATHS = [UNLOCK_PATH, RECOVER_PATH];
const OUTSIDE_PATHS = [ONBOARDING_PATH, RESTORE_PATH, UNLOCK_PATH, RECOVER_PATH];

/** A same-app path to return to after unlocking, or null. */
export function safeNext(raw: string | null): string | null {
	if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return null;
	const path = raw.split(/[?#]/)[0];
	return OUTSIDE_PATHS.includes(path) ? null : raw;
}

/** Where to go instead of `url`, or null when `url` is right for `status`. */
export function redirectFor(status: Status, url: URL): string | null {
	const path = url.pathname;
	switch (status) {
		case 'loading':
		case 'failed':
			return null;
		case 'no-device':
			return NEW_DEVICE_PATHS.includes(path) ? null : ONBOARDING_PATH;
		case 'locked': {
			if (LOCKED_PATHS.includes(path)) return null;
			// A locked device opening an invitation unlocks first, then comes back to /link.
			const next = safeNext(path + url.search);
			return next && next !== '/' ? `${UNLOCK_PATH}?next=${encodeURIComponent(next)}` : UNLOCK_PATH;
		}
		case 'unlocked':
			// /link stays: an unlocked device accepts another person's invitation there.
			if (!OUTSIDE_PATHS.includes(path)) return null;
			return safeNext(url.searchParams.get('next')) ?? '/';
	}
}
