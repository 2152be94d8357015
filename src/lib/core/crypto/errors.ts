/**
 * The error type of the crypto module and the input checks every entry point shares.
 * Callers branch on `code`; messages are fixed strings that name the operation and the
 * argument, never its value, so an error can be logged or shown without leaking a key,
 * a plaintext or a passphrase.
 */

/** What went wrong, in the terms callers act on. */
export type CryptoErrorCode = 'decrypt_failed' | 'bad_signature' | 'bad_input' | 'unsupported';

const DEFAULT_MESSAGES: Record<CryptoErrorCode, string> = {
	decrypt_failed: 'decryption failed',
	bad_signature: 'signature verification failed',
	bad_input: 'invalid input',
	// Well-formed data in a format or algorithm we deliberately do not handle (e.g. a JWE that is not dir/A256GCM).
	unsupported: 'unsupported algorithm or format'
};

/**
 * Thrown for tampered or undecryptable data (`decrypt_failed`), a signature a caller chose to
 * treat as fatal (`bad_signature`, for modules above this one) and malformed arguments
 * (`bad_input`), and well-formed data using an algorithm or format we do not handle
 * (`unsupported`). Keep messages value-free: they end up in logs.
 */
export class CryptoError extends Error {
	readonly code: CryptoErrorCode;

	constructor(code: CryptoErrorCode, message: string = DEFAULT_MESSAGES[code]) {
		super(message);
		this.name = 'CryptoError';
		this.code = code;
	}
}

/** Refuses anything but a Uint8Array: libsodium would silently UTF-8 encode a string. */
export function expectBytes(value: unknown, what: string): asserts value is Uint8Array {
	if (!(value instanceof Uint8Array)) throw new CryptoError('bad_input', `${what} must be a Uint8Array`);
}

/** Refuses a byte array of the wrong size with a message naming the expected size. */
export function expectLength(value: unknown, length: number, what: string): asserts value is Uint8Array {
	expectBytes(value, what);
	if (value.length !== length) throw new CryptoError('bad_input', `${what} must be ${length} bytes`);
}
