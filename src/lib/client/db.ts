/**
 * The IndexedDB schema of a Carnet device.
 *
 * Three object stores, all with out-of-line keys:
 *  - `device`  one entry (key `'device'`): public keys in clear, private keys wrapped under
 *              a passphrase-derived key.
 *  - `vaults`  one entry per record (key = vault id, 128 random bits): lockboxes and the
 *              encrypted display metadata.
 *  - `chunks`  automerge-repo storage for every vault, key = [vaultId, ...hashed key parts],
 *              value = AEAD ciphertext (see storage-adapter.ts).
 *
 * Nothing here is plaintext record data, and no key names a person: ids are random, hashed
 * or public keys.
 */
import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import type { KdfParams } from '../core/crypto';

/** Bumped only with a migration in `upgrade` below. */
export const DB_VERSION = 1;
/** Default database name; tests and benchmarks use their own. */
export const DEFAULT_DB_NAME = 'carnet';
/** The single key of the `device` store. */
export const DEVICE_KEY = 'device';

/** Who a lockbox opens for: this device's box key, or the recovery key pair from the phrase. */
export type LockboxKind = 'device' | 'recovery';

/** A vault key sealed (crypto_box_seal) to one recipient for one epoch. */
export interface Lockbox {
	/** Key epoch (0 until the first rotation, which comes with sync membership). */
	epoch: number;
	/** base64url of the recipient's X25519 public key. */
	recipient: string;
	kind: LockboxKind;
	/** crypto.seal(recipient, vaultKey). */
	sealed: Uint8Array;
}

/** The device entry: who this device is and its private keys, wrapped. */
export interface DeviceEntry {
	/** Schema version of this entry. */
	v: 1;
	/** base64url of the Ed25519 public key: sync will identify the device by it. */
	deviceId: string;
	signPublicKey: Uint8Array;
	boxPublicKey: Uint8Array;
	/** Argon2id parameters (salt included) of the passphrase key. */
	kdf: KdfParams;
	/** crypto.encrypt(deriveKey(passphrase, kdf), signPrivateKey ‖ boxPrivateKey, ad). */
	wrapped: Uint8Array;
	/** base64url of the recovery box public key, so new records get a recovery lockbox too. */
	recoveryRecipient: string;
}

/** One record's entry. */
export interface VaultEntry {
	v: 1;
	vaultId: string;
	lockboxes: Lockbox[];
	/** crypto.encrypt(metaKey(vaultKey), utf8(JSON {name}), ad): what the record picker shows. */
	meta: Uint8Array;
}

/** idb typing of the three stores. */
export interface CarnetDB extends DBSchema {
	device: { key: string; value: DeviceEntry };
	vaults: { key: string; value: VaultEntry };
	chunks: { key: string[]; value: Uint8Array };
}

/** Store names, kept in one place because transactions list them. */
export const STORES = ['device', 'vaults', 'chunks'] as const;

/**
 * Opens (creating or upgrading) the Carnet database on the given factory. We call
 * `factory.open` ourselves and hand the request to idb's `wrap` because idb's `openDB` only
 * knows the global `indexedDB`, and tests need an isolated factory per test.
 */
export async function openCarnetDb(
	factory: IDBFactory,
	name: string = DEFAULT_DB_NAME
): Promise<IDBPDatabase<CarnetDB>> {
	const request = factory.open(name, DB_VERSION);
	request.addEventListener('upgradeneeded', (event) => {
		const db = request.result;
		if (event.oldVersion < 1) {
			db.createObjectStore('device');
			db.createObjectStore('vaults');
			db.createObjectStore('chunks');
		}
	});
	const db = (await wrap(request)) as unknown as IDBPDatabase<CarnetDB>;
	// Another tab upgrading the schema must not be blocked by us forever: step aside.
	db.addEventListener('versionchange', () => db.close());
	return db;
}
