/**
 * Connection authentication: the relay sends a fresh `challenge` nonce, the device answers
 * with an `auth` frame signing it, which proves it holds the member's signing key without
 * any password or token the relay could leak.
 */
import type { SignKeyPair } from '../crypto';
import { memberId } from './membership';
import { DOMAINS, signObject, verifyObject } from './signing';

/** What an `auth` signature covers: the relay's nonce, the member and the vault if one is named. */
export interface AuthPayload {
	nonce: string;
	member: string;
	vault?: string;
}

/** The fields of an `auth` frame besides `type` and `id`. */
export interface AuthProof {
	member: string;
	vault?: string;
	sig: string;
}

/** The signed payload for `nonce`; `vault` absent when asking which vaults the member is in. */
export function authPayload(nonce: string, member: string, vault?: string): AuthPayload {
	return vault === undefined ? { nonce, member } : { nonce, member, vault };
}

/** Answers the relay's challenge `nonce` as `signer`. */
export function signAuth(signer: SignKeyPair, nonce: string, vault?: string): AuthProof {
	const member = memberId(signer.publicKey);
	const { sig } = signObject(DOMAINS.auth, authPayload(nonce, member, vault), signer);
	return vault === undefined ? { member, sig } : { member, vault, sig };
}

/** True when `proof` signs the challenge `nonce` this connection was sent. */
export function verifyAuth(nonce: string, proof: AuthProof): boolean {
	return verifyObject(
		DOMAINS.auth,
		{ ...authPayload(nonce, proof.member, proof.vault), sig: proof.sig },
		proof.member
	);
}
