/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) for a relay that runs as one
 * process. better-sqlite3 is synchronous, so each method runs its whole transaction before
 * returning; the async interface is for stores that are not (PostgreSQL).
 *
 * Durability (invariant 2): `synchronous = FULL` makes every commit fsync the WAL before
 * better-sqlite3 returns, so an ack sent afterwards survives kill -9 and power loss.
 *
 * Group commit: that fsync (0.1 to several ms on a shared disk) would cap the relay at a few
 * hundred envelopes a second if each had its own transaction. `appendEnvelope` therefore only
 * queues; the envelopes queued during one turn of the event loop (the pushes that arrived
 * while the previous commit held the thread) are appended in one transaction, each inside its
 * own savepoint so that one that throws takes only its own writes back, and every promise
 * resolves after that single commit. The interface stays per envelope, so the sync server and
 * other stores are unaware of it. Byte
 * fields (ciphertext, sealed keys, signatures) are stored as the BLOBs they decode to, not as
 * base64 text: a third smaller, and what lands on disk is exactly the ciphertext the devices
 * made. Ops carry no ciphertext and are kept as their JSON.
 */
import Database from 'better-sqlite3';
import type { Envelope, KeyHistory, Lockbox, MembershipOp, Snapshot } from '../../src/lib/core/protocol';
import {
	envelopeDigest,
	type EnvelopeAppendResult,
	type OpsAppend,
	type SequencedEnvelope,
	type SnapshotPutResult,
	type Store
} from './store';

/**
 * Schema versions, applied in order; `PRAGMA user_version` records how many ran. Append new
 * migrations, never edit one that shipped.
 */
const MIGRATIONS: readonly string[] = [
	`
	-- One row per vault: its chain head (for compare-and-set), epoch, last seq and byte usage.
	CREATE TABLE vaults (
		id TEXT PRIMARY KEY,
		head_index INTEGER NOT NULL,
		head_hash TEXT NOT NULL,
		epoch INTEGER NOT NULL,
		seq INTEGER NOT NULL DEFAULT 0,
		bytes INTEGER NOT NULL DEFAULT 0
	) STRICT;
	CREATE TABLE ops (
		vault TEXT NOT NULL REFERENCES vaults(id),
		idx INTEGER NOT NULL,
		body TEXT NOT NULL,
		PRIMARY KEY (vault, idx)
	) STRICT, WITHOUT ROWID;
	-- Which vaults an id was added to and not removed from: restore lists a member's vaults.
	CREATE TABLE vault_members (
		member TEXT NOT NULL,
		vault TEXT NOT NULL REFERENCES vaults(id),
		PRIMARY KEY (member, vault)
	) STRICT, WITHOUT ROWID;
	CREATE TABLE lockboxes (
		vault TEXT NOT NULL REFERENCES vaults(id),
		recipient TEXT NOT NULL,
		epoch INTEGER NOT NULL,
		sealed BLOB NOT NULL,
		signer TEXT NOT NULL,
		sig BLOB NOT NULL,
		PRIMARY KEY (vault, recipient, epoch)
	) STRICT, WITHOUT ROWID;
	CREATE INDEX lockboxes_by_epoch ON lockboxes (vault, epoch);
	CREATE TABLE key_history (
		vault TEXT NOT NULL REFERENCES vaults(id),
		epoch INTEGER NOT NULL,
		wrapped BLOB NOT NULL,
		signer TEXT NOT NULL,
		sig BLOB NOT NULL,
		PRIMARY KEY (vault, epoch)
	) STRICT, WITHOUT ROWID;
	-- Rowid table: rows hold up to 512 KiB, too big for WITHOUT ROWID's clustered pages.
	CREATE TABLE envelopes (
		vault TEXT NOT NULL REFERENCES vaults(id),
		seq INTEGER NOT NULL,
		author TEXT NOT NULL,
		counter INTEGER NOT NULL,
		epoch INTEGER NOT NULL,
		ciphertext BLOB NOT NULL,
		sig BLOB NOT NULL,
		digest BLOB NOT NULL,
		UNIQUE (vault, seq),
		UNIQUE (vault, author, counter)
	) STRICT;
	-- Each author's last counter outlives the envelopes a snapshot prunes.
	CREATE TABLE authors (
		vault TEXT NOT NULL REFERENCES vaults(id),
		author TEXT NOT NULL,
		counter INTEGER NOT NULL,
		seq INTEGER NOT NULL,
		digest BLOB NOT NULL,
		PRIMARY KEY (vault, author)
	) STRICT, WITHOUT ROWID;
	CREATE TABLE snapshots (
		vault TEXT PRIMARY KEY REFERENCES vaults(id),
		epoch INTEGER NOT NULL,
		author TEXT NOT NULL,
		covers_seq INTEGER NOT NULL,
		ciphertext BLOB NOT NULL,
		sig BLOB NOT NULL
	) STRICT;
	CREATE TABLE seen (
		member TEXT PRIMARY KEY,
		at INTEGER NOT NULL
	) STRICT, WITHOUT ROWID;
	`
];

interface VaultRow {
	epoch: number;
	seq: number;
	bytes: number;
}
interface KnownEnvelope {
	seq: number;
	digest: Buffer;
}
interface AuthorRow extends KnownEnvelope {
	counter: number;
}
interface LockboxRow {
	vault: string;
	recipient: string;
	epoch: number;
	sealed: Buffer;
	signer: string;
	sig: Buffer;
}
interface HistoryRow {
	vault: string;
	epoch: number;
	wrapped: Buffer;
	signer: string;
	sig: Buffer;
}
interface EnvelopeRow {
	seq: number;
	vault: string;
	author: string;
	counter: number;
	epoch: number;
	ciphertext: Buffer;
	sig: Buffer;
}
/** An `appendEnvelope` call waiting for the next group commit. */
interface QueuedAppend {
	readonly envelope: Envelope;
	readonly quotaBytes: number;
	readonly resolve: (result: EnvelopeAppendResult) => void;
	readonly reject: (error: unknown) => void;
}
/** What one envelope of a group commit came to: its result, or what it threw. */
type GroupOutcome = { readonly ok: true; readonly result: EnvelopeAppendResult } | { readonly ok: false; readonly error: unknown };

interface SnapshotRow {
	vault: string;
	epoch: number;
	author: string;
	covers_seq: number;
	ciphertext: Buffer;
	sig: Buffer;
}

const bytes = (base64url: string): Buffer => Buffer.from(base64url, 'base64url');
const text = (blob: Buffer): string => blob.toString('base64url');

const toLockbox = (r: LockboxRow): Lockbox => ({
	v: 1,
	vault: r.vault,
	epoch: r.epoch,
	recipient: r.recipient,
	sealed: text(r.sealed),
	by: r.signer,
	sig: text(r.sig)
});

/**
 * Opens (creating if needed) the store in the SQLite file at `path`, whose folder must exist,
 * and brings its schema up to date.
 */
export function openSqliteStore(path: string): Store {
	const db = new Database(path);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = FULL');
	db.pragma('foreign_keys = ON');
	migrate(db);

	const q = {
		vault: db.prepare('SELECT epoch, seq, bytes FROM vaults WHERE id = ?'),
		createVault: db.prepare(
			'INSERT INTO vaults (id, head_index, head_hash, epoch) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'
		),
		moveHead: db.prepare(
			'UPDATE vaults SET head_index = ?, head_hash = ?, epoch = ? WHERE id = ? AND head_index = ? AND head_hash = ?'
		),
		insertOp: db.prepare('INSERT INTO ops (vault, idx, body) VALUES (?, ?, ?)'),
		ops: db.prepare('SELECT body FROM ops WHERE vault = ? AND idx >= ? ORDER BY idx LIMIT ?').pluck(),
		addMember: db.prepare('INSERT INTO vault_members (member, vault) VALUES (?, ?) ON CONFLICT DO NOTHING'),
		dropMember: db.prepare('DELETE FROM vault_members WHERE member = ? AND vault = ?'),
		vaultsOf: db.prepare('SELECT vault FROM vault_members WHERE member = ? ORDER BY vault LIMIT ?').pluck(),
		putLockbox: db.prepare(
			`INSERT INTO lockboxes (vault, recipient, epoch, sealed, signer, sig) VALUES (@vault, @recipient, @epoch, @sealed, @signer, @sig)
			 ON CONFLICT (vault, recipient, epoch) DO UPDATE SET sealed = excluded.sealed, signer = excluded.signer, sig = excluded.sig`
		),
		lockboxesFor: db.prepare('SELECT * FROM lockboxes WHERE vault = ? AND recipient = ? ORDER BY epoch'),
		lockboxesAt: db.prepare('SELECT * FROM lockboxes WHERE vault = ? AND epoch = ? ORDER BY recipient'),
		putHistory: db.prepare(
			'INSERT INTO key_history (vault, epoch, wrapped, signer, sig) VALUES (@vault, @epoch, @wrapped, @signer, @sig)'
		),
		history: db.prepare('SELECT * FROM key_history WHERE vault = ? ORDER BY epoch'),
		author: db.prepare('SELECT counter, seq, digest FROM authors WHERE vault = ? AND author = ?'),
		known: db.prepare('SELECT seq, digest FROM envelopes WHERE vault = ? AND author = ? AND counter = ?'),
		insertEnvelope: db.prepare(
			`INSERT INTO envelopes (vault, seq, author, counter, epoch, ciphertext, sig, digest)
			 VALUES (@vault, @seq, @author, @counter, @epoch, @ciphertext, @sig, @digest)`
		),
		putAuthor: db.prepare(
			`INSERT INTO authors (vault, author, counter, seq, digest) VALUES (@vault, @author, @counter, @seq, @digest)
			 ON CONFLICT (vault, author) DO UPDATE SET counter = excluded.counter, seq = excluded.seq, digest = excluded.digest`
		),
		advance: db.prepare('UPDATE vaults SET seq = ?, bytes = bytes + ? WHERE id = ?'),
		envelopes: db.prepare('SELECT * FROM envelopes WHERE vault = ? AND seq > ? ORDER BY seq LIMIT ?'),
		head: db.prepare('SELECT seq FROM vaults WHERE id = ?').pluck(),
		snapshotSize: db.prepare('SELECT covers_seq AS coversSeq, length(ciphertext) AS size FROM snapshots WHERE vault = ?'),
		coveredSize: db.prepare(
			'SELECT count(*) AS count, coalesce(sum(length(ciphertext)), 0) AS size FROM envelopes WHERE vault = ? AND seq <= ?'
		),
		prune: db.prepare('DELETE FROM envelopes WHERE vault = ? AND seq <= ?'),
		putSnapshot: db.prepare(
			`INSERT INTO snapshots (vault, epoch, author, covers_seq, ciphertext, sig) VALUES (@vault, @epoch, @author, @coversSeq, @ciphertext, @sig)
			 ON CONFLICT (vault) DO UPDATE SET epoch = excluded.epoch, author = excluded.author, covers_seq = excluded.covers_seq,
			 ciphertext = excluded.ciphertext, sig = excluded.sig`
		),
		addBytes: db.prepare('UPDATE vaults SET bytes = bytes + ? WHERE id = ?'),
		snapshot: db.prepare('SELECT * FROM snapshots WHERE vault = ?'),
		seen: db.prepare('INSERT INTO seen (member, at) VALUES (?, ?) ON CONFLICT (member) DO UPDATE SET at = excluded.at'),
		lastSeen: db.prepare('SELECT at FROM seen WHERE member = ?').pluck(),
		usage: db.prepare('SELECT bytes FROM vaults WHERE id = ?').pluck()
	};

	/** The vault's row; a missing vault is a caller bug (the relay checks membership first). */
	const vaultRow = (vault: string): VaultRow => {
		const row = q.vault.get(vault) as VaultRow | undefined;
		if (row === undefined) throw new Error('unknown vault');
		return row;
	};

	// IMMEDIATE: take the write lock before reading what the write depends on, so a second
	// connection (another process on the same file) waits instead of deciding on stale rows.
	const appendOps = db.transaction((vault: string, append: OpsAppend): 'appended' | 'conflict' => {
		const { after, ops, head, lockboxes, history } = append;
		const first = after === null ? 0 : after.index + 1;
		if (ops.length === 0 || ops.some((op, i) => op.vault !== vault || op.index !== first + i)) {
			throw new RangeError(`appendOps: ops must be for this vault and numbered from ${first}`);
		}
		const last = ops[ops.length - 1];
		const moved =
			after === null
				? q.createVault.run(vault, last.index, head, last.epoch)
				: q.moveHead.run(last.index, head, last.epoch, vault, after.index, after.hash);
		if (moved.changes === 0) return 'conflict';
		for (const op of ops) {
			q.insertOp.run(vault, op.index, JSON.stringify(op));
			if (op.type === 'remove') q.dropMember.run(op.member.id, vault);
			else q.addMember.run(op.member.id, vault);
		}
		for (const l of lockboxes) {
			q.putLockbox.run({ vault, recipient: l.recipient, epoch: l.epoch, sealed: bytes(l.sealed), signer: l.by, sig: bytes(l.sig) });
		}
		if (history !== undefined) {
			q.putHistory.run({ vault, epoch: history.epoch, wrapped: bytes(history.wrapped), signer: history.by, sig: bytes(history.sig) });
		}
		return 'appended';
	});

	// Run inside `appendGroup`'s transaction, where better-sqlite3 makes it a savepoint.
	const appendEnvelope = db.transaction((e: Envelope, quotaBytes: number): EnvelopeAppendResult => {
		const vault = vaultRow(e.vault);
		const ciphertext = bytes(e.ciphertext);
		// The usage comes with the vault row, so the quota costs no query of its own.
		if (vault.bytes + ciphertext.length > quotaBytes) return { status: 'quota' };
		const digest = envelopeDigest(e);
		const author = q.author.get(e.vault, e.author) as AuthorRow | undefined;
		const last = author?.counter ?? 0;
		if (e.counter <= last) {
			// The row may be pruned by a snapshot; the author's last envelope is also kept apart.
			const known =
				(q.known.get(e.vault, e.author, e.counter) as KnownEnvelope | undefined) ??
				(e.counter === last ? author : undefined);
			if (known?.digest.equals(digest)) return { status: 'duplicate', seq: known.seq };
			return { status: 'bad_counter', expected: last + 1 };
		}
		if (e.epoch !== vault.epoch) return { status: 'stale_epoch', epoch: vault.epoch };
		if (e.counter !== last + 1) return { status: 'bad_counter', expected: last + 1 };
		const seq = vault.seq + 1;
		q.insertEnvelope.run({ vault: e.vault, seq, author: e.author, counter: e.counter, epoch: e.epoch, ciphertext, sig: bytes(e.sig), digest });
		q.putAuthor.run({ vault: e.vault, author: e.author, counter: e.counter, seq, digest });
		q.advance.run(seq, ciphertext.length, e.vault);
		return { status: 'stored', seq };
	});

	const appendGroup = db.transaction((group: readonly QueuedAppend[]): GroupOutcome[] =>
		group.map(({ envelope, quotaBytes }): GroupOutcome => {
			try {
				return { ok: true, result: appendEnvelope(envelope, quotaBytes) };
			} catch (error) {
				// An error SQLite answers by rolling the whole transaction back (disk full, I/O)
				// leaves nothing to commit the others in: fail the group, none is acked.
				if (!db.inTransaction) throw error;
				return { ok: false, error };
			}
		})
	);

	let queued: QueuedAppend[] = [];
	/** Commits every queued append in one transaction, then settles their promises. */
	const commitQueued = (): void => {
		const group = queued;
		queued = [];
		if (group.length === 0) return;
		let outcomes: GroupOutcome[];
		try {
			outcomes = appendGroup.immediate(group);
		} catch (error) {
			for (const append of group) append.reject(error);
			return;
		}
		outcomes.forEach((outcome, i) => (outcome.ok ? group[i].resolve(outcome.result) : group[i].reject(outcome.error)));
	};

	const putSnapshot = db.transaction((s: Snapshot): SnapshotPutResult => {
		const vault = vaultRow(s.vault);
		if (s.epoch !== vault.epoch) return { status: 'stale_epoch', epoch: vault.epoch };
		if (s.coversSeq > vault.seq) return { status: 'ahead', head: vault.seq };
		const current = q.snapshotSize.get(s.vault) as { coversSeq: number; size: number } | undefined;
		if (current !== undefined && current.coversSeq >= s.coversSeq) return { status: 'older' };
		const covered = q.coveredSize.get(s.vault, s.coversSeq) as { count: number; size: number };
		q.prune.run(s.vault, s.coversSeq);
		const ciphertext = bytes(s.ciphertext);
		q.putSnapshot.run({ vault: s.vault, epoch: s.epoch, author: s.author, coversSeq: s.coversSeq, ciphertext, sig: bytes(s.sig) });
		q.addBytes.run(ciphertext.length - covered.size - (current?.size ?? 0), s.vault);
		return { status: 'stored', pruned: covered.count };
	});

	return {
		async appendOps(vault, append) {
			return appendOps.immediate(vault, append);
		},
		async ops(vault, since, limit = -1) {
			// LIMIT -1 is SQLite's "no limit".
			return (q.ops.all(vault, since, limit) as string[]).map((body) => JSON.parse(body) as MembershipOp);
		},
		async lockboxesFor(vault, recipient) {
			return (q.lockboxesFor.all(vault, recipient) as LockboxRow[]).map(toLockbox);
		},
		async lockboxesAt(vault, epoch) {
			return (q.lockboxesAt.all(vault, epoch) as LockboxRow[]).map(toLockbox);
		},
		async history(vault) {
			return (q.history.all(vault) as HistoryRow[]).map(
				(r): KeyHistory => ({ v: 1, vault: r.vault, epoch: r.epoch, wrapped: text(r.wrapped), by: r.signer, sig: text(r.sig) })
			);
		},
		appendEnvelope(envelope, quotaBytes = Infinity) {
			return new Promise((resolve, reject) => {
				// setImmediate runs after the event loop's I/O phase: every frame read in this
				// turn has queued its envelope by then.
				if (queued.length === 0) setImmediate(commitQueued);
				queued.push({ envelope, quotaBytes, resolve, reject });
			});
		},
		async envelopes(vault, since, limit) {
			return (q.envelopes.all(vault, since, limit) as EnvelopeRow[]).map(
				(r): SequencedEnvelope => ({
					seq: r.seq,
					envelope: {
						v: 1,
						vault: r.vault,
						epoch: r.epoch,
						author: r.author,
						counter: r.counter,
						ciphertext: text(r.ciphertext),
						sig: text(r.sig)
					}
				})
			);
		},
		async head(vault) {
			return (q.head.get(vault) as number | undefined) ?? 0;
		},
		async putSnapshot(snapshot) {
			return putSnapshot.immediate(snapshot);
		},
		async snapshot(vault) {
			const r = q.snapshot.get(vault) as SnapshotRow | undefined;
			return (
				r && {
					v: 1,
					vault: r.vault,
					epoch: r.epoch,
					author: r.author,
					coversSeq: r.covers_seq,
					ciphertext: text(r.ciphertext),
					sig: text(r.sig)
				}
			);
		},
		async vaultsOf(member, limit) {
			return q.vaultsOf.all(member, limit) as string[];
		},
		async seen(member, at) {
			q.seen.run(member, at.getTime());
		},
		async lastSeen(member) {
			const at = q.lastSeen.get(member) as number | undefined;
			return at === undefined ? undefined : new Date(at);
		},
		async usage(vault) {
			return (q.usage.get(vault) as number | undefined) ?? 0;
		},
		async close() {
			commitQueued();
			if (db.open) db.close();
		}
	};
}

/** Runs the migrations the file has not seen yet, each in its own transaction. */
function migrate(db: Database): void {
	const version = db.pragma('user_version', { simple: true }) as number;
	if (version > MIGRATIONS.length) {
		throw new Error(`the database is at schema version ${version}, newer than this relay (${MIGRATIONS.length})`);
	}
	MIGRATIONS.slice(version).forEach((sql, i) => {
		db.transaction(() => {
			db.exec(sql);
			db.pragma(`user_version = ${version + i + 1}`);
		}).immediate();
	});
}
