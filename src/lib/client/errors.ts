/**
 * Errors the client facade throws. Each has its own class so the UI can pick a message with
 * `instanceof` without parsing text, and each carries a stable `code` (an i18n key suffix)
 * for the same reason across realms (e.g. a worker boundary).
 *
 * None of them carries secret material or says *which* part of a secret was wrong: an
 * attacker holding the device must learn nothing from the error but "no".
 */

/** Base class of every error thrown by `src/lib/client`. */
export class CarnetError extends Error {
	/** Stable machine-readable identifier, also the i18n key `error.<code>`. */
	readonly code: string;
	constructor(code: string, message: string) {
		super(message);
		this.name = new.target.name;
		this.code = code;
	}
}

/** The passphrase does not open the device keys (wrong passphrase or tampered entry: same answer). */
export class WrongPassphraseError extends CarnetError {
	constructor() {
		super('wrong_passphrase', 'Wrong passphrase');
	}
}

/** The text is not a valid 24-word recovery phrase (unknown word or bad checksum). */
export class InvalidPhraseError extends CarnetError {
	constructor() {
		super('invalid_phrase', 'This is not a valid recovery phrase');
	}
}

/** A well-formed recovery phrase, but not the one enrolled for the records on this device. */
export class WrongRecoveryPhraseError extends CarnetError {
	constructor() {
		super('wrong_recovery_phrase', 'This recovery phrase does not open the records on this device');
	}
}

/** The session was locked: its keys are gone, unlock again. */
export class LockedError extends CarnetError {
	constructor() {
		super('locked', 'The session is locked');
	}
}

/** Unlock or recover was asked on a device that has never been set up. */
export class NoDeviceError extends CarnetError {
	constructor() {
		super('no_device', 'This device has no Carnet yet');
	}
}

/** `create` was asked on a device that already holds keys: refusing protects the existing record. */
export class DeviceExistsError extends CarnetError {
	constructor() {
		super('device_exists', 'This device already holds a Carnet');
	}
}

/** The passphrase is unusable (empty); the strength policy itself belongs to the UI. */
export class InvalidPassphraseError extends CarnetError {
	constructor() {
		super('invalid_passphrase', 'The passphrase must not be empty');
	}
}

/** The vault id is unknown on this device, or this device holds no key for it. */
export class UnknownRecordError extends CarnetError {
	constructor() {
		super('unknown_record', 'No such record on this device');
	}
}

/** Every stored chunk of the record failed authentication: nothing is left to show. */
export class UnreadableRecordError extends CarnetError {
	/** How many chunks were rejected. */
	readonly corruptChunks: number;
	constructor(corruptChunks: number) {
		super('unreadable_record', 'The record could not be read: its stored data failed authentication');
		this.corruptChunks = corruptChunks;
	}
}

/**
 * One stored chunk that failed authentication (flipped byte, wrong key, moved value). It is
 * reported rather than thrown so the rest of the record still loads (invariant 4).
 */
export class CorruptChunkError extends CarnetError {
	/** The IndexedDB key of the bad value (hashed components: reveals nothing). */
	readonly storeKey: string[];
	constructor(storeKey: string[], cause?: unknown) {
		super('corrupt_chunk', 'A stored chunk failed authentication and was skipped');
		this.storeKey = storeKey;
		if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
	}
}

/** The operation needs the relay and this device cannot reach it (or has no relay configured). */
export class OfflineError extends CarnetError {
	constructor() {
		super('offline', 'The relay cannot be reached');
	}
}

/**
 * The relay refused a request. `code` is the protocol's error code (docs/SYNC.md, "Frames"),
 * e.g. `not_member`, `quota`; the message is the relay's, in English, for developers.
 */
export class RelayError extends CarnetError {
	constructor(
		code: string,
		message: string,
		/** With `bad_counter`: the author's next counter as the relay counts it. */
		readonly expected?: number
	) {
		super(code, message);
	}
}

/** The scanned or pasted text is not a Carnet invitation. */
export class InvalidLinkError extends CarnetError {
	constructor() {
		super('invalid_link', 'This is not a valid Carnet invitation');
	}
}

/** The invitation is past its 10 minutes: ask for a new QR code. */
export class InviteExpiredError extends CarnetError {
	constructor() {
		super('invite_expired', 'This invitation has expired');
	}
}

/** The invitation was already used (each one adds a single device) or was withdrawn. */
export class InviteUsedError extends CarnetError {
	constructor() {
		super('invite_used', 'This invitation has already been used');
	}
}

/**
 * The operation is not allowed: on this member (removing this device itself, its own person,
 * or the recovery key), or to this device (a read-only member's write, invitation, removal).
 */
export class ForbiddenError extends CarnetError {
	constructor(message: string) {
		super('forbidden', message);
	}
}

/**
 * What the relay served does not verify: a membership chain that does not replay, a lockbox
 * not signed by an administrator, an envelope or snapshot whose signature or ciphertext is
 * altered, or one written by a member who may not write. `code` names which (an i18n key
 * `error.<code>`): `bad_membership`, `bad_lockbox`, `corrupt_envelope`, `corrupt_snapshot`,
 * `forbidden_author`, `no_key`.
 */
export class IntegrityError extends CarnetError {
	constructor(code: string, message: string) {
		super(code, message);
	}
}

/** The file is larger than the relay accepts (`max`: bytes of file); nothing was written. */
export class FileTooLargeError extends CarnetError {
	readonly params: { readonly max: number };
	constructor(max: number) {
		super('file_too_large', `The file is larger than ${max} bytes`);
		this.params = { max };
	}
}

/**
 * The record's files would exceed its quota on the relay (`used` and `quota` in bytes of
 * sealed files, as last heard from the relay); nothing was written.
 */
export class QuotaError extends CarnetError {
	readonly params: { readonly used: number; readonly quota: number };
	constructor(used: number, quota: number) {
		super('quota', 'The record has no room left for this file');
		this.params = { used, quota };
	}
}

/**
 * A document's file cannot be opened: `file_missing` (no file, or the relay no longer holds
 * it and this device does not), `offline` (part of it is on the relay, which cannot be
 * reached), `file_corrupt` (it does not decrypt or verify: altered on the relay or the disk).
 */
export class FileUnavailableError extends CarnetError {
	constructor(code: 'file_missing' | 'offline' | 'file_corrupt') {
		const messages = {
			file_missing: 'The file is no longer available',
			offline: 'The file is not on this device and the relay cannot be reached',
			file_corrupt: 'The file is damaged: it failed verification'
		};
		super(code, messages[code]);
	}
}
