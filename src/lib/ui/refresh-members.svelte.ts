// Keeps a page's list of a record's members (its devices, its people) fresh. Call it while the
// page's component is initialised.
import { onDestroy, onMount, untrack } from 'svelte';
import { app } from './app-state.svelte';

/** How often the list is asked again while an invitation is shown. */
const INVITE_REFRESH_MS = 3000;

/**
 * Runs `load` when the list may have changed: every few seconds while `inviting()` (someone
 * joining shows up in the membership before anything is written to the record), on every new
 * view or record (names live in the record), and each time the record is caught up again
 * (membership changes come with sync).
 */
export function refreshMembers(load: () => unknown, inviting: () => boolean): void {
	let interval: ReturnType<typeof setInterval> | undefined;
	onMount(() => {
		interval = setInterval(() => {
			if (inviting()) void load();
		}, INVITE_REFRESH_MS);
	});
	onDestroy(() => clearInterval(interval));

	$effect(() => {
		void app.view;
		void app.vaultId;
		untrack(() => void load());
	});

	let lastState = '';
	$effect(() => {
		const state = app.sync?.state ?? '';
		if (state === 'synced' && lastState !== 'synced') untrack(() => void load());
		lastState = state;
	});
}
