// A small passphrase strength estimator (no dictionary download, no network).
//
// It estimates the bits an attacker guessing offline would need: each character adds
// log2(size of the character classes used), except characters that continue a repeat,
// an alphabetical/numeric run or a keyboard row, which add about one bit; a common password
// inside the passphrase counts as a single guess from a short list. Carnet requires "fair"
// (>= 50 bits and >= 10 characters): the passphrase is the only thing protecting a copied
// device's data against offline guessing, and Argon2id only slows each guess down.

export const STRENGTH_LEVELS = ['very-weak', 'weak', 'fair', 'good', 'strong'] as const;
export type StrengthLevel = (typeof STRENGTH_LEVELS)[number];

export interface Strength {
	/** 0 (very weak) to 4 (strong). */
	score: 0 | 1 | 2 | 3 | 4;
	level: StrengthLevel;
	bits: number;
	/** i18n keys of the advice to show. */
	hints: string[];
}

export const MIN_LENGTH = 10;
/** The lowest acceptable score ("fair"). */
export const MIN_SCORE = 2;

// Frequent passwords and words (French and English). Lowercase, without accents.
const COMMON = [
	'password', 'motdepasse', 'passw0rd', 'azerty', 'qwerty', 'qwertz', 'abc123', 'iloveyou',
	'jetaime', 'bonjour', 'soleil', 'doudou', 'loulou', 'chouchou', 'marseille', 'paris',
	'football', 'princesse', 'nicolas', 'julien', 'camille', 'amour', 'coucou', 'chocolat',
	'dragon', 'monkey', 'letmein', 'welcome', 'admin', 'master', 'sunshine', 'shadow',
	'baseball', 'superman', 'batman', 'trustno1', 'secret', 'secure', 'carnet', 'sante',
	'health', 'medical', 'docteur', 'doctor', 'bienvenue', 'liberte', 'france', 'toulouse',
	'lyon', 'nantes', 'bordeaux', 'lille', 'michel', 'pierre', 'marie', 'thomas', 'charlie',
	'hello', 'changeme', 'default', 'login', 'starwars', 'pokemon', 'naruto', 'minecraft'
];

const KEYBOARD_ROWS = [
	'azertyuiop', 'qsdfghjklm', 'wxcvbn', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop',
	'yxcvbnm', '1234567890', '0123456789', 'abcdefghijklmnopqrstuvwxyz'
];

function normalise(text: string): string {
	return text
		.toLowerCase()
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[@4]/g, 'a')
		.replace(/3/g, 'e')
		.replace(/[1!|]/g, 'i')
		.replace(/0/g, 'o')
		.replace(/[$5]/g, 's');
}

function charsetSize(text: string): number {
	let size = 0;
	if (/[a-z]/.test(text)) size += 26;
	if (/[A-Z]/.test(text)) size += 26;
	if (/[0-9]/.test(text)) size += 10;
	if (/[ ]/.test(text)) size += 1;
	if (/[!-/:-@[-`{-~]/.test(text)) size += 33;
	if (/[^\x00-\x7f]/.test(text)) size += 40;
	return Math.max(size, 1);
}

/** Positions (in the lowercase text) that continue a keyboard row or alphabet run of >= 3. */
function keyboardRunPositions(lower: string): Set<number> {
	const positions = new Set<number>();
	for (const row of KEYBOARD_ROWS) {
		const reversed = [...row].reverse().join('');
		for (const line of [row, reversed]) {
			for (let len = line.length; len >= 3; len--) {
				for (let start = 0; start + len <= line.length; start++) {
					const piece = line.slice(start, start + len);
					let from = lower.indexOf(piece);
					while (from !== -1) {
						for (let i = from + 1; i < from + len; i++) positions.add(i);
						from = lower.indexOf(piece, from + 1);
					}
				}
			}
		}
	}
	return positions;
}

export function estimateStrength(passphrase: string): Strength {
	const hints: string[] = [];
	if (passphrase.length === 0) return { score: 0, level: 'very-weak', bits: 0, hints };

	const chars = [...passphrase];
	const lower = passphrase.toLowerCase();
	const perChar = Math.log2(charsetSize(passphrase));
	const runs = keyboardRunPositions(lower);

	let bits = 0;
	let sequencePenalty = false;
	const code = (i: number) => (i >= 0 ? (chars[i].codePointAt(0) ?? 0) : NaN);
	for (let i = 0; i < chars.length; i++) {
		// A run is three or more: "aaa", "abc", "987" (a double letter or a pair like "on"
		// is ordinary in words).
		const d1 = code(i) - code(i - 1);
		const d2 = code(i - 1) - code(i - 2);
		const run = d1 === d2 && Math.abs(d1) <= 1;
		if (run || runs.has(i)) {
			bits += 1;
			sequencePenalty = true;
		} else {
			bits += perChar;
		}
	}

	// A common password inside the passphrase is one guess from a short list (~10 bits)
	// instead of its characters' worth.
	const norm = normalise(passphrase);
	let commonPenalty = false;
	for (const word of COMMON) {
		if (word.length >= 4 && norm.includes(word)) {
			bits -= Math.max(0, word.length * perChar - 10);
			commonPenalty = true;
		}
	}
	const stripped = norm.replace(/[^a-z]/g, '');
	if (COMMON.includes(stripped)) {
		bits = Math.min(bits, 20);
		commonPenalty = true;
	}
	bits = Math.max(0, Math.round(bits));

	let score: Strength['score'];
	if (bits < 28) score = 0;
	else if (bits < 50) score = 1;
	else if (bits < 70) score = 2;
	else if (bits < 90) score = 3;
	else score = 4;
	// Too short is never acceptable, whatever the character mix.
	if (chars.length < MIN_LENGTH && score > 1) score = 1;

	if (chars.length < MIN_LENGTH) hints.push('strength.hint.length');
	if (commonPenalty) hints.push('strength.hint.common');
	if (sequencePenalty && score < 3) hints.push('strength.hint.sequence');
	if (score < 3 && !/\s/.test(passphrase.trim())) hints.push('strength.hint.words');

	return { score, level: STRENGTH_LEVELS[score], bits, hints };
}

export function isAcceptable(passphrase: string): boolean {
	return estimateStrength(passphrase).score >= MIN_SCORE;
}

/**
 * The messages for a new passphrase that is too weak or whose confirmation differs (none when
 * both are fine), translated with `t`.
 */
export function newPassphraseErrors(
	passphrase: string,
	confirmation: string,
	t: (key: string) => string
): { passphrase?: string; confirmation?: string } {
	const errors: { passphrase?: string; confirmation?: string } = {};
	if (!isAcceptable(passphrase)) errors.passphrase = t('passphrase.tooWeak');
	if (confirmation !== passphrase) errors.confirmation = t('passphrase.mismatch');
	return errors;
}
