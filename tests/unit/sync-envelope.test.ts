import { beforeAll, describe, expect, it } from 'vitest';
import {
	CryptoError,
	fromBase64url,
	randomBytes,
	ready,
	signKeyPair,
	toBase64url,
	utf8Encode,
	type SignKeyPair
} from '../../src/lib/core/crypto';
import {
	MAX_ENVELOPE_PLAINTEXT_BYTES,
	MAX_SNAPSHOT_PLAINTEXT_BYTES,
	envelopeSchema,
	snapshotSchema,
	type Envelope,
	type Snapshot
} from '../../src/lib/core/protocol';
import {
	DOMAINS,
	authPayload,
	memberId,
	openEnvelope,
	openSnapshot,
	sealEnvelope,
	sealSnapshot,
	signAuth,
	signObject,
	verifyAuth,
	verifyEnvelope,
	verifySnapshot
} from '../../src/lib/core/sync';

let author: SignKeyPair;
let other: SignKeyPair;
const vault = 'AAAAAAAAAAAAAAAAAAAAAA';
const key = new Uint8Array(32).fill(7);
const changes = utf8Encode('automerge changes, 40 bytes of them.....');

function envelope(): Envelope {
	return sealEnvelope({ vault, epoch: 2, key, author, counter: 5, changes });
}

/** Fails unless opening throws a CryptoError (signature or decryption). */
function expectUnopenable(env: Envelope, withKey = key): void {
	expect(() => openEnvelope(env, withKey)).toThrow(CryptoError);
}

beforeAll(async () => {
	await ready();
	author = signKeyPair();
	other = signKeyPair();
});

describe('envelopes', () => {
	it('seal, verify, open', () => {
		const env = envelope();
		expect(envelopeSchema.safeParse(env).success).toBe(true);
		expect(env).toMatchObject({ v: 1, vault, epoch: 2, author: memberId(author.publicKey), counter: 5 });
		expect(verifyEnvelope(env)).toBe(true);
		expect(openEnvelope(env, key)).toEqual(changes);
	});

	it('every flipped ciphertext byte is detected', () => {
		const env = envelope();
		const bytes = fromBase64url(env.ciphertext);
		for (let i = 0; i < bytes.length; i++) {
			const flipped = bytes.slice();
			flipped[i] ^= 0x01;
			const tampered = { ...env, ciphertext: toBase64url(flipped) };
			expect(verifyEnvelope(tampered)).toBe(false);
			expectUnopenable(tampered);
		}
	});

	it('a changed counter, epoch, vault or author fails verify and open', () => {
		const env = envelope();
		for (const tampered of [
			{ ...env, counter: 6 },
			{ ...env, epoch: 3 },
			{ ...env, vault: 'BAAAAAAAAAAAAAAAAAAAAA' },
			{ ...env, author: memberId(other.publicKey) }
		]) {
			expect(verifyEnvelope(tampered)).toBe(false);
			expect(() => openEnvelope(tampered, key)).toThrow(expect.objectContaining({ code: 'bad_signature' }));
		}
	});

	it('re-signed metadata still fails: the fields are bound to the ciphertext', () => {
		const env = envelope();
		const { sig: _sig, ...unsigned } = env;
		// The author moves its own ciphertext to another counter.
		const moved = signObject(DOMAINS.envelope, { ...unsigned, counter: 9 }, author);
		// Another key holder claims the batch as its own.
		const stolen = signObject(DOMAINS.envelope, { ...unsigned, author: memberId(other.publicKey) }, other);
		for (const tampered of [moved, stolen]) {
			expect(verifyEnvelope(tampered)).toBe(true); // the relay cannot tell
			expect(() => openEnvelope(tampered, key)).toThrow(expect.objectContaining({ code: 'decrypt_failed' }));
		}
	});

	it('the wrong epoch key fails', () => {
		expectUnopenable(envelope(), new Uint8Array(32).fill(8));
	});

	it('refuses a change set that cannot fit in a frame', () => {
		const big = new Uint8Array(MAX_ENVELOPE_PLAINTEXT_BYTES + 1);
		expect(() => sealEnvelope({ vault, epoch: 0, key, author, counter: 1, changes: big })).toThrow(RangeError);
		const fits = sealEnvelope({ vault, epoch: 0, key, author, counter: 1, changes: big.subarray(1) });
		expect(envelopeSchema.safeParse(fits).success).toBe(true);
		expect(JSON.stringify({ type: 'push', id: 1, envelope: fits }).length).toBeLessThan(1024 * 1024);
	});
});

describe('snapshots', () => {
	let document: Uint8Array;
	let snapshot: Snapshot;
	beforeAll(() => {
		document = randomBytes(1000);
		snapshot = sealSnapshot({ vault, epoch: 1, key, author, coversSeq: 42, document });
	});

	it('seal, verify, open', () => {
		expect(snapshotSchema.safeParse(snapshot).success).toBe(true);
		expect(verifySnapshot(snapshot)).toBe(true);
		expect(openSnapshot(snapshot, key)).toEqual(document);
	});

	it('a changed coversSeq or a flipped byte fails', () => {
		expect(verifySnapshot({ ...snapshot, coversSeq: 43 })).toBe(false);
		expect(() => openSnapshot({ ...snapshot, coversSeq: 43 }, key)).toThrow(CryptoError);
		const bytes = fromBase64url(snapshot.ciphertext);
		bytes[bytes.length - 1] ^= 0x80;
		expect(() => openSnapshot({ ...snapshot, ciphertext: toBase64url(bytes) }, key)).toThrow(CryptoError);
	});

	it('an envelope signature does not pass as a snapshot signature', () => {
		const { sig: _sig, ...unsigned } = snapshot;
		const asEnvelope = signObject(DOMAINS.envelope, unsigned, author);
		expect(verifySnapshot(asEnvelope)).toBe(false);
	});

	it('refuses a document that cannot fit in a frame', () => {
		const big = new Uint8Array(MAX_SNAPSHOT_PLAINTEXT_BYTES + 1);
		expect(() => sealSnapshot({ vault, epoch: 0, key, author, coversSeq: 1, document: big })).toThrow(RangeError);
		const fits = sealSnapshot({ vault, epoch: 0, key, author, coversSeq: 1, document: big.subarray(1) });
		expect(snapshotSchema.safeParse(fits).success).toBe(true);
		expect(JSON.stringify({ type: 'snapshot', id: 1, snapshot: fits }).length).toBeLessThan(1024 * 1024);
	});
});

describe('auth', () => {
	const nonce = 'n'.repeat(42) + 'w'; // 32 bytes of base64url

	it('signs and verifies the challenge, with or without a vault', () => {
		const proof = signAuth(author, nonce);
		expect(proof).toEqual({ member: memberId(author.publicKey), sig: proof.sig });
		expect(verifyAuth(nonce, proof)).toBe(true);
		const withVault = signAuth(author, nonce, vault);
		expect(withVault.vault).toBe(vault);
		expect(verifyAuth(nonce, withVault)).toBe(true);
	});

	it('refuses another nonce, another vault, another member', () => {
		const proof = signAuth(author, nonce, vault);
		expect(verifyAuth(toBase64url(new Uint8Array(32).fill(4)), proof)).toBe(false);
		expect(verifyAuth(nonce, { ...proof, vault: 'BAAAAAAAAAAAAAAAAAAAAA' })).toBe(false);
		expect(verifyAuth(nonce, { ...proof, vault: undefined })).toBe(false);
		expect(verifyAuth(nonce, { ...proof, member: memberId(other.publicKey) })).toBe(false);
	});

	it('a signature of the same payload under another domain does not authenticate', () => {
		const member = memberId(author.publicKey);
		const { sig } = signObject(DOMAINS.envelope, authPayload(nonce, member), author);
		expect(verifyAuth(nonce, { member, sig })).toBe(false);
	});
});
