/**
 * The recovery phrase: 24 English BIP39 words (256 bits of entropy) written down at
 * creation. It deterministically yields a recovery key pair that is enrolled like a device,
 * so a new phone holding only the phrase can open the lockboxes sealed to it.
 *
 * Derivation (part of the stored format, never change it): BIP39 seed (PBKDF2-HMAC-SHA512,
 * empty BIP39 passphrase) -> its first 32 bytes as a crypto_kdf master key -> subkeys with
 * context 'carnetrk': id 1 = Ed25519 seed, id 2 = X25519 seed.
 */
import { entropyToMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { boxKeyPair, type BoxKeyPair } from './box';
import { CryptoError } from './errors';
import { deriveSubkey } from './hash';
import { signKeyPair, type SignKeyPair } from './sign';
import { lib, randomBytes } from './sodium';

const ENTROPY_BYTES = 32;
const WORDS = 24;
const CONTEXT = 'carnetrk';
const SIGN_SEED_ID = 1;
const BOX_SEED_ID = 2;
const MASTER_KEY_BYTES = 32;

/** A fresh 24-word phrase from libsodium's CSPRNG. */
export function newRecoveryPhrase(): string {
	const s = lib();
	const entropy = randomBytes(ENTROPY_BYTES);
	try {
		return entropyToMnemonic(entropy, wordlist);
	} finally {
		s.memzero(entropy);
	}
}

/**
 * The canonical form of a typed phrase: NFKD (as BIP39 specifies), lower case, single spaces,
 * no leading or trailing whitespace, so line breaks and capitals from a paper copy don't matter.
 */
export function normalizeRecoveryPhrase(phrase: string): string {
	return phrase.normalize('NFKD').toLowerCase().trim().split(/\s+/).join(' ');
}

/**
 * True for exactly 24 English BIP39 words with a correct checksum, after normalisation. Valid
 * 12-word phrases are refused: Carnet never issues them, so one is someone else's phrase.
 */
export function isValidRecoveryPhrase(phrase: string): boolean {
	if (typeof phrase !== 'string') return false;
	const normalized = normalizeRecoveryPhrase(phrase);
	return normalized.split(' ').length === WORDS && validateMnemonic(normalized, wordlist);
}

/** The recovery key pairs for a phrase; always the same pairs for the same words. bad_input if invalid. */
export function recoveryKeys(phrase: string): { sign: SignKeyPair; box: BoxKeyPair } {
	const s = lib();
	if (!isValidRecoveryPhrase(phrase)) {
		throw new CryptoError('bad_input', 'recoveryKeys: not a valid 24-word recovery phrase');
	}
	const seed = mnemonicToSeedSync(normalizeRecoveryPhrase(phrase));
	const master = seed.slice(0, MASTER_KEY_BYTES);
	const signSeed = deriveSubkey(master, SIGN_SEED_ID, CONTEXT);
	const boxSeed = deriveSubkey(master, BOX_SEED_ID, CONTEXT);
	try {
		return { sign: signKeyPair(signSeed), box: boxKeyPair(boxSeed) };
	} finally {
		for (const secret of [seed, master, signSeed, boxSeed]) s.memzero(secret);
	}
}
