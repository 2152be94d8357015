import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrongRecoveryPhraseError, type Session } from '../../src/lib/client';
import type { Engine } from '../../src/lib/client/sync/engine';
import { newRecoveryPhrase, ready } from '../../src/lib/core/crypto';
import type { Envelope } from '../../src/lib/core/protocol';
import { openEnvelope } from '../../src/lib/core/sync';
import { databaseBytes, startRelay, type RelayProcess } from '../support/harness';
import {
	addAllergy,
	allergies,
	blankDevice,
	creator,
	freePort,
	joiner,
	PASSPHRASE,
	settle,
	snapshotOf,
	until,
	type TestDevice
} from '../support/devices';

// What a relay, or someone with its disk, cannot do to a record: alter what it stores
// (invariant 4), keep a removed device in (invariant 5), read a byte of it (invariant 1).
// The relay runs on a fixed port so that devices find it again after a restart.

interface EnvelopeRow {
	seq: number;
	author: string;
	counter: number;
	epoch: number;
	ciphertext: Buffer;
	sig: Buffer;
}

describe('sync integrity', () => {
	let relay: RelayProcess;
	const outputs: string[] = [];
	const devices: TestDevice[] = [];
	/** Every string typed into a record in this file: none may reach the relay's disk or logs. */
	const plaintexts: string[] = ['Anaïs', 'Quintard'];

	const track = <T extends TestDevice>(device: T): T => {
		devices.push(device);
		return device;
	};
	/** A distinctive allergy name, remembered for the final search. */
	const secret = (what: string) => {
		const text = `${what} ${randomBytes(4).toString('hex')}`;
		plaintexts.push(text);
		return text;
	};
	const sqlitePath = () => join(relay.dataDir, 'carnet.sqlite');

	/** Kills the relay, lets `edit` change its database file, and starts it again on the same port. */
	async function tamper(edit: (db: InstanceType<typeof Database>) => void): Promise<void> {
		await relay.crash();
		outputs.push(relay.output());
		const db = new Database(sqlitePath());
		try {
			edit(db);
		} finally {
			db.close();
		}
		relay = await relay.restart();
	}

	/** The relay's newest stored envelope of a vault, read from its database as it lies on disk. */
	function lastEnvelope(vault: string): { seq: number; envelope: Envelope } {
		const db = new Database(sqlitePath(), { readonly: true });
		try {
			const row = db.prepare('SELECT * FROM envelopes WHERE vault = ? ORDER BY seq DESC LIMIT 1').get(vault) as EnvelopeRow;
			const envelope: Envelope = {
				v: 1,
				vault,
				epoch: row.epoch,
				author: row.author,
				counter: row.counter,
				ciphertext: row.ciphertext.toString('base64url'),
				sig: row.sig.toString('base64url')
			};
			return { seq: row.seq, envelope };
		} finally {
			db.close();
		}
	}

	/** A linked pair: `a` created the record, `b` joined it. */
	async function pair() {
		const a = track(await creator(relay.url));
		const b = track(await joiner(relay.url, (await a.session.inviteDevice()).link));
		return { a, b, ra: await a.session.open(a.vaultId), rb: await b.session.open(a.vaultId) };
	}

	const flip = (blob: Buffer) => {
		const copy = Buffer.from(blob);
		copy[copy.length >> 1] ^= 0x01;
		return copy;
	};

	beforeAll(async () => {
		await ready();
		relay = await startRelay({ PORT: String(await freePort()), RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
	}, 30_000);
	afterAll(async () => {
		await Promise.allSettled(devices.map((d) => d.session?.lock()));
		await relay?.stop();
	});

	it("rejects a flipped byte in a stored envelope, and one passed off as a non-writer's, with clear errors; the rest loads and syncs", async () => {
		const { a, b, ra, rb } = await pair();
		const base = secret('Base allergy');
		await addAllergy(ra, base);
		await settle([a.session, b.session], a.vaultId);
		b.session.sync.disconnect();
		await addAllergy(ra, secret('Altered on the relay'));
		await a.session.sync.whenSynced(a.vaultId);
		const altered = lastEnvelope(a.vaultId).seq;
		await addAllergy(ra, secret('Passed off as the recovery key'));
		await a.session.sync.whenSynced(a.vaultId);
		const misattributed = lastEnvelope(a.vaultId).seq;
		const recoveryId = (await a.session.devices(a.vaultId)).find((m) => m.kind === 'recovery')!.memberId;
		await tamper((db) => {
			const row = db.prepare('SELECT ciphertext FROM envelopes WHERE vault = ? AND seq = ?').get(a.vaultId, altered) as { ciphertext: Buffer };
			db.prepare('UPDATE envelopes SET ciphertext = ? WHERE vault = ? AND seq = ?').run(flip(row.ciphertext), a.vaultId, altered);
			// The recovery key may not write: whoever signed, the device must not apply it.
			db.prepare('UPDATE envelopes SET author = ? WHERE vault = ? AND seq = ?').run(recoveryId, a.vaultId, misattributed);
		});

		b.session.sync.connect();
		a.session.sync.connect();
		await b.session.sync.whenSynced(a.vaultId);
		expect(b.session.sync.issues(a.vaultId)).toEqual([
			expect.objectContaining({ code: 'corrupt_envelope', seq: altered }),
			expect.objectContaining({ code: 'forbidden_author', seq: misattributed })
		]);
		expect(b.session.sync.status(a.vaultId)).toEqual({ state: 'synced', pending: 0, error: 'forbidden_author' });
		expect(allergies(rb)).toEqual([base]);
		const after = secret('Written after the damage');
		await addAllergy(rb, after);
		await until(ra, () => allergies(ra).includes(after));
	});

	it('rejects a flipped byte in a stored snapshot; the device keeps its record and syncs on', async () => {
		const { a, b, ra, rb } = await pair();
		const base = secret('Before the snapshot');
		await addAllergy(ra, base);
		await settle([a.session, b.session], a.vaultId);
		b.session.sync.disconnect();
		// Enough envelopes for the writer to snapshot, which lets the relay prune the log.
		for (let i = 0; i < 210; i++) {
			await addAllergy(ra, `Reading ${i}`);
			await new Promise((resolve) => setTimeout(resolve, 1));
		}
		await a.session.sync.whenSynced(a.vaultId);
		const snapshotOn = () => {
			const db = new Database(sqlitePath(), { readonly: true });
			try {
				return db.prepare('SELECT covers_seq FROM snapshots WHERE vault = ?').get(a.vaultId) !== undefined;
			} finally {
				db.close();
			}
		};
		for (let i = 0; i < 100 && !snapshotOn(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
		expect(snapshotOn()).toBe(true);
		await tamper((db) => {
			const row = db.prepare('SELECT ciphertext FROM snapshots WHERE vault = ?').get(a.vaultId) as { ciphertext: Buffer };
			db.prepare('UPDATE snapshots SET ciphertext = ? WHERE vault = ?').run(flip(row.ciphertext), a.vaultId);
		});

		b.session.sync.connect();
		a.session.sync.connect();
		await b.session.sync.whenSynced(a.vaultId);
		expect(b.session.sync.issues(a.vaultId).map((i) => i.code)).toContain('corrupt_snapshot');
		expect(b.session.sync.status(a.vaultId).error).toBe('corrupt_snapshot');
		expect(allergies(rb)).toContain(base);
		const after = secret('Still syncing');
		await addAllergy(rb, after);
		await until(ra, () => allergies(ra).includes(after));
	});

	it('refuses a removed device at once; it cannot decrypt anything written after', async () => {
		const { a, b, ra, rb } = await pair();
		const c = track(await joiner(relay.url, (await a.session.inviteDevice()).link, 'Third'));
		const rc = await c.session.open(a.vaultId);
		await addAllergy(ra, secret('Known to all three'));
		await settle([a.session, b.session, c.session], a.vaultId);

		await a.session.removeDevice(a.vaultId, b.session.deviceId);
		await expect.poll(() => b.session.sync.status(a.vaultId).state).toBe('error');
		expect(b.session.sync.status(a.vaultId).error).toBe('revoked');
		expect((await a.session.devices(a.vaultId)).map((m) => m.memberId)).not.toContain(b.session.deviceId);

		const after = secret('Written after the removal');
		await addAllergy(ra, after);
		await until(rc, () => allergies(rc).includes(after));
		await a.session.sync.whenSynced(a.vaultId);
		const { envelope } = lastEnvelope(a.vaultId);
		const removedKeys = (b.session.sync as Engine).epochKeys(a.vaultId);
		expect(removedKeys.has(envelope.epoch)).toBe(false);
		for (const key of removedKeys.values()) expect(() => openEnvelope(envelope, key)).toThrow();
		const remainingKey = (c.session.sync as Engine).epochKeys(a.vaultId).get(envelope.epoch)!;
		expect(new TextDecoder().decode(openEnvelope(envelope, remainingKey))).toContain(after);

		// Reconnecting changes nothing: the relay refuses it.
		b.session.sync.connect();
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(b.session.sync.status(a.vaultId)).toMatchObject({ state: 'error', error: 'revoked' });
		expect(allergies(rb)).not.toContain(after);
	});

	it('re-seals what it queued before a rotation under the new key, with the same counters', async () => {
		const { a, b, ra } = await pair();
		const c = track(await joiner(relay.url, (await a.session.inviteDevice()).link, 'Third'));
		const rc = await c.session.open(a.vaultId);
		await settle([a.session, b.session, c.session], a.vaultId);
		// C seals two batches at epoch 0 that never reach the relay: it reads nothing while
		// stopped, and dies (kill -9) with them unread.
		relay.process.kill('SIGSTOP');
		const queued = [secret('Queued before the rotation'), secret('Queued too')];
		for (const text of queued) {
			await addAllergy(rc, text);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		expect(c.session.sync.status(a.vaultId)).toMatchObject({ state: 'sending', pending: 2 });
		c.session.sync.disconnect();
		await tamper(() => {});
		a.session.sync.connect();
		await a.session.removeDevice(a.vaultId, b.session.deviceId);

		c.session.sync.connect();
		await settle([a.session, c.session], a.vaultId);
		for (const text of queued) expect(allergies(ra)).toContain(text);
		expect(c.session.sync.issues(a.vaultId)).toEqual([]);
		const db = new Database(sqlitePath(), { readonly: true });
		try {
			const rows = db
				.prepare('SELECT counter, epoch FROM envelopes WHERE vault = ? AND author = ? ORDER BY counter')
				.all(a.vaultId, c.session.deviceId) as { counter: number; epoch: number }[];
			// Its rename when it joined, then the two batches: no counter skipped or used twice.
			expect(rows.map((r) => r.counter)).toEqual(rows.map((_, i) => i + 1));
			expect(rows.slice(-2).map((r) => r.epoch)).toEqual([1, 1]);
		} finally {
			db.close();
		}
	});

	it('restores every record on a brand-new device from the recovery phrase, and re-keys a device that lost its passphrase', async () => {
		const a = track(await creator(relay.url));
		const child = await a.session.createRecord({ givenName: 'Léopold', familyName: 'Rochebrune', birthDate: '2019-11-02' });
		plaintexts.push('Léopold', 'Rochebrune');
		await addAllergy(await a.session.open(a.vaultId), secret('Mother allergy'));
		await addAllergy(await a.session.open(child), secret('Child allergy'));
		await settle([a.session], a.vaultId);
		await settle([a.session], child);

		const restored = track(await blankDevice(relay.url));
		const { session } = await restored.carnet.restore(a.recoveryPhrase, PASSPHRASE, 'Restored phone');
		restored.session = session;
		expect(session.records()).toEqual(a.session.records());
		for (const vaultId of [a.vaultId, child]) {
			expect(snapshotOf(await session.open(vaultId)).view).toEqual(snapshotOf(await a.session.open(vaultId)).view);
		}
		const names = (await a.session.devices(a.vaultId)).map((m) => m.name);
		expect(names).toContain('Restored phone');
		await expect((await blankDevice(relay.url)).carnet.restore(newRecoveryPhrase(), PASSPHRASE, 'x')).rejects.toBeInstanceOf(
			WrongRecoveryPhraseError
		);

		// The first device forgets its passphrase: recover re-keys it, on the relay too.
		const oldId = a.session.deviceId;
		await a.session.lock();
		const recovered: Session = await a.carnet.recover(a.recoveryPhrase, 'a new passphrase');
		a.session = recovered;
		const members = (await session.devices(a.vaultId)).map((m) => m.memberId);
		expect(members).toContain(recovered.deviceId);
		expect(members).not.toContain(oldId);
		const fromRecovered = secret('Written after recover');
		await addAllergy(await recovered.open(a.vaultId), fromRecovered);
		const onRestored = await session.open(a.vaultId);
		await until(onRestored, () => allergies(onRestored).includes(fromRecovered));
	});

	it('keeps every plaintext out of the relay database and logs', async () => {
		outputs.push(relay.output());
		const everything = Buffer.concat([databaseBytes(relay), Buffer.from(outputs.join('\n'))]);
		expect(everything.length).toBeGreaterThan(10_000);
		for (const text of plaintexts) expect(everything.includes(Buffer.from(text)), text).toBe(false);
	});
});
