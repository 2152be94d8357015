/**
 * What the relay keeps for SMART Health Links sharing (docs/SHARING.md), behind one small
 * asynchronous interface like `Store` (store.ts), so that the embedded SQLite store and a
 * PostgreSQL one are interchangeable. The HTTP handlers (relay/shl-server.ts) validate every
 * input and check signatures and membership; a share store guarantees that each method is
 * one atomic, durable step, and it makes the decisions that must be atomic with a write:
 * whether a link is active, the passcode attempt budget, the use count, sequence numbers.
 *
 * A link is *active* when it is not revoked, not expired (`exp` in epoch seconds, compared
 * with the call's `at`), below `maxUses` (if any) and, with a passcode, has attempts left.
 * Everything the store holds is ciphertext or hashes except the recipient names viewers send
 * (which the patient sees in the access log) and the counters.
 */

/** A share as a device publishes it, after the relay hashed its passcode. */
export interface ShareWrite {
	/** Expiry, epoch seconds; null for none. */
	readonly exp: number | null;
	/** The link's flags (`L`, `P`), alphabetical. */
	readonly flag: string;
	/** `hashPasscode` output, or null without a passcode. */
	readonly passcodeHash: string | null;
	/**
	 * Attempts a passcode gets: set when the share is created, and on an update only when
	 * `resetAttempts` (the passcode changed); otherwise the stored count is kept.
	 */
	readonly attempts: number;
	readonly resetAttempts: boolean;
	/** Successful manifest requests allowed; null for no limit. */
	readonly maxUses: number | null;
	/** Opaque ciphertext from the device, base64url; stored and served as given. */
	readonly label: string;
	/** base64url(SHA-256(contribution token)); null when contributions are not allowed. */
	readonly contributionTokenHash: string | null;
	/** The files, in manifest order: content type and compact JWE. */
	readonly files: readonly { readonly contentType: string; readonly jwe: string }[];
}

/** A share's stored state, without its files. */
export interface ShareState {
	readonly id: string;
	readonly vault: string;
	readonly exp: number | null;
	readonly flag: string;
	readonly passcodeHash: string | null;
	readonly attemptsLeft: number;
	readonly maxUses: number | null;
	readonly uses: number;
	readonly label: string;
	readonly contributionTokenHash: string | null;
	readonly revoked: boolean;
	readonly createdAt: Date;
}

/** Outcome of `reserveAttempt`. */
export type AttemptReservation =
	/** No such link. */
	| { readonly status: 'unknown' }
	/** The link is not active (or has no passcode to check): nothing changed. */
	| { readonly status: 'inactive'; readonly vault: string }
	/** One attempt taken: check `passcodeHash`; `attemptsLeft` is what remains after this one. */
	| { readonly status: 'reserved'; readonly vault: string; readonly passcodeHash: string; readonly attemptsLeft: number };

/** What `openShare` needs besides the link id. */
export interface ShareOpen {
	readonly at: Date;
	/** Give back the attempt `reserveAttempt` took (the passcode was right). */
	readonly refund: boolean;
	/** Files whose JWE is at most this long are returned inline; absent: none is. */
	readonly embeddedLengthMax?: number;
	/**
	 * Ticket hashes, one per file at least, for the files that are not embedded: file `i`
	 * gets `ticketHashes[i]`, valid until `ticketExpiresAt`.
	 */
	readonly ticketHashes: readonly string[];
	readonly ticketExpiresAt: Date;
}

/** One file of an opened share: inline, or behind the ticket of the same index. */
export type OpenedFile =
	| { readonly contentType: string; readonly embedded: string }
	| { readonly contentType: string; readonly ticket: number };

/** Outcome of `openShare`. */
export type ShareOpenResult =
	| { readonly status: 'unknown' }
	| { readonly status: 'inactive'; readonly vault: string }
	/** One use counted; the files in manifest order. */
	| { readonly status: 'opened'; readonly vault: string; readonly files: readonly OpenedFile[] };

/** One manifest request to a known link, as logged. */
export interface AccessEntry {
	readonly share: string;
	readonly at: Date;
	readonly recipient: string;
	readonly outcome: 'opened' | 'wrong_passcode' | 'refused';
}

/** A logged access with its per-vault sequence number. */
export interface SequencedAccess extends AccessEntry {
	readonly seq: number;
}

/** Outcome of `addContribution`. */
export type ContributionResult =
	/** No such link, not active, or contributions not allowed. */
	| { readonly status: 'inactive' }
	| { readonly status: 'stored'; readonly vault: string; readonly seq: number };

/** A stored contribution's metadata. */
export interface ContributionInfo {
	readonly seq: number;
	readonly id: string;
	readonly share: string;
	readonly at: Date;
	/** Size of the sealed bytes. */
	readonly bytes: number;
}

/**
 * The relay's durable sharing state. Every write resolves only once it is durable, like
 * `Store`'s. Calls may be in flight together; each is decided as if they ran one after the
 * other, so counters (attempts, uses, seqs) can never be overspent by concurrent requests.
 */
export interface ShareStore {
	/**
	 * Creates the share `id` of `vault`, or replaces it: its files are replaced, its uses kept,
	 * its attempts kept unless `share.resetAttempts`; tickets already given out stay valid.
	 * @returns 'conflict' (nothing written) when the id belongs to another vault or was revoked.
	 */
	putShare(vault: string, id: string, share: ShareWrite, at: Date): Promise<'created' | 'updated' | 'conflict'>;

	/**
	 * Revokes the share: it is inactive from now on, its files and tickets are deleted in the
	 * same step. Revoking an unknown id leaves a revoked tombstone, so that a publication
	 * still in flight cannot bring it back; revoking twice is fine.
	 * @returns 'conflict' (nothing written) when the id belongs to another vault.
	 */
	revokeShare(vault: string, id: string, at: Date): Promise<'revoked' | 'conflict'>;

	/** The share's stored state (active or not), if the id is known. */
	share(id: string): Promise<ShareState | undefined>;

	/** Every share of the vault, revoked ones included, oldest first. */
	shares(vault: string): Promise<ShareState[]>;

	/**
	 * Takes one passcode attempt, before the caller runs the (slow) check, in the same step as
	 * reading the link: `inactive` unless the link is active at `at` and has a passcode.
	 * When the last attempt is taken the link becomes inactive for everyone else.
	 */
	reserveAttempt(id: string, at: Date): Promise<AttemptReservation>;

	/**
	 * Opens the link for one manifest answer: gives back the reserved attempt first when
	 * `refund`, then, if the link is active, counts one use and issues the tickets of the files
	 * not embedded. A link with a passcode opens only with `refund` (its check passed; a
	 * passcode set in between makes the answer `inactive`). An expired link's files may be
	 * deleted here (lazy purge).
	 */
	openShare(id: string, open: ShareOpen): Promise<ShareOpenResult>;

	/**
	 * The file a ticket stands for, if the ticket (by its hash) was issued for link `id`, is
	 * not past its expiry at `at`, and the link is still active then; else undefined.
	 */
	ticketFile(id: string, ticketHash: string, at: Date): Promise<{ contentType: string; jwe: string } | undefined>;

	/** Appends an access event to the vault's log; resolves with its seq (1, 2, … per vault). */
	logAccess(vault: string, entry: AccessEntry): Promise<number>;

	/** The vault's access events with seq > `after`, oldest first, at most `limit`. */
	accessLog(vault: string, after: number, limit: number): Promise<SequencedAccess[]>;

	/**
	 * Stores a contribution's sealed bytes under `contribution.id` if the link is active at
	 * `at` and allows contributions (the caller checked the token); the vault's next
	 * contribution seq (1, 2, … per vault, apart from the access log's).
	 */
	addContribution(linkId: string, contribution: { id: string; at: Date; sealed: Uint8Array }): Promise<ContributionResult>;

	/** The vault's contributions with seq > `after`, oldest first, at most `limit`. */
	contributions(vault: string, after: number, limit: number): Promise<ContributionInfo[]>;

	/** A contribution's sealed bytes, if it belongs to the vault. */
	contribution(vault: string, id: string): Promise<Uint8Array | undefined>;

	/** Releases the database. The store is unusable after. */
	close(): Promise<void>;
}
