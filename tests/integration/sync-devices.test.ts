import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InviteExpiredError, InviteUsedError, InvalidLinkError } from '../../src/lib/client';
import { openCarnetDb } from '../../src/lib/client/db';
import { ready } from '../../src/lib/core/crypto';
import { editEntry } from '../../src/lib/core/record';
import { inviteLink, parseInviteLink } from '../../src/lib/core/sync';
import { startRelay, type RelayProcess } from '../support/harness';
import { addAllergy, allergies, blankDevice, creator, joiner, PASSPHRASE, settle, snapshotOf, until, type TestDevice } from '../support/devices';

// Devices of one patient syncing through the real relay process: linked with invitations,
// editing live and offline, reloading mid-sync. Each device is the app's own client code over
// its own fake IndexedDB.

describe('sync between the devices of one patient', () => {
	let relay: RelayProcess;
	const devices: TestDevice[] = [];

	/** Registers a device to lock after the file. */
	const track = <T extends TestDevice>(device: T): T => {
		devices.push(device);
		return device;
	};

	beforeAll(async () => {
		await ready();
		relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
	}, 30_000);
	afterAll(async () => {
		await Promise.allSettled(devices.map((d) => d.session?.lock()));
		await relay?.stop();
	});

	it('links a second device with an invitation; edits travel both ways, live', async () => {
		const a = track(await creator(relay.url));
		const { link, expiresAt } = await a.session.inviteDevice();
		expect(link.startsWith(`${relay.url}/link#carnet-invite:/`)).toBe(true);
		expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(9 * 60_000);
		const b = track(await blankDevice(relay.url));
		const seen: string[] = [];
		b.session = (await b.carnet.join(link, PASSPHRASE, 'Second phone', (vaultId, status) => seen.push(`${vaultId}:${status.state}`))).session;
		expect(seen).toContain(`${a.vaultId}:synced`);
		expect(b.session.records()).toEqual(a.session.records());
		const ra = await a.session.open(a.vaultId);
		const rb = await b.session!.open(a.vaultId);
		expect(rb.view().identity).toEqual(ra.view().identity);
		expect(b.session.sync.status(a.vaultId)).toEqual({ state: 'synced', pending: 0 });

		await addAllergy(ra, 'Pénicilline');
		await until(rb, () => allergies(rb).includes('Pénicilline'));
		await addAllergy(rb, 'Arachide');
		await until(ra, () => allergies(ra).includes('Arachide'));
		await settle([a.session, b.session], a.vaultId);
		expect(snapshotOf(rb)).toEqual(snapshotOf(ra));
	});

	it('three devices editing offline, the same entry too, converge once back online', async () => {
		const a = track(await creator(relay.url));
		await a.session.renameThisDevice('Laptop');
		const b = track(await joiner(relay.url, (await a.session.inviteDevice()).link, 'Phone'));
		const c = track(await joiner(relay.url, (await b.session.inviteDevice()).link, 'Tablet'));
		const sessions = [a.session, b.session, c.session];
		const records = await Promise.all(sessions.map((s) => s.open(a.vaultId)));
		const shared = await addAllergy(records[0], 'Latex');
		await settle(sessions, a.vaultId);
		expect(records.map(allergies)).toEqual([['Latex'], ['Latex'], ['Latex']]);

		for (const session of sessions) session.sync.disconnect();
		for (const [i, record] of records.entries()) {
			await addAllergy(record, `Offline ${i}`);
			await record.change((doc, ctx) => editEntry(doc, 'allergies', shared, { reaction: `seen by ${i}` }, ctx));
			expect(sessions[i].sync.status(a.vaultId)).toMatchObject({ state: 'offline', pending: 2 });
		}
		for (const session of sessions) session.sync.connect();
		await settle(sessions, a.vaultId);
		const [first, ...others] = records.map(snapshotOf);
		for (const other of others) expect(other).toEqual(first);
		expect(allergies(records[0])).toEqual(['Latex', 'Offline 0', 'Offline 1', 'Offline 2']);

		const list = await c.session.devices(a.vaultId);
		const named = Object.fromEntries(list.map((m) => [m.name ?? m.kind, m]));
		expect(Object.keys(named).sort()).toEqual(['Laptop', 'Phone', 'Tablet', 'recovery']);
		expect(named.Tablet.thisDevice).toBe(true);
		expect(named.Laptop).toMatchObject({ memberId: a.session.deviceId, role: 'admin', kind: 'device', thisDevice: false });
		expect(named.recovery.role).toBe('recovery');
		for (const name of ['Laptop', 'Phone', 'Tablet']) expect(Date.now() - Date.parse(named[name].lastSeen!)).toBeLessThan(60_000);
	});

	it('survives a reload in the middle of sending: the outbox goes out again with the same counters', async () => {
		const a = track(await creator(relay.url));
		const b = track(await joiner(relay.url, (await a.session.inviteDevice()).link));
		const ra = await a.session.open(a.vaultId);
		// A relay that reads nothing: the batches leave the outbox for the socket, no ack comes back.
		relay.process.kill('SIGSTOP');
		const names = Array.from({ length: 20 }, (_, i) => `Burst ${i}`);
		try {
			for (const name of names) {
				await addAllergy(ra, name);
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
			await ra.flush();
			expect(a.session.sync.status(a.vaultId)).toMatchObject({ state: 'sending', pending: 20 });
			// The reload: the page and its database connection go with every batch unacknowledged.
			const db = await openCarnetDb(a.factory, 'carnet');
			expect(await db.count('outbox')).toBeGreaterThan(0);
			db.close();
			a.carnet.close();
			a.session.sync.disconnect();
		} finally {
			relay.process.kill('SIGCONT');
		}
		const before = a.session;
		a.carnet = await a.reload();
		a.session = await a.carnet.unlock(PASSPHRASE);
		await settle([a.session, b.session], a.vaultId);
		const rb = await b.session.open(a.vaultId);
		expect(allergies(rb)).toEqual([...names].sort());
		// Resent batches the relay had already stored were acknowledged again, not refused.
		expect(a.session.sync.issues(a.vaultId)).toEqual([]);
		expect(snapshotOf(rb)).toEqual(snapshotOf(await a.session.open(a.vaultId)));
		await before.lock();
	});

	it('adds a record created offline, later, to a device already linked', async () => {
		const a = track(await creator(relay.url));
		const b = track(await joiner(relay.url, (await a.session.inviteDevice()).link));
		a.session.sync.disconnect();
		const child = await a.session.createRecord({ givenName: 'Léopold', familyName: 'Rochebrune', birthDate: '2019-11-02' });
		await addAllergy(await a.session.open(child), 'Kiwi');
		expect(a.session.sync.status(child).state).toBe('offline');
		a.session.sync.connect();
		await a.session.sync.whenSynced(child);
		const { link } = await a.session.inviteDevice([child]);
		expect(await b.session.acceptInvite(link)).toEqual([child]);
		expect(b.session.records().map((r) => r.name).sort()).toEqual(['Anaïs Quintard', 'Léopold Rochebrune']);
		expect(allergies(await b.session.open(child))).toEqual(['Kiwi']);
	});

	it('refuses an invitation used twice, an expired one, and text that is not one', async () => {
		const a = track(await creator(relay.url));
		const { link } = await a.session.inviteDevice();
		track(await joiner(relay.url, link));
		const late = await blankDevice(relay.url);
		await expect(late.carnet.join(link, PASSPHRASE, 'Late')).rejects.toBeInstanceOf(InviteUsedError);
		const parsed = parseInviteLink((await a.session.inviteDevice()).link);
		if (!parsed.ok) throw new Error('the app made an unreadable link');
		const expired = inviteLink(relay.url, { ...parsed.invite, expires: new Date(Date.now() - 1000) });
		await expect(late.carnet.join(expired, PASSPHRASE, 'Late')).rejects.toBeInstanceOf(InviteExpiredError);
		for (const bad of ['', 'carnet-invite:/AAAA', `${relay.url}/link#carnet-invite:/${'x'.repeat(40)}`, 'https://example.org/']) {
			await expect(late.carnet.join(bad, PASSPHRASE, 'Late')).rejects.toMatchObject({ code: 'invalid_link' });
		}
		await expect(late.carnet.join('nonsense', PASSPHRASE, 'Late')).rejects.toBeInstanceOf(InvalidLinkError);
		expect(await late.carnet.hasDevice()).toBe(false);
	});
});
