/**
 * The behaviour every relay `ShareStore` must have (relay/store/shares.ts), as one vitest
 * suite each implementation runs on its own database: `describeShareStore('sqlite', …)`,
 * later PostgreSQL. A store trusts its caller, so the values here are random stand-ins of
 * the right shape (the passcode hash is an opaque string to the store).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShareOpen, ShareStore, ShareWrite } from '../../relay/store/shares';

/** One empty database for one test; `open` may be called again for a second handle on it. */
export interface TestShareDatabase {
	open(): Promise<ShareStore>;
	destroy(): Promise<void>;
}

const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');
const newLink = () => b64(32);
const newVault = () => b64(16);
const T0 = new Date('2026-11-26T10:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const jwe = (length = 40) => `eyJhbGciOiJkaXIifQ..${b64(12)}.${'A'.repeat(length)}.${b64(16)}`;

/** A share as the relay would write it: one file, no passcode, unless told. */
function share(overrides: Partial<ShareWrite> = {}): ShareWrite {
	return {
		exp: null,
		flag: '',
		passcodeHash: null,
		attempts: 3,
		resetAttempts: false,
		maxUses: null,
		label: b64(40),
		contributionTokenHash: null,
		files: [{ contentType: 'application/fhir+json', jwe: jwe() }],
		...overrides
	};
}

/** Opening options: nothing embedded, one ticket hash per possible file. */
function opening(overrides: Partial<ShareOpen> = {}): ShareOpen {
	return { at: T0, refund: false, ticketHashes: [b64(32), b64(32)], ticketExpiresAt: later(3_600_000), ...overrides };
}

/** Registers the suite for one implementation; `makeDatabase` makes a fresh, empty database per test. */
export function describeShareStore(name: string, makeDatabase: () => Promise<TestShareDatabase>): void {
	describe(`ShareStore conformance: ${name}`, () => {
		let database: TestShareDatabase;
		let handles: ShareStore[];
		let store: ShareStore;
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

		describe('publishing', () => {
			it('creates, then updates a share of the same vault, and gives its fields back', async () => {
				const vault = newVault();
				const id = newLink();
				const first = share({ exp: 1_900_000_000, flag: 'L', maxUses: 5, contributionTokenHash: b64(32) });
				expect(await store.putShare(vault, id, first, T0)).toBe('created');
				expect(await store.share(id)).toEqual({
					id,
					vault,
					exp: 1_900_000_000,
					flag: 'L',
					passcodeHash: null,
					attemptsLeft: 3,
					maxUses: 5,
					uses: 0,
					label: first.label,
					contributionTokenHash: first.contributionTokenHash,
					revoked: false,
					createdAt: T0
				});
				const second = share({ flag: 'P', passcodeHash: '$argon2id$x', resetAttempts: true, attempts: 7 });
				expect(await store.putShare(vault, id, second, later(1000))).toBe('updated');
				expect(await store.share(id)).toMatchObject({ flag: 'P', passcodeHash: '$argon2id$x', attemptsLeft: 7, maxUses: null, createdAt: T0 });
				expect(await store.share(newLink())).toBeUndefined();
			});

			it('keeps uses and attempts on a repeated publication unless told to reset attempts', async () => {
				const vault = newVault();
				const id = newLink();
				const guarded = share({ flag: 'P', passcodeHash: 'h', attempts: 3 });
				await store.putShare(vault, id, guarded, T0);
				await store.reserveAttempt(id, T0);
				await store.openShare(id, opening({ refund: true }));
				await store.reserveAttempt(id, T0);
				expect(await store.share(id)).toMatchObject({ uses: 1, attemptsLeft: 2 });
				await store.putShare(vault, id, { ...guarded, attempts: 10 }, T0);
				expect(await store.share(id)).toMatchObject({ uses: 1, attemptsLeft: 2 });
				await store.putShare(vault, id, { ...guarded, attempts: 10, resetAttempts: true }, T0);
				expect(await store.share(id)).toMatchObject({ uses: 1, attemptsLeft: 10 });
			});

			it('replaces the files', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share({ files: [{ contentType: 'a/b', jwe: jwe() }, { contentType: 'c/d', jwe: jwe() }] }), T0);
				const replaced = share({ files: [{ contentType: 'e/f', jwe: jwe(10) }] });
				await store.putShare(vault, id, replaced, T0);
				const opened = await store.openShare(id, opening({ embeddedLengthMax: 10_000 }));
				expect(opened).toEqual({ status: 'opened', vault, files: [{ contentType: 'e/f', embedded: replaced.files[0].jwe }] });
			});

			it('refuses an id of another vault, and a revoked id, writing nothing', async () => {
				const vault = newVault();
				const id = newLink();
				const original = share();
				await store.putShare(vault, id, original, T0);
				expect(await store.putShare(newVault(), id, share(), T0)).toBe('conflict');
				expect(await store.share(id)).toMatchObject({ vault, label: original.label });
				expect(await store.revokeShare(vault, id, T0)).toBe('revoked');
				expect(await store.putShare(vault, id, share(), T0)).toBe('conflict');
				expect(await store.share(id)).toMatchObject({ revoked: true });
			});

			it('lists the shares of a vault, oldest first, revoked ones included', async () => {
				const vault = newVault();
				const [a, b] = [newLink(), newLink()];
				await store.putShare(vault, a, share(), T0);
				await store.putShare(vault, b, share(), later(1));
				await store.putShare(newVault(), newLink(), share(), T0);
				await store.revokeShare(vault, a, later(2));
				const listed = await store.shares(vault);
				expect(listed.map((s) => [s.id, s.revoked])).toEqual([
					[a, true],
					[b, false]
				]);
				expect(await store.shares(newVault())).toEqual([]);
			});
		});

		describe('revocation', () => {
			it('makes the link inactive and deletes its files and tickets at once', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share(), T0);
				const ticket = b64(32);
				await store.openShare(id, opening({ ticketHashes: [ticket] }));
				expect(await store.ticketFile(id, ticket, T0)).toBeDefined();
				expect(await store.revokeShare(vault, id, T0)).toBe('revoked');
				expect(await store.ticketFile(id, ticket, T0)).toBeUndefined();
				expect(await store.openShare(id, opening())).toEqual({ status: 'inactive', vault });
				expect(await store.revokeShare(vault, id, later(5))).toBe('revoked');
			});

			it('leaves a tombstone for an unknown id, so a late publication cannot bring it back', async () => {
				const vault = newVault();
				const id = newLink();
				expect(await store.revokeShare(vault, id, T0)).toBe('revoked');
				expect(await store.putShare(vault, id, share(), T0)).toBe('conflict');
				expect(await store.openShare(id, opening())).toEqual({ status: 'inactive', vault });
			});

			it('refuses to revoke an id of another vault', async () => {
				const id = newLink();
				await store.putShare(newVault(), id, share(), T0);
				expect(await store.revokeShare(newVault(), id, T0)).toBe('conflict');
				expect(await store.share(id)).toMatchObject({ revoked: false });
			});
		});

		describe('opening and passcode attempts', () => {
			it('is unknown for an unknown link', async () => {
				expect(await store.reserveAttempt(newLink(), T0)).toEqual({ status: 'unknown' });
				expect(await store.openShare(newLink(), opening())).toEqual({ status: 'unknown' });
			});

			it('embeds files up to embeddedLengthMax and issues tickets for the others', async () => {
				const vault = newVault();
				const id = newLink();
				const small = jwe(10);
				const big = jwe(5000);
				await store.putShare(vault, id, share({ files: [{ contentType: 'a/b', jwe: small }, { contentType: 'c/d', jwe: big }] }), T0);
				const tickets = [b64(32), b64(32)];
				const opened = await store.openShare(id, opening({ embeddedLengthMax: small.length, ticketHashes: tickets }));
				expect(opened).toEqual({
					status: 'opened',
					vault,
					files: [
						{ contentType: 'a/b', embedded: small },
						{ contentType: 'c/d', ticket: 1 }
					]
				});
				expect(await store.ticketFile(id, tickets[1], T0)).toEqual({ contentType: 'c/d', jwe: big });
				expect(await store.ticketFile(id, tickets[0], T0)).toBeUndefined();
				expect(await store.ticketFile(newLink(), tickets[1], T0)).toBeUndefined();
				const none = await store.openShare(id, opening());
				expect(none.status === 'opened' && none.files.every((f) => 'ticket' in f)).toBe(true);
			});

			it('serves a ticket only until it expires', async () => {
				const id = newLink();
				await store.putShare(newVault(), id, share(), T0);
				const ticket = b64(32);
				await store.openShare(id, opening({ ticketHashes: [ticket], ticketExpiresAt: later(1000) }));
				expect(await store.ticketFile(id, ticket, later(999))).toBeDefined();
				expect(await store.ticketFile(id, ticket, later(1000))).toBeUndefined();
			});

			it('counts uses up to maxUses, then the link is inactive', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share({ maxUses: 2 }), T0);
				expect((await store.openShare(id, opening())).status).toBe('opened');
				expect((await store.openShare(id, opening())).status).toBe('opened');
				expect(await store.openShare(id, opening())).toEqual({ status: 'inactive', vault });
				expect(await store.share(id)).toMatchObject({ uses: 2 });
			});

			it('is inactive from the expiry second on, and may purge the files then', async () => {
				const vault = newVault();
				const id = newLink();
				const exp = T0.getTime() / 1000 + 60;
				await store.putShare(vault, id, share({ exp }), T0);
				const ticket = b64(32);
				expect((await store.openShare(id, opening({ at: later(59_999), ticketHashes: [ticket] }))).status).toBe('opened');
				expect(await store.openShare(id, opening({ at: later(60_000) }))).toEqual({ status: 'inactive', vault });
				expect(await store.ticketFile(id, ticket, later(60_000))).toBeUndefined();
			});

			it('reserves attempts down to zero, then the link is inactive; a refund gives one back', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share({ flag: 'P', passcodeHash: 'hash', attempts: 3 }), T0);
				expect(await store.reserveAttempt(id, T0)).toEqual({ status: 'reserved', vault, passcodeHash: 'hash', attemptsLeft: 2 });
				expect((await store.openShare(id, opening({ refund: true }))).status).toBe('opened');
				expect(await store.share(id)).toMatchObject({ attemptsLeft: 3, uses: 1 });
				for (const left of [2, 1, 0]) expect(await store.reserveAttempt(id, T0)).toMatchObject({ status: 'reserved', attemptsLeft: left });
				expect(await store.reserveAttempt(id, T0)).toEqual({ status: 'inactive', vault });
				expect(await store.openShare(id, opening())).toEqual({ status: 'inactive', vault });
			});

			it('never hands out more attempts than the budget to calls in flight together, across handles', async () => {
				const id = newLink();
				await store.putShare(newVault(), id, share({ flag: 'P', passcodeHash: 'hash', attempts: 3 }), T0);
				const other = await open();
				const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).reserveAttempt(id, T0)));
				expect(results.filter((r) => r.status === 'reserved')).toHaveLength(3);
				expect(results.filter((r) => r.status === 'inactive')).toHaveLength(7);
			});

			it('does not open a passcode link without the reserved attempt being refunded', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share({ flag: 'P', passcodeHash: 'hash' }), T0);
				expect(await store.openShare(id, opening())).toEqual({ status: 'inactive', vault });
				expect(await store.share(id)).toMatchObject({ uses: 0 });
			});

			it('has no attempt to reserve on a link without a passcode', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share(), T0);
				expect(await store.reserveAttempt(id, T0)).toEqual({ status: 'inactive', vault });
			});
		});

		describe('access log', () => {
			it('numbers events 1, 2, … per vault and reads them after a seq, oldest first, at most limit', async () => {
				const [v1, v2] = [newVault(), newVault()];
				const share1 = newLink();
				const entry = (i: number) => ({ share: share1, at: later(i), recipient: `Dr ${i}`, outcome: 'opened' as const });
				expect(await store.logAccess(v1, entry(1))).toBe(1);
				expect(await store.logAccess(v1, { ...entry(2), outcome: 'wrong_passcode' })).toBe(2);
				expect(await store.logAccess(v2, entry(3))).toBe(1);
				expect(await store.logAccess(v1, { ...entry(4), outcome: 'refused' })).toBe(3);
				expect(await store.accessLog(v1, 0, 10)).toEqual([
					{ seq: 1, ...entry(1) },
					{ seq: 2, ...entry(2), outcome: 'wrong_passcode' },
					{ seq: 3, ...entry(4), outcome: 'refused' }
				]);
				expect((await store.accessLog(v1, 1, 1)).map((e) => e.seq)).toEqual([2]);
				expect(await store.accessLog(v1, 3, 10)).toEqual([]);
				expect(await store.accessLog(newVault(), 0, 10)).toEqual([]);
			});
		});

		describe('contributions', () => {
			it('stores sealed bytes for an active link that allows them, numbered per vault', async () => {
				const vault = newVault();
				const id = newLink();
				await store.putShare(vault, id, share({ contributionTokenHash: b64(32) }), T0);
				const sealed = new Uint8Array(randomBytes(100));
				expect(await store.addContribution(id, { id: 'c1', at: T0, sealed })).toEqual({ status: 'stored', vault, seq: 1 });
				expect(await store.addContribution(id, { id: 'c2', at: later(1), sealed: new Uint8Array(3) })).toEqual({ status: 'stored', vault, seq: 2 });
				expect(await store.contributions(vault, 0, 10)).toEqual([
					{ seq: 1, id: 'c1', share: id, at: T0, bytes: 100 },
					{ seq: 2, id: 'c2', share: id, at: later(1), bytes: 3 }
				]);
				expect(await store.contributions(vault, 1, 10)).toHaveLength(1);
				expect(await store.contribution(vault, 'c1')).toEqual(sealed);
				expect(await store.contribution(newVault(), 'c1')).toBeUndefined();
				expect(await store.contribution(vault, 'nope')).toBeUndefined();
			});

			it('refuses unknown, revoked or expired links and links without contributions', async () => {
				const vault = newVault();
				const sealed = new Uint8Array(1);
				expect(await store.addContribution(newLink(), { id: 'a', at: T0, sealed })).toEqual({ status: 'inactive' });
				const plain = newLink();
				await store.putShare(vault, plain, share(), T0);
				expect(await store.addContribution(plain, { id: 'b', at: T0, sealed })).toEqual({ status: 'inactive' });
				const expiring = newLink();
				await store.putShare(vault, expiring, share({ exp: T0.getTime() / 1000 + 1, contributionTokenHash: b64(32) }), T0);
				expect(await store.addContribution(expiring, { id: 'c', at: later(1000), sealed })).toEqual({ status: 'inactive' });
				const revoked = newLink();
				await store.putShare(vault, revoked, share({ contributionTokenHash: b64(32) }), T0);
				await store.revokeShare(vault, revoked, T0);
				expect(await store.addContribution(revoked, { id: 'd', at: T0, sealed })).toEqual({ status: 'inactive' });
				expect(await store.contributions(vault, 0, 10)).toEqual([]);
			});
		});

		it('keeps everything across close and reopen', async () => {
			const vault = newVault();
			const id = newLink();
			await store.putShare(vault, id, share({ flag: 'P', passcodeHash: 'h', contributionTokenHash: b64(32) }), T0);
			await store.reserveAttempt(id, T0);
			const ticket = b64(32);
			await store.openShare(id, opening({ refund: true, ticketHashes: [ticket] }));
			await store.logAccess(vault, { share: id, at: T0, recipient: 'Dr A', outcome: 'opened' });
			await store.addContribution(id, { id: 'c1', at: T0, sealed: new Uint8Array([1, 2, 3]) });
			const before = [await store.share(id), await store.accessLog(vault, 0, 10), await store.contributions(vault, 0, 10)];
			await store.close();
			const reopened = await open();
			expect([await reopened.share(id), await reopened.accessLog(vault, 0, 10), await reopened.contributions(vault, 0, 10)]).toEqual(before);
			expect(await reopened.ticketFile(id, ticket, T0)).toBeDefined();
			expect(await reopened.logAccess(vault, { share: id, at: T0, recipient: 'Dr B', outcome: 'refused' })).toBe(2);
		});
	});
}
