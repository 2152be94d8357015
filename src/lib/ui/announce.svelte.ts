// One polite live region for the whole app (saves, deletions, language changes) and one
// assertive message for errors that are not tied to a field. Rendered by LiveRegion.svelte.

class Announcer {
	polite = $state('');
	assertive = $state('');
	#timers: ReturnType<typeof setTimeout>[] = [];

	/** Say `message` politely; an identical message is re-announced. */
	say(message: string): void {
		this.#set('polite', message);
	}

	/** Say `message` at once (errors). */
	alert(message: string): void {
		this.#set('assertive', message);
	}

	#set(kind: 'polite' | 'assertive', message: string): void {
		this[kind] = '';
		// A fresh text node after a tick so screen readers announce a repeated message.
		this.#timers.push(
			setTimeout(() => {
				this[kind] = message;
			}, 50)
		);
	}

	clear(): void {
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers = [];
		this.polite = '';
		this.assertive = '';
	}
}

export const announcer = new Announcer();
