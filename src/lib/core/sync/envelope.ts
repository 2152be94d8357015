/**
 * Envelopes (change batches) and snapshots (whole documents): encrypted under an epoch key,
 * with every other field as associated data, and signed by their author. The relay can check
 * the signature; only a key holder can open one, and any altered byte fails.
 */
import { CryptoError, decrypt, encrypt, fromBase64url, toBase64url, type SignKeyPair } from '../crypto';
import {
	MAX_ENVELOPE_PLAINTEXT_BYTES,
	MAX_SNAPSHOT_PLAINTEXT_BYTES,
	type Envelope,
	type Snapshot
} from '../protocol';
import { memberId } from './membership';
import { DOMAINS, associatedData, signObject, verifyObject, type Domain } from './signing';

/** What sealing an envelope or a snapshot needs: the vault, the epoch and its key, the author's keys. */
export interface SealParams {
	vault: string;
	epoch: number;
	key: Uint8Array;
	author: SignKeyPair;
}

/**
 * Encrypts and signs a batch of Automerge changes. `counter` is the author's next counter
 * (1, 2, … per vault). Throws RangeError above MAX_ENVELOPE_PLAINTEXT_BYTES: split the batch.
 */
export function sealEnvelope(params: SealParams & { counter: number; changes: Uint8Array }): Envelope {
	const { vault, epoch, key, author, counter, changes } = params;
	const header = { v: 1 as const, vault, epoch, author: memberId(author.publicKey), counter };
	return sealSigned(DOMAINS.envelope, header, key, changes, author, MAX_ENVELOPE_PLAINTEXT_BYTES);
}

/** True when the envelope carries its author's valid signature: all the relay can check. */
export function verifyEnvelope(envelope: Envelope): boolean {
	return verifyObject(DOMAINS.envelope, envelope, envelope.author);
}

/**
 * The changes in an envelope, with `key` the key of `envelope.epoch`. Throws
 * CryptoError('bad_signature') on a bad signature, ('decrypt_failed') on a wrong key or any
 * altered byte. Whether the author was allowed to write is `canWrite(state, author, epoch)`.
 */
export function openEnvelope(envelope: Envelope, key: Uint8Array): Uint8Array {
	return openSigned(DOMAINS.envelope, envelope, key);
}

/**
 * Encrypts and signs an `Automerge.save()` covering every envelope up to `coversSeq`. Throws
 * RangeError above MAX_SNAPSHOT_PLAINTEXT_BYTES.
 */
export function sealSnapshot(params: SealParams & { coversSeq: number; document: Uint8Array }): Snapshot {
	const { vault, epoch, key, author, coversSeq, document } = params;
	const header = { v: 1 as const, vault, epoch, author: memberId(author.publicKey), coversSeq };
	return sealSigned(DOMAINS.snapshot, header, key, document, author, MAX_SNAPSHOT_PLAINTEXT_BYTES);
}

/** True when the snapshot carries its author's valid signature. */
export function verifySnapshot(snapshot: Snapshot): boolean {
	return verifyObject(DOMAINS.snapshot, snapshot, snapshot.author);
}

/** The saved document in a snapshot; throws like `openEnvelope`. */
export function openSnapshot(snapshot: Snapshot, key: Uint8Array): Uint8Array {
	return openSigned(DOMAINS.snapshot, snapshot, key);
}

function sealSigned<H extends { author: string }>(
	domain: Domain,
	header: H,
	key: Uint8Array,
	plaintext: Uint8Array,
	author: SignKeyPair,
	maxBytes: number
): H & { ciphertext: string; sig: string } {
	if (plaintext.length > maxBytes) {
		throw new RangeError(`${domain}: plaintext is ${plaintext.length} bytes, at most ${maxBytes} fit`);
	}
	const ciphertext = encrypt(key, plaintext, associatedData(domain, header, 'ciphertext'));
	return signObject(domain, { ...header, ciphertext: toBase64url(ciphertext) }, author);
}

function openSigned(domain: Domain, object: { author: string; ciphertext: string; sig: string }, key: Uint8Array): Uint8Array {
	// The signature first: AEAD alone would let any key holder pass as any author.
	if (!verifyObject(domain, object, object.author)) {
		throw new CryptoError('bad_signature', `${domain}: the author's signature is not valid`);
	}
	return decrypt(key, fromBase64url(object.ciphertext), associatedData(domain, object, 'ciphertext'));
}
