/**
 * The client layer: the encrypted store on the device and the facade the UI calls.
 * Contract: docs/ARCHITECTURE.md, "src/lib/client".
 */
export {
	authorOf,
	Carnet,
	Session,
	type CarnetOpenOptions,
	type CreateOptions,
	type CreateResult,
	type DevicePerson,
	type HandOverSummary,
	type JoinResult,
	type PersonInfo,
	type RecordInfo,
	type RecordRole,
	type StatusListener
} from './carnet';
export { type MemberInfo, type RelayEvent, type SyncEngine, type SyncIssue, type SyncStatus } from './sync/engine';
export { type WebSocketConstructor, type WebSocketLike } from './sync/socket';
export { COMPACT_AFTER_INCREMENTALS } from './doc-store';
export {
	type ChangeContext,
	type RecordChangeFn,
	type RecordHandle
} from './record-handle';
export {
	EncryptedStorageAdapter,
	type EncryptedStorageAdapterOptions
} from './storage-adapter';
export { DEFAULT_DB_NAME, type Lockbox, type LockboxKind } from './db';
export {
	DEFAULT_MAX_FILE_BYTES,
	DEFAULT_QUOTA_BYTES,
	type FileErrorCode,
	type FileInput,
	type FileLimits,
	type FileMeta,
	type FileService,
	type FileStatus,
	type StoredFile
} from './files';
export {
	CONTRIBUTION_MAX_BYTES,
	EMERGENCY_SECTIONS,
	REPUBLISH_DEBOUNCE_MS,
	contributionEntryId,
	type ShareEvent,
	type ShareOptions,
	type ShareProblem,
	type ShareProgress,
	type ShareService,
	type ShareStep
} from './share';
export type { AccessEntry, ShareInfo, ShareKind, ShareableSection } from '../core/record';
export {
	CarnetError,
	CorruptChunkError,
	DeviceExistsError,
	FileTooLargeError,
	FileUnavailableError,
	ForbiddenError,
	IntegrityError,
	InvalidLinkError,
	InvalidPassphraseError,
	InvalidPhraseError,
	InviteExpiredError,
	InviteUsedError,
	LockedError,
	NoDeviceError,
	OfflineError,
	QuotaError,
	RelayError,
	UnknownRecordError,
	UnreadableRecordError,
	WrongPassphraseError,
	WrongRecoveryPhraseError
} from './errors';
