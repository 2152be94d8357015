// The new-device pages' pure helpers: which screens a device without keys may show, and the
// check of a scanned or pasted invitation before a passphrase is asked for.
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, ready, toBase64url } from '../../src/lib/core/crypto';
import { inviteLink } from '../../src/lib/core/sync';
import { redirectFor } from '../../src/lib/ui/guard';
import { checkInvite } from '../../src/lib/ui/sync-api';

const at = (path: string) => new URL(`https://carnet.example${path}`);

describe('redirectFor, new-device pages', () => {
	it('lets a device without keys open onboarding, /link and /restore, and nothing else', () => {
		expect(redirectFor('no-device', at('/welcome'))).toBeNull();
		expect(redirectFor('no-device', at('/link'))).toBeNull();
		expect(redirectFor('no-device', at('/restore'))).toBeNull();
		expect(redirectFor('no-device', at('/devices'))).toBe('/welcome');
		expect(redirectFor('no-device', at('/recover'))).toBe('/welcome');
	});

	it('sends a set-up device away from the new-device pages, without returning to them', () => {
		expect(redirectFor('locked', at('/restore'))).toBe('/unlock');
		expect(redirectFor('locked', at('/welcome'))).toBe('/unlock');
		expect(redirectFor('unlocked', at('/restore'))).toBe('/');
		expect(redirectFor('unlocked', at('/unlock?next=%2Frestore'))).toBe('/');
		expect(redirectFor('locked', at('/devices'))).toBe('/unlock?next=%2Fdevices');
		expect(redirectFor('unlocked', at('/devices'))).toBeNull();
	});

	it('keeps /link for a set-up device, which joins another person\'s record there once unlocked', () => {
		expect(redirectFor('locked', at('/link'))).toBe('/unlock?next=%2Flink');
		expect(redirectFor('unlocked', at('/unlock?next=%2Flink'))).toBe('/link');
		expect(redirectFor('unlocked', at('/link'))).toBeNull();
	});
});

describe('checkInvite', () => {
	let link: string;
	const vault = () => toBase64url(randomBytes(16));

	beforeAll(async () => {
		await ready();
		link = inviteLink('https://carnet.example', {
			vaults: [vault()],
			seed: randomBytes(32),
			expires: new Date(Date.now() + 10 * 60_000)
		});
	});

	it('accepts a whole link or its bare fragment, trimmed', () => {
		expect(checkInvite(`  ${link}\n`)).toEqual({ ok: true, link, forPerson: false });
		const bare = link.slice(link.indexOf('#') + 1);
		expect(checkInvite(bare)).toEqual({ ok: true, link: bare, forPerson: false });
	});

	it('tells an invitation for another person (one record) from a device invitation', () => {
		const forPerson = inviteLink('https://carnet.example', {
			vaults: [vault()],
			seed: randomBytes(32),
			expires: new Date(Date.now() + 30 * 60_000),
			forPerson: true
		});
		expect(checkInvite(forPerson)).toEqual({ ok: true, link: forPerson, forPerson: true });
	});

	it('refuses an expired invitation before any passphrase is typed', () => {
		expect(checkInvite(link, Date.now() + 11 * 60_000)).toEqual({ ok: false, code: 'invite_expired' });
	});

	it('refuses what is not an invitation', () => {
		for (const text of ['', 'https://carnet.example/link', 'carnet-invite:/', `${link}x`, 'shlink:/abc', link.replace('#', '?')]) {
			expect(checkInvite(text), text).toEqual({ ok: false, code: 'invalid_link' });
		}
	});
});
