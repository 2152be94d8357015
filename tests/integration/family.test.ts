import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ForbiddenError, type Session } from '../../src/lib/client';
import { DEVICE_KEY, openCarnetDb } from '../../src/lib/client/db';
import type { OpenRecord } from '../../src/lib/client/record-handle';
import { ready } from '../../src/lib/core/crypto';
import { editEntry, setDeviceName } from '../../src/lib/core/record';
import { openEnvelope, parseInviteLink, sealEnvelope } from '../../src/lib/core/sync';
import { startRelay, type RelayProcess } from '../support/harness';
import { blankDevice, creator, PASSPHRASE, settle, snapshotOf, type TestDevice } from '../support/devices';
import { addVaccination, epochKeysOf, eventually, firstDevice, keysOf, nextDevice, vaccines } from '../support/family';
import { expectError, expectFrame, SyncClient } from '../support/sync-client';

// Family (docs/FAMILY.md) through the real relay process: a child's record held by two
// parents with two devices each, a read-only grandparent, removal of a parent, mutual
// removal, and the hand-over to the child come of age. Every device is the app's own client
// code over its own fake IndexedDB.

// Many devices per file: the passphrase KDF runs at its floor cost here (what it protects is
// tested in client-carnet.test.ts); recovery phrases stay distinct, the hand-over needs them.
vi.mock('../../src/lib/core/crypto/kdf', async (importOriginal) => {
	const actual = await importOriginal<typeof import('../../src/lib/core/crypto/kdf')>();
	return {
		...actual,
		newKdfParams: () => ({ ...actual.newKdfParams(), opsLimit: actual.KDF_MIN_OPS_LIMIT, memLimit: actual.KDF_MIN_MEM_LIMIT })
	};
});

const CHILD = { givenName: 'Léa', familyName: 'Quintard', birthDate: '2015-06-01' };

type Device = TestDevice & { session: Session };

describe('a child record held by two parents', () => {
	let relay: RelayProcess;
	const devices: TestDevice[] = [];
	const track = <T extends TestDevice>(device: T): T => {
		devices.push(device);
		return device;
	};

	beforeAll(async () => {
		await ready();
		relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
	}, 30_000);
	// Each test's devices go when it ends: the relay allows 32 sockets per address.
	afterEach(async () => {
		await Promise.allSettled(devices.splice(0).map((d) => d.session?.lock()));
	});
	afterAll(async () => {
		await relay?.stop();
	});

	/**
	 * Parent A (A1 creator of the child's record, A2 joined by a device invitation) and
	 * parent B (B1 with their own record, B2 joined likewise); B1 accepts A's guardian
	 * invitation, which adds B2 too.
	 */
	async function family(): Promise<{ a1: Device; a2: Device; b1: Device; b2: Device; child: string }> {
		const a1 = track(await firstDevice(relay.url, 'Julien', 'A1'));
		const child = await a1.session.createRecord(CHILD);
		await a1.session.sync.whenSynced(child);
		const a2 = track(await nextDevice(relay.url, a1.session, 'A2'));
		const b1 = track(await firstDevice(relay.url, 'Claire', 'B1'));
		const b2 = track(await nextDevice(relay.url, b1.session, 'B2'));
		const { link } = await a1.session.inviteMember(child, 'admin');
		expect(await b1.session.acceptInvite(link)).toEqual([child]);
		// B2 adopts the record by itself on its next connection (discovery).
		b2.session.sync.disconnect();
		b2.session.sync.connect();
		await eventually(() => b2.session.records().some((r) => r.vaultId === child));
		await settle([a1.session, a2.session, b1.session, b2.session], child);
		return { a1, a2, b1, b2, child };
	}

	it('invites the other parent, whose second device adopts the record by itself; all four edit and converge', async () => {
		const a1 = track(await firstDevice(relay.url, 'Julien', 'A1'));
		expect(a1.session.person()).toEqual({ id: a1.session.deviceId, name: 'Julien Quintard' });
		const child = await a1.session.createRecord(CHILD);
		await a1.session.sync.whenSynced(child);
		const a2 = track(await nextDevice(relay.url, a1.session, 'A2'));
		expect(a2.session.person()).toEqual(a1.session.person());
		const b1 = track(await firstDevice(relay.url, 'Claire', 'B1'));
		const b2 = track(await nextDevice(relay.url, b1.session, 'B2'));
		expect(b2.session.person()).toEqual({ id: b1.session.deviceId, name: 'Claire Quintard' });

		const { link, expiresAt } = await a1.session.inviteMember(child, 'admin');
		const parsed = parseInviteLink(link);
		expect(parsed.ok && parsed.invite.forPerson).toBe(true);
		expect(parsed.ok && parsed.invite.vaults).toEqual([child]);
		expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(29 * 60_000);
		expect(await b1.session.acceptInvite(link)).toEqual([child]);
		expect(b1.session.role(child)).toBe('admin');
		// A's own record was never touched: an invitation names one vault.
		expect(b1.session.records().map((r) => r.vaultId)).not.toContain(a1.vaultId);

		// B1 wrote its entry and B2's: A sees both parents at once, B2 before it even connects.
		await a1.session.sync.whenSynced(child);
		const seen = await a1.session.people(child);
		const byName = Object.fromEntries(seen.map((p) => [p.name, p]));
		expect(Object.keys(byName)).toEqual(expect.arrayContaining(['Claire Quintard', 'Julien Quintard']));
		expect(byName['Julien Quintard']).toMatchObject({ personId: a1.session.deviceId, role: 'guardian', thisPerson: true });
		expect(byName['Julien Quintard'].devices.map((d) => d.name)).toEqual(['A1', 'A2']);
		expect(byName['Claire Quintard']).toMatchObject({ personId: b1.session.deviceId, role: 'guardian', thisPerson: false });
		expect(byName['Claire Quintard'].devices.map((d) => d.name)).toEqual(['B1', 'B2']);
		expect(seen.filter((p) => p.role === 'recovery')).toHaveLength(1);

		b2.session.sync.disconnect();
		b2.session.sync.connect();
		await eventually(() => b2.session.records().some((r) => r.vaultId === child && r.name === 'Léa Quintard'));
		expect(b2.session.role(child)).toBe('admin');

		const sessions = [a1.session, a2.session, b1.session, b2.session];
		const records = await Promise.all(sessions.map((s) => s.open(child)));
		await addVaccination(records[0], 'ROR');
		await addVaccination(records[3], 'DTP');
		await settle(sessions, child);
		for (const record of records) expect(vaccines(record)).toEqual(['DTP', 'ROR']);
		const dtp = records[0].view().sections.vaccinations.find((v) => v.vaccine === 'DTP')!;
		expect(records[0].view().authorName(dtp.createdBy)).toMatchObject({ person: 'Claire Quintard', device: 'B2' });

		// Random offline edits on the four devices, then all back: the same document everywhere.
		const edit = fc.record({ device: fc.integer({ min: 0, max: 3 }), vaccine: fc.stringMatching(/^[A-Z]{2,6}$/), lot: fc.option(fc.stringMatching(/^[A-Z0-9]{1,6}$/)) });
		await fc.assert(
			fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
				for (const session of sessions) session.sync.disconnect();
				for (const { device, vaccine, lot } of edits) {
					const record = records[device];
					const existing = record.view().sections.vaccinations[0];
					if (lot !== null && existing !== undefined) {
						await record.change((doc, ctx) => editEntry(doc, 'vaccinations', existing.id, { lot }, ctx));
					} else {
						await addVaccination(record, vaccine);
					}
				}
				for (const session of sessions) session.sync.connect();
				await settle(sessions, child);
				const [first, ...others] = records.map(snapshotOf);
				for (const other of others) expect(other).toEqual(first);
			}),
			{ numRuns: 5 }
		);
	}, 180_000);

	it('concurrent edits of the same field resolve alike everywhere, and the other value shows as a conflict with its author', async () => {
		const { a1, a2, b1, b2, child } = await family();
		const sessions = [a1.session, a2.session, b1.session, b2.session];
		const records = await Promise.all(sessions.map((s) => s.open(child)));
		const id = await addVaccination(records[0], 'ROR', 'AB100');
		await settle(sessions, child);

		a1.session.sync.disconnect();
		b1.session.sync.disconnect();
		await records[0].change((doc, ctx) => editEntry(doc, 'vaccinations', id, { lot: 'AB123' }, ctx));
		await records[2].change((doc, ctx) => editEntry(doc, 'vaccinations', id, { lot: 'CD456' }, ctx));
		a1.session.sync.connect();
		b1.session.sync.connect();
		await settle(sessions, child);

		const lots = records.map((r) => r.view().sections.vaccinations.find((v) => v.id === id)!.lot);
		expect(new Set(lots).size).toBe(1);
		const shown = lots[0];
		const lost = shown === 'AB123' ? { lot: 'CD456', person: 'Claire Quintard', device: 'B1' } : { lot: 'AB123', person: 'Julien Quintard', device: 'A1' };
		for (const record of records) {
			const view = record.view();
			const [conflict] = view.conflicts('vaccinations', id);
			expect(conflict.differences).toEqual([{ name: 'lot', value: lost.lot }]);
			expect(view.authorName(conflict.author)).toMatchObject({ person: lost.person, device: lost.device });
		}
	}, 120_000);

	it('a read-only grandparent reads; its writes are refused by the client before storing, and by the relay when forced', async () => {
		const a1 = track(await firstDevice(relay.url, 'Julien', 'A1'));
		const child = await a1.session.createRecord(CHILD);
		const ra = await a1.session.open(child);
		await addVaccination(ra, 'BCG');
		await a1.session.sync.whenSynced(child);
		const c1 = track(await firstDevice(relay.url, 'Odette', 'C1'));
		const { link } = await a1.session.inviteMember(child, 'reader');
		expect(await c1.session.acceptInvite(link)).toEqual([child]);
		expect(c1.session.role(child)).toBe('reader');
		expect(c1.session.role(c1.vaultId)).toBe('admin');
		const rc = await c1.session.open(child);
		expect(vaccines(rc)).toEqual(['BCG']);

		const before = snapshotOf(rc);
		await expect(addVaccination(rc, 'ROR')).rejects.toBeInstanceOf(ForbiddenError);
		await expect(addVaccination(rc, 'ROR')).rejects.toMatchObject({ code: 'forbidden' });
		expect(snapshotOf(rc)).toEqual(before);
		expect(c1.session.sync.status(child).pending).toBe(0);
		await expect(c1.session.inviteMember(child, 'reader')).rejects.toBeInstanceOf(ForbiddenError);
		await expect(c1.session.inviteDevice([child])).rejects.toBeInstanceOf(ForbiddenError);

		// Live: A's next vaccination reaches the reader.
		await addVaccination(ra, 'DTP');
		await eventually(() => vaccines(rc).includes('DTP'));

		// Forced: an envelope sealed by C1's own keys with the current key, past the client.
		const keys = epochKeysOf(c1.session, child);
		const epoch = Math.max(...keys.keys());
		const member = await keysOf(c1);
		const client = await SyncClient.connect(relay.url);
		try {
			expectFrame(await client.auth(member), 'ok');
			const envelope = sealEnvelope({ vault: child, epoch, key: keys.get(epoch)!, author: member.sign, counter: 1, changes: new Uint8Array([1, 2, 3]) });
			expectError(await client.request({ type: 'push', envelope }), 'forbidden');
		} finally {
			await client.close();
		}

		// The grandparent shows as a reader person, by id (a reader cannot write its entry).
		const grand = (await a1.session.people(child)).find((p) => p.devices.some((d) => d.memberId === c1.session.deviceId));
		expect(grand).toMatchObject({ role: 'reader', thisPerson: false });
		const asSeen = (await c1.session.people(child)).find((p) => p.role === 'reader');
		expect(asSeen?.thisPerson).toBe(true);
	}, 120_000);

	it('removing a parent: the relay refuses both of their devices at once, and they cannot read what is written after', async () => {
		const { a1, a2, b1, b2, child } = await family();
		const ra = await a1.session.open(child);
		await expect(a1.session.removePerson(child, a1.session.person().id)).rejects.toBeInstanceOf(ForbiddenError);
		const recovery = (await a1.session.people(child)).find((p) => p.role === 'recovery')!;
		await expect(a1.session.removePerson(child, recovery.personId)).rejects.toBeInstanceOf(ForbiddenError);

		const keysBefore = epochKeysOf(a1.session, child).size;
		await a1.session.removePerson(child, b1.session.person().id);
		for (const b of [b1, b2]) await eventually(() => b.session.sync.status(child).error === 'revoked');
		expect((await a1.session.people(child)).map((p) => p.name).sort()).toEqual(['Julien Quintard', recovery.name].sort());
		// Two devices removed: two rotations.
		expect(epochKeysOf(a1.session, child).size).toBe(keysBefore + 2);

		await addVaccination(ra, 'Secret');
		await settle([a1.session, a2.session], child);
		// The newest envelope, as A1 pulls it from the relay.
		const memberA = await keysOf(a1);
		const client = await SyncClient.connect(relay.url);
		let newest: Parameters<typeof openEnvelope>[0];
		try {
			expectFrame(await client.auth(memberA), 'ok');
			const batch = expectFrame(await client.request({ type: 'pull', vault: child, since: 0 }), 'batch');
			newest = batch.envelopes.at(-1)!.envelope;
		} finally {
			await client.close();
		}
		expect(() => openEnvelope(newest, epochKeysOf(a1.session, child).get(newest.epoch)!)).not.toThrow();
		for (const b of [b1, b2]) {
			const held = epochKeysOf(b.session, child);
			expect(Math.max(...held.keys())).toBeLessThan(newest.epoch);
			for (const key of held.values()) expect(() => openEnvelope(newest, key)).toThrow();
		}
		// And the relay refuses B's devices outright.
		const memberB = await keysOf(b2);
		const refused = await SyncClient.connect(relay.url);
		try {
			expectError(await refused.auth(memberB, child), 'not_member');
		} finally {
			await refused.close();
		}
		const rb = await b1.session.open(child);
		expect(vaccines(rb)).not.toContain('Secret');
	}, 120_000);

	it('a guardian whose device claims to be another person in the record is shown as who it is, and can be removed', async () => {
		const { a1, b2, child } = await family();
		// The child's record was created by A: an entry B writes there cannot make B2 one of A's devices.
		const rb2 = await b2.session.open(child);
		await rb2.change((doc) => setDeviceName(doc, b2.session.deviceId, 'A3', a1.session.person()));
		await settle([a1.session, b2.session], child);
		const shown = await a1.session.people(child);
		expect(shown.find((p) => p.thisPerson)?.devices.map((d) => d.memberId)).not.toContain(b2.session.deviceId);
		const claimed = shown.find((p) => p.personId === b2.session.deviceId);
		expect(claimed).toMatchObject({ role: 'guardian', thisPerson: false });
		await a1.session.removePerson(child, claimed!.personId);
		await eventually(() => b2.session.sync.status(child).error === 'revoked');
	}, 120_000);

	it('mutual removal at the same time: the first removal the relay orders wins, the other parent is out and sees the record revoked', async () => {
		const { a1, b1, child } = await family();
		const outcomes = await Promise.allSettled([
			a1.session.removePerson(child, b1.session.person().id),
			b1.session.removePerson(child, a1.session.person().id)
		]);
		const won = outcomes.findIndex((o) => o.status === 'fulfilled');
		expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
		const [winner, loser] = won === 0 ? [a1, b1] : [b1, a1];
		const failure = outcomes[1 - won] as PromiseRejectedResult;
		expect(failure.reason).toMatchObject({ code: 'revoked' });
		await eventually(() => loser.session.sync.status(child).error === 'revoked');
		const left = await winner.session.people(child);
		expect(left.filter((p) => p.role !== 'recovery').map((p) => p.personId)).toEqual([winner.session.person().id]);
		expect(left.flatMap((p) => p.devices).some((d) => d.memberId === loser.session.deviceId)).toBe(false);
	}, 120_000);

	it('hand-over: the child alone holds the record with their own recovery key, and the whole history', async () => {
		const { a1, a2, b1, b2, child } = await family();
		const ra = await a1.session.open(child);
		const rb = await b1.session.open(child);
		await addVaccination(ra, 'ROR');
		await addVaccination(rb, 'DTP');
		await settle([a1.session, b1.session], child);
		const c1 = track(await firstDevice(relay.url, 'Odette', 'C1'));
		await c1.session.acceptInvite((await a1.session.inviteMember(child, 'reader')).link);
		await expect(c1.session.handOver(child)).rejects.toBeInstanceOf(ForbiddenError);

		const d = track(await firstDevice(relay.url, 'Léa', 'Phone of Léa'));
		await d.session.acceptInvite((await b1.session.inviteMember(child, 'admin')).link);
		// A parent's device claims, in the record itself, to be one of Léa's: it goes all the same.
		const rb2 = await b2.session.open(child);
		await rb2.change((doc) => setDeviceName(doc, b2.session.deviceId, 'Phone of Léa (2)', d.session.person()));
		await settle([b2.session, d.session], child);
		// Léa's device does not take the claim: that device shows as a person of its own.
		const shown = await d.session.people(child);
		expect(shown.find((p) => p.thisPerson)?.devices.map((x) => x.memberId)).toEqual([d.session.deviceId]);
		expect(shown.find((p) => p.personId === b2.session.deviceId)).toMatchObject({ role: 'guardian', thisPerson: false });
		const summary = await d.session.handOver(child);

		expect(summary).toEqual({
			since: new Date().toISOString().slice(0, 10),
			entries: 2,
			documents: 0,
			authors: ['Claire Quintard', 'Julien Quintard']
		});
		const members = await d.session.devices(child);
		const db = await openCarnetDb(d.factory, 'carnet');
		const entry = await db.get('device', DEVICE_KEY);
		db.close();
		expect(members.map((m) => [m.memberId, m.role]).sort()).toEqual(
			[
				[d.session.deviceId, 'admin'],
				[entry!.recoveryId, 'recovery']
			].sort()
		);
		for (const other of [a1, a2, b1, b2, c1]) await eventually(() => other.session.sync.status(child).error === 'revoked');
		const rd = await d.session.open(child);
		expect(vaccines(rd)).toEqual(['DTP', 'ROR']);
		expect(rd.view().identity?.givenName).toBe('Léa');
		// The child writes on; the parents' devices get nothing of it.
		await addVaccination(rd, 'HPV');
		await d.session.sync.whenSynced(child);
		expect(vaccines(ra)).not.toContain('HPV');
	}, 180_000);

	it("a device restored from the phrase belongs to the creator's person; a blank device refuses another person's invitation", async () => {
		const a1 = track(await firstDevice(relay.url, 'Julien', 'A1'));
		const restored = track(await blankDevice(relay.url));
		restored.session = (await restored.carnet.restore(a1.recoveryPhrase, PASSPHRASE, 'New phone')).session;
		expect(restored.session.person()).toEqual(a1.session.person());
		const { link } = await a1.session.inviteMember(a1.vaultId, 'admin');
		const blank = await blankDevice(relay.url);
		await expect(blank.carnet.join(link, PASSPHRASE, 'Phone')).rejects.toMatchObject({ code: 'person_invite' });
		expect(await blank.carnet.hasDevice()).toBe(false);
	}, 60_000);

	it('devices set up before people existed keep working with the fallback person', async () => {
		const old = track(await creator(relay.url, 'Ancien'));
		await old.session.renameThisDevice('Old laptop');
		// Back to an entry and a record written before this change: no person anywhere.
		const record = (await old.session.open(old.vaultId)) as OpenRecord;
		await record.change((doc) => {
			delete (doc as unknown as { devices: Record<string, unknown> }).devices[old.session.deviceId];
			setDeviceName(doc, old.session.deviceId, 'Old laptop');
		});
		await old.session.sync.whenSynced(old.vaultId);
		await old.session.lock();
		const db = await openCarnetDb(old.factory, 'carnet');
		const entry = (await db.get('device', DEVICE_KEY))!;
		delete entry.person;
		await db.put('device', entry, DEVICE_KEY);
		db.close();

		old.carnet = await old.reload();
		old.session = await old.carnet.unlock(PASSPHRASE);
		expect(old.session.person()).toEqual({ id: old.session.deviceId, name: 'Old laptop' });
		const people = await old.session.people(old.vaultId);
		expect(people.find((p) => p.thisPerson)).toMatchObject({ personId: old.session.deviceId, name: 'Old laptop' });
		// It invites and is invited as before.
		const child = await old.session.createRecord(CHILD);
		await old.session.sync.whenSynced(child);
		const b1 = track(await firstDevice(relay.url, 'Claire', 'B1'));
		await b1.session.acceptInvite((await old.session.inviteMember(child, 'admin')).link);
		await addVaccination(await b1.session.open(child), 'ROR');
		await settle([old.session, b1.session], child);
		expect(vaccines(await old.session.open(child))).toEqual(['ROR']);
	}, 120_000);
});
