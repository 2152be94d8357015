/**
 * The facade the UI calls: `Carnet` is the device (its IndexedDB), `Session` is what an
 * unlocked device can do. Keys exist in memory only inside a Session and `lock()` wipes them.
 *
 * Key hierarchy (DESIGN.md "Keys"):
 *   passphrase --Argon2id--> wrapping key --AEAD--> device Ed25519 + X25519 private keys
 *   device X25519 key --sealed box (lockbox)--> vault key (one per record, per epoch)
 *   recovery phrase --BIP39--> recovery X25519 key --lockbox--> the same vault keys
 *   local key --crypto_kdf--> name key, data key (chunks), meta key (record name), sync key
 *
 * The key in a record's local lockboxes is the device's LOCAL key for that record: it
 * encrypts what the device stores and never leaves it. The keys that encrypt what goes to the
 * relay (one per epoch, rotated when a device is removed) are the sync engine's, kept in the
 * record's encrypted sync state (sync/store.ts), so a rotation re-encrypts nothing on disk.
 */
import type * as Automerge from '@automerge/automerge';
import type { IDBPDatabase } from 'idb';
import {
	constantTimeEqual,
	deriveKey,
	fromBase64url,
	isValidRecoveryPhrase,
	newKdfParams,
	newRecoveryPhrase,
	randomBytes,
	ready,
	recoveryKeys,
	toBase64url
} from '../core/crypto';
import { VAULT_KEY_BYTES } from '../core/protocol';
import {
	authorName,
	checkDeviceName,
	checkPerson,
	deviceEntries,
	LIST_SECTIONS,
	people,
	PERSON_NAME_MAX,
	RecordValidationError,
	setDeviceName,
	validate,
	type DevicePerson,
	type Person,
	type RecordDoc,
	type RecordView
} from '../core/record';
import { INVITE_TTL_MS, memberId, parseInviteLink, PERSON_INVITE_TTL_MS, type Invite, type MemberRef, type MembershipState } from '../core/sync';
import { DEVICE_KEY, openCarnetDb, type CarnetDB, type DeviceEntry, type VaultEntry } from './db';
import {
	CarnetError,
	DeviceExistsError,
	ForbiddenError,
	IntegrityError,
	InvalidLinkError,
	InvalidPassphraseError,
	InvalidPhraseError,
	InviteExpiredError,
	LockedError,
	NoDeviceError,
	OfflineError,
	RelayError,
	UnknownRecordError,
	WrongPassphraseError,
	WrongRecoveryPhraseError
} from './errors';
import {
	makeLockbox,
	newDeviceKeys,
	newVault,
	openLockbox,
	openMeta,
	openPerson,
	sealMeta,
	sealPerson,
	unwrapDevice,
	wipeDeviceKeys,
	wrapDevice,
	type DeviceKeys,
	type RecoveryRef,
	type VaultMeta
} from './keyring';
import { displayNameOf, OpenRecord, type RecordHandle } from './record-handle';
import { Files, type FileService } from './files';
import { Shares, ShareStateStore, type ShareService } from './share';
import { Engine, type EngineOptions, type MemberInfo, type SessionPort, type SyncEngine, type SyncStatus } from './sync/engine';
import { addDevice, type Identity } from './sync/chain';
import { authInvites, joinedState, joinVaults, recoveryOf, retireDevice, roleIn, type Grant, type Joined } from './sync/enrol';
import { RelaySocket, syncUrl, type WebSocketConstructor } from './sync/socket';
import { SyncStore, type SyncState } from './sync/store';

/** Options of `Carnet.open`. */
export interface CarnetOpenOptions {
	/** IndexedDB database name; default 'carnet'. */
	dbName?: string;
	/** The IndexedDB factory; default the global `indexedDB`. Node tests pass fake-indexeddb's. */
	indexedDB?: IDBFactory;
	/**
	 * The relay, as an http(s) origin or a ws(s) URL (`/sync` is added to a bare origin).
	 * Default: the origin that served the page in a browser; none in Node (no sync).
	 */
	relayUrl?: string;
	/** The WebSocket class; default the global one. Node tests pass `ws`. */
	WebSocket?: WebSocketConstructor;
}

/** What onboarding gives `create`. */
export interface CreateOptions {
	passphrase: string;
	/** Form input for the identity section (validated with record.validate before anything is written). */
	identity: unknown;
}

/** One record this device can open, as the record picker lists it. */
export interface RecordInfo {
	vaultId: string;
	/** "Given Family" from the record's identity; empty if unreadable. */
	name: string;
}

/** The result of onboarding. */
export interface CreateResult {
	session: Session;
	/** 24 words to write down NOW: with the passphrase forgotten, only these open the record. */
	recoveryPhrase: string;
}

/** Told of a record's sync status as it changes (SyncEngine.subscribe). */
export type StatusListener = (vaultId: string, status: SyncStatus) => void;

/** What `join` and `restore` give: the new device's session, its records already received. */
export interface JoinResult {
	session: Session;
}

/** The person this device belongs to: `{id, name}` (docs/FAMILY.md §1). */
export type { DevicePerson } from '../core/record';

/** This device's role in a record: a guardian's device, or a read-only member's. */
export type RecordRole = 'admin' | 'reader';

/** One person holding a record, as the People page lists them (core `people`), and whether it is this device's person. */
export type PersonInfo = Person & { thisPerson: boolean };

/** What `handOver` leaves the new holder: the numbers the UI says plainly. */
export interface HandOverSummary {
	/** When the record was created (ISO date, YYYY-MM-DD). */
	since: string;
	/** Entries in the record's sections (hidden ones included, deleted ones not). */
	entries: number;
	/** Documents in the record. */
	documents: number;
	/** The names of the people who wrote in it, sorted. */
	authors: string[];
}

/** The author string of a device, as record operations store it. */
export function authorOf(deviceId: string): string {
	return `device:${deviceId.slice(0, 16)}`;
}

/** The device: its encrypted store, before any key is known. */
export class Carnet {
	readonly #db: IDBPDatabase<CarnetDB>;
	readonly #relay: EngineOptions;

	private constructor(db: IDBPDatabase<CarnetDB>, relay: EngineOptions) {
		this.#db = db;
		this.#relay = relay;
	}

	/**
	 * Opens the device's database (creating the schema the first time) and readies libsodium.
	 * Holds no key: nothing is decrypted until `unlock`, `create` or `recover`.
	 */
	static async open(options: CarnetOpenOptions = {}): Promise<Carnet> {
		const factory = options.indexedDB ?? globalThis.indexedDB;
		if (!factory) throw new Error('IndexedDB is not available');
		const [db] = await Promise.all([openCarnetDb(factory, options.dbName), ready()]);
		return new Carnet(db, relayOptions(options));
	}

	/** False until onboarding (`create`) has stored this device's keys. */
	async hasDevice(): Promise<boolean> {
		return (await this.#db.count('device', DEVICE_KEY)) > 0;
	}

	/**
	 * Onboarding: creates the device keys, the first record (its vault, a lockbox for this
	 * device and one for the recovery key) and returns an unlocked session with the recovery
	 * phrase. The identity is validated first: bad input throws RecordValidationError and
	 * writes nothing at all, not even the device entry. Refuses (DeviceExistsError) when this
	 * device already holds keys, since overwriting them would orphan the existing records.
	 */
	async create({ passphrase, identity }: CreateOptions): Promise<CreateResult> {
		if (typeof passphrase !== 'string' || passphrase.length === 0) throw new InvalidPassphraseError();
		const checked = validate('identity', identity);
		if (!checked.ok) throw new RecordValidationError(checked.issues);
		if (await this.hasDevice()) throw new DeviceExistsError();

		const recoveryPhrase = newRecoveryPhrase();
		const recovery = recoveryKeys(recoveryPhrase);
		const recoveryPublicKey = recovery.box.publicKey;
		// Only the public halves of the recovery key are needed on the device.
		recovery.box.privateKey.fill(0);
		recovery.sign.privateKey.fill(0);

		const device = newDeviceKeys();
		const kdf = newKdfParams();
		const wrappingKey = deriveKey(passphrase, kdf);
		const deviceEntry = wrapDevice(device, wrappingKey, kdf, {
			recoveryRecipient: toBase64url(recoveryPublicKey),
			recoveryId: memberId(recovery.sign.publicKey)
		});
		wrappingKey.fill(0);

		const { vaultId, vaultKey } = newVault();
		const session = internals.newSession(this.#db, device, deviceEntry, this.#relay);
		let record: OpenRecord | undefined;
		try {
			// Chunks first, then the entries that point at them in one transaction: a crash in
			// between leaves unreadable orphan ciphertext, never a device without its record.
			record = await OpenRecord.create(internals.recordParams(session, vaultId, vaultKey), identity);
			// The first device of a person: its own id names the person, its record's name names them.
			const person: DevicePerson = { id: device.deviceId, name: personName(displayNameOf(record.doc()), device.deviceId) };
			const vaultEntry: VaultEntry = {
				v: 1,
				vaultId,
				lockboxes: [
					makeLockbox(vaultKey, device.box.publicKey, 'device'),
					makeLockbox(vaultKey, recoveryPublicKey, 'recovery')
				],
				meta: sealMeta(vaultId, vaultKey, { name: displayNameOf(record.doc()), createdAt: Date.now() })
			};
			const tx = this.#db.transaction(['device', 'vaults'], 'readwrite');
			// add(), not put(): if another tab onboarded meanwhile, fail instead of overwriting it.
			await Promise.all([
				tx.objectStore('device').add({ ...deviceEntry, person: sealPerson(device.box.publicKey, person) }, DEVICE_KEY),
				tx.objectStore('vaults').put(vaultEntry, vaultId),
				tx.done
			]);
			internals.adopt(session, vaultId, vaultKey, vaultEntry, record);
			internals.setPerson(session, person);
		} catch (e) {
			await record?.close();
			await session.lock();
			vaultKey.fill(0);
			throw e;
		}
		internals.start(session);
		return { session, recoveryPhrase };
	}

	/**
	 * Unlocks the device with its passphrase. Any failure to unwrap the device keys throws the
	 * same WrongPassphraseError after the same Argon2id work, whatever was wrong.
	 */
	async unlock(passphrase: string): Promise<Session> {
		const entry = await this.#db.get('device', DEVICE_KEY);
		if (!entry) throw new NoDeviceError();
		const keys = unwrapDevice(entry, String(passphrase));
		if (!keys) throw new WrongPassphraseError();
		const session = internals.newSession(this.#db, keys, entry, this.#relay);
		await internals.load(session);
		// A device set up before people existed: the fallback person, written once.
		if (openPerson(keys.box, entry.person) === undefined) await internals.settlePerson(session, undefined);
		internals.start(session);
		return session;
	}

	/**
	 * Re-keys this device from the recovery phrase when the passphrase is lost: opens each
	 * record's recovery lockbox, creates NEW device keys wrapped under `newPassphrase`, and
	 * replaces this device's lockboxes, all in one transaction. Then, if the relay answers,
	 * enrols the new device key in each record shared there (an `add` op signed by the
	 * recovery key, the device's own lockbox) and removes the old one, whose key went with
	 * the passphrase. Offline, the records stay readable here and stop syncing (`not_member`)
	 * until a recover done online. Throws InvalidPhraseError for a phrase that is not 24
	 * valid words, WrongRecoveryPhraseError for a valid phrase that opens none of the records
	 * here.
	 */
	async recover(phrase: string, newPassphrase: string): Promise<Session> {
		if (typeof phrase !== 'string' || !isValidRecoveryPhrase(phrase)) throw new InvalidPhraseError();
		if (typeof newPassphrase !== 'string' || newPassphrase.length === 0) throw new InvalidPassphraseError();
		const [entry, vaults] = await Promise.all([
			this.#db.get('device', DEVICE_KEY),
			this.#db.getAll('vaults')
		]);
		if (!entry) throw new NoDeviceError();

		const keys = recoveryKeys(phrase);
		const recovery: Identity = { id: memberId(keys.sign.publicKey), ...keys };
		try {
			return await this.#recover(recovery, entry, vaults, newPassphrase);
		} finally {
			recovery.sign.privateKey.fill(0);
			recovery.box.privateKey.fill(0);
		}
	}

	async #recover(recovery: Identity, entry: DeviceEntry, vaults: VaultEntry[], newPassphrase: string): Promise<Session> {
		const recoveryRef: RecoveryRef = { recoveryRecipient: toBase64url(recovery.box.publicKey), recoveryId: recovery.id };
		const opened: { vault: VaultEntry; epoch: number; vaultKey: Uint8Array }[] = [];
		for (const vault of vaults) {
			const box = openLockbox({ ...vault, lockboxes: vault.lockboxes.filter((l) => l.kind === 'recovery') }, recovery.box);
			if (box) opened.push({ vault, ...box });
		}
		if (opened.length === 0) throw new WrongRecoveryPhraseError();

		const device = newDeviceKeys();
		const kdf = newKdfParams();
		const wrappingKey = deriveKey(newPassphrase, kdf);
		const deviceEntry = wrapDevice(device, wrappingKey, kdf, recoveryRef);
		wrappingKey.fill(0);
		const oldRecipient = toBase64url(entry.boxPublicKey);
		const updated = opened.map(({ vault, epoch, vaultKey }) => ({
			...vault,
			lockboxes: [
				// The old device key is presumed lost with its passphrase: its lockboxes go.
				...vault.lockboxes.filter((l) => l.recipient !== oldRecipient),
				makeLockbox(vaultKey, device.box.publicKey, 'device', epoch)
			]
		}));

		const tx = this.#db.transaction(['device', 'vaults'], 'readwrite');
		const current = await tx.objectStore('device').get(DEVICE_KEY);
		if (!current || current.deviceId !== entry.deviceId) {
			abortQuietly(tx);
			for (const o of opened) o.vaultKey.fill(0);
			wipeDeviceKeys(device);
			throw new Error('The device changed during recovery; try again');
		}
		await Promise.all([
			tx.objectStore('device').put(deviceEntry, DEVICE_KEY),
			...updated.map((v) => tx.objectStore('vaults').put(v, v.vaultId)),
			tx.done
		]);
		for (const o of opened) o.vaultKey.fill(0);

		const session = internals.newSession(this.#db, device, deviceEntry, this.#relay);
		await internals.load(session);
		try {
			await this.#enrolRecovered(session, recovery, entry.deviceId);
		} catch (e) {
			// Offline or refused: the records stay readable here; the engine reports why they do not sync.
			if (!(e instanceof CarnetError)) throw e;
		}
		// The old person was sealed to the lost device key: the oldest record's creator's, as for
		// restore (the chain stored here predates this device key, so it names the creator).
		await internals.settlePerson(session, session.records()[0]?.vaultId);
		internals.start(session);
		return session;
	}

	/** Enrols the session's new device key in every record shared on the relay, and retires `oldDevice`. */
	async #enrolRecovered(session: Session, recovery: Identity, oldDevice: string): Promise<void> {
		const shared = new Set(session.records().map((r) => r.vaultId));
		await withSocket(this.#relay, async (socket) => {
			await socket.auth(internals.device(session).sign);
			const listed = await socket.auth(recovery.sign);
			const grants = listed.filter((vaultId) => shared.has(vaultId)).map((vaultId): Grant => ({ vaultId, signer: recovery }));
			for (const joined of await joinVaults(socket, internals.device(session), grants)) {
				await retireDevice(socket, joined, recovery, oldDevice);
			}
		});
	}

	/**
	 * A brand-new device joins the records of an invitation `link` (scanned or pasted): it
	 * validates the link, creates its own keys wrapped under `passphrase`, adds itself to
	 * each record with the invitation's key, receives the records, and names itself
	 * `deviceName` in them. It belongs to the person of the device that invited it. `onStatus`
	 * follows the records arriving (a progress bar while catching up). Throws
	 * InvalidLinkError, InviteExpiredError, InviteUsedError, OfflineError, DeviceExistsError
	 * (this device is set up already: `session.acceptInvite`), CarnetError `person_invite` for
	 * an invitation of another person (`p: 1`: accepted with `session.acceptInvite` only).
	 */
	async join(link: string, passphrase: string, deviceName: string, onStatus?: StatusListener): Promise<JoinResult> {
		const parsed = parseInviteLink(link);
		if (!parsed.ok) throw new InvalidLinkError();
		const invite: Invite = parsed.invite;
		// Another person joins with their own Carnet, set up with their own record and phrase:
		// a blank device would take the inviter's recovery key as its own (docs/FAMILY.md §3).
		if (invite.forPerson === true) throw new CarnetError('person_invite', 'this invitation is for a Carnet already set up: create your own record first');
		if (Date.now() >= invite.expires.getTime()) throw new InviteExpiredError();
		const relay: EngineOptions = { ...this.#relay, url: invite.relay === undefined ? this.#relay.url : syncUrl(invite.relay) };
		return this.#enrolNew(relay, passphrase, deviceName, onStatus, (socket) => authInvites(socket, invite));
	}

	/**
	 * A brand-new device restored from the 24 words through the relay: the recovery key lists
	 * its records, adds this device's new keys (wrapped under `passphrase`) to each, and the
	 * records are received (`onStatus` follows them); the device belongs to the person of the
	 * records' creator. Throws InvalidPhraseError,
	 * WrongRecoveryPhraseError (no record on the relay has this key), OfflineError,
	 * DeviceExistsError.
	 */
	async restore(phrase: string, passphrase: string, deviceName: string, onStatus?: StatusListener): Promise<JoinResult> {
		if (typeof phrase !== 'string' || !isValidRecoveryPhrase(phrase)) throw new InvalidPhraseError();
		const keys = recoveryKeys(phrase);
		const recovery: Identity = { id: memberId(keys.sign.publicKey), ...keys };
		try {
			return await this.#enrolNew(this.#relay, passphrase, deviceName, onStatus, async (socket) => {
				const vaults = await socket.auth(recovery.sign);
				if (vaults.length === 0) throw new WrongRecoveryPhraseError();
				return vaults.map((vaultId) => ({ vaultId, signer: recovery }));
			});
		} finally {
			recovery.sign.privateKey.fill(0);
			recovery.box.privateKey.fill(0);
		}
	}

	/**
	 * Creates this device with new keys, has `grantsOf` say who adds it to which records,
	 * adds it, then stores the device and its records in one transaction (a crash before it
	 * leaves the relay with an unused member, removable from the device list, and this
	 * device blank). The session returned holds the records received.
	 */
	async #enrolNew(
		relay: EngineOptions,
		passphrase: string,
		deviceName: string,
		onStatus: StatusListener | undefined,
		grantsOf: (socket: RelaySocket) => Promise<Grant[]>
	): Promise<JoinResult> {
		if (typeof passphrase !== 'string' || passphrase.length === 0) throw new InvalidPassphraseError();
		checkDeviceName(deviceName);
		if (await this.hasDevice()) throw new DeviceExistsError();
		const device = newDeviceKeys();
		let joined: Joined[];
		try {
			joined = await withSocket(relay, async (socket) => {
				await socket.auth(device.sign);
				return joinVaults(socket, identityOf(device), await grantsOf(socket));
			});
		} catch (e) {
			wipeDeviceKeys(device);
			throw e;
		}
		const recovery = joined.length === 0 ? undefined : recoveryOf(joined[0].chain);
		if (recovery === undefined) {
			wipeDeviceKeys(device);
			throw new IntegrityError('bad_membership', 'the record enrols no recovery key');
		}
		const kdf = newKdfParams();
		const wrappingKey = deriveKey(passphrase, kdf);
		const deviceEntry = wrapDevice(device, wrappingKey, kdf, { recoveryRecipient: recovery.box, recoveryId: recovery.id });
		wrappingKey.fill(0);
		const records = joined.map((j) => {
			const { createdAt, state } = joinedState(device.deviceId, j);
			return joinedRecord(this.#db, j.vaultId, createdAt, state, device, fromBase64url(recovery.box), roleIn(j.chain.state, device.deviceId));
		});
		const tx = this.#db.transaction(['device', 'vaults', 'sync'], 'readwrite');
		await Promise.all([
			tx.objectStore('device').add(deviceEntry, DEVICE_KEY),
			...records.flatMap((r) => [tx.objectStore('vaults').put(r.entry, r.entry.vaultId), tx.objectStore('sync').put(r.state, r.entry.vaultId)]),
			tx.done
		]);
		for (const r of records) r.localKey.fill(0);

		const session = internals.newSession(this.#db, device, deviceEntry, relay);
		await internals.load(session);
		const unsubscribe = onStatus === undefined ? undefined : session.sync.subscribe(onStatus);
		try {
			internals.start(session);
			for (const { vaultId } of joined) await session.sync.whenSynced(vaultId);
			await internals.settlePerson(session, joined[0].vaultId, deviceName);
			await session.renameThisDevice(deviceName);
			for (const { vaultId } of joined) await session.sync.whenSynced(vaultId);
		} finally {
			unsubscribe?.();
		}
		return { session };
	}

	/** Closes the database connection (a page unload does this implicitly; tests simulate reloads). */
	close(): void {
		this.#db.close();
	}
}

/** What Carnet needs of a Session and the UI must not see (set by Session's static block). */
interface SessionInternals {
	newSession(db: IDBPDatabase<CarnetDB>, device: DeviceKeys, entry: SessionEntry, relay: EngineOptions): Session;
	load(session: Session): Promise<void>;
	/** Starts the session's sync engine (connects when a relay is known). */
	start(session: Session): void;
	/** The session's device identity, for enrolling it on the relay. */
	device(session: Session): Identity;
	adopt(session: Session, vaultId: string, vaultKey: Uint8Array, entry: VaultEntry, record: OpenRecord): void;
	recordParams(session: Session, vaultId: string, vaultKey: Uint8Array): Parameters<typeof OpenRecord.create>[0];
	/** The person of a device just created (already in its stored entry). */
	setPerson(session: Session, person: DevicePerson): void;
	/**
	 * Decides and stores the person of a device that has none yet: the person of whoever
	 * brought it into `vaultId` (see introducerOf), else the fallback, the device itself
	 * named `deviceName` (default: its name in its records).
	 */
	settlePerson(session: Session, vaultId: string | undefined, deviceName?: string): Promise<void>;
}

/** What a session keeps of the device entry: the recovery key's public half and the sealed person. */
type SessionEntry = RecoveryRef & Pick<DeviceEntry, 'person'>;
let internals: SessionInternals;

/** An unlocked device: keys in memory, records to list, open and create. */
export class Session {
	/** This device's id (base64url of its Ed25519 public key). */
	readonly deviceId: string;
	readonly #db: IDBPDatabase<CarnetDB>;
	#device: DeviceKeys | undefined;
	readonly #recoveryRecipient: string;
	readonly #recoveryId: string | undefined;
	readonly #author: string;
	readonly #engine: Engine;
	/** Until settled (create, unlock, join, restore, recover): the device itself, named by its id. */
	#person: DevicePerson;
	#vaultKeys = new Map<string, Uint8Array>();
	#metas = new Map<string, VaultMeta>();
	#open = new Map<string, Promise<OpenRecord>>();
	// The records whose opening resolved, for what must answer synchronously (a share's link).
	#opened = new Map<string, OpenRecord>();
	#shares = new Map<string, Shares>();
	#files = new Map<string, Files>();
	#locked = false;

	static {
		// Module-private access: only Carnet creates sessions and feeds them keys.
		internals = {
			newSession: (db, device, entry, relay) => new Session(db, device, entry, relay),
			load: (session) => session.#load(),
			start: (session) => session.#engine.start(),
			device: (session) => identityOf(session.#requireDevice()),
			adopt: (session, vaultId, vaultKey, entry, record) => session.#adopt(vaultId, vaultKey, entry, record),
			recordParams: (session, vaultId, vaultKey) => session.#recordParams(vaultId, vaultKey),
			setPerson: (session, person) => void (session.#person = person),
			settlePerson: (session, vaultId, deviceName) => session.#settlePerson(vaultId, deviceName)
		};
	}

	private constructor(db: IDBPDatabase<CarnetDB>, device: DeviceKeys, entry: SessionEntry, relay: EngineOptions) {
		this.#db = db;
		this.#device = device;
		this.deviceId = device.deviceId;
		this.#author = authorOf(device.deviceId);
		this.#recoveryRecipient = entry.recoveryRecipient;
		this.#recoveryId = entry.recoveryId;
		this.#person = openPerson(device.box, entry.person) ?? { id: device.deviceId, name: device.deviceId.slice(0, UNNAMED_ID_CHARS) };
		this.#engine = new Engine(this.#port(), relay);
		// Share events: a notice wakes its record's share service; every (re)connection makes
		// each record catch up on what happened while this device was offline.
		this.#engine.onRelayEvent((event) => {
			if (this.#locked) return;
			const vaultIds = event.type === 'notice' ? [event.vault] : [...this.#vaultKeys.keys()];
			for (const vaultId of vaultIds) {
				if (!this.#vaultKeys.has(vaultId)) continue;
				(this.shares(vaultId) as Shares).relayEvent(event);
				// Files attached or deleted while offline go out now.
				if (event.type === 'connected') this.#filesOf(vaultId).flush().catch(() => {});
			}
		});
	}

	/**
	 * The sync engine: every record of the session synced through the relay while unlocked
	 * (started at unlock, create, recover, join and restore when a relay is known; stopped by
	 * `lock`).
	 */
	get sync(): SyncEngine {
		return this.#engine;
	}

	/** The author string record operations receive as ctx.author. */
	get author(): string {
		return this.#author;
	}

	/** True after `lock()`: every other call throws LockedError. */
	get locked(): boolean {
		return this.#locked;
	}

	// Opens every lockbox addressed to this device and decrypts the record names, so records()
	// can answer synchronously. Records with no lockbox for this device are skipped.
	async #load(): Promise<void> {
		const device = this.#requireDevice();
		const vaults = await this.#db.getAll('vaults');
		for (const vault of vaults) {
			const box = openLockbox(vault, device.box);
			if (!box) continue;
			this.#vaultKeys.set(vault.vaultId, box.vaultKey);
			this.#metas.set(vault.vaultId, openMeta(vault.vaultId, box.vaultKey, vault.meta) ?? { name: '', createdAt: 0 });
		}
	}

	// Registers a record just created (its key, name and open handle).
	#adopt(vaultId: string, vaultKey: Uint8Array, entry: VaultEntry, record: OpenRecord): void {
		this.#vaultKeys.set(vaultId, vaultKey);
		this.#metas.set(vaultId, openMeta(vaultId, vaultKey, entry.meta) ?? { name: '', createdAt: 0 });
		this.#open.set(vaultId, Promise.resolve(record));
		this.#opened.set(vaultId, record);
	}

	// What OpenRecord needs for one vault of this session.
	#recordParams(vaultId: string, vaultKey: Uint8Array) {
		return {
			db: this.#db,
			vaultId,
			vaultKey,
			author: this.#author,
			writable: () => this.#metas.get(vaultId)?.role !== 'reader',
			onNameChange: (name: string) => this.#rename(vaultId, name),
			onLocalChange: () => this.#engine.localChange(vaultId)
		};
	}

	// What the sync engine may do with this session: closures over its private fields.
	#port(): SessionPort {
		return {
			db: this.#db,
			device: () => identityOf(this.#requireDevice()),
			recovery: () => ({ id: this.#recoveryId, box: this.#recoveryRecipient }),
			vaultIds: () => this.records().map((r) => r.vaultId),
			localKey: (vaultId) => this.#vaultKeys.get(vaultId),
			record: (vaultId) => this.#heldRecord(vaultId),
			adoptDocument: (vaultId, doc) => this.#adoptDocument(vaultId, doc),
			addVault: (vaultId, createdAt, state, role) => this.#addVault(vaultId, createdAt, state, role)
		};
	}

	// The open record, or undefined while its document has not arrived (a record just joined).
	async #heldRecord(vaultId: string): Promise<OpenRecord | undefined> {
		try {
			return await this.#openRecord(vaultId);
		} catch (e) {
			if (e instanceof UnknownRecordError) return undefined;
			throw e;
		}
	}

	// A record joined through the relay (acceptInvite, discovery): its entries, then listed.
	async #addVault(vaultId: string, createdAt: number, state: SyncState, role: RecordRole): Promise<void> {
		const device = this.#requireDevice();
		const record = joinedRecord(this.#db, vaultId, createdAt, state, device, fromBase64url(this.#recoveryRecipient), role);
		const tx = this.#db.transaction(['vaults', 'sync'], 'readwrite');
		await Promise.all([tx.objectStore('vaults').put(record.entry, vaultId), tx.objectStore('sync').put(record.state, vaultId), tx.done]);
		this.#assertUnlocked();
		this.#vaultKeys.set(vaultId, record.localKey);
		this.#metas.set(vaultId, { name: '', createdAt, ...(role === 'reader' ? { role } : {}) });
	}

	// See SessionInternals.settlePerson.
	async #settlePerson(vaultId: string | undefined, deviceName?: string): Promise<void> {
		let person: DevicePerson | undefined;
		if (vaultId !== undefined) {
			const [state, record] = await Promise.all([this.#engine.membership(vaultId), this.#heldRecord(vaultId)]);
			const by = state === undefined ? undefined : introducerOf(state, this.deviceId);
			if (by !== undefined && record !== undefined) person = deviceEntries(record.doc()).get(by)?.person;
		}
		const name = deviceName ?? (await this.#deviceName());
		await this.#storePerson(person ?? { id: this.deviceId, name: personName(name, this.deviceId) });
	}

	// Seals `person` into the device entry and makes it this session's.
	async #storePerson(person: DevicePerson): Promise<void> {
		const device = this.#requireDevice();
		const tx = this.#db.transaction('device', 'readwrite');
		const current = await tx.store.get(DEVICE_KEY);
		this.#person = person;
		// Another tab re-keyed the device meanwhile (recover): its entry is not ours to write.
		if (!current || current.deviceId !== device.deviceId) return abortQuietly(tx);
		await Promise.all([tx.store.put({ ...current, person: sealPerson(device.box.publicKey, person) }, DEVICE_KEY), tx.done]);
	}

	// This device's name as its records know it: the oldest record holding an entry for it.
	async #deviceName(): Promise<string | undefined> {
		for (const { vaultId } of this.records()) {
			const record = await this.#heldRecord(vaultId);
			const entry = record === undefined ? undefined : deviceEntries(record.doc()).get(this.deviceId);
			if (entry !== undefined) return entry.name;
		}
		return undefined;
	}

	// The document of a joined record arrived: stored as the record, opened, named.
	async #adoptDocument(vaultId: string, doc: Automerge.Doc<RecordDoc>): Promise<OpenRecord> {
		const localKey = this.#vaultKeys.get(vaultId);
		if (!localKey) throw new UnknownRecordError();
		const record = await OpenRecord.adopt(this.#recordParams(vaultId, localKey), doc);
		this.#open.set(vaultId, Promise.resolve(record));
		this.#opened.set(vaultId, record);
		await this.#rename(vaultId, displayNameOf(doc));
		return record;
	}

	/** The records this device can open, oldest first (so the patient's own record leads). */
	records(): RecordInfo[] {
		this.#assertUnlocked();
		return [...this.#metas]
			.sort(([a, x], [b, y]) => x.createdAt - y.createdAt || (a < b ? -1 : 1))
			.map(([vaultId, { name }]) => ({ vaultId, name }));
	}

	/**
	 * Creates another record (e.g. a child's) with its own vault key, sealed to this device and
	 * to the same recovery key as the first record, this device's entry (name and person)
	 * written in it. Returns its vault id; bad identity input throws RecordValidationError and
	 * writes nothing.
	 */
	async createRecord(identity: unknown): Promise<string> {
		const device = this.#requireDevice();
		const checked = validate('identity', identity);
		if (!checked.ok) throw new RecordValidationError(checked.issues);
		const deviceName = await this.#deviceName();
		const { vaultId, vaultKey } = newVault();
		let record: OpenRecord | undefined;
		try {
			record = await OpenRecord.create(this.#recordParams(vaultId, vaultKey), identity);
			// So that whoever is invited to it later sees who holds it ("Julien", not an id).
			if (deviceName !== undefined) await record.change((doc) => setDeviceName(doc, device.deviceId, deviceName, this.#person));
			const entry: VaultEntry = {
				v: 1,
				vaultId,
				lockboxes: [
					makeLockbox(vaultKey, device.box.publicKey, 'device'),
					makeLockbox(vaultKey, fromBase64url(this.#recoveryRecipient), 'recovery')
				],
				meta: sealMeta(vaultId, vaultKey, { name: displayNameOf(record.doc()), createdAt: Date.now() })
			};
			await this.#db.put('vaults', entry, vaultId);
			this.#assertUnlocked();
			this.#adopt(vaultId, vaultKey, entry, record);
			this.#engine.track(vaultId);
			return vaultId;
		} catch (e) {
			await record?.close();
			vaultKey.fill(0);
			throw e;
		}
	}

	/** Opens a record for reading and editing; the same handle is returned while unlocked. */
	open(vaultId: string): Promise<RecordHandle> {
		return this.#openRecord(vaultId);
	}

	async #openRecord(vaultId: string): Promise<OpenRecord> {
		this.#assertUnlocked();
		const vaultKey = this.#vaultKeys.get(vaultId);
		if (!vaultKey) throw new UnknownRecordError();
		let pending = this.#open.get(vaultId);
		if (!pending) {
			pending = OpenRecord.open(this.#recordParams(vaultId, vaultKey));
			this.#open.set(vaultId, pending);
			// A failed open must not stick: the next call tries again.
			pending.then(
				(record) => void (this.#open.get(vaultId) === pending && this.#opened.set(vaultId, record)),
				() => this.#open.delete(vaultId)
			);
		}
		return pending;
	}

	/**
	 * The record's sharing with professionals (docs/SHARING.md): create, revoke, republish
	 * shares, fetch who opened them and what was contributed. One service per record while
	 * unlocked; UnknownRecordError for a record not on this device.
	 */
	shares(vaultId: string): ShareService {
		this.#assertKnown(vaultId);
		let service = this.#shares.get(vaultId);
		if (service === undefined) {
			const localKey = this.#vaultKeys.get(vaultId)!;
			const engine = this.#engine;
			service = new Shares({
				vaultId,
				record: () => this.#openRecord(vaultId),
				openedRecord: () => this.#opened.get(vaultId),
				files: this.#filesOf(vaultId),
				member: () => {
					const device = this.#requireDevice();
					return { id: device.deviceId, sign: device.sign };
				},
				origins: () => {
					const { url, appOrigin } = engine.relay;
					if (url === undefined) return undefined;
					const relay = httpOrigin(url);
					return { relay, app: appOrigin ?? relay };
				},
				epochKey: async () => {
					await engine.whenReady(vaultId);
					const keys = engine.epochKeys(vaultId);
					const current = keys.size === 0 ? undefined : Math.max(...keys.keys());
					for (const [epoch, key] of keys) if (epoch !== current) key.fill(0);
					return current === undefined ? undefined : keys.get(current);
				},
				online: () => engine.online,
				state: new ShareStateStore(this.#db, vaultId, localKey)
			});
			this.#shares.set(vaultId, service);
		}
		return service;
	}

	/**
	 * The files of the record's documents (docs/ATTACHMENTS.md): sealed here, uploaded to the
	 * relay's blob store, fetched lazily on the other devices (files/service.ts). One service per
	 * record while unlocked; UnknownRecordError for a record not on this device.
	 */
	files(vaultId: string): FileService {
		this.#assertKnown(vaultId);
		return this.#filesOf(vaultId);
	}

	#filesOf(vaultId: string): Files {
		let service = this.#files.get(vaultId);
		if (service === undefined) {
			const engine = this.#engine;
			service = new Files({
				vaultId,
				db: this.#db,
				localKey: this.#vaultKeys.get(vaultId)!,
				record: () => this.#openRecord(vaultId),
				openedRecord: () => this.#opened.get(vaultId),
				relay: {
					relayOrigin: () => (engine.relay.url === undefined ? undefined : httpOrigin(engine.relay.url)),
					member: () => {
						const device = this.#requireDevice();
						return { id: device.deviceId, sign: device.sign };
					}
				},
				online: () => engine.online,
				ready: () => engine.whenReady(vaultId),
				synced: () => engine.whenSynced(vaultId)
			});
			this.#files.set(vaultId, service);
		}
		return service;
	}

	/**
	 * The record's current devices and its recovery key (invitations not shown): names from
	 * the record, last seen from the relay when it answers.
	 */
	async devices(vaultId: string): Promise<MemberInfo[]> {
		this.#assertKnown(vaultId);
		return this.#engine.members(vaultId);
	}

	/**
	 * One invitation, shown as one QR code, for a new device of this person to join `vaultIds`
	 * (default: every record of this session this device may write): valid 10 minutes, usable
	 * once, the new device an admin. Needs the relay (OfflineError); ForbiddenError for a
	 * record where this device is a reader.
	 */
	async inviteDevice(vaultIds?: readonly string[]): Promise<{ link: string; expiresAt: Date }> {
		this.#assertUnlocked();
		const ids = vaultIds ?? this.records().map((r) => r.vaultId).filter((id) => this.role(id) === 'admin');
		for (const id of ids) this.#assertAdmin(id);
		return this.#engine.invite(ids, { grants: 'admin', ttlMs: INVITE_TTL_MS, forPerson: false });
	}

	/**
	 * Invites another person to the record `vaultId` (docs/FAMILY.md §3): one record only,
	 * usable once, valid 30 minutes, as a guardian (`admin`) or a read-only member (`reader`).
	 * The link is marked for a person (`p: 1`, `parseInviteLink(link).invite.forPerson`), and
	 * its receiver accepts it with `acceptInvite` on their own Carnet. Needs the relay
	 * (OfflineError); ForbiddenError on a reader's device.
	 */
	async inviteMember(vaultId: string, role: RecordRole): Promise<{ link: string; expiresAt: Date }> {
		this.#assertAdmin(vaultId);
		if (role !== 'admin' && role !== 'reader') throw new TypeError("role must be 'admin' or 'reader'");
		return this.#engine.invite([vaultId], { grants: role, ttlMs: PERSON_INVITE_TTL_MS, forPerson: true });
	}

	/**
	 * This device's role in the record: `admin` (a guardian's device: reads, writes, invites,
	 * removes) or `reader` (reads only: `RecordHandle.change` throws ForbiddenError). Answers
	 * synchronously, from what the device stored when it joined.
	 */
	role(vaultId: string): RecordRole {
		this.#assertKnown(vaultId);
		return this.#metas.get(vaultId)?.role ?? 'admin';
	}

	/** The person this device belongs to (docs/FAMILY.md §1): `{id, name}`. */
	person(): DevicePerson {
		this.#assertUnlocked();
		return { ...this.#person };
	}

	/**
	 * Renames this device's person, here and in this device's entry in every record it may
	 * write. The person's other devices keep the name they have until renamed there (every
	 * device shows the name the person's first device wrote: core `people`). Throws
	 * RecordValidationError (`person.name`: `required`, `too_long`) before any write.
	 */
	async renamePerson(name: string): Promise<void> {
		const person = checkPerson({ id: this.#person.id, name });
		await this.#storePerson(person);
		const deviceName = await this.#deviceName();
		if (deviceName !== undefined) await this.renameThisDevice(deviceName);
	}

	/**
	 * Who holds the record, grouped by person (core `people` over the record's current
	 * members), `thisPerson` marking this device's. Names come from the record.
	 * UnknownRecordError while a record just joined has not arrived yet.
	 */
	async people(vaultId: string): Promise<PersonInfo[]> {
		this.#assertKnown(vaultId);
		const [members, record, own] = await Promise.all([this.#engine.members(vaultId), this.#openRecord(vaultId), this.#ownDevices()]);
		// Entries are written by whoever holds the record: a device claiming this person without
		// being one of this person's own devices (as the records this person created know them)
		// is shown as a person of its own, so that a guardian cannot hide among yours.
		const mine = new Set([this.deviceId, ...own.map((d) => d.id)]);
		return people(record.doc(), members).flatMap((person): PersonInfo[] => {
			if (person.personId !== this.#person.id) return [{ ...person, thisPerson: person.devices.some((d) => d.memberId === this.deviceId) }];
			const claimed = person.devices.filter((d) => !mine.has(d.memberId));
			const verified = { ...person, devices: person.devices.filter((d) => mine.has(d.memberId)), thisPerson: true };
			return [
				...(verified.devices.length > 0 ? [verified] : []),
				...claimed.map((d) => ({ personId: d.memberId, name: d.name, role: personRole(d.role), devices: [d], thisPerson: false }))
			];
		});
	}

	/**
	 * Removes a person from the record (docs/FAMILY.md §4): each of their devices and each
	 * invitation they made and nobody used yet, each removal a key rotation. They keep what
	 * they had, get nothing written after, and the relay refuses them at once. ForbiddenError
	 * on a reader's device, for this device's own person (hand over or leave instead), for the
	 * recovery key (only `handOver` replaces it) and for a person not in the record.
	 * OfflineError without the relay. When the removed person removed this device first
	 * (mutual removal: the relay orders the two), RelayError `revoked`, and the record shows
	 * as revoked here (docs/SYNC.md, "Removing a person").
	 */
	async removePerson(vaultId: string, personId: string): Promise<void> {
		this.#assertAdmin(vaultId);
		await this.#engine.whenReady(vaultId);
		const person = (await this.people(vaultId)).find((p) => p.personId === personId);
		if (person === undefined) throw new ForbiddenError('no such person in this record');
		if (person.thisPerson) throw new ForbiddenError("this device's own person cannot be removed");
		if (person.role === 'recovery') throw new ForbiddenError('only a hand-over replaces the recovery key');
		const devices = new Set(person.devices.map((d) => d.memberId));
		const state = await this.#engine.membership(vaultId);
		const invites = [...(state?.members.values() ?? [])].filter((m) => m.role === 'invite' && !m.spent && devices.has(m.addedBy));
		try {
			for (const id of [...devices, ...invites.map((m) => m.id)]) await this.#engine.removeMember(vaultId, id);
		} catch (e) {
			if (e instanceof RelayError && e.code === 'not_member') throw new RelayError('revoked', 'this device was removed from the record meanwhile');
			throw e;
		}
	}

	/**
	 * Hands the record over to this device's person alone (docs/FAMILY.md §5: the child come
	 * of age): enrols this device's own recovery key (role `recovery`) unless it is already a
	 * member, then removes every other member (other people's devices, readers, invitations,
	 * the old recovery key), one key rotation each. This person's other devices (known from
	 * the records this person created, never from this record's entries) stay. Resolves
	 * with what the record holds, for the UI to say plainly. ForbiddenError on a reader's
	 * device or one that does not know its recovery key (set up before sync: recover first);
	 * OfflineError without the relay.
	 */
	async handOver(vaultId: string): Promise<HandOverSummary> {
		this.#assertAdmin(vaultId);
		const recoveryId = this.#recoveryId;
		if (recoveryId === undefined) throw new ForbiddenError('this device does not know its recovery key: recover with the phrase first');
		await this.#engine.whenReady(vaultId);
		if ((await this.#engine.membership(vaultId))?.members.has(recoveryId) !== true) {
			await this.#engine.addMember(vaultId, { id: recoveryId, box: this.#recoveryRecipient, role: 'recovery' });
		}
		// This person's other devices as the records this person created know them: in this
		// record, a guardian being removed could have written an entry claiming this person.
		const kept = new Set([this.deviceId, recoveryId, ...(await this.#ownDevices()).map((d) => d.id)]);
		const state = await this.#engine.membership(vaultId);
		for (const id of state?.members.keys() ?? []) if (!kept.has(id)) await this.#engine.removeMember(vaultId, id, true);
		await this.#engine.whenSynced(vaultId);
		const record = await this.#openRecord(vaultId);
		return handOverSummary(record.doc(), record.view(), this.#metas.get(vaultId)?.createdAt ?? 0);
	}

	/**
	 * Removes a device (or an invitation not used yet) from a record and rotates the record's
	 * key: the relay refuses the device at once, and it cannot read anything written after.
	 * Devices offline now get the new key when they reconnect. Needs the relay
	 * (OfflineError); ForbiddenError for this device itself or the recovery key.
	 */
	async removeDevice(vaultId: string, memberId: string): Promise<void> {
		this.#assertKnown(vaultId);
		await this.#engine.removeMember(vaultId, memberId);
	}

	/**
	 * Names this device, with its person, in every record of the session it may write (the
	 * name travels encrypted in the record; a reader's writes would be refused, so a reader
	 * shows by its id until a guardian's device names it). Throws RecordValidationError for
	 * an empty or too long name, before any write.
	 */
	async renameThisDevice(name: string): Promise<void> {
		const device = this.#requireDevice();
		const checked = checkDeviceName(name);
		for (const vaultId of [...this.#vaultKeys.keys()]) {
			if (this.role(vaultId) === 'reader') continue;
			let record: OpenRecord;
			try {
				record = await this.#openRecord(vaultId);
			} catch (e) {
				// A record joined whose document has not arrived yet gets the name with the next rename.
				if (e instanceof UnknownRecordError) continue;
				throw e;
			}
			await record.change((doc) => setDeviceName(doc, device.deviceId, checked, this.#person));
		}
	}

	/**
	 * Adds the records of an invitation `link` to this device (one already set up: another
	 * record of the patient's, a child's record from the other parent), with the role the
	 * invitation grants. Where that role is `admin`, this device then adds its person's other
	 * devices (the admins of its other records whose entry names this person) with a lockbox
	 * each, and writes its own entry and theirs: they show at once and adopt the record on
	 * their next connection. A reader may add no one: only this device joins, and its entry
	 * stays unwritten (the relay refuses a reader's changes). Resolves with the vault ids
	 * added, once received. Throws like `Carnet.join`.
	 */
	async acceptInvite(link: string): Promise<string[]> {
		const device = this.#requireDevice();
		const parsed = parseInviteLink(link);
		if (!parsed.ok) throw new InvalidLinkError();
		const invite = parsed.invite;
		if (Date.now() >= invite.expires.getTime()) throw new InviteExpiredError();
		const relay = this.#engine.relay;
		if (invite.relay !== undefined && syncUrl(invite.relay) !== relay.url) throw new CarnetError('other_relay', 'the invitation is for another relay');
		const others = await this.#ownDevices();
		const joined = await withSocket(relay, async (socket) => {
			await socket.auth(device.sign);
			const grants = (await authInvites(socket, invite)).filter((grant) => !this.#vaultKeys.has(grant.vaultId));
			const records: Joined[] = [];
			for (const record of await joinVaults(socket, identityOf(device), grants)) {
				records.push(await addOwnDevices(socket, record, identityOf(device), others));
			}
			return records;
		});
		for (const record of joined) await this.#engine.adopt(record);
		for (const { vaultId } of joined) await this.#engine.whenSynced(vaultId);
		const name = await this.#deviceName();
		for (const { vaultId, chain } of joined) {
			if (this.role(vaultId) === 'reader') continue;
			const added = others.filter((other) => chain.state.members.get(other.id)?.addedBy === this.deviceId);
			const record = await this.#openRecord(vaultId);
			await record.change((doc) => {
				if (name !== undefined) setDeviceName(doc, this.deviceId, name, this.#person);
				for (const other of added) setDeviceName(doc, other.id, other.name, this.#person);
			});
			await this.#engine.whenSynced(vaultId);
		}
		return joined.map((j) => j.vaultId);
	}

	/**
	 * This person's other devices (docs/FAMILY.md §3): the admins of this person's own record
	 * (the oldest on this device, made at `create`, if this person created it) whose entry
	 * names this device's person. Only that record counts: in a record shared with
	 * another person (a child's, even one this person created), any guardian could write an
	 * entry claiming this person for their own device, and be added to every record this
	 * person joins next, or survive a hand-over.
	 */
	async #ownDevices(): Promise<OwnDevice[]> {
		const own = this.records()[0]; // the oldest: the record made at `create`
		if (own === undefined) return [];
		const [state, record] = await Promise.all([this.#engine.membership(own.vaultId), this.#heldRecord(own.vaultId)]);
		if (state === undefined || record === undefined || creatorOf(state) !== this.#person.id) return [];
		const found: OwnDevice[] = [];
		for (const [id, entry] of deviceEntries(record.doc())) {
			const member = state.members.get(id);
			if (id !== this.deviceId && member?.role === 'admin' && entry.person.id === this.#person.id) found.push({ id, box: member.box, name: entry.name });
		}
		return found;
	}

	/**
	 * Changes the passphrase: verifies the old one, re-wraps the device private keys under a
	 * key derived with fresh KDF params (new salt), and writes the entry in one transaction.
	 * Record data is not re-encrypted: it never depended on the passphrase.
	 */
	async changePassphrase(oldPassphrase: string, newPassphrase: string): Promise<void> {
		const device = this.#requireDevice();
		if (typeof newPassphrase !== 'string' || newPassphrase.length === 0) throw new InvalidPassphraseError();
		const entry = await this.#db.get('device', DEVICE_KEY);
		if (!entry || entry.deviceId !== device.deviceId) throw new WrongPassphraseError();
		const check = unwrapDevice(entry, String(oldPassphrase));
		if (!check) throw new WrongPassphraseError();
		wipeDeviceKeys(check);

		const kdf = newKdfParams();
		const wrappingKey = deriveKey(newPassphrase, kdf);
		// The person is sealed to the box key, which a new passphrase does not change.
		const updated: DeviceEntry = { ...wrapDevice(device, wrappingKey, kdf, entry), ...(entry.person === undefined ? {} : { person: entry.person }) };
		wrappingKey.fill(0);
		this.#assertUnlocked();

		// Compare-and-swap in one transaction: another tab's change in between wins, not ours.
		const tx = this.#db.transaction('device', 'readwrite');
		const current = await tx.store.get(DEVICE_KEY);
		if (!current || !constantTimeEqual(current.wrapped, entry.wrapped)) {
			abortQuietly(tx);
			throw new WrongPassphraseError();
		}
		await Promise.all([tx.store.put(updated, DEVICE_KEY), tx.done]);
	}

	/**
	 * Persists and closes every open record, then zeroes every key this session held (vault
	 * keys, device private keys, the storage subkeys) and drops the references. Afterwards every
	 * call on the session or its record handles throws LockedError. Idempotent.
	 */
	async lock(): Promise<void> {
		if (this.#locked) return;
		this.#locked = true;
		const open = [...this.#open.values()];
		this.#open.clear();
		this.#opened.clear();
		for (const service of this.#shares.values()) service.close();
		this.#shares.clear();
		// Transfers stop at once: they sign with keys about to be wiped.
		for (const service of this.#files.values()) service.close();
		this.#files.clear();
		try {
			// The engine first: it flushes records and writes its state before they close.
			await this.#engine.stop();
			await Promise.allSettled(open.map(async (p) => (await p).close()));
		} finally {
			for (const key of this.#vaultKeys.values()) key.fill(0);
			this.#vaultKeys.clear();
			this.#metas.clear();
			if (this.#device) wipeDeviceKeys(this.#device);
			this.#device = undefined;
		}
	}

	async #rename(vaultId: string, name: string): Promise<void> {
		const vaultKey = this.#vaultKeys.get(vaultId);
		const meta = this.#metas.get(vaultId);
		if (!vaultKey || !meta || meta.name === name) return;
		const updated: VaultMeta = { ...meta, name };
		const tx = this.#db.transaction('vaults', 'readwrite');
		const entry = await tx.store.get(vaultId);
		if (!entry) {
			abortQuietly(tx);
			return;
		}
		await Promise.all([tx.store.put({ ...entry, meta: sealMeta(vaultId, vaultKey, updated) }, vaultId), tx.done]);
		this.#metas.set(vaultId, updated);
	}

	#assertAdmin(vaultId: string): void {
		if (this.role(vaultId) !== 'admin') throw new ForbiddenError('a read-only member cannot do this');
	}

	#assertKnown(vaultId: string): void {
		this.#assertUnlocked();
		if (!this.#vaultKeys.has(vaultId)) throw new UnknownRecordError();
	}

	#requireDevice(): DeviceKeys {
		this.#assertUnlocked();
		return this.#device as DeviceKeys;
	}

	#assertUnlocked(): void {
		if (this.#locked || !this.#device) throw new LockedError();
	}
}

/**
 * Aborts a transaction whose outcome we already decided to discard. idb's `tx.done` rejects
 * on abort; nobody awaits it here, so swallow that rejection instead of leaving it unhandled.
 */
function abortQuietly(tx: { abort(): void; done: Promise<void> }): void {
	tx.done.catch(() => {});
	tx.abort();
}

/** Where the relay is, from `Carnet.open`'s options and, in a browser, the page's origin. */
function relayOptions(options: CarnetOpenOptions): EngineOptions {
	const page = typeof location === 'undefined' ? undefined : location.origin;
	const relay = options.relayUrl ?? page;
	const WebSocket = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
	return {
		...(relay === undefined ? {} : { url: syncUrl(relay) }),
		...(WebSocket === undefined ? {} : { WebSocket }),
		...(page === undefined && options.relayUrl === undefined ? {} : { appOrigin: page ?? httpOrigin(options.relayUrl!) })
	};
}

/** The http(s) origin of a relay URL: what invitation links point at when no page served the app. */
function httpOrigin(relay: string): string {
	const url = new URL(relay);
	const protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
	return `${protocol}//${url.host}`;
}

/** Runs `fn` on a socket of its own to the relay, closed afterwards. */
async function withSocket<T>(relay: EngineOptions, fn: (socket: RelaySocket) => Promise<T>): Promise<T> {
	if (relay.url === undefined || relay.WebSocket === undefined) throw new OfflineError();
	const socket = await RelaySocket.open(relay.url, relay.WebSocket);
	try {
		return await fn(socket);
	} finally {
		socket.close();
	}
}

/** A device's keys as the sync code names a member. */
function identityOf(device: DeviceKeys): Identity {
	return { id: device.deviceId, sign: device.sign, box: device.box };
}

/**
 * The local entries of a record this device joined through the relay: a fresh LOCAL key
 * (never sent anywhere) sealed to the device and the recovery key, the record's display
 * metadata (with this device's role when it reads only), and its sync state sealed under
 * the local key.
 */
function joinedRecord(
	db: IDBPDatabase<CarnetDB>,
	vaultId: string,
	createdAt: number,
	state: SyncState,
	device: DeviceKeys,
	recoveryBox: Uint8Array,
	role: RecordRole
): { entry: VaultEntry; state: Uint8Array; localKey: Uint8Array } {
	const localKey = randomBytes(VAULT_KEY_BYTES);
	const store = new SyncStore(db, vaultId, localKey);
	try {
		return {
			entry: {
				v: 1,
				vaultId,
				lockboxes: [makeLockbox(localKey, device.box.publicKey, 'device'), makeLockbox(localKey, recoveryBox, 'recovery')],
				meta: sealMeta(vaultId, localKey, { name: '', createdAt, ...(role === 'reader' ? { role } : {}) })
			},
			state: store.sealState(state),
			localKey
		};
	} finally {
		store.close();
	}
}

/** How many characters of its id name a device or person nobody named (as core `people` does). */
const UNNAMED_ID_CHARS = 8;

/** A device of this person's, as `acceptInvite` adds it to a record: its keys from a chain, its name from a record. */
interface OwnDevice extends MemberRef {
	name: string;
}

/** A person name from `text` (a record's display name, a device name), cut to what a person name holds; the id's start when empty. */
function personName(text: string | undefined, deviceId: string): string {
	const name = [...(text ?? '').trim()].slice(0, PERSON_NAME_MAX).join('').trim();
	return name === '' ? deviceId.slice(0, UNNAMED_ID_CHARS) : name;
}

/**
 * Whose person a device takes when it joins a record (docs/FAMILY.md §1): the device whose
 * invitation added it, or the record's creator (op 0's member, the only one that added itself) when
 * the recovery key did (restore, recover) or when the chain stored here predates the device.
 */
function introducerOf(state: MembershipState, deviceId: string): string | undefined {
	const by = state.members.get(deviceId)?.addedBy;
	const signer = by === undefined ? undefined : (state.members.get(by) ?? state.removed.get(by));
	if (signer?.role === 'invite') return signer.addedBy;
	return signer?.role === 'admin' ? signer.id : creatorOf(state);
}

/** A person's role from one device's (a person of one device). */
function personRole(role: 'admin' | 'reader' | 'recovery'): 'guardian' | 'reader' | 'recovery' {
	return role === 'admin' ? 'guardian' : role;
}

/** The device that created the record: op 0's member, the only one that added itself. */
function creatorOf(state: MembershipState): string | undefined {
	return [...state.members.values(), ...state.removed.values()].find((m) => m.addedBy === m.id)?.id;
}

/**
 * Adds this person's other `devices` to a record `device` just joined, as admins, each with a
 * lockbox `device` signs; only when `device` joined it as an admin (a reader may add no one).
 * A device already a member, or removed from it once (the chain refuses its id again), is left.
 */
async function addOwnDevices(socket: RelaySocket, joined: Joined, device: Identity, devices: readonly OwnDevice[]): Promise<Joined> {
	let { chain, keys } = joined;
	if (roleIn(chain.state, device.id) !== 'admin') return joined;
	for (const other of devices) {
		if (chain.state.members.has(other.id) || chain.state.removed.has(other.id)) continue;
		({ chain, keys } = await addDevice(socket, chain, keys, device, other, 'admin'));
	}
	return { vaultId: joined.vaultId, chain, keys };
}

/** What a hand-over resolves with: when the record began, how much it holds, and who wrote it. */
function handOverSummary(doc: RecordDoc, view: RecordView, createdAt: number): HandOverSummary {
	const authors = new Set<string>();
	let entries = 0;
	for (const section of LIST_SECTIONS) {
		for (const entry of view.sections[section]) {
			if (section !== 'documents') entries++;
			authors.add(entry.createdBy).add(entry.updatedBy);
		}
	}
	for (const singleton of [view.identity, view.directives]) if (singleton !== null) authors.add(singleton.updatedBy);
	const names = new Set<string>();
	for (const author of authors) {
		const name = authorName(doc, author);
		// People only: a professional's contribution through a share is not "written by" a holder.
		if (name?.kind === 'device') names.add(name.person);
	}
	return {
		since: new Date(createdAt).toISOString().slice(0, 10),
		entries,
		documents: view.sections.documents.length,
		authors: [...names].sort((a, b) => a.localeCompare(b, 'fr'))
	};
}
