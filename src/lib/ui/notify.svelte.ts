// Notifications of what happens to the patient's shares: while the record is unlocked, the
// share service's events become in-app toasts (also said in the live region) and, only when
// the patient allowed it beforehand, system notifications. Never asks for the permission by
// itself: /share offers a button (`requestPermission`).
import type { Session } from '$lib/client';
import type { RecordView } from '$lib/core/record';
import { announcer } from './announce.svelte';
import { t, locale } from './i18n/index.svelte';
import { shareService, sharesOf, type ShareEvent } from './share-api';

export type ToastTone = 'info' | 'strong';

export interface Toast {
	id: number;
	tone: ToastTone;
	message: string;
	/** A link to follow ("See the documents"). */
	href?: string;
	linkText?: string;
}

const MAX_TOASTS = 4;

export type PermissionState = 'unsupported' | 'default' | 'granted' | 'denied';

function permissionNow(): PermissionState {
	if (typeof Notification === 'undefined') return 'unsupported';
	return Notification.permission as PermissionState;
}

class Notifier {
	toasts = $state<Toast[]>([]);
	permission = $state<PermissionState>('unsupported');
	#next = 1;
	#stop: (() => void) | null = null;
	#key = '';

	/**
	 * Follows the record's share events (call when unlocked; again when the record changes).
	 * `view` names the share in messages; `documentsHref` is the documents page.
	 */
	start(session: Session | null, vaultId: string | null, view: () => RecordView | null, documentsHref: string): void {
		const key = session && vaultId ? vaultId : '';
		if (key === this.#key && this.#stop) return;
		this.stop();
		this.permission = permissionNow();
		const service = shareService(session, vaultId);
		if (!service) return;
		this.#key = key;
		const unsubscribe = service.onEvent((event) => this.#onEvent(event, view(), documentsHref));
		this.#stop = unsubscribe;
		// Catch up with what happened while this device was away; the service then follows live notices.
		void Promise.resolve()
			.then(() => service.refresh())
			.catch(() => undefined);
	}

	stop(): void {
		this.#stop?.();
		this.#stop = null;
		this.#key = '';
		this.toasts = [];
	}

	dismiss(id: number): void {
		this.toasts = this.toasts.filter((toast) => toast.id !== id);
	}

	/** Asks the browser for the permission: only from the patient's own click. */
	async requestPermission(): Promise<PermissionState> {
		if (typeof Notification === 'undefined') return (this.permission = 'unsupported');
		try {
			this.permission = (await Notification.requestPermission()) as PermissionState;
		} catch {
			this.permission = permissionNow();
		}
		return this.permission;
	}

	refreshPermission(): void {
		this.permission = permissionNow();
	}

	/** Shows a toast (and says it). Exposed for the pages' own notices. */
	show(message: string, tone: ToastTone = 'info', link?: { href: string; text: string }): void {
		const toast: Toast = { id: this.#next++, tone, message, href: link?.href, linkText: link?.text };
		this.toasts = [...this.toasts, toast].slice(-MAX_TOASTS);
		if (tone === 'strong') announcer.alert(message);
		else announcer.say(message);
		this.#system(message, tone);
	}

	#onEvent(event: ShareEvent, view: RecordView | null, documentsHref: string): void {
		const share = sharesOf(view).find((s) => s.id === event.share);
		const emergency = share?.kind === 'emergency';
		if (event.kind === 'access') {
			const at = new Date(event.at);
			const when = Number.isNaN(at.getTime())
				? ''
				: new Intl.DateTimeFormat(locale(), { timeStyle: 'short' }).format(at);
			const who = event.recipient || t('share.unknownRecipient');
			if (event.outcome === 'opened') {
				this.show(
					t(emergency ? 'notify.emergencyOpened' : 'notify.opened', { who, time: when }),
					emergency ? 'strong' : 'info'
				);
			} else if (event.outcome === 'wrong_passcode') {
				this.show(t('notify.wrongPasscode', { who, time: when }), 'strong');
			} else {
				this.show(t('notify.refused', { who, time: when }), emergency ? 'strong' : 'info');
			}
			return;
		}
		const author = typeof event.author === 'string' ? event.author : event.author?.name || t('share.unknownRecipient');
		const entry = view?.sections.documents.find((d) => d.id === event.documentId);
		const title = entry?.title ?? '';
		this.show(
			title ? t('notify.contribution', { who: author, title }) : t('notify.contributionUntitled', { who: author }),
			'info',
			{ href: documentsHref, text: t('notify.seeDocuments') }
		);
	}

	#system(message: string, tone: ToastTone): void {
		if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
		try {
			// No health detail beyond the toast's sentence.
			new Notification('Carnet', { body: message, icon: '/icon.svg', requireInteraction: tone === 'strong' });
		} catch {
			// Some browsers allow notifications only from a service worker: the toast is enough.
		}
	}
}

export const notifier = new Notifier();
