/**
 * What the relay keeps, behind one small asynchronous interface so that the embedded SQLite
 * store and a PostgreSQL store (several relay instances) are interchangeable: the sync
 * server only ever talks to a `Store`. Every object in and out is the wire object of
 * docs/SYNC.md, already validated by `src/lib/core/protocol`; a store never checks
 * signatures or replays the membership chain, it only guarantees that each method is one
 * atomic, durable step, and it performs the few compare-and-set checks that must happen
 * inside the same transaction as the write (chain head, author counter, epoch), so that two
 * relay instances racing on one vault cannot both win.
 *
 * Modelled on automerge-repo's StorageAdapterInterface: plain data in, plain data out, no
 * knowledge of the protocol above it.
 */
import { createHash } from 'node:crypto';
import type { Envelope, KeyHistory, Lockbox, MembershipOp, Snapshot } from '../../src/lib/core/protocol';

/** The last op of a vault's membership chain: its index and its `hashOp`. */
export interface ChainPosition {
	readonly index: number;
	readonly hash: string;
}

/** Ops to add to a vault's chain, with the keys they hand out, as one atomic step. */
export interface OpsAppend {
	/** The chain head the caller replayed and validated against; null to create the vault. */
	readonly after: ChainPosition | null;
	/** The new ops, in order: indexes `after.index + 1`, … (0, … when creating). */
	readonly ops: readonly MembershipOp[];
	/** `hashOp` of the last of `ops`: the vault's new head. */
	readonly head: string;
	/** Lockboxes the ops need (the epoch-0 keys of a new vault, a new epoch's keys on removal). */
	readonly lockboxes: readonly Lockbox[];
	/** The key history entry of the epoch a `remove` op opens. */
	readonly history?: KeyHistory;
}

/** An envelope as the relay serves it: with the sequence number it was given. */
export interface SequencedEnvelope {
	readonly seq: number;
	readonly envelope: Envelope;
}

/** Outcome of `appendEnvelope`. */
export type EnvelopeAppendResult =
	/** Stored under a new `seq`. */
	| { readonly status: 'stored'; readonly seq: number }
	/** The very same envelope was stored before (a retry after a lost ack): its `seq`. */
	| { readonly status: 'duplicate'; readonly seq: number }
	/** The counter is not the author's next one (`expected`), or reuses one with other bytes. */
	| { readonly status: 'bad_counter'; readonly expected: number }
	/** The envelope is not for the vault's current epoch (`epoch`). */
	| { readonly status: 'stale_epoch'; readonly epoch: number }
	/** Storing it would take the vault's `usage` past the `quotaBytes` the caller passed. */
	| { readonly status: 'quota' };

/** Outcome of `putSnapshot`. */
export type SnapshotPutResult =
	/** Now the vault's snapshot; `pruned` envelopes it covers were deleted. */
	| { readonly status: 'stored'; readonly pruned: number }
	/** The vault already holds a snapshot covering as much or more: nothing changed. */
	| { readonly status: 'older' }
	/** It claims to cover envelopes that do not exist yet (`head` is the last seq). */
	| { readonly status: 'ahead'; readonly head: number }
	/** It is not for the vault's current epoch (`epoch`). */
	| { readonly status: 'stale_epoch'; readonly epoch: number };

/**
 * The relay's durable state. Every write resolves only once it is durable: an ack sent after
 * it must survive a `kill -9` and a power loss (invariant 2). Byte fields arrive and leave
 * as the canonical base64url of the wire objects; a store may keep them in any form that
 * gives back the same strings.
 */
export interface Store {
	/**
	 * Appends `append.ops` to the vault's membership chain together with their lockboxes and
	 * history entry, all or nothing, if the chain's head is still `append.after` (null: the
	 * vault must not exist yet). The vault's epoch becomes the last op's `epoch`. Ids that
	 * `create` and `add` ops name join the vault's member index, `remove` ops take them out
	 * (see `vaultsOf`). A later lockbox for the same recipient and epoch replaces the earlier.
	 * @returns 'conflict' when another append got in first (or the vault exists), and then
	 *   nothing was written.
	 */
	appendOps(vault: string, append: OpsAppend): Promise<'appended' | 'conflict'>;

	/**
	 * The vault's ops with index >= `since`, in chain order, at most `limit` of them (all
	 * when omitted). Empty for an unknown vault.
	 */
	ops(vault: string, since: number, limit?: number): Promise<MembershipOp[]>;

	/** Every lockbox sealed to `recipient` in the vault, oldest epoch first. */
	lockboxesFor(vault: string, recipient: string): Promise<Lockbox[]>;

	/** Every lockbox of one epoch of the vault (one per member that got that epoch's key). */
	lockboxesAt(vault: string, epoch: number): Promise<Lockbox[]>;

	/** The vault's key history entries, oldest epoch first. */
	history(vault: string): Promise<KeyHistory[]>;

	/**
	 * Stores an envelope in one transaction with its checks, in this order: when `quotaBytes`
	 * is given, the vault's `usage` plus the envelope's ciphertext bytes must not exceed it
	 * (`quota`; checked with the write so that concurrent pushes cannot overshoot together);
	 * an envelope identical to one already stored for its author and counter is a `duplicate`
	 * (so a retry of an acknowledged push is acknowledged again, even across an epoch change;
	 * once a snapshot pruned it, only the author's last envelope is still recognised); else
	 * its epoch must be the vault's (`stale_epoch`), then its counter must be the author's
	 * last + 1 (`bad_counter`, counters start at 1 and survive snapshots); then it gets the
	 * vault's next `seq` (1, 2, …). Rejects if the vault does not exist.
	 *
	 * Calls may be in flight together: each is decided as if the calls ran one after the
	 * other in call order (a later envelope sees the seq and counter an earlier one took), and
	 * the outcome of one never depends on whether another fails. A store may commit several of
	 * them in one transaction (group commit) as long as none resolves before its write is
	 * durable.
	 */
	appendEnvelope(envelope: Envelope, quotaBytes?: number): Promise<EnvelopeAppendResult>;

	/** Envelopes with `seq > since`, in seq order, at most `limit`. */
	envelopes(vault: string, since: number, limit: number): Promise<SequencedEnvelope[]>;

	/** The last seq the vault gave out (pruned or not); 0 for an empty or unknown vault. */
	head(vault: string): Promise<number>;

	/**
	 * Makes `snapshot` the vault's snapshot if it covers more than the current one, and in the
	 * same transaction deletes the envelopes with `seq <= coversSeq` (author counters are
	 * kept). Refused when not at the vault's epoch or when `coversSeq` is past the head.
	 * Rejects if the vault does not exist.
	 */
	putSnapshot(snapshot: Snapshot): Promise<SnapshotPutResult>;

	/** The vault's newest snapshot, if it has one. */
	snapshot(vault: string): Promise<Snapshot | undefined>;

	/**
	 * Vaults whose chain added `member` and has not removed it, in id order, at most `limit`.
	 * An index only: whether the member may still use each (an invite spent or expired) is the
	 * replayed chain's call.
	 */
	vaultsOf(member: string, limit: number): Promise<string[]>;

	/** Records that `member` authenticated at `at`. */
	seen(member: string, at: Date): Promise<void>;

	/** When `member` last authenticated, if ever. */
	lastSeen(member: string): Promise<Date | undefined>;

	/** Bytes of ciphertext the vault holds (envelopes and snapshot), for its quota. */
	usage(vault: string): Promise<number>;

	/** Releases the database; pending writes are finished first. The store is unusable after. */
	close(): Promise<void>;
}

/**
 * A fingerprint of every field of an envelope. Stores keep it so that a duplicate can be told
 * from a counter reuse even after a snapshot pruned the envelope's bytes.
 */
export function envelopeDigest(envelope: Envelope): Buffer {
	const { v, vault, epoch, author, counter, ciphertext, sig } = envelope;
	return createHash('sha256').update(JSON.stringify([v, vault, epoch, author, counter, ciphertext, sig])).digest();
}
