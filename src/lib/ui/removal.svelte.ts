// Removing a member of a record (a device, a person) after a confirmation: what is being
// removed, the dialog, the work in progress and its error, shared by the devices and people
// pages.
import { clientErrorMessage } from './errors';

export class Removal<T> {
	/** The member the dialog asks about, then the one being removed. */
	target = $state.raw<T | null>(null);
	/** Whether the confirmation dialog is open (bound to it). */
	open = $state(false);
	busy = $state(false);
	error = $state('');
	readonly #run: (target: T) => Promise<void>;

	/** `run` removes the member and does what follows (announce, reload, focus); its error is shown. */
	constructor(run: (target: T) => Promise<void>) {
		this.#run = run;
	}

	/** Opens the confirmation for `target`. */
	ask(target: T): void {
		this.error = '';
		this.target = target;
		this.open = true;
	}

	/** The dialog's confirmation: runs the removal once. */
	async confirm(): Promise<void> {
		const target = this.target;
		if (target === null || this.busy) return;
		this.busy = true;
		this.error = '';
		try {
			await this.#run(target);
		} catch (caught) {
			this.error = clientErrorMessage(caught);
		} finally {
			this.busy = false;
			this.target = null;
		}
	}

	/** Whether `matches` says the member being removed is this one (its button shows the work). */
	removing(matches: (target: T) => boolean): boolean {
		return this.busy && this.target !== null && matches(this.target);
	}
}
