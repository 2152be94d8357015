import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, ready, toBase64url, utf8Encode } from '../../src/lib/core/crypto';
import { INVITE_SEED_BYTES, MAX_INVITE_VAULTS, inviteKeys, inviteLink, memberId, parseInviteLink } from '../../src/lib/core/sync';

const vault = () => toBase64url(randomBytes(16));
const ORIGIN = 'https://carnet.example';

describe('invitation links', () => {
	beforeAll(ready);

	it('round-trips the records, seed, expiry (to the second) and relay', () => {
		const invite = { vaults: [vault(), vault()], seed: randomBytes(INVITE_SEED_BYTES), expires: new Date(1_800_000_000_123) };
		const link = inviteLink(`${ORIGIN}/`, invite);
		expect(link.startsWith(`${ORIGIN}/link#carnet-invite:/`)).toBe(true);
		expect(parseInviteLink(link)).toEqual({
			ok: true,
			invite: { vaults: invite.vaults, seed: invite.seed, expires: new Date(1_800_000_000_000), relay: ORIGIN }
		});
		const elsewhere = inviteLink(ORIGIN, { ...invite, relay: 'wss://relay.example/sync' });
		expect(parseInviteLink(elsewhere)).toMatchObject({ ok: true, invite: { relay: 'wss://relay.example/sync' } });
		// Pasted without the page: no origin to fall back on.
		const fragment = link.slice(link.indexOf('carnet-invite:/'));
		const bare = parseInviteLink(`  ${fragment}\n`);
		expect(bare.ok).toBe(true);
		expect(bare.ok && 'relay' in bare.invite).toBe(false);
	});

	it('marks an invitation for another person with p: 1, and only that value', () => {
		const invite = { vaults: [vault()], seed: randomBytes(INVITE_SEED_BYTES), expires: new Date(1_800_000_000_000), forPerson: true };
		const link = inviteLink(ORIGIN, invite);
		expect(parseInviteLink(link)).toMatchObject({ ok: true, invite: { vaults: invite.vaults, forPerson: true } });
		// A device invitation carries no marker at all: links made before people still parse alike.
		const device = parseInviteLink(inviteLink(ORIGIN, { ...invite, forPerson: false }));
		expect(device.ok && 'forPerson' in device.invite).toBe(false);
		const payload = (p: unknown) =>
			`${ORIGIN}/link#carnet-invite:/${toBase64url(utf8Encode(JSON.stringify({ v: invite.vaults, s: toBase64url(invite.seed), e: 1_800_000_000, p })))}`;
		for (const p of [0, 2, true, '1']) expect(parseInviteLink(payload(p))).toEqual({ ok: false, code: 'invalid_link' });
	});

	it('derives distinct invitation keys per record, the same on both devices', () => {
		const seed = randomBytes(INVITE_SEED_BYTES);
		const [first, second] = [inviteKeys(seed, 0), inviteKeys(seed, 1)];
		expect(memberId(first.sign.publicKey)).not.toBe(memberId(second.sign.publicKey));
		expect(inviteKeys(seed, 0).box.publicKey).toEqual(first.box.publicKey);
		expect(first.box.publicKey).not.toEqual(first.sign.publicKey.slice(0, 32));
	});

	it('refuses anything else as invalid_link', () => {
		const payload = (value: unknown) => `${ORIGIN}/link#carnet-invite:/${toBase64url(utf8Encode(JSON.stringify(value)))}`;
		const good = { v: [vault()], s: toBase64url(randomBytes(32)), e: 1_800_000_000 };
		expect(parseInviteLink(payload(good)).ok).toBe(true);
		const bad: unknown[] = [
			undefined,
			42,
			'',
			'https://carnet.example/link',
			'carnet-invite:/',
			'carnet-invite:/not base64',
			`${ORIGIN}/link#x-carnet-invite:/${toBase64url(utf8Encode('{}'))}`,
			`ftp://carnet.example/link#carnet-invite:/${toBase64url(utf8Encode(JSON.stringify(good)))}`,
			payload({ ...good, v: [] }),
			payload({ ...good, v: [good.v[0], good.v[0]] }),
			payload({ ...good, v: Array.from({ length: MAX_INVITE_VAULTS + 1 }, vault) }),
			payload({ ...good, s: toBase64url(randomBytes(31)) }),
			payload({ ...good, e: -1 }),
			payload({ ...good, e: 1.5 }),
			payload({ ...good, r: 'javascript:alert(1)' }),
			payload({ ...good, extra: true }),
			`${payload(good)}${'A'.repeat(5000)}`
		];
		for (const text of bad) expect(parseInviteLink(text), String(text).slice(0, 80)).toEqual({ ok: false, code: 'invalid_link' });
	});
});
