/**
 * The facade the UI calls: `Carnet` is the device (its IndexedDB), `Session` is what an
 * unlocked device can do. Keys exist in memory only inside a Session and `lock()` wipes them.
 *
 * Key hierarchy (DESIGN.md "Keys"):
 *   passphrase --Argon2id--> wrapping key --AEAD--> device Ed25519 + X25519 private keys
 *   device X25519 key --sealed box (lockbox)--> vault key (one per record, per epoch)
 *   recovery phrase --BIP39--> recovery X25519 key --lockbox--> the same vault keys
 *   vault key --crypto_kdf--> name key, data key (chunks), meta key (record name)
 */
import type { IDBPDatabase } from 'idb';
import {
	constantTimeEqual,
	deriveKey,
	fromBase64url,
	isValidRecoveryPhrase,
	newKdfParams,
	newRecoveryPhrase,
	ready,
	recoveryKeys,
	toBase64url
} from '../core/crypto';
import { RecordValidationError, validate } from '../core/record';
import { DEVICE_KEY, openCarnetDb, type CarnetDB, type DeviceEntry, type VaultEntry } from './db';
import {
	DeviceExistsError,
	InvalidPassphraseError,
	InvalidPhraseError,
	LockedError,
	NoDeviceError,
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
	sealMeta,
	unwrapDevice,
	wipeDeviceKeys,
	wrapDevice,
	type DeviceKeys,
	type VaultMeta
} from './keyring';
import { displayNameOf, OpenRecord, type RecordHandle } from './record-handle';

/** Options of `Carnet.open`. */
export interface CarnetOpenOptions {
	/** IndexedDB database name; default 'carnet'. */
	dbName?: string;
	/** The IndexedDB factory; default the global `indexedDB`. Node tests pass fake-indexeddb's. */
	indexedDB?: IDBFactory;
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

/** The author string of a device, as record operations store it. */
export function authorOf(deviceId: string): string {
	return `device:${deviceId.slice(0, 16)}`;
}

/** The device: its encrypted store, before any key is known. */
export class Carnet {
	readonly #db: IDBPDatabase<CarnetDB>;

	private constructor(db: IDBPDatabase<CarnetDB>) {
		this.#db = db;
	}

	/**
	 * Opens the device's database (creating the schema the first time) and readies libsodium.
	 * Holds no key: nothing is decrypted until `unlock`, `create` or `recover`.
	 */
	static async open(options: CarnetOpenOptions = {}): Promise<Carnet> {
		const factory = options.indexedDB ?? globalThis.indexedDB;
		if (!factory) throw new Error('IndexedDB is not available');
		const [db] = await Promise.all([openCarnetDb(factory, options.dbName), ready()]);
		return new Carnet(db);
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
		// Only the public half of the recovery key is needed on the device.
		recovery.box.privateKey.fill(0);
		recovery.sign.privateKey.fill(0);

		const device = newDeviceKeys();
		const kdf = newKdfParams();
		const wrappingKey = deriveKey(passphrase, kdf);
		const deviceEntry = wrapDevice(device, wrappingKey, kdf, toBase64url(recoveryPublicKey));
		wrappingKey.fill(0);

		const { vaultId, vaultKey } = newVault();
		const session = internals.newSession(this.#db, device, deviceEntry.recoveryRecipient);
		let record: OpenRecord | undefined;
		try {
			// Chunks first, then the entries that point at them in one transaction: a crash in
			// between leaves unreadable orphan ciphertext, never a device without its record.
			record = await OpenRecord.create(internals.recordParams(session, vaultId, vaultKey), identity);
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
				tx.objectStore('device').add(deviceEntry, DEVICE_KEY),
				tx.objectStore('vaults').put(vaultEntry, vaultId),
				tx.done
			]);
			internals.adopt(session, vaultId, vaultKey, vaultEntry, record);
		} catch (e) {
			await record?.close();
			await session.lock();
			vaultKey.fill(0);
			throw e;
		}
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
		const session = internals.newSession(this.#db, keys, entry.recoveryRecipient);
		await internals.load(session);
		return session;
	}

	/**
	 * Re-keys this device from the recovery phrase when the passphrase is lost: opens each
	 * record's recovery lockbox, creates NEW device keys wrapped under `newPassphrase`, and
	 * replaces this device's lockboxes, all in one transaction. Throws InvalidPhraseError for
	 * a phrase that is not 24 valid words, WrongRecoveryPhraseError for a valid phrase that
	 * opens none of the records here.
	 */
	async recover(phrase: string, newPassphrase: string): Promise<Session> {
		if (typeof phrase !== 'string' || !isValidRecoveryPhrase(phrase)) throw new InvalidPhraseError();
		if (typeof newPassphrase !== 'string' || newPassphrase.length === 0) throw new InvalidPassphraseError();
		const [entry, vaults] = await Promise.all([
			this.#db.get('device', DEVICE_KEY),
			this.#db.getAll('vaults')
		]);
		if (!entry) throw new NoDeviceError();

		const recovery = recoveryKeys(phrase);
		recovery.sign.privateKey.fill(0);
		const recoveryRecipient = toBase64url(recovery.box.publicKey);
		const opened: { vault: VaultEntry; epoch: number; vaultKey: Uint8Array }[] = [];
		try {
			for (const vault of vaults) {
				const box = openLockbox(
					{ ...vault, lockboxes: vault.lockboxes.filter((l) => l.kind === 'recovery') },
					recovery.box
				);
				if (box) opened.push({ vault, ...box });
			}
		} finally {
			recovery.box.privateKey.fill(0);
		}
		if (opened.length === 0) throw new WrongRecoveryPhraseError();

		const device = newDeviceKeys();
		const kdf = newKdfParams();
		const wrappingKey = deriveKey(newPassphrase, kdf);
		const deviceEntry = wrapDevice(device, wrappingKey, kdf, recoveryRecipient);
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

		const session = internals.newSession(this.#db, device, recoveryRecipient);
		await internals.load(session);
		return session;
	}

	/** Closes the database connection (a page unload does this implicitly; tests simulate reloads). */
	close(): void {
		this.#db.close();
	}
}

/** What Carnet needs of a Session and the UI must not see (set by Session's static block). */
interface SessionInternals {
	newSession(db: IDBPDatabase<CarnetDB>, device: DeviceKeys, recoveryRecipient: string): Session;
	load(session: Session): Promise<void>;
	adopt(session: Session, vaultId: string, vaultKey: Uint8Array, entry: VaultEntry, record: OpenRecord): void;
	recordParams(session: Session, vaultId: string, vaultKey: Uint8Array): Parameters<typeof OpenRecord.create>[0];
}
let internals: SessionInternals;

/** An unlocked device: keys in memory, records to list, open and create. */
export class Session {
	/** This device's id (base64url of its Ed25519 public key). */
	readonly deviceId: string;
	readonly #db: IDBPDatabase<CarnetDB>;
	#device: DeviceKeys | undefined;
	readonly #recoveryRecipient: string;
	readonly #author: string;
	#vaultKeys = new Map<string, Uint8Array>();
	#metas = new Map<string, VaultMeta>();
	#open = new Map<string, Promise<OpenRecord>>();
	#locked = false;

	static {
		// Module-private access: only Carnet creates sessions and feeds them keys.
		internals = {
			newSession: (db, device, recoveryRecipient) => new Session(db, device, recoveryRecipient),
			load: (session) => session.#load(),
			adopt: (session, vaultId, vaultKey, entry, record) => session.#adopt(vaultId, vaultKey, entry, record),
			recordParams: (session, vaultId, vaultKey) => session.#recordParams(vaultId, vaultKey)
		};
	}

	private constructor(db: IDBPDatabase<CarnetDB>, device: DeviceKeys, recoveryRecipient: string) {
		this.#db = db;
		this.#device = device;
		this.deviceId = device.deviceId;
		this.#author = authorOf(device.deviceId);
		this.#recoveryRecipient = recoveryRecipient;
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
	}

	// What OpenRecord needs for one vault of this session.
	#recordParams(vaultId: string, vaultKey: Uint8Array) {
		return {
			db: this.#db,
			vaultId,
			vaultKey,
			author: this.#author,
			onNameChange: (name: string) => this.#rename(vaultId, name)
		};
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
	 * to the same recovery key as the first record. Returns its vault id; bad identity input
	 * throws RecordValidationError and writes nothing.
	 */
	async createRecord(identity: unknown): Promise<string> {
		const device = this.#requireDevice();
		const checked = validate('identity', identity);
		if (!checked.ok) throw new RecordValidationError(checked.issues);
		const { vaultId, vaultKey } = newVault();
		let record: OpenRecord | undefined;
		try {
			record = await OpenRecord.create(this.#recordParams(vaultId, vaultKey), identity);
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
			return vaultId;
		} catch (e) {
			await record?.close();
			vaultKey.fill(0);
			throw e;
		}
	}

	/** Opens a record for reading and editing; the same handle is returned while unlocked. */
	async open(vaultId: string): Promise<RecordHandle> {
		this.#assertUnlocked();
		const vaultKey = this.#vaultKeys.get(vaultId);
		if (!vaultKey) throw new UnknownRecordError();
		let pending = this.#open.get(vaultId);
		if (!pending) {
			pending = OpenRecord.open(this.#recordParams(vaultId, vaultKey));
			this.#open.set(vaultId, pending);
			// A failed open must not stick: the next call tries again.
			pending.catch(() => this.#open.delete(vaultId));
		}
		return pending;
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
		const updated: DeviceEntry = wrapDevice(device, wrappingKey, kdf, entry.recoveryRecipient);
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
		try {
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
