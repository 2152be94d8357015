/** Documents' files: the client's file service (docs/ATTACHMENTS.md, section 4). */
export { Files, DEFAULT_MAX_FILE_BYTES, DEFAULT_QUOTA_BYTES, REFS_INTERVAL_MS, type FilePort } from './service';
export { BlobTransfer, UPLOAD_PART_BYTES, type PieceReader, type RelayBlobStatus, type RelayBlobUsage, type UploadResult } from './transfer';
export { InProcessCipher, WorkerCipher, defaultCipher, type FileCipher, type OpenJob, type SealJob, type SealResult } from './cipher';
export type { FileErrorCode, FileInput, FileLimits, FileMeta, FileService, FileStatus, StoredFile } from './types';
