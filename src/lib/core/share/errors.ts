/**
 * The error type of SMART Health Link handling. The UI translates by `code`; messages are
 * English, for logs, and never contain a key, a link id, a passcode or content.
 */

/**
 * What went wrong, in the terms a viewer acts on:
 * - `not_a_link`: the text holds no `shlink:/` at all;
 * - `bad_payload`: it does, but the payload is malformed or breaks a rule of docs/SHARING.md;
 * - `unsupported_version`: the payload's `v` is above 1 (nothing is fetched);
 * - `expired`: `exp` is past (nothing is fetched);
 * - `not_found`: the server says the link is not active (unknown, expired, revoked, used up);
 * - `passcode_required`: a passcode is needed and none was given;
 * - `invalid_passcode`: wrong passcode, see `remainingAttempts`;
 * - `network`: the server could not be reached or answered something unexpected;
 * - `bad_file`: a manifest or file that does not decrypt or does not parse.
 */
export type ShlErrorCode =
	| 'not_a_link'
	| 'bad_payload'
	| 'unsupported_version'
	| 'expired'
	| 'not_found'
	| 'passcode_required'
	| 'invalid_passcode'
	| 'network'
	| 'bad_file';

const DEFAULT_MESSAGES: Record<ShlErrorCode, string> = {
	not_a_link: 'not a SMART Health Link',
	bad_payload: 'malformed SMART Health Link payload',
	unsupported_version: 'unsupported SMART Health Link version',
	expired: 'the link has expired',
	not_found: 'the link is not active',
	passcode_required: 'a passcode is required',
	invalid_passcode: 'wrong passcode',
	network: 'the server could not be reached',
	bad_file: 'a shared file could not be read'
};

/**
 * Thrown by the share module. `remainingAttempts` is set on `invalid_passcode` when the server
 * said how many passcode attempts are left for the link.
 */
export class ShlError extends Error {
	readonly code: ShlErrorCode;
	readonly remainingAttempts?: number;

	constructor(
		code: ShlErrorCode,
		message: string = DEFAULT_MESSAGES[code],
		options: { remainingAttempts?: number; cause?: unknown } = {}
	) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.name = 'ShlError';
		this.code = code;
		if (options.remainingAttempts !== undefined) this.remainingAttempts = options.remainingAttempts;
	}
}
