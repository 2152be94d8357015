/**
 * What one device has fetched of a record's share events: the relay's `after=` cursors of the
 * access and contribution listings, and the contributions it could not import. Per device,
 * in IndexedDB (`shareState`, key = vault id), never in the record: each device fetches and
 * announces events for itself (docs/SHARING.md, "Live"). Encrypted under a subkey of the
 * record's local key, like the sync state; an unreadable value reads as a fresh state, which
 * only means fetching again what is already in the record (writes are idempotent).
 */
import type { IDBPDatabase } from 'idb';
import { z } from 'zod';
import { decrypt, deriveSubkey, encrypt, utf8Decode, utf8Encode } from '../../core/crypto';
import type { CarnetDB } from '../db';
import { LockedError } from '../errors';

/** A contribution that could not be imported, and why (kept so the UI can tell the patient). */
export interface ShareProblem {
	/** The relay's contribution id. */
	readonly id: string;
	readonly share: string;
	/** ISO instant of the attempt. */
	readonly at: string;
	readonly reason: 'unknown_share' | 'decrypt_failed' | 'invalid' | 'rejected';
}

/** One device's share cursors for one record. */
export interface ShareState {
	accessAfter: number;
	contributionsAfter: number;
	problems: ShareProblem[];
}

/** crypto_kdf context of the sharing subkeys of a record's local key (8 bytes). */
export const SHARE_SUBKEY_CONTEXT = 'carnetsh';
/** Subkey 1 under SHARE_SUBKEY_CONTEXT: this state. */
const SUBKEY_STATE = 1;
const AD = 'carnet/share-state/v1/';
/** The newest problems kept: enough to show, bounded. */
const PROBLEMS_MAX = 50;

const stateSchema = z.object({
	v: z.literal(1),
	accessAfter: z.int().nonnegative(),
	contributionsAfter: z.int().nonnegative(),
	problems: z.array(
		z.object({
			id: z.string(),
			share: z.string(),
			at: z.string(),
			reason: z.enum(['unknown_share', 'decrypt_failed', 'invalid', 'rejected'])
		})
	)
});

/** Reads and writes one record's ShareState. */
export class ShareStateStore {
	readonly #db: IDBPDatabase<CarnetDB>;
	readonly #vaultId: string;
	readonly #key: Uint8Array;
	#closed = false;

	/** Derives the subkey from `localKey` (the caller keeps and wipes it). */
	constructor(db: IDBPDatabase<CarnetDB>, vaultId: string, localKey: Uint8Array) {
		this.#db = db;
		this.#vaultId = vaultId;
		this.#key = deriveSubkey(localKey, SUBKEY_STATE, SHARE_SUBKEY_CONTEXT);
	}

	/** The stored state, or a fresh one. */
	async load(): Promise<ShareState> {
		const sealed = await this.#db.get('shareState', this.#vaultId);
		if (sealed instanceof Uint8Array) {
			try {
				const parsed = stateSchema.safeParse(JSON.parse(utf8Decode(decrypt(this.#key, sealed, utf8Encode(AD + this.#vaultId)))));
				if (parsed.success) return { accessAfter: parsed.data.accessAfter, contributionsAfter: parsed.data.contributionsAfter, problems: parsed.data.problems };
			} catch {
				// Unreadable: start again (see the module comment).
			}
		}
		return { accessAfter: 0, contributionsAfter: 0, problems: [] };
	}

	/** Writes `state`. */
	async save(state: ShareState): Promise<void> {
		// After close the key is zeroes: writing under it would lose the state on the next load.
		if (this.#closed) throw new LockedError();
		const value = { v: 1, ...state, problems: state.problems.slice(-PROBLEMS_MAX) };
		await this.#db.put('shareState', encrypt(this.#key, utf8Encode(JSON.stringify(value)), utf8Encode(AD + this.#vaultId)), this.#vaultId);
	}

	/** Wipes the subkey. */
	close(): void {
		this.#closed = true;
		this.#key.fill(0);
	}
}
