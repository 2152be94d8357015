/**
 * The behaviour every relay `Store` must have (relay/store/store.ts), as one vitest suite that
 * each implementation runs on its own database: `runStoreConformance('sqlite', …)`, later
 * PostgreSQL. A store does not check signatures, so the objects here have the wire shape of
 * docs/SYNC.md with random bytes in place of keys, ciphertext and signatures.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope, KeyHistory, Lockbox, MembershipOp, Snapshot } from '../../src/lib/core/protocol';
import type { ChainPosition, Store } from '../../relay/store/store';

/** One empty database for one test; `open` may be called again for a second handle on it. */
export interface TestDatabase {
	/** A new handle (connection) on the database. */
	open(): Promise<Store>;
	/** Deletes the database; every handle is closed by then. */
	destroy(): Promise<void>;
}

const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');
const newId = () => b64(32);
const newVaultId = () => b64(16);
const AT = '2026-11-26T10:00:00.000Z';

/** A vault's chain as a test builds it: hashes are random, a store only compares them. */
class Chain {
	readonly ops: MembershipOp[] = [];
	readonly hashes: string[] = [];
	epoch = 0;
	constructor(
		readonly vault: string,
		readonly admin = newId()
	) {}

	/** The head to pass as `after`; null before op 0. */
	get head(): ChainPosition | null {
		const index = this.ops.length - 1;
		return index < 0 ? null : { index, hash: this.hashes[index] };
	}

	/** The next op: create first, then adds, or a remove (which opens the next epoch). */
	next(type: 'add' | 'remove', member = newId()): MembershipOp {
		const index = this.ops.length;
		const common = { v: 1 as const, vault: this.vault, index, prev: index === 0 ? null : this.hashes[index - 1], by: this.admin, at: AT, sig: b64(64) };
		const op: MembershipOp =
			index === 0
				? { ...common, type: 'create', member: { id: this.admin, box: b64(32), role: 'admin' }, epoch: 0 }
				: type === 'add'
					? { ...common, type: 'add', member: { id: member, box: b64(32), role: 'admin' }, epoch: this.epoch }
					: { ...common, type: 'remove', member: { id: member }, epoch: this.epoch + 1 };
		this.ops.push(op);
		this.hashes.push(b64(32));
		this.epoch = op.epoch;
		return op;
	}

	/** Undoes `next` after a test's append was refused. */
	drop(count: number): void {
		this.ops.splice(-count);
		this.hashes.splice(-count);
		this.epoch = this.ops.at(-1)?.epoch ?? 0;
	}

	lockbox(recipient: string, epoch = this.epoch): Lockbox {
		return { v: 1, vault: this.vault, epoch, recipient, sealed: b64(80), by: this.admin, sig: b64(64) };
	}

	history(epoch = this.epoch): KeyHistory {
		return { v: 1, vault: this.vault, epoch, wrapped: b64(72), by: this.admin, sig: b64(64) };
	}

	envelope(author: string, counter: number, epoch = this.epoch, size = 64): Envelope {
		return { v: 1, vault: this.vault, epoch, author, counter, ciphertext: b64(size), sig: b64(64) };
	}

	snapshot(coversSeq: number, epoch = this.epoch, size = 256): Snapshot {
		return { v: 1, vault: this.vault, epoch, author: this.admin, coversSeq, ciphertext: b64(size), sig: b64(64) };
	}
}

/**
 * Registers the suite for one store implementation. `makeDatabase` makes a fresh, empty
 * database per test; the suite closes every handle it opened before destroying it.
 */
export function runStoreConformance(name: string, makeDatabase: () => Promise<TestDatabase>): void {
	describe(`Store conformance: ${name}`, () => {
		let database: TestDatabase;
		let handles: Store[];
		let store: Store;

		const open = async () => {
			const handle = await database.open();
			handles.push(handle);
			return handle;
		};

		beforeEach(async () => {
			database = await makeDatabase();
			handles = [];
			store = await open();
		});
		afterEach(async () => {
			for (const handle of handles) await handle.close();
			await database.destroy();
		});

		/** A registered vault: create + one more admin (ops 0 and 1), epoch-0 lockboxes for both. */
		async function createVault(): Promise<{ chain: Chain; second: string; lockboxes: Lockbox[] }> {
			const chain = new Chain(newVaultId());
			const second = newId();
			const ops = [chain.next('add'), chain.next('add', second)];
			const lockboxes = [chain.lockbox(chain.admin), chain.lockbox(second)];
			expect(await store.appendOps(chain.vault, { after: null, ops, head: chain.hashes[1], lockboxes })).toBe('appended');
			return { chain, second, lockboxes };
		}

		/** Removes `member` (a new epoch) with lockboxes for `stay` and the history entry. */
		async function rotate(chain: Chain, member: string, stay: string[], target = store) {
			const after = chain.head;
			const op = chain.next('remove', member);
			const history = chain.history();
			const result = await target.appendOps(chain.vault, {
				after,
				ops: [op],
				head: chain.hashes[op.index],
				lockboxes: stay.map((id) => chain.lockbox(id)),
				history
			});
			return { op, result, history };
		}

		describe('an empty store', () => {
			it('knows no vault, member or envelope', async () => {
				const vault = newVaultId();
				const member = newId();
				expect(await store.ops(vault, 0)).toEqual([]);
				expect(await store.lockboxesFor(vault, member)).toEqual([]);
				expect(await store.lockboxesAt(vault, 0)).toEqual([]);
				expect(await store.history(vault)).toEqual([]);
				expect(await store.envelopes(vault, 0, 10)).toEqual([]);
				expect(await store.head(vault)).toBe(0);
				expect(await store.snapshot(vault)).toBeUndefined();
				expect(await store.vaultsOf(member, 10)).toEqual([]);
				expect(await store.lastSeen(member)).toBeUndefined();
				expect(await store.usage(vault)).toBe(0);
			});

			it('rejects envelopes and snapshots for a vault that does not exist', async () => {
				const chain = new Chain(newVaultId());
				await expect(store.appendEnvelope(chain.envelope(chain.admin, 1))).rejects.toThrow();
				await expect(store.putSnapshot(chain.snapshot(0))).rejects.toThrow();
			});
		});

		describe('membership chain', () => {
			it('creates a vault with its ops and lockboxes, and gives them back unchanged', async () => {
				const { chain, second, lockboxes } = await createVault();
				expect(await store.ops(chain.vault, 0)).toEqual(chain.ops);
				expect(await store.lockboxesFor(chain.vault, second)).toEqual([lockboxes[1]]);
				const atZero = await store.lockboxesAt(chain.vault, 0);
				expect(atZero.sort((a, b) => a.recipient.localeCompare(b.recipient))).toEqual(
					lockboxes.sort((a, b) => a.recipient.localeCompare(b.recipient))
				);
			});

			it('returns byte fields exactly as they were put', async () => {
				const chain = new Chain(newVaultId());
				const ops = [chain.next('add')];
				const lockbox = chain.lockbox(chain.admin);
				await store.appendOps(chain.vault, { after: null, ops, head: chain.hashes[0], lockboxes: [lockbox] });
				expect(await store.lockboxesFor(chain.vault, chain.admin)).toEqual([lockbox]);
				const envelope = chain.envelope(chain.admin, 1, 0, 1000);
				await store.appendEnvelope(envelope);
				expect(await store.envelopes(chain.vault, 0, 10)).toEqual([{ seq: 1, envelope }]);
				const snapshot = chain.snapshot(1);
				await store.putSnapshot(snapshot);
				expect(await store.snapshot(chain.vault)).toEqual(snapshot);
				const { history } = await rotate(chain, newId(), [chain.admin]);
				expect(await store.history(chain.vault)).toEqual([history]);
			});

			it('reads ops from an index, at most `limit` of them', async () => {
				const { chain } = await createVault();
				for (let i = 0; i < 3; i++) {
					const after = chain.head;
					const op = chain.next('add');
					expect(await store.appendOps(chain.vault, { after, ops: [op], head: chain.hashes[op.index], lockboxes: [] })).toBe('appended');
				}
				expect(await store.ops(chain.vault, 2)).toEqual(chain.ops.slice(2));
				expect(await store.ops(chain.vault, 1, 2)).toEqual(chain.ops.slice(1, 3));
				expect(await store.ops(chain.vault, 5)).toEqual([]);
			});

			it('refuses to create a vault twice and writes nothing of the refused call', async () => {
				const { chain } = await createVault();
				const intruder = new Chain(chain.vault);
				const ops = [intruder.next('add')];
				const result = await store.appendOps(chain.vault, { after: null, ops, head: intruder.hashes[0], lockboxes: [intruder.lockbox(intruder.admin)] });
				expect(result).toBe('conflict');
				expect(await store.ops(chain.vault, 0)).toEqual(chain.ops);
				expect(await store.lockboxesFor(chain.vault, intruder.admin)).toEqual([]);
				expect(await store.vaultsOf(intruder.admin, 10)).toEqual([]);
			});

			it('appends only after the current head (compare-and-set on index and hash)', async () => {
				const { chain } = await createVault();
				const stale = chain.head!;
				const won = chain.next('add');
				expect(await store.appendOps(chain.vault, { after: stale, ops: [won], head: chain.hashes[2], lockboxes: [] })).toBe('appended');

				// A writer that replayed before `won` got in: same index, its own op.
				const lost = { ...won, sig: b64(64) };
				const late = await store.appendOps(chain.vault, { after: stale, ops: [lost], head: b64(32), lockboxes: [chain.lockbox(newId())] });
				expect(late).toBe('conflict');

				// The right index with the wrong hash.
				const next = chain.next('add');
				const forged = { index: 2, hash: b64(32) };
				expect(await store.appendOps(chain.vault, { after: forged, ops: [next], head: chain.hashes[3], lockboxes: [] })).toBe('conflict');
				chain.drop(1);

				expect(await store.ops(chain.vault, 0)).toEqual(chain.ops);
				expect(await store.lockboxesAt(chain.vault, 0)).toHaveLength(2);
			});

			it('lets exactly one of two racing appends on the same head win, across handles', async () => {
				const { chain } = await createVault();
				const other = await open();
				const after = chain.head!;
				const [a, b] = [chain.next('add'), chain.next('add')];
				const results = await Promise.all([
					store.appendOps(chain.vault, { after, ops: [a], head: chain.hashes[2], lockboxes: [] }),
					other.appendOps(chain.vault, { after, ops: [{ ...b, index: 2 }], head: b64(32), lockboxes: [] })
				]);
				expect(results.sort()).toEqual(['appended', 'conflict']);
				expect(await store.ops(chain.vault, 0)).toHaveLength(3);
			});

			it('throws on ops that are not numbered from the head or name another vault', async () => {
				const { chain } = await createVault();
				const after = chain.head;
				const op = chain.next('add');
				await expect(store.appendOps(chain.vault, { after, ops: [{ ...op, index: 5 }], head: b64(32), lockboxes: [] })).rejects.toThrow();
				await expect(store.appendOps(newVaultId(), { after, ops: [op], head: b64(32), lockboxes: [] })).rejects.toThrow();
				await expect(store.appendOps(chain.vault, { after, ops: [], head: b64(32), lockboxes: [] })).rejects.toThrow();
				expect(await store.ops(chain.vault, 0)).toHaveLength(2);
			});

			it('keeps the key history, lockboxes per epoch, and the member index through a removal', async () => {
				const { chain, second } = await createVault();
				expect(await store.vaultsOf(second, 10)).toEqual([chain.vault]);
				const { result, op } = await rotate(chain, second, [chain.admin]);
				expect(result).toBe('appended');
				expect(op.epoch).toBe(1);
				expect(await store.vaultsOf(second, 10)).toEqual([]);
				expect(await store.vaultsOf(chain.admin, 10)).toEqual([chain.vault]);
				expect((await store.history(chain.vault)).map((h) => h.epoch)).toEqual([1]);
				expect((await store.lockboxesFor(chain.vault, chain.admin)).map((l) => l.epoch)).toEqual([0, 1]);
				expect((await store.lockboxesFor(chain.vault, second)).map((l) => l.epoch)).toEqual([0]);
				expect((await store.lockboxesAt(chain.vault, 1)).map((l) => l.recipient)).toEqual([chain.admin]);
			});

			it('replaces a lockbox for the same recipient and epoch', async () => {
				const { chain, second } = await createVault();
				const after = chain.head;
				const op = chain.next('add');
				const again = chain.lockbox(second, 0);
				await store.appendOps(chain.vault, { after, ops: [op], head: chain.hashes[op.index], lockboxes: [again] });
				expect(await store.lockboxesFor(chain.vault, second)).toEqual([again]);
			});

			it('lists the vaults of a member in id order, at most `limit`', async () => {
				const chains = [new Chain(newVaultId()), new Chain(newVaultId()), new Chain(newVaultId())];
				const member = chains[0].admin;
				for (const chain of chains) {
					const c = new Chain(chain.vault, member);
					await store.appendOps(c.vault, { after: null, ops: [c.next('add')], head: c.hashes[0], lockboxes: [] });
				}
				const sorted = chains.map((c) => c.vault).sort();
				expect(await store.vaultsOf(member, 10)).toEqual(sorted);
				expect(await store.vaultsOf(member, 2)).toEqual(sorted.slice(0, 2));
			});
		});

		describe('envelopes', () => {
			it('starts every author at counter 1 and numbers envelopes 1, 2, … per vault', async () => {
				const { chain, second } = await createVault();
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 2))).toEqual({ status: 'bad_counter', expected: 1 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 1))).toEqual({ status: 'stored', seq: 1 });
				expect(await store.appendEnvelope(chain.envelope(second, 1))).toEqual({ status: 'stored', seq: 2 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 2))).toEqual({ status: 'stored', seq: 3 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 4))).toEqual({ status: 'bad_counter', expected: 3 });
				expect(await store.head(chain.vault)).toBe(3);

				const { chain: other } = await createVault();
				expect(await store.appendEnvelope(other.envelope(chain.admin, 1))).toEqual({ status: 'stored', seq: 1 });
			});

			it('reads envelopes after a seq, in order, at most `limit`', async () => {
				const { chain } = await createVault();
				const sent = [1, 2, 3, 4].map((counter) => chain.envelope(chain.admin, counter));
				for (const envelope of sent) await store.appendEnvelope(envelope);
				expect(await store.envelopes(chain.vault, 0, 10)).toEqual(sent.map((envelope, i) => ({ seq: i + 1, envelope })));
				expect(await store.envelopes(chain.vault, 1, 2)).toEqual([
					{ seq: 2, envelope: sent[1] },
					{ seq: 3, envelope: sent[2] }
				]);
				expect(await store.envelopes(chain.vault, 4, 10)).toEqual([]);
			});

			it('acknowledges an identical duplicate again and refuses a counter reused with other bytes', async () => {
				const { chain } = await createVault();
				const first = chain.envelope(chain.admin, 1);
				await store.appendEnvelope(first);
				await store.appendEnvelope(chain.envelope(chain.admin, 2));
				expect(await store.appendEnvelope({ ...first })).toEqual({ status: 'duplicate', seq: 1 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 1))).toEqual({ status: 'bad_counter', expected: 3 });
				expect(await store.head(chain.vault)).toBe(2);
				expect(await store.envelopes(chain.vault, 0, 10)).toHaveLength(2);
			});

			it('refuses an envelope of another epoch without using up its counter', async () => {
				const { chain, second } = await createVault();
				await rotate(chain, second, [chain.admin]);
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 1, 0))).toEqual({ status: 'stale_epoch', epoch: 1 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 1, 2))).toEqual({ status: 'stale_epoch', epoch: 1 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 1, 1))).toEqual({ status: 'stored', seq: 1 });
			});

			it('acknowledges a retry of an envelope accepted before a rotation', async () => {
				const { chain, second } = await createVault();
				const before = chain.envelope(chain.admin, 1, 0);
				await store.appendEnvelope(before);
				await rotate(chain, second, [chain.admin]);
				expect(await store.appendEnvelope(before)).toEqual({ status: 'duplicate', seq: 1 });
			});

			it('lets exactly one of two racing appends of the same counter win, across handles', async () => {
				const { chain } = await createVault();
				const other = await open();
				const results = await Promise.all([
					store.appendEnvelope(chain.envelope(chain.admin, 1)),
					other.appendEnvelope(chain.envelope(chain.admin, 1))
				]);
				expect(results.map((r) => r.status).sort()).toEqual(['bad_counter', 'stored']);
				expect(await store.head(chain.vault)).toBe(1);
				expect(await other.envelopes(chain.vault, 0, 10)).toHaveLength(1);
			});

			it('gives distinct, gapless seqs to many concurrent appends from several handles', async () => {
				const { chain } = await createVault();
				const handles = [store, await open(), await open()];
				const authors = handles.map(() => newId());
				// Each author's counters in order on its own handle; the authors interleave.
				const perAuthor = await Promise.all(
					authors.map(async (author, h) => {
						const results = [];
						for (let counter = 1; counter <= 5; counter++) results.push(await handles[h].appendEnvelope(chain.envelope(author, counter)));
						return results;
					})
				);
				const results = perAuthor.flat();
				const seqs = results.map((r) => (r.status === 'stored' ? r.seq : -1)).sort((a, b) => a - b);
				expect(seqs).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
			});

			it('counts the decoded bytes of every ciphertext against the vault', async () => {
				const { chain } = await createVault();
				await store.appendEnvelope(chain.envelope(chain.admin, 1, 0, 1000));
				await store.appendEnvelope(chain.envelope(chain.admin, 2, 0, 24));
				expect(await store.usage(chain.vault)).toBe(1024);
				await store.appendEnvelope(chain.envelope(chain.admin, 1, 0, 5000)); // refused: not counted
				expect(await store.usage(chain.vault)).toBe(1024);
			});

			it('decides appends in flight together in call order, each on its own, with mixed results', async () => {
				const { chain, second } = await createVault();
				const first = chain.envelope(chain.admin, 1);
				const stranger = new Chain(newVaultId());
				// Not awaited one by one: a store may commit these in one transaction.
				const settled = await Promise.allSettled([
					store.appendEnvelope(first),
					store.appendEnvelope({ ...first }),
					store.appendEnvelope(chain.envelope(chain.admin, 1)),
					store.appendEnvelope(chain.envelope(second, 1, 7)),
					store.appendEnvelope(stranger.envelope(stranger.admin, 1)),
					store.appendEnvelope(chain.envelope(chain.admin, 2)),
					store.appendEnvelope(chain.envelope(chain.admin, 4)),
					store.appendEnvelope(chain.envelope(second, 1))
				]);
				expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected'))).toEqual([
					{ status: 'stored', seq: 1 },
					{ status: 'duplicate', seq: 1 },
					{ status: 'bad_counter', expected: 2 },
					{ status: 'stale_epoch', epoch: 0 },
					'rejected', // unknown vault: only this one fails
					{ status: 'stored', seq: 2 },
					{ status: 'bad_counter', expected: 3 },
					{ status: 'stored', seq: 3 }
				]);
				expect((await store.envelopes(chain.vault, 0, 10)).map((e) => [e.seq, e.envelope.author, e.envelope.counter])).toEqual([
					[1, chain.admin, 1],
					[2, chain.admin, 2],
					[3, second, 1]
				]);
				expect(await store.usage(chain.vault)).toBe(3 * 64);
			});

			it('refuses an envelope that would take the vault past `quotaBytes`, counting those in flight', async () => {
				const { chain } = await createVault();
				const results = await Promise.all([1, 2, 3].map((counter) => store.appendEnvelope(chain.envelope(chain.admin, counter, 0, 100), 250)));
				expect(results).toEqual([{ status: 'stored', seq: 1 }, { status: 'stored', seq: 2 }, { status: 'quota' }]);
				expect(await store.usage(chain.vault)).toBe(200);
				// Up to the quota exactly is allowed; without a quota there is no limit.
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 3, 0, 50), 250)).toEqual({ status: 'stored', seq: 3 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 4, 0, 1), 250)).toEqual({ status: 'quota' });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 4, 0, 1))).toEqual({ status: 'stored', seq: 4 });
				// A snapshot frees what it covers.
				await store.putSnapshot(chain.snapshot(4, 0, 10));
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 5, 0, 100), 250)).toEqual({ status: 'stored', seq: 5 });
			});

			it('finishes appends in flight before closing, and they are there after reopening', async () => {
				const { chain } = await createVault();
				const pending = [1, 2, 3].map((counter) => store.appendEnvelope(chain.envelope(chain.admin, counter)));
				await store.close();
				expect(await Promise.all(pending)).toEqual([1, 2, 3].map((seq) => ({ status: 'stored', seq })));
				const reopened = await open();
				expect(await reopened.head(chain.vault)).toBe(3);
			});
		});

		describe('snapshots', () => {
			async function withEnvelopes(count: number) {
				const made = await createVault();
				for (let counter = 1; counter <= count; counter++) {
					await store.appendEnvelope(made.chain.envelope(made.chain.admin, counter, 0, 100));
				}
				return made;
			}

			it('keeps the newest snapshot and prunes the envelopes it covers, in one step', async () => {
				const { chain } = await withEnvelopes(5);
				const snapshot = chain.snapshot(3, 0, 250);
				expect(await store.putSnapshot(snapshot)).toEqual({ status: 'stored', pruned: 3 });
				expect(await store.snapshot(chain.vault)).toEqual(snapshot);
				expect((await store.envelopes(chain.vault, 0, 10)).map((e) => e.seq)).toEqual([4, 5]);
				expect(await store.head(chain.vault)).toBe(5);
				expect(await store.usage(chain.vault)).toBe(2 * 100 + 250);

				const newer = chain.snapshot(5, 0, 300);
				expect(await store.putSnapshot(newer)).toEqual({ status: 'stored', pruned: 2 });
				expect(await store.snapshot(chain.vault)).toEqual(newer);
				expect(await store.envelopes(chain.vault, 0, 10)).toEqual([]);
				expect(await store.usage(chain.vault)).toBe(300);
			});

			it('keeps counters and seqs going after a prune', async () => {
				const { chain } = await withEnvelopes(3);
				await store.putSnapshot(chain.snapshot(3));
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 1))).toEqual({ status: 'bad_counter', expected: 4 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 4))).toEqual({ status: 'stored', seq: 4 });
			});

			it("still recognises a retry of an author's last envelope after its bytes were pruned", async () => {
				const { chain } = await createVault();
				const first = chain.envelope(chain.admin, 1);
				const last = chain.envelope(chain.admin, 2);
				await store.appendEnvelope(first);
				await store.appendEnvelope(last);
				await store.putSnapshot(chain.snapshot(2));
				expect(await store.appendEnvelope(last)).toEqual({ status: 'duplicate', seq: 2 });
				expect(await store.appendEnvelope(chain.envelope(chain.admin, 2))).toEqual({ status: 'bad_counter', expected: 3 });
			});

			it('ignores a snapshot that covers no more than the current one', async () => {
				const { chain } = await withEnvelopes(4);
				const kept = chain.snapshot(3);
				await store.putSnapshot(kept);
				expect(await store.putSnapshot(chain.snapshot(3))).toEqual({ status: 'older' });
				expect(await store.putSnapshot(chain.snapshot(2))).toEqual({ status: 'older' });
				expect(await store.snapshot(chain.vault)).toEqual(kept);
				expect(await store.envelopes(chain.vault, 0, 10)).toHaveLength(1);
			});

			it('refuses a snapshot past the head or of another epoch, changing nothing', async () => {
				const { chain, second } = await withEnvelopes(2);
				expect(await store.putSnapshot(chain.snapshot(3))).toEqual({ status: 'ahead', head: 2 });
				await rotate(chain, second, [chain.admin]);
				expect(await store.putSnapshot(chain.snapshot(2, 0))).toEqual({ status: 'stale_epoch', epoch: 1 });
				expect(await store.snapshot(chain.vault)).toBeUndefined();
				expect(await store.envelopes(chain.vault, 0, 10)).toHaveLength(2);
				expect(await store.putSnapshot(chain.snapshot(2, 1))).toEqual({ status: 'stored', pruned: 2 });
			});
		});

		describe('members and durability', () => {
			it('records when a member was last seen', async () => {
				const member = newId();
				await store.seen(member, new Date('2026-11-26T10:00:00.000Z'));
				await store.seen(member, new Date('2026-11-26T11:30:00.000Z'));
				expect((await store.lastSeen(member))?.toISOString()).toBe('2026-11-26T11:30:00.000Z');
			});

			it('keeps everything across close and reopen', async () => {
				const { chain, second } = await createVault();
				const envelope = chain.envelope(chain.admin, 1);
				await store.appendEnvelope(envelope);
				await store.appendEnvelope(chain.envelope(chain.admin, 2));
				await store.putSnapshot(chain.snapshot(1));
				await rotate(chain, second, [chain.admin]);
				await store.seen(chain.admin, new Date(AT));
				const before = {
					ops: await store.ops(chain.vault, 0),
					lockboxes: await store.lockboxesFor(chain.vault, chain.admin),
					history: await store.history(chain.vault),
					envelopes: await store.envelopes(chain.vault, 0, 10),
					snapshot: await store.snapshot(chain.vault),
					usage: await store.usage(chain.vault)
				};
				await store.close();
				const reopened = await open();
				expect({
					ops: await reopened.ops(chain.vault, 0),
					lockboxes: await reopened.lockboxesFor(chain.vault, chain.admin),
					history: await reopened.history(chain.vault),
					envelopes: await reopened.envelopes(chain.vault, 0, 10),
					snapshot: await reopened.snapshot(chain.vault),
					usage: await reopened.usage(chain.vault)
				}).toEqual(before);
				expect(await reopened.head(chain.vault)).toBe(2);
				expect((await reopened.lastSeen(chain.admin))?.toISOString()).toBe(AT);
				expect(await reopened.appendEnvelope(envelope)).toEqual({ status: 'bad_counter', expected: 3 });
				expect(await reopened.appendEnvelope(chain.envelope(chain.admin, 3, 1))).toEqual({ status: 'stored', seq: 3 });
			});
		});
	});
}
