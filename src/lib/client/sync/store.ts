/**
 * What a device remembers of a record's sync, in the `sync` and `outbox` stores (db.ts),
 * encrypted like everything else on the device: under subkey SUBKEY_SYNC of the record's
 * LOCAL key, the key that also encrypts its chunks and never changes (decisions log: the
 * local key is the device's own and not an epoch key, so a rotation re-encrypts nothing
 * here). Epoch keys learnt from the relay are kept inside this state, so a device offline
 * for months still reads and writes with what it last knew.
 *
 * A value that fails to decrypt or parse is treated as absent: the state is rebuilt from the
 * relay (the chain and the device's lockboxes are there), at worst re-sending changes the
 * relay already has, which every device ignores.
 */
import type { IDBPDatabase } from 'idb';
import { z } from 'zod';
import { decrypt, deriveSubkey, encrypt, fromBase64url, toBase64url, utf8Decode, utf8Encode } from '../../core/crypto';
import { envelopeSchema, epochSchema, membershipOpSchema, type Envelope, type MembershipOp } from '../../core/protocol';
import type { CarnetDB } from '../db';
import { SUBKEY_SYNC, VAULT_SUBKEY_CONTEXT } from '../storage-adapter';

/** One record's sync state. */
export interface SyncState {
	/** The member id `counter` belongs to: a re-keyed device (recover) starts its own counters. */
	author: string;
	/** The last envelope counter given out (outbox included); the next envelope takes counter + 1. */
	counter: number;
	/** True once the relay accepted the record's `create` frame (or the device was added to it). */
	registered: boolean;
	/** The membership chain as last verified. */
	ops: MembershipOp[];
	/** Every epoch key known, by epoch. */
	keys: Map<number, Uint8Array>;
	/** Heads of everything sent (queued included) or received: the next batch is `saveSince(doc, knownHeads)`. */
	knownHeads: string[];
	/** Every envelope up to this seq is in the document. */
	lastSeq: number;
	/** The newest snapshot this device knows the relay holds covers envelopes up to here. */
	snapshotSeq: number;
	/** Why syncing this record stopped for good (`revoked`), if it did. */
	stopped?: string;
}

/** An envelope sealed for the relay, kept until acknowledged. */
export interface OutboxEntry {
	envelope: Envelope;
	/** How many Automerge changes it carries ("sending n changes"). */
	changes: number;
}

const STATE_AD = 'carnet/sync/v1/';
const OUTBOX_AD = 'carnet/outbox/v1/';

const stateSchema = z.object({
	v: z.literal(1),
	author: z.string(),
	counter: z.int().nonnegative(),
	registered: z.boolean(),
	ops: z.array(membershipOpSchema),
	keys: z.record(z.string(), z.string()),
	knownHeads: z.array(z.string()),
	lastSeq: z.int().nonnegative(),
	snapshotSeq: z.int().nonnegative(),
	stopped: z.string().optional()
});

const outboxSchema = z.object({ envelope: envelopeSchema, changes: z.int().nonnegative() });

/** A fresh state: nothing registered, known or sent yet. */
export function emptyState(author: string): SyncState {
	return { author, counter: 0, registered: false, ops: [], keys: new Map(), knownHeads: [], lastSeq: 0, snapshotSeq: 0 };
}

/** The encrypted form of one record's sync state and outbox, under the record's local key. */
export class SyncStore {
	readonly vaultId: string;
	readonly #db: IDBPDatabase<CarnetDB>;
	readonly #key: Uint8Array;

	/** Derives the sync subkey of `localKey` (the caller keeps, and wipes, `localKey`). */
	constructor(db: IDBPDatabase<CarnetDB>, vaultId: string, localKey: Uint8Array) {
		this.#db = db;
		this.vaultId = vaultId;
		this.#key = deriveSubkey(localKey, SUBKEY_SYNC, VAULT_SUBKEY_CONTEXT);
	}

	/** The stored state (undefined when none or unreadable) and the outbox in counter order. */
	async load(): Promise<{ state?: SyncState; outbox: OutboxEntry[] }> {
		const tx = this.#db.transaction(['sync', 'outbox'], 'readonly');
		const range = IDBKeyRange.bound([this.vaultId, 0], [this.vaultId, Infinity]);
		const [sealed, keys, values] = await Promise.all([
			tx.objectStore('sync').get(this.vaultId),
			tx.objectStore('outbox').getAllKeys(range),
			tx.objectStore('outbox').getAll(range),
			tx.done
		]);
		const outbox: OutboxEntry[] = [];
		keys.forEach(([, counter], i) => {
			const entry = this.#openOutbox(counter, values[i]);
			if (entry !== undefined) outbox.push(entry);
		});
		return { state: sealed === undefined ? undefined : this.#openState(sealed), outbox };
	}

	/**
	 * Writes `state` with the outbox changes in one transaction: `put` entries are stored
	 * (replacing any with the same counter), then `remove` counters deleted.
	 */
	async write(state: SyncState, changes: { put?: readonly OutboxEntry[]; remove?: readonly number[] } = {}): Promise<void> {
		const tx = this.#db.transaction(['sync', 'outbox'], 'readwrite');
		const outbox = tx.objectStore('outbox');
		await Promise.all([
			...(changes.remove ?? []).map((counter) => outbox.delete([this.vaultId, counter])),
			...(changes.put ?? []).map((entry) => outbox.put(this.#sealOutbox(entry), [this.vaultId, entry.envelope.counter])),
			tx.objectStore('sync').put(this.sealState(state), this.vaultId),
			tx.done
		]);
	}


	/** Wipes the subkey; the store is unusable afterwards. */
	close(): void {
		this.#key.fill(0);
	}

	/** The value of the `sync` store for `state`, for a caller writing it in its own transaction. */
	sealState(state: SyncState): Uint8Array {
		const value = {
			v: 1,
			author: state.author,
			counter: state.counter,
			registered: state.registered,
			ops: state.ops,
			keys: Object.fromEntries([...state.keys].map(([epoch, key]) => [String(epoch), toBase64url(key)])),
			knownHeads: state.knownHeads,
			lastSeq: state.lastSeq,
			snapshotSeq: state.snapshotSeq,
			stopped: state.stopped
		};
		return this.#seal(STATE_AD + this.vaultId, value);
	}

	#openState(sealed: Uint8Array): SyncState | undefined {
		const parsed = stateSchema.safeParse(this.#open(STATE_AD + this.vaultId, sealed));
		if (!parsed.success) return undefined;
		const { v: _v, keys, stopped, ...rest } = parsed.data;
		const epochs = new Map<number, Uint8Array>();
		for (const [epoch, key] of Object.entries(keys)) {
			const number = epochSchema.safeParse(Number(epoch));
			if (number.success) epochs.set(number.data, fromBase64url(key));
		}
		return { ...rest, keys: epochs, ...(stopped === undefined ? {} : { stopped }) };
	}

	#sealOutbox(entry: OutboxEntry): Uint8Array {
		return this.#seal(`${OUTBOX_AD}${this.vaultId}/${entry.envelope.counter}`, entry);
	}

	#openOutbox(counter: number, sealed: Uint8Array): OutboxEntry | undefined {
		const parsed = outboxSchema.safeParse(this.#open(`${OUTBOX_AD}${this.vaultId}/${counter}`, sealed));
		return parsed.success && parsed.data.envelope.counter === counter ? parsed.data : undefined;
	}

	#seal(ad: string, value: unknown): Uint8Array {
		return encrypt(this.#key, utf8Encode(JSON.stringify(value)), utf8Encode(ad));
	}

	#open(ad: string, sealed: Uint8Array): unknown {
		try {
			return JSON.parse(utf8Decode(decrypt(this.#key, sealed, utf8Encode(ad))));
		} catch {
			return undefined;
		}
	}
}
