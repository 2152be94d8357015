import { beforeAll, describe, expect, it } from 'vitest';
import { hashPasscode, ready, verifyPasscode } from '../../src/lib/core/crypto';

// Link passcodes on the relay (docs/SHARING.md): libsodium crypto_pwhash_str, Argon2id t=2, m=19 MiB.

/** Made once by libsodium's crypto_pwhash_str for '4711-café' (NFC), t=2, m=19 MiB: a stored hash must keep verifying. */
const KNOWN = '$argon2id$v=19$m=19456,t=2,p=1$iU4csFsmrUOO0ao15TVutw$zTdel3T92I/oYHAxCCHkvvkQm4OFc4uDTm9tp7KCVBk';

describe('passcode hashing', () => {
	beforeAll(async () => {
		await ready();
	});

	it('verifies a known Argon2id string, and refuses a wrong passcode', () => {
		expect(verifyPasscode(KNOWN, '4711-café')).toBe(true);
		expect(verifyPasscode(KNOWN, '4711-cafe')).toBe(false);
		expect(verifyPasscode(KNOWN, '4711-café ')).toBe(false);
		expect(verifyPasscode(KNOWN, '')).toBe(false);
	});

	it('normalises to NFKC, so a decomposed accent matches', () => {
		expect(verifyPasscode(KNOWN, '4711-cafe\u0301')).toBe(true);
	});

	it('hashes at OWASP minimum cost with a fresh salt, never containing the passcode', () => {
		const a = hashPasscode('correct-passcode');
		const b = hashPasscode('correct-passcode');
		expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
		expect(a).not.toBe(b);
		expect(a).not.toContain('correct-passcode');
		expect(verifyPasscode(a, 'correct-passcode')).toBe(true);
		expect(verifyPasscode(b, 'wrong-passcode')).toBe(false);
	});

	it('treats malformed or non-Argon2id hashes as no match, without throwing', () => {
		expect(verifyPasscode('', 'x')).toBe(false);
		expect(verifyPasscode('$argon2id$garbage', 'x')).toBe(false);
		expect(verifyPasscode(KNOWN.replace('$argon2id$', '$argon2i$'), '4711-café')).toBe(false);
		expect(verifyPasscode(KNOWN, 42 as unknown as string)).toBe(false);
		expect(() => hashPasscode(undefined as unknown as string)).toThrow();
	});
});
