// Auto-lock after N minutes without pointer, keyboard or touch activity.
//
// The delay lives in localStorage 'carnet.idleMinutes' (a positive decimal number of
// minutes; settings offers 1, 5, 15, 30). A `?idleMinutes=` query parameter in the URL the
// app is opened with overrides it for that page load only, without storing it (tests use
// e.g. 0.05 = 3 s). Either way the delay is capped at the longest choice (30 min), so a
// crafted link or stored value can shorten the auto-lock but never switch it off.

export const IDLE_STORAGE_KEY = 'carnet.idleMinutes';
export const IDLE_CHOICES = [1, 5, 15, 30] as const;
export const DEFAULT_IDLE_MINUTES = 5;
export const MAX_IDLE_MINUTES = 30;

/** A positive finite number of minutes (capped at MAX_IDLE_MINUTES), or null. */
export function parseIdleMinutes(raw: string | null | undefined): number | null {
	if (raw === null || raw === undefined) return null;
	const text = raw.trim();
	if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return null;
	const value = Number(text);
	return Number.isFinite(value) && value > 0 ? Math.min(value, MAX_IDLE_MINUTES) : null;
}

export function readIdleMinutes(): number {
	try {
		const fromQuery = parseIdleMinutes(new URL(location.href).searchParams.get('idleMinutes'));
		if (fromQuery !== null) return fromQuery;
		return parseIdleMinutes(localStorage.getItem(IDLE_STORAGE_KEY)) ?? DEFAULT_IDLE_MINUTES;
	} catch {
		return DEFAULT_IDLE_MINUTES;
	}
}

export function storeIdleMinutes(minutes: number): void {
	try {
		localStorage.setItem(IDLE_STORAGE_KEY, String(minutes));
	} catch {
		// not persisted
	}
}

const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'touchstart', 'wheel'] as const;

/**
 * Calls `onIdle` once after `minutes()` minutes without activity. Returns a stop function.
 * `minutes` is read at every check so that a change in settings applies at once.
 */
export function watchIdle(minutes: () => number, onIdle: () => void): () => void {
	let last = Date.now();
	let timer: ReturnType<typeof setTimeout> | undefined;
	let stopped = false;

	const check = () => {
		if (stopped) return;
		const limit = minutes() * 60_000;
		const remaining = last + limit - Date.now();
		if (remaining <= 0) {
			stop();
			onIdle();
			return;
		}
		clearTimeout(timer);
		timer = setTimeout(check, Math.min(remaining + 50, 30_000));
	};
	const activity = () => {
		last = Date.now();
	};
	const visibility = () => {
		// Timers are throttled in background tabs: check as soon as the page is seen again.
		if (document.visibilityState === 'visible') check();
	};
	for (const type of ACTIVITY_EVENTS) {
		window.addEventListener(type, activity, { passive: true, capture: true });
	}
	document.addEventListener('visibilitychange', visibility);
	check();

	function stop() {
		stopped = true;
		clearTimeout(timer);
		for (const type of ACTIVITY_EVENTS) {
			window.removeEventListener(type, activity, { capture: true });
		}
		document.removeEventListener('visibilitychange', visibility);
	}
	return stop;
}
