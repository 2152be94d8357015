/**
 * The embedded `ShareStore` (shares.ts): tables `shl_*` in the relay's SQLite file, on a
 * connection of their own, with the same durability rules as the sync store (sqlite.ts):
 * WAL, `synchronous = FULL` (every commit fsyncs before the call returns, so no answer
 * precedes durability), and every decision that guards a counter (attempts, uses, seqs)
 * taken inside the transaction that writes it, with BEGIN IMMEDIATE so a second process on
 * the file waits instead of deciding on stale rows. better-sqlite3 is synchronous: calls in
 * flight together run one after the other, which is exactly the interface's promise.
 *
 * The schema version lives in `shl_schema`, not in `PRAGMA user_version`, which belongs to
 * the sync store's migrations on the same file. Labels, token and ticket hashes are stored
 * as the bytes they decode to; JWEs as their compact text; passcodes only as
 * `hashPasscode` strings.
 */
import Database from 'better-sqlite3';
import type {
	AccessEntry,
	AttemptReservation,
	ContributionInfo,
	ContributionResult,
	OpenedFile,
	SequencedAccess,
	ShareOpen,
	ShareOpenResult,
	ShareState,
	ShareStore,
	ShareWrite
} from './shares';

/** Migrations of the `shl_*` tables, applied in order; append, never edit one that shipped. */
const MIGRATIONS: readonly string[] = [
	`
	CREATE TABLE shl_shares (
		id TEXT PRIMARY KEY,
		vault TEXT NOT NULL,
		exp INTEGER,                -- epoch seconds, null: no expiry
		flag TEXT NOT NULL,
		passcode_hash TEXT,         -- hashPasscode output, never the passcode
		attempts_left INTEGER NOT NULL,
		max_uses INTEGER,
		uses INTEGER NOT NULL DEFAULT 0,
		label BLOB NOT NULL,        -- the device's ciphertext
		token_hash BLOB,            -- SHA-256 of the contribution token; null: no contributions
		revoked_at INTEGER,
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX shl_shares_by_vault ON shl_shares (vault, created_at);
	CREATE TABLE shl_files (
		share TEXT NOT NULL REFERENCES shl_shares(id),
		idx INTEGER NOT NULL,
		content_type TEXT NOT NULL,
		jwe TEXT NOT NULL,
		PRIMARY KEY (share, idx)
	) STRICT;
	-- Tickets by the SHA-256 of their value: the database alone opens no file location.
	CREATE TABLE shl_tickets (
		hash BLOB PRIMARY KEY,
		share TEXT NOT NULL REFERENCES shl_shares(id),
		idx INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT, WITHOUT ROWID;
	CREATE INDEX shl_tickets_by_share ON shl_tickets (share, expires_at);
	-- Last seq given out per vault, for each log: monotonic even if old rows are pruned one day.
	CREATE TABLE shl_seqs (
		vault TEXT PRIMARY KEY,
		access INTEGER NOT NULL DEFAULT 0,
		contribution INTEGER NOT NULL DEFAULT 0
	) STRICT;
	CREATE TABLE shl_access (
		vault TEXT NOT NULL,
		seq INTEGER NOT NULL,
		share TEXT NOT NULL,
		at INTEGER NOT NULL,
		recipient TEXT NOT NULL,
		outcome TEXT NOT NULL,
		PRIMARY KEY (vault, seq)
	) STRICT;
	CREATE TABLE shl_contributions (
		vault TEXT NOT NULL,
		seq INTEGER NOT NULL,
		id TEXT NOT NULL UNIQUE,
		share TEXT NOT NULL,
		at INTEGER NOT NULL,
		sealed BLOB NOT NULL,
		PRIMARY KEY (vault, seq)
	) STRICT;
	`
];

interface ShareRow {
	id: string;
	vault: string;
	exp: number | null;
	flag: string;
	passcode_hash: string | null;
	attempts_left: number;
	max_uses: number | null;
	uses: number;
	label: Buffer;
	token_hash: Buffer | null;
	revoked_at: number | null;
	created_at: number;
}
interface FileRow {
	idx: number;
	content_type: string;
	jwe: string;
}
interface AccessRow {
	seq: number;
	share: string;
	at: number;
	recipient: string;
	outcome: AccessEntry['outcome'];
}
interface ContributionRow {
	seq: number;
	id: string;
	share: string;
	at: number;
	bytes: number;
}

const bytes = (base64url: string): Buffer => Buffer.from(base64url, 'base64url');
const text = (blob: Buffer): string => blob.toString('base64url');

/** Not revoked and not expired at `atMs`: tickets and contributions need no more (see `active`). */
function live(row: ShareRow, atMs: number): boolean {
	return row.revoked_at === null && (row.exp === null || atMs < row.exp * 1000);
}

/** Live, with uses and passcode attempts left: what a manifest request needs. */
function active(row: ShareRow, atMs: number): boolean {
	return (
		live(row, atMs) &&
		(row.max_uses === null || row.uses < row.max_uses) &&
		(row.passcode_hash === null || row.attempts_left > 0)
	);
}

const toState = (r: ShareRow): ShareState => ({
	id: r.id,
	vault: r.vault,
	exp: r.exp,
	flag: r.flag,
	passcodeHash: r.passcode_hash,
	attemptsLeft: r.attempts_left,
	maxUses: r.max_uses,
	uses: r.uses,
	label: text(r.label),
	contributionTokenHash: r.token_hash === null ? null : text(r.token_hash),
	revoked: r.revoked_at !== null,
	createdAt: new Date(r.created_at)
});

/**
 * Opens the share store in the SQLite file at `path` (the sync store's file, or any other),
 * creating or migrating its tables.
 */
export function openSqliteShareStore(path: string): ShareStore {
	const db = new Database(path);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = FULL');
	db.pragma('foreign_keys = ON');
	migrate(db);

	const q = {
		share: db.prepare('SELECT * FROM shl_shares WHERE id = ?'),
		shares: db.prepare('SELECT * FROM shl_shares WHERE vault = ? ORDER BY created_at, id'),
		insertShare: db.prepare(
			`INSERT INTO shl_shares (id, vault, exp, flag, passcode_hash, attempts_left, max_uses, label, token_hash, created_at)
			 VALUES (@id, @vault, @exp, @flag, @passcodeHash, @attempts, @maxUses, @label, @tokenHash, @at)`
		),
		updateShare: db.prepare(
			`UPDATE shl_shares SET exp = @exp, flag = @flag, passcode_hash = @passcodeHash, attempts_left = @attempts,
			 max_uses = @maxUses, label = @label, token_hash = @tokenHash WHERE id = @id`
		),
		tombstone: db.prepare(
			`INSERT INTO shl_shares (id, vault, exp, flag, passcode_hash, attempts_left, max_uses, label, token_hash, revoked_at, created_at)
			 VALUES (?, ?, NULL, '', NULL, 0, NULL, x'', NULL, ?, ?)`
		),
		revoke: db.prepare('UPDATE shl_shares SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?'),
		setAttempts: db.prepare('UPDATE shl_shares SET attempts_left = ? WHERE id = ?'),
		setUses: db.prepare('UPDATE shl_shares SET uses = ? WHERE id = ?'),
		files: db.prepare('SELECT idx, content_type, jwe FROM shl_files WHERE share = ? ORDER BY idx'),
		insertFile: db.prepare('INSERT INTO shl_files (share, idx, content_type, jwe) VALUES (?, ?, ?, ?)'),
		dropFiles: db.prepare('DELETE FROM shl_files WHERE share = ?'),
		hasFiles: db.prepare('SELECT 1 FROM shl_files WHERE share = ? LIMIT 1').pluck(),
		insertTicket: db.prepare('INSERT INTO shl_tickets (hash, share, idx, expires_at) VALUES (?, ?, ?, ?)'),
		dropTickets: db.prepare('DELETE FROM shl_tickets WHERE share = ?'),
		dropStaleTickets: db.prepare('DELETE FROM shl_tickets WHERE share = ? AND expires_at <= ?'),
		ticket: db.prepare('SELECT share, idx, expires_at AS expiresAt FROM shl_tickets WHERE hash = ?'),
		file: db.prepare('SELECT content_type AS contentType, jwe FROM shl_files WHERE share = ? AND idx = ?'),
		seqs: db.prepare('INSERT INTO shl_seqs (vault) VALUES (?) ON CONFLICT (vault) DO NOTHING'),
		nextAccess: db.prepare('UPDATE shl_seqs SET access = access + 1 WHERE vault = ? RETURNING access').pluck(),
		nextContribution: db.prepare('UPDATE shl_seqs SET contribution = contribution + 1 WHERE vault = ? RETURNING contribution').pluck(),
		insertAccess: db.prepare('INSERT INTO shl_access (vault, seq, share, at, recipient, outcome) VALUES (?, ?, ?, ?, ?, ?)'),
		accessLog: db.prepare('SELECT seq, share, at, recipient, outcome FROM shl_access WHERE vault = ? AND seq > ? ORDER BY seq LIMIT ?'),
		insertContribution: db.prepare('INSERT INTO shl_contributions (vault, seq, id, share, at, sealed) VALUES (?, ?, ?, ?, ?, ?)'),
		contributions: db.prepare(
			'SELECT seq, id, share, at, length(sealed) AS bytes FROM shl_contributions WHERE vault = ? AND seq > ? ORDER BY seq LIMIT ?'
		),
		contribution: db.prepare('SELECT sealed FROM shl_contributions WHERE vault = ? AND id = ?').pluck()
	};

	const row = (id: string) => q.share.get(id) as ShareRow | undefined;

	/** Deletes an expired share's files and tickets: nobody may fetch them again (lazy purge). */
	const purgeIfExpired = (r: ShareRow, atMs: number): void => {
		if (r.exp !== null && atMs >= r.exp * 1000 && q.hasFiles.get(r.id) !== undefined) {
			q.dropTickets.run(r.id);
			q.dropFiles.run(r.id);
		}
	};

	const putShare = db.transaction((vault: string, id: string, s: ShareWrite, at: Date): 'created' | 'updated' | 'conflict' => {
		const existing = row(id);
		if (existing !== undefined && (existing.vault !== vault || existing.revoked_at !== null)) return 'conflict';
		const fields = {
			id,
			vault,
			exp: s.exp,
			flag: s.flag,
			passcodeHash: s.passcodeHash,
			attempts: existing === undefined || s.resetAttempts ? s.attempts : existing.attempts_left,
			maxUses: s.maxUses,
			label: bytes(s.label),
			tokenHash: s.contributionTokenHash === null ? null : bytes(s.contributionTokenHash),
			at: at.getTime()
		};
		if (existing === undefined) q.insertShare.run(fields);
		else {
			q.updateShare.run(fields);
			q.dropFiles.run(id);
		}
		s.files.forEach((file, idx) => q.insertFile.run(id, idx, file.contentType, file.jwe));
		return existing === undefined ? 'created' : 'updated';
	});

	const revokeShare = db.transaction((vault: string, id: string, at: Date): 'revoked' | 'conflict' => {
		const existing = row(id);
		if (existing === undefined) {
			q.tombstone.run(id, vault, at.getTime(), at.getTime());
			return 'revoked';
		}
		if (existing.vault !== vault) return 'conflict';
		q.revoke.run(at.getTime(), id);
		q.dropTickets.run(id);
		q.dropFiles.run(id);
		return 'revoked';
	});

	const reserveAttempt = db.transaction((id: string, at: Date): AttemptReservation => {
		const r = row(id);
		if (r === undefined) return { status: 'unknown' };
		const atMs = at.getTime();
		purgeIfExpired(r, atMs);
		if (!active(r, atMs) || r.passcode_hash === null) return { status: 'inactive', vault: r.vault };
		const attemptsLeft = r.attempts_left - 1;
		q.setAttempts.run(attemptsLeft, id);
		return { status: 'reserved', vault: r.vault, passcodeHash: r.passcode_hash, attemptsLeft };
	});

	const openShare = db.transaction((id: string, open: ShareOpen): ShareOpenResult => {
		const r = row(id);
		if (r === undefined) return { status: 'unknown' };
		const atMs = open.at.getTime();
		if (open.refund && r.passcode_hash !== null) {
			r.attempts_left += 1;
			q.setAttempts.run(r.attempts_left, id);
		}
		purgeIfExpired(r, atMs);
		// A passcode set since the caller looked (no attempt reserved, so none checked) opens nothing.
		if (!active(r, atMs) || (r.passcode_hash !== null && !open.refund)) return { status: 'inactive', vault: r.vault };
		q.setUses.run(r.uses + 1, id);
		q.dropStaleTickets.run(id, atMs);
		const rows = q.files.all(id) as FileRow[];
		if (open.ticketHashes.length < rows.length) throw new RangeError('openShare: one ticket hash per file is needed');
		const files = rows.map((f, i): OpenedFile => {
			if (open.embeddedLengthMax !== undefined && f.jwe.length <= open.embeddedLengthMax) {
				return { contentType: f.content_type, embedded: f.jwe };
			}
			q.insertTicket.run(bytes(open.ticketHashes[i]), id, f.idx, open.ticketExpiresAt.getTime());
			return { contentType: f.content_type, ticket: i };
		});
		return { status: 'opened', vault: r.vault, files };
	});

	const logAccess = db.transaction((vault: string, e: AccessEntry): number => {
		q.seqs.run(vault);
		const seq = q.nextAccess.get(vault) as number;
		q.insertAccess.run(vault, seq, e.share, e.at.getTime(), e.recipient, e.outcome);
		return seq;
	});

	const addContribution = db.transaction(
		(linkId: string, c: { id: string; at: Date; sealed: Uint8Array }): ContributionResult => {
			const r = row(linkId);
			if (r === undefined || r.token_hash === null || !live(r, c.at.getTime())) return { status: 'inactive' };
			q.seqs.run(r.vault);
			const seq = q.nextContribution.get(r.vault) as number;
			q.insertContribution.run(r.vault, seq, c.id, linkId, c.at.getTime(), Buffer.from(c.sealed));
			return { status: 'stored', vault: r.vault, seq };
		}
	);

	return {
		async putShare(vault, id, share, at) {
			return putShare.immediate(vault, id, share, at);
		},
		async revokeShare(vault, id, at) {
			return revokeShare.immediate(vault, id, at);
		},
		async share(id) {
			const r = row(id);
			return r && toState(r);
		},
		async shares(vault) {
			return (q.shares.all(vault) as ShareRow[]).map(toState);
		},
		async reserveAttempt(id, at) {
			return reserveAttempt.immediate(id, at);
		},
		async openShare(id, open) {
			return openShare.immediate(id, open);
		},
		async ticketFile(id, ticketHash, at) {
			const ticket = q.ticket.get(bytes(ticketHash)) as { share: string; idx: number; expiresAt: number } | undefined;
			const atMs = at.getTime();
			if (ticket === undefined || ticket.share !== id || ticket.expiresAt <= atMs) return undefined;
			const r = row(id);
			if (r === undefined || !live(r, atMs) || (r.passcode_hash !== null && r.attempts_left <= 0)) return undefined;
			return q.file.get(id, ticket.idx) as { contentType: string; jwe: string } | undefined;
		},
		async logAccess(vault, entry) {
			return logAccess.immediate(vault, entry);
		},
		async accessLog(vault, after, limit) {
			return (q.accessLog.all(vault, after, limit) as AccessRow[]).map(
				(r): SequencedAccess => ({ seq: r.seq, share: r.share, at: new Date(r.at), recipient: r.recipient, outcome: r.outcome })
			);
		},
		async addContribution(linkId, contribution) {
			return addContribution.immediate(linkId, contribution);
		},
		async contributions(vault, after, limit) {
			return (q.contributions.all(vault, after, limit) as ContributionRow[]).map(
				(r): ContributionInfo => ({ seq: r.seq, id: r.id, share: r.share, at: new Date(r.at), bytes: r.bytes })
			);
		},
		async contribution(vault, id) {
			const sealed = q.contribution.get(vault, id) as Buffer | undefined;
			return sealed && new Uint8Array(sealed);
		},
		async close() {
			if (db.open) db.close();
		}
	};
}

/** Runs the `shl_*` migrations this file has not seen yet, each in its own transaction. */
function migrate(db: Database): void {
	db.exec('CREATE TABLE IF NOT EXISTS shl_schema (version INTEGER NOT NULL) STRICT');
	const version = (db.prepare('SELECT max(version) FROM shl_schema').pluck().get() as number | null) ?? 0;
	if (version > MIGRATIONS.length) {
		throw new Error(`the share tables are at schema version ${version}, newer than this relay (${MIGRATIONS.length})`);
	}
	MIGRATIONS.slice(version).forEach((sql, i) => {
		db.transaction(() => {
			db.exec(sql);
			db.prepare('INSERT INTO shl_schema (version) VALUES (?)').run(version + i + 1);
		}).immediate();
	});
}
