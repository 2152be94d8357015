/**
 * Domain-separated signatures and associated data over canonical JSON: the one way every
 * signed object of docs/SYNC.md (ops, lockboxes, key history, envelopes, snapshots, auth) is
 * signed, verified and bound to its ciphertext. The domain makes a signature of one kind
 * useless as another.
 */
import { CryptoError, concatBytes, fromBase64url, sign, toBase64url, utf8Encode, verify, type SignKeyPair } from '../crypto';
import { canonicalBytes } from './canonical';

/** Signature domains, one per kind of signed object. */
export const DOMAINS = {
	membership: 'carnet/membership/v1',
	lockbox: 'carnet/lockbox/v1',
	keyHistory: 'carnet/key-history/v1',
	envelope: 'carnet/envelope/v1',
	snapshot: 'carnet/snapshot/v1',
	auth: 'carnet/auth/v1',
	/** Patient HTTP requests to the relay's share endpoints (docs/SHARING.md), http-auth.ts. */
	http: 'carnet/http/v1'
} as const;
/** A signature domain. */
export type Domain = (typeof DOMAINS)[keyof typeof DOMAINS];

const SEPARATOR = new Uint8Array([0]);

/** `utf8(domain) ‖ 0x00 ‖ canonicalBytes(object without "sig")`: what a signature covers. */
export function signedBytes(domain: Domain, object: object): Uint8Array {
	return domainBytes(domain, omit(object, ['sig']));
}

/**
 * The associated data binding a ciphertext to its object: the signed bytes minus the
 * ciphertext `field` itself, so the metadata cannot be moved onto another ciphertext even
 * by someone holding the key but not the author's signing key.
 */
export function associatedData(domain: Domain, object: object, field: string): Uint8Array {
	return domainBytes(domain, omit(object, ['sig', field]));
}

/** `object` with a `sig` by `signer` over `signedBytes(domain, object)`. */
export function signObject<T extends object>(domain: Domain, object: T, signer: SignKeyPair): T & { sig: string } {
	return { ...object, sig: toBase64url(sign(signer.privateKey, signedBytes(domain, object))) };
}

/**
 * True when `object.sig` is `signerId`'s signature of the object under `domain`. Malformed
 * ids, signatures or objects are simply not valid: false, never a throw.
 */
export function verifyObject(domain: Domain, object: { sig: string }, signerId: string): boolean {
	try {
		return verify(fromBase64url(signerId), signedBytes(domain, object), fromBase64url(object.sig));
	} catch (e) {
		if (e instanceof CryptoError || e instanceof TypeError) return false;
		throw e;
	}
}

function domainBytes(domain: Domain, value: object): Uint8Array {
	return concatBytes(utf8Encode(domain), SEPARATOR, canonicalBytes(value));
}

function omit(object: object, keys: readonly string[]): Record<string, unknown> {
	const copy: Record<string, unknown> = { ...object };
	for (const key of keys) delete copy[key];
	return copy;
}
