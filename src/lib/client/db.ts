/**
 * The IndexedDB schema of a Carnet device.
 *
 * Eight object stores, all with out-of-line keys:
 *  - `device`  one entry (key `'device'`): public keys in clear, private keys wrapped under
 *              a passphrase-derived key.
 *  - `vaults`  one entry per record (key = vault id, 128 random bits): lockboxes and the
 *              encrypted display metadata.
 *  - `chunks`  automerge-repo storage for every vault, key = [vaultId, ...hashed key parts],
 *              value = AEAD ciphertext (see storage-adapter.ts).
 *  - `sync`    one entry per record shared through the relay (key = vault id): its sync
 *              state (membership chain, epoch keys, counters, cursor), encrypted (sync/store.ts).
 *  - `outbox`  change batches sealed for the relay and not yet acknowledged, key =
 *              [vaultId, counter], value encrypted again under the record's local key.
 *  - `shareState`   per device and record, what the device has fetched of the relay's share
 *              events (client/share), key = vault id, value encrypted likewise.
 *  - `blobs`   documents' files, sealed (docs/ATTACHMENTS.md): key = [vaultId, blobId, index],
 *              value = the sealed blob's bytes index·FILE_PIECE_BYTES… (1 MiB, the last one
 *              shorter), stored as the relay stores them: ciphertext under the file's key,
 *              which only the record holds. blobId is BLAKE2b-256 of the sealed blob.
 *  - `blobState`  per blob, the device's outbox and cache index (client/files): key =
 *              [vaultId, blobId], value = BlobState {length, stored, upload, uploaded?,
 *              delete?, at} in clear (nothing the relay does not see); under the reserved id
 *              `~limits`, the relay's last known limits and the record's usage, encrypted
 *              under a subkey of the record's local key. Blob ids never start with `~`.
 *
 * Nothing here is plaintext record data, and no key names a person: ids are random, hashed
 * or public keys.
 */
import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import type { KdfParams } from '../core/crypto';

/** Bumped only with a migration in `upgrade` below. */
export const DB_VERSION = 4;
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
	/**
	 * The recovery key's member id (base64url of its Ed25519 public key), which registering a
	 * record on the relay enrols. Absent from devices set up before sync: those cannot register
	 * records until `recover` (which knows the phrase) fills it in.
	 */
	recoveryId?: string;
	/**
	 * The person this device belongs to (docs/FAMILY.md §1), `{id, name}` as JSON sealed to
	 * `boxPublicKey` (keyring.sealPerson): only the unlocked device reads it. Absent from
	 * devices set up before people existed: unlock writes the fallback.
	 */
	person?: Uint8Array;
}

/** One record's entry. */
export interface VaultEntry {
	v: 1;
	vaultId: string;
	lockboxes: Lockbox[];
	/** crypto.encrypt(metaKey(vaultKey), utf8(JSON {name}), ad): what the record picker shows. */
	meta: Uint8Array;
}

/**
 * One blob's row in `blobState` (docs/ATTACHMENTS.md, section 4). In clear: it says nothing the
 * relay does not see (ids, padded lengths, when).
 */
export interface BlobState {
	/** The sealed blob's length. */
	length: number;
	/** Bytes held here, from 0: a multiple of FILE_PIECE_BYTES, or `length`. */
	stored: number;
	/** `pending`: to upload (the outbox); `done`: the relay has it (uploaded or downloaded from it). */
	upload: 'pending' | 'done';
	/** Bytes the relay acknowledged, when known. */
	uploaded?: number;
	/** To delete on the relay (the outbox); the pieces here are gone already. */
	delete?: true;
	/** When the row was last written (ms since epoch). */
	at: number;
}

/** idb typing of the stores. */
export interface CarnetDB extends DBSchema {
	device: { key: string; value: DeviceEntry };
	vaults: { key: string; value: VaultEntry };
	chunks: { key: string[]; value: Uint8Array };
	sync: { key: string; value: Uint8Array };
	outbox: { key: [string, number]; value: Uint8Array };
	shareState: { key: string; value: Uint8Array };
	blobs: { key: [string, string, number]; value: Uint8Array };
	blobState: { key: [string, string]; value: BlobState | Uint8Array };
}

/** Store names, kept in one place because transactions list them. */
export const STORES = ['device', 'vaults', 'chunks', 'sync', 'outbox'] as const;

/** The stores of sharing (version 3): empty on a device that never shared. */
export const SHARING_STORES = ['shareState'] as const;

/** The stores of documents' files (version 4): empty on a device that never held a file. */
export const FILE_STORES = ['blobs', 'blobState'] as const;

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
		if (event.oldVersion < 2) {
			// Sync through the relay: records already on the device register on the first connection.
			db.createObjectStore('sync');
			db.createObjectStore('outbox');
		}
		if (event.oldVersion < 3) {
			// Sharing: the per-device cursors of share events start empty. (Version 3 also made
			// an `attachments` store, which version 4 replaces: not created any more.)
			db.createObjectStore('shareState');
		}
		if (event.oldVersion < 4) {
			// Documents' files sealed per file and synced through the relay's blob store. The
			// device-only `attachments` of version 3 predate it and are dropped with their bytes:
			// there are no users yet, so nothing is lost (their entries keep reading, without
			// file: core/record/layout.ts).
			if (event.oldVersion === 3) db.deleteObjectStore('attachments');
			db.createObjectStore('blobs');
			db.createObjectStore('blobState');
		}
	});
	const db = (await wrap(request)) as unknown as IDBPDatabase<CarnetDB>;
	// Another tab upgrading the schema must not be blocked by us forever: step aside.
	db.addEventListener('versionchange', () => db.close());
	return db;
}
