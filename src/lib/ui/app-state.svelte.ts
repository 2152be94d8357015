// The app's state: the device (Carnet), the unlocked Session (null = locked), the open
// record's handle and its reactive view. Keys live only inside the Session; a reload starts
// locked. Routes read `app.status` to guard themselves (see src/routes/+layout.svelte).
import {
	Carnet,
	LockedError,
	type RecordChangeFn,
	type RecordHandle,
	type RecordInfo,
	type Session
} from '$lib/client';
import type { RecordView } from '$lib/core/record';
import { readIdleMinutes, storeIdleMinutes, watchIdle } from './idle';
import { syncOf, type SyncSession, type SyncStatus } from './sync-api';
import { familyOf, type RecordRole } from './family-api';
import type { NewIdentity } from './identity';

export type Status = 'loading' | 'no-device' | 'locked' | 'unlocked' | 'failed';

export interface LockNotice {
	kind: 'idle';
	minutes: number;
}

class AppState {
	status = $state<Status>('loading');
	session = $state.raw<Session | null>(null);
	records = $state.raw<RecordInfo[]>([]);
	vaultId = $state<string | null>(null);
	handle = $state.raw<RecordHandle | null>(null);
	view = $state.raw<RecordView | null>(null);
	lockNotice = $state<LockNotice | null>(null);
	idleMinutes = $state(5);
	/** The open record's sync status (null while locked). */
	sync = $state.raw<SyncStatus | null>(null);
	/** This device's role in the open record: a reader sees no control that would change it. */
	role = $state<RecordRole>('admin');

	#carnet: Carnet | null = null;
	#unsubscribe: (() => void) | null = null;
	#stopIdle: (() => void) | null = null;
	#initialising: Promise<void> | null = null;
	#stopSync: (() => void) | null = null;

	/** Opens the device once (browser only). */
	init(): Promise<void> {
		this.#initialising ??= (async () => {
			this.idleMinutes = readIdleMinutes();
			try {
				this.#carnet = await Carnet.open();
				this.status = (await this.#carnet.hasDevice()) ? 'locked' : 'no-device';
			} catch {
				this.status = 'failed';
			}
		})();
		return this.#initialising;
	}

	get carnet(): Carnet {
		if (!this.#carnet) throw new Error('Carnet is not open yet');
		return this.#carnet;
	}

	/** Onboarding step 1: creates the device and the first record. Does not unlock the UI
	 * yet: the recovery phrase must be shown and confirmed first (see `adopt`). */
	create(passphrase: string, identity: NewIdentity) {
		return this.carnet.create({ passphrase, identity });
	}

	/** Makes `session` the current one and opens its first record. */
	async adopt(session: Session): Promise<void> {
		this.session = session;
		try {
			this.records = session.records();
			const first = this.records[0]?.vaultId ?? null;
			if (first) await this.openRecord(first);
		} catch (error) {
			// e.g. UnreadableRecordError: stay locked, forget the keys, let the screen say why.
			this.#closeRecord();
			this.session = null;
			this.records = [];
			await session.lock().catch(() => undefined);
			throw error;
		}
		this.lockNotice = null;
		this.status = 'unlocked';
		this.#startIdle();
		this.#startSync(session);
	}

	/** The unlocked session's sync and devices side (null when locked or not syncing). */
	get syncSession(): SyncSession | null {
		return syncOf(this.session);
	}

	async unlock(passphrase: string): Promise<void> {
		const session = await this.carnet.unlock(passphrase);
		await this.adopt(session);
	}

	async recover(phrase: string, newPassphrase: string): Promise<void> {
		const session = await this.carnet.recover(phrase, newPassphrase);
		await this.adopt(session);
	}

	/**
	 * A new device joins the patient's records with an invitation link from another device,
	 * then waits until the records have arrived (`onStatus` sees them coming) and unlocks.
	 */
	async join(
		link: string,
		passphrase: string,
		deviceName: string,
		onStatus?: (vaultId: string, status: SyncStatus) => void
	): Promise<void> {
		const { session } = await this.carnet.join(link, passphrase, deviceName);
		await this.#receive(session, onStatus);
		await this.adopt(session);
	}

	/** A brand-new device gets the records back from the relay with the recovery phrase. */
	async restore(
		phrase: string,
		passphrase: string,
		deviceName: string,
		onStatus?: (vaultId: string, status: SyncStatus) => void
	): Promise<void> {
		const { session } = await this.carnet.restore(phrase, passphrase, deviceName);
		await this.#receive(session, onStatus);
		await this.adopt(session);
	}

	// Resolves once every record of a fresh session is caught up, reporting the sync status on
	// the way. The client's join and restore already wait for the records; this covers a
	// session handed back before they arrived (and costs one pull otherwise).
	async #receive(session: Session, onStatus?: (vaultId: string, status: SyncStatus) => void): Promise<void> {
		const sync = syncOf(session)?.sync;
		if (!sync) return;
		const ids = session.records().map((record) => record.vaultId);
		const stop = sync.subscribe((vaultId, status) => {
			if (ids.includes(vaultId)) onStatus?.(vaultId, status);
		});
		try {
			sync.connect();
			for (const id of ids) onStatus?.(id, sync.status(id));
			await Promise.all(ids.map((id) => sync.whenSynced(id)));
		} finally {
			stop();
		}
	}

	async openRecord(vaultId: string): Promise<void> {
		if (!this.session) return;
		this.#closeRecord();
		const handle = await this.session.open(vaultId);
		this.handle = handle;
		this.vaultId = vaultId;
		this.view = handle.view();
		this.#unsubscribe = handle.subscribe((view: RecordView) => {
			this.view = view;
		});
		this.sync = syncOf(this.session)?.sync.status(vaultId) ?? null;
		this.refreshRole();
	}

	/** A new record (a child's) held by this person, then opened. */
	async createRecord(identity: NewIdentity): Promise<void> {
		if (!this.session) throw new LockedError();
		const vaultId = await this.session.createRecord(identity);
		this.refreshRecords();
		await this.openRecord(vaultId);
	}

	/** Reads the role again: an invitation accepted or a guardian's change of membership moves it. */
	refreshRole(): void {
		const family = familyOf(this.session);
		this.role = family && this.vaultId ? family.role(this.vaultId) : 'admin';
	}

	get readOnly(): boolean {
		return this.role === 'reader';
	}

	/**
	 * Edits the open record with the record operations, then waits until the change is in
	 * IndexedDB: "saved" on screen means saved on the device (a reload right after loses
	 * nothing). Throws what the operation throws (RecordValidationError: nothing written).
	 */
	async change(fn: RecordChangeFn): Promise<void> {
		const handle = this.handle;
		if (!handle) throw new LockedError();
		await handle.change(fn);
		await handle.flush();
	}

	refreshRecords(): void {
		if (this.session) this.records = this.session.records();
	}

	/** Forgets every key. `notice` says why on the unlock screen. */
	lock(notice: LockNotice | null = null): Promise<void> {
		this.#stopIdle?.();
		this.#stopIdle = null;
		this.#stopSync?.();
		this.#stopSync = null;
		this.sync = null;
		this.#closeRecord();
		const session = this.session;
		// The UI forgets the session at once; the session then flushes pending writes and
		// zeroes its keys.
		this.session = null;
		this.records = [];
		this.lockNotice = notice;
		if (this.status === 'unlocked') this.status = 'locked';
		return session ? session.lock().catch(() => undefined) : Promise.resolve();
	}

	setIdleMinutes(minutes: number): void {
		this.idleMinutes = minutes;
		storeIdleMinutes(minutes);
	}

	#startIdle(): void {
		this.#stopIdle?.();
		this.#stopIdle = watchIdle(
			() => this.idleMinutes,
			() => this.lock({ kind: 'idle', minutes: this.idleMinutes })
		);
	}

	#startSync(session: Session): void {
		this.#stopSync?.();
		this.#stopSync = null;
		const sync = syncOf(session)?.sync;
		if (!sync) return;
		this.#stopSync = sync.subscribe((vaultId, status) => {
			if (this.session !== session) return;
			// A record this device adopted by itself (another device of this person joined it):
			// the record switcher lists it.
			if (!this.records.some((record) => record.vaultId === vaultId)) this.refreshRecords();
			if (vaultId !== this.vaultId) return;
			// Membership arrives with sync: caught up again, the role may have changed.
			if (status.state === 'synced' && this.sync?.state !== 'synced') this.refreshRole();
			this.sync = status;
		});
		if (this.vaultId) this.sync = sync.status(this.vaultId);
		// The browser knows first when the network goes: an open WebSocket can stay "open" for
		// a long time without a network, so follow the browser's online and offline events.
		const offline = () => sync.disconnect();
		const online = () => sync.connect();
		window.addEventListener('offline', offline);
		window.addEventListener('online', online);
		const unsubscribe = this.#stopSync;
		this.#stopSync = () => {
			unsubscribe();
			window.removeEventListener('offline', offline);
			window.removeEventListener('online', online);
		};
		if (navigator.onLine === false) sync.disconnect();
		else sync.connect();
	}

	#closeRecord(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = null;
		this.handle = null;
		this.vaultId = null;
		this.view = null;
	}
}

export const app = new AppState();
