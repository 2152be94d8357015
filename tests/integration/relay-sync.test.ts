import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newRecoveryPhrase, ready, utf8Decode } from '../../src/lib/core/crypto';
import { MAX_FRAME_BYTES } from '../../src/lib/core/protocol';
import { addOp, makeLockbox, openEnvelope, openSnapshot, sealEnvelope, signAuth } from '../../src/lib/core/sync';
import { databaseBytes, startRelay, type RelayProcess } from '../support/harness';
import { expectError, expectFrame, newMember, recoveryMember, SyncClient, TestRecord, type Member } from '../support/sync-client';

// The sync protocol of docs/SYNC.md against the real relay process: one relay for the file,
// a fresh vault per test. Every plaintext put in an envelope is remembered, and the last
// test searches the relay's database files and logs for each of them (invariant 1).

describe('relay sync', () => {
	let relay: RelayProcess;
	let clients: SyncClient[] = [];
	const plaintexts: string[] = [];
	const vaultIds: string[] = [];

	/** A distinctive plaintext for an envelope, remembered for the final search. */
	const secret = (what: string) => {
		const text = `${what} ${nodeRandomBytes(6).toString('hex')}`;
		plaintexts.push(text);
		return text;
	};

	/** A socket to the relay, authenticated as `member` (for `vault`) when given. */
	async function connect(member?: Member, vault?: string): Promise<SyncClient> {
		const client = await SyncClient.connect(relay.url);
		clients.push(client);
		if (member) expectFrame(await client.auth(member, vault), 'ok');
		return client;
	}

	/** A new vault registered by admin `admin` (with a recovery key), and the admin's socket. */
	async function newVault(recovery = newMember()) {
		const admin = newMember();
		const record = new TestRecord();
		const socket = await connect(admin);
		expectFrame(await socket.request(record.create(admin, recovery)), 'ok');
		vaultIds.push(record.id);
		return { record, admin, recovery, socket };
	}

	/** Adds `member` with `role` through the admin's socket. */
	async function enrol(vault: { record: TestRecord; admin: Member; socket: SyncClient }, role: 'admin' | 'reader' = 'admin') {
		const member = newMember();
		expectFrame(await vault.socket.request(vault.record.add(vault.admin, member, role)), 'ok');
		return member;
	}

	/** Lets frames in flight arrive, to assert that something did not. */
	const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

	beforeAll(async () => {
		await ready();
		relay = await startRelay();
	}, 30_000);
	afterEach(async () => {
		for (const client of clients) expect(client.offProtocol).toEqual([]);
		await Promise.all(clients.map((client) => client.close()));
		clients = [];
	});
	afterAll(async () => {
		await relay?.stop();
	});

	it('syncs two members live and a third device from seq 0', async () => {
		const vault = await newVault();
		const { record, admin, socket: a } = vault;
		const second = await enrol(vault);
		const b = await connect(second, record.id);
		expectFrame(await a.request({ type: 'subscribe', vault: record.id }), 'ok');
		expectFrame(await b.request({ type: 'subscribe', vault: record.id }), 'ok');

		const fromA = record.envelope(admin, secret('Allergy: penicillin, anaphylaxis'));
		expect(expectFrame(await a.request({ type: 'push', envelope: fromA }), 'ack').seq).toBe(1);
		const live = expectFrame(await b.next((f) => f.type === 'envelope'), 'envelope');
		expect(live).toEqual({ type: 'envelope', seq: 1, envelope: fromA });
		const keys = record.keysFrom(second, await b.request({ type: 'keys', vault: record.id }));
		expect(utf8Decode(openEnvelope(live.envelope, keys.get(0)!))).toContain('penicillin');

		const fromB = record.envelope(second, secret('Treatment: levothyroxine 50 µg'));
		expect(expectFrame(await b.request({ type: 'push', envelope: fromB }), 'ack').seq).toBe(2);
		expect(await a.next((f) => f.type === 'envelope')).toEqual({ type: 'envelope', seq: 2, envelope: fromB });
		await settle();
		expect(a.unsolicited).toEqual([]); // its own envelope is not echoed back
		expect(b.unsolicited).toEqual([]);

		const third = await enrol(vault);
		const c = await connect(third, record.id);
		const batch = expectFrame(await c.request({ type: 'pull', vault: record.id, since: 0 }), 'batch');
		expect(batch).toMatchObject({ head: 2, envelopes: [{ seq: 1, envelope: fromA }, { seq: 2, envelope: fromB }] });
		expect(batch.snapshot).toBeUndefined();
		const paged = expectFrame(await c.request({ type: 'pull', vault: record.id, since: 0, limit: 1 }), 'batch');
		expect(paged.envelopes.map((e) => e.seq)).toEqual([1]);
		const chain = expectFrame(await c.request({ type: 'membership', vault: record.id, since: 2 }), 'membership');
		expect(chain.ops.map((op) => op.index)).toEqual([2, 3]);
	});

	it('enforces counters: from 1, no gaps, identical retries acked again, reuse refused', async () => {
		const { record, admin, socket } = await newVault();
		const push = (envelope: ReturnType<TestRecord['envelope']>) => socket.request({ type: 'push', envelope });
		const skipped = record.envelope(admin, secret('skipped'), { counter: 2 });
		expect(expectError(await push(skipped), 'bad_counter').expected).toBe(1);
		const first = record.envelope(admin, secret('Vaccination: tetanus booster'), { counter: 1 });
		expect(expectFrame(await push(first), 'ack').seq).toBe(1);
		expect(expectFrame(await push(first), 'ack').seq).toBe(1);
		const reuse = record.envelope(admin, secret('other bytes, same counter'), { counter: 1 });
		expect(expectError(await push(reuse), 'bad_counter').expected).toBe(2);
		expect(expectFrame(await push(record.envelope(admin, secret('next'), { counter: 2 })), 'ack').seq).toBe(2);
	});

	it('refuses an envelope of the previous epoch after a rotation; the same counter goes through re-encrypted', async () => {
		const vault = await newVault();
		const { record, admin, socket } = vault;
		const writer = await enrol(vault);
		const leaving = await enrol(vault);
		const w = await connect(writer, record.id);
		const text = secret('Blood pressure 128/82');
		const stale = record.envelope(writer, text); // sealed before the writer learns of the rotation
		expectFrame(await socket.request(record.remove(admin, leaving)), 'ok');

		expectError(await w.request({ type: 'push', envelope: stale }), 'stale_epoch');
		const keys = record.keysFrom(writer, await w.request({ type: 'keys', vault: record.id }));
		expect([...keys.keys()].sort()).toEqual([0, 1]);
		const again = sealEnvelope({ vault: record.id, epoch: 1, key: keys.get(1)!, author: writer.sign, counter: stale.counter, changes: new TextEncoder().encode(text) });
		expect(expectFrame(await w.request({ type: 'push', envelope: again }), 'ack').seq).toBe(1);
	});

	it('drops a removed member at once: revoked on its live socket, not_member afterwards', async () => {
		const vault = await newVault();
		const { record, admin, socket: a } = vault;
		const stays = await enrol(vault);
		const removed = await enrol(vault);
		const s = await connect(stays, record.id);
		const r = await connect(removed, record.id);
		for (const client of [a, s, r]) expectFrame(await client.request({ type: 'subscribe', vault: record.id }), 'ok');

		const rotation = record.remove(admin, removed);
		expectFrame(await a.request(rotation), 'ok');
		expect(await r.next((f) => f.type === 'revoked')).toEqual({ type: 'revoked', vault: record.id });
		const pushed = expectFrame(await s.next((f) => f.type === 'membership'), 'membership');
		expect(pushed.ops).toEqual([rotation.op]);

		expect(expectFrame(await a.request({ type: 'push', envelope: record.envelope(admin, secret('written after the removal')) }), 'ack').seq).toBe(1);
		await s.next((f) => f.type === 'envelope');
		await settle();
		expect(r.unsolicited).toEqual([]); // neither the envelope nor the membership change
		for (const frame of [
			{ type: 'pull', vault: record.id, since: 0 },
			{ type: 'keys', vault: record.id },
			{ type: 'subscribe', vault: record.id },
			{ type: 'membership', vault: record.id, since: 0 }
		]) {
			expectError(await r.request(frame), 'not_member');
		}
		expectError(await r.request({ type: 'push', envelope: record.envelope(removed, secret('from the removed'), { epoch: 0 }) }), 'not_member');
		expectError(await (await connect()).auth(removed, record.id), 'not_member');
	});

	it('refuses strangers and unauthenticated sockets', async () => {
		const { record } = await newVault();
		const anonymous = await connect();
		expectError(await anonymous.request({ type: 'pull', vault: record.id, since: 0 }), 'unauthenticated');

		const stranger = newMember();
		const s = await connect();
		expect(expectFrame(await s.auth(stranger), 'ok').vaults).toEqual([]);
		expectError(await s.auth(stranger, record.id), 'not_member');
		expectError(await s.request({ type: 'pull', vault: record.id, since: 0 }), 'not_member');
		expectError(await s.request({ type: 'subscribe', vault: record.id }), 'not_member');
		const forged = sealEnvelope({ vault: record.id, epoch: 0, key: new Uint8Array(32), author: stranger.sign, counter: 1, changes: new TextEncoder().encode(secret('stranger')) });
		expectError(await s.request({ type: 'push', envelope: forged }), 'not_member');
		// An unknown vault answers like a vault of others.
		expectError(await s.request({ type: 'pull', vault: new TestRecord().id, since: 0 }), 'not_member');
	});

	it("refuses a reader's push and snapshot but lets it read", async () => {
		const vault = await newVault();
		const { record, admin, socket } = vault;
		expectFrame(await socket.request({ type: 'push', envelope: record.envelope(admin, secret('Condition: asthma')) }), 'ack');
		const reader = await enrol(vault, 'reader');
		const g = await connect(reader, record.id);
		expectError(await g.request({ type: 'push', envelope: record.envelope(reader, secret('from a reader')) }), 'forbidden');
		expectError(await g.request({ type: 'snapshot', snapshot: record.snapshot(reader, secret('reader snapshot'), 1) }), 'forbidden');
		expect(expectFrame(await g.request({ type: 'pull', vault: record.id, since: 0 }), 'batch').envelopes).toHaveLength(1);
		expect(record.keysFrom(reader, await g.request({ type: 'keys', vault: record.id })).get(0)).toEqual(record.keys.get(0));
	});

	it('refuses forged signatures on envelopes, auth and ops', async () => {
		const vault = await newVault();
		const { record, admin, socket } = vault;
		const genuine = record.envelope(admin, secret('Surgery: appendectomy 2009'));
		const flipped = { ...genuine, ciphertext: (genuine.ciphertext[0] === 'A' ? 'B' : 'A') + genuine.ciphertext.slice(1) };
		expectError(await socket.request({ type: 'push', envelope: flipped }), 'bad_signature');
		const impostor = newMember();
		const signedByOther = sealEnvelope({ vault: record.id, epoch: 0, key: record.keys.get(0)!, author: impostor.sign, counter: 1, changes: new Uint8Array(8) });
		expectError(await socket.request({ type: 'push', envelope: { ...signedByOther, author: admin.id } }), 'bad_signature');
		expect(expectFrame(await socket.request({ type: 'push', envelope: genuine }), 'ack').seq).toBe(1);

		// Another socket's challenge does not open this one.
		const other = await connect();
		const replayed = signAuth(admin.sign, socket.nonce, record.id);
		expectError(await other.request({ type: 'auth', ...replayed }), 'bad_signature');
		// A push as a member this socket did not authenticate.
		const writer = await enrol(vault);
		expectError(await other.request({ type: 'push', envelope: record.envelope(writer, secret('not authenticated')) }), 'unauthenticated');

		const newcomer = newMember();
		const op = addOp(record.state, admin.sign, { ...newcomer.ref, role: 'admin' }, new Date());
		const tampered = { ...op, member: { ...op.member, role: 'reader' as const } };
		expectError(await socket.request({ type: 'append', vault: record.id, op: tampered }), 'bad_signature');
		// A lockbox signed by someone who may not hand out keys (a relay could forge this one).
		const forgedKey = record.lockbox(impostor, newcomer);
		expectError(await socket.request({ type: 'append', vault: record.id, op, lockboxes: [forgedKey] }), 'bad_signature');
		expect(expectFrame(await socket.request({ type: 'membership', vault: record.id, since: 0 }), 'membership').ops).toHaveLength(3);
	});

	it('answers malformed frames with bad_frame or too_large and keeps the socket', async () => {
		const { record, socket } = await newVault();
		socket.sendRaw('this is not JSON');
		expect(expectError(await socket.next((f) => f.type === 'error'), 'bad_frame').id).toBeUndefined();
		socket.sendRaw(JSON.stringify({ type: 'teleport', id: 77, vault: record.id }));
		expect(expectError(await socket.answer(77), 'bad_frame').id).toBe(77);
		expectError(await socket.request({ type: 'pull', vault: record.id }), 'bad_frame');
		expectError(await socket.request({ type: 'pull', vault: record.id, since: 0, extra: true }), 'bad_frame');
		expectError(await socket.request({ type: 'pull', vault: 'not base64url!', since: 0 }), 'bad_frame');
		socket.sendRaw(JSON.stringify({ type: 'pull', id: 99, vault: record.id, since: 0, pad: 'x'.repeat(MAX_FRAME_BYTES) }));
		expectError(await socket.next((f) => f.type === 'error'), 'too_large');
		socket.sendRaw(Buffer.from([1, 2, 3]));
		expectError(await socket.next((f) => f.type === 'error'), 'bad_frame');
		expect(expectFrame(await socket.request({ type: 'pull', vault: record.id, since: 0 }), 'batch').head).toBe(0);

		// Past twice the frame limit, ws itself ends the socket (1009) before buffering more.
		const flood = await connect();
		flood.sendRaw('x'.repeat(2 * MAX_FRAME_BYTES + 1));
		await new Promise((resolve) => flood.ws.once('close', resolve));
		expect(flood.closeCode).toBe(1009);
	});

	it('prunes the log with a snapshot: pull gives the snapshot and later envelopes, counters go on', async () => {
		const { record, admin, socket } = await newVault();
		for (let i = 1; i <= 3; i++) {
			expectFrame(await socket.request({ type: 'push', envelope: record.envelope(admin, secret(`Measurement ${i}: weight 7${i} kg`)) }), 'ack');
		}
		const document = secret('Whole record: allergies, treatments, vaccinations');
		expectError(await socket.request({ type: 'snapshot', snapshot: record.snapshot(admin, document, 4) }), 'conflict');
		expectFrame(await socket.request({ type: 'snapshot', snapshot: record.snapshot(admin, document, 2) }), 'ok');
		expectFrame(await socket.request({ type: 'snapshot', snapshot: record.snapshot(admin, secret('older'), 1) }), 'ok');

		const batch = expectFrame(await socket.request({ type: 'pull', vault: record.id, since: 0 }), 'batch');
		expect(batch.snapshot?.coversSeq).toBe(2);
		expect(utf8Decode(openSnapshot(batch.snapshot!, record.keys.get(0)!))).toBe(document);
		expect(batch.envelopes.map((e) => e.seq)).toEqual([3]);
		expect(batch.head).toBe(3);
		const later = expectFrame(await socket.request({ type: 'pull', vault: record.id, since: 2 }), 'batch');
		expect(later.snapshot).toBeUndefined();
		expect(later.envelopes.map((e) => e.seq)).toEqual([3]);

		expectError(await socket.request({ type: 'push', envelope: record.envelope(admin, secret('reused'), { counter: 1 }) }), 'bad_counter');
		expect(expectFrame(await socket.request({ type: 'push', envelope: record.envelope(admin, secret('after the snapshot'), { counter: 4 }) }), 'ack').seq).toBe(4);
	});

	it('lets an invitation add exactly one device, then refuses it', async () => {
		const { record, admin, socket } = await newVault();
		const invite = newMember();
		expectFrame(await socket.request(record.invite(admin, invite, 'admin', new Date(Date.now() + 3_600_000))), 'ok');

		const device = newMember();
		const i = await connect(invite, record.id);
		expectFrame(await i.request({ type: 'subscribe', vault: record.id }), 'ok');
		const key = record.keysFrom(invite, await i.request({ type: 'keys', vault: record.id })).get(0)!;
		const beforeSpent = record.state;
		expectFrame(await i.request(record.add(invite, device, 'admin')), 'ok');

		const again = addOp(record.state, invite.sign, { ...newMember().ref, role: 'admin' }, new Date());
		expectError(await i.request({ type: 'append', vault: record.id, op: again }), 'not_member');
		const raced = addOp(beforeSpent, invite.sign, { ...newMember().ref, role: 'admin' }, new Date());
		expectError(await i.request({ type: 'append', vault: record.id, op: raced }), 'not_member');
		expectError(await (await connect()).auth(invite, record.id), 'not_member');
		// Its subscription ends with it: nothing written after reaches the spent invite's socket.
		expectFrame(await socket.request({ type: 'push', envelope: record.envelope(admin, secret('after the invite was spent')) }), 'ack');
		await settle();
		expect(i.unsolicited.filter((f) => f.type === 'envelope')).toEqual([]);

		// The invited device writes with the key the invite's lockbox gave it.
		const d = await connect(device, record.id);
		const envelope = sealEnvelope({ vault: record.id, epoch: 0, key, author: device.sign, counter: 1, changes: new TextEncoder().encode(secret('from the invited device')) });
		expectFrame(await d.request({ type: 'push', envelope }), 'ack');
	});

	it('lets an invited device seal its own lockbox in the append that adds it, and tells when members were last seen', async () => {
		const { record, admin, socket } = await newVault();
		const invite = newMember();
		expectFrame(await socket.request(record.invite(admin, invite, 'admin', new Date(Date.now() + 600_000))), 'ok');
		const i = await connect(invite, record.id);
		const key = record.keysFrom(invite, await i.request({ type: 'keys', vault: record.id })).get(0)!;

		// The op makes the device an admin, so the chain after it accepts the device's own signature on its lockbox.
		const device = newMember();
		const op = addOp(record.state, invite.sign, { ...device.ref, role: 'admin' }, new Date());
		const own = makeLockbox(device.sign, record.id, 0, device.ref, key);
		expectFrame(await i.request({ type: 'append', vault: record.id, op, lockboxes: [own] }), 'ok');
		const d = await connect(device, record.id);
		expect(expectFrame(await d.request({ type: 'keys', vault: record.id }), 'keys').lockboxes).toEqual([own]);

		const seen = expectFrame(await d.request({ type: 'seen', vault: record.id }), 'seen');
		expect(seen.vault).toBe(record.id);
		const ids = seen.members.map((m) => m.member);
		expect(ids).toContain(admin.id);
		expect(ids).toContain(device.id);
		for (const { at } of seen.members) expect(Date.now() - Date.parse(at)).toBeLessThan(60_000);
		expectError(await (await connect(newMember())).request({ type: 'seen', vault: record.id }), 'not_member');
	});

	it('restores from the recovery phrase: auth without a vault lists the vaults of the recovery key', async () => {
		const recovery = recoveryMember(newRecoveryPhrase());
		const first = await newVault(recovery);
		const second = await newVault(recovery);
		const restoring = await connect();
		const listed = expectFrame(await restoring.auth(recovery), 'ok').vaults;
		expect(listed).toEqual([first.record.id, second.record.id].sort());

		const keys = first.record.keysFrom(recovery, await restoring.request({ type: 'keys', vault: first.record.id }));
		expect(keys.get(0)).toEqual(first.record.keys.get(0));
		const newPhone = newMember();
		expectFrame(await restoring.request(first.record.add(recovery, newPhone, 'admin')), 'ok');
		expectError(await restoring.request({ type: 'push', envelope: first.record.envelope(recovery, secret('the recovery key never writes')) }), 'forbidden');
	});

	it('pushes membership changes to subscribers and refuses a concurrent change as a conflict', async () => {
		const vault = await newVault();
		const { record, admin, socket: a } = vault;
		const other = await enrol(vault);
		const o = await connect(other, record.id);
		expectFrame(await o.request({ type: 'subscribe', vault: record.id }), 'ok');

		const head = record.state;
		const first = record.add(admin, newMember(), 'reader');
		const concurrent = addOp(head, other.sign, { ...newMember().ref, role: 'reader' }, new Date());
		expectFrame(await a.request(first), 'ok');
		expectError(await o.request({ type: 'append', vault: record.id, op: concurrent }), 'conflict');
		expect(expectFrame(await o.next((f) => f.type === 'membership'), 'membership').ops).toEqual([first.op]);
		expectError(await a.request(new TestRecord().create(newMember(), newMember())), 'unauthenticated');
		expectError(await a.request(new TestRecord(record.id).create(admin, newMember())), 'conflict');
	});

	it('serves /healthz and /metrics', async () => {
		expect(await (await fetch(`${relay.url}/healthz`)).json()).toEqual({ status: 'ok' });
		const metrics = await (await fetch(`${relay.url}/metrics`)).text();
		expect(metrics).toMatch(/^carnet_sync_sockets_open \d+$/m);
		expect(Number(/^carnet_sync_envelopes_accepted_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(5);
		expect(Number(/^carnet_sync_frames_rejected_total\{code="bad_frame"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
	});

	it('never stores or logs a plaintext, and logs one JSON object per line', async () => {
		const everything = Buffer.concat([databaseBytes(relay), Buffer.from(relay.output())]);
		expect(plaintexts.length).toBeGreaterThan(20);
		// The search does read the stored data: every vault id is there in clear.
		for (const id of vaultIds) expect(everything.includes(Buffer.from(id))).toBe(true);
		for (const text of plaintexts) expect(everything.includes(Buffer.from(text))).toBe(false);
		const lines = relay.output().trim().split('\n');
		for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
	});
});
