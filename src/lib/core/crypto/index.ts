/**
 * Carnet's crypto module: the only code that touches libsodium and BIP39. Await `ready()`
 * once at startup; everything else is synchronous. Errors are CryptoError with a `code`.
 * Contract: docs/ARCHITECTURE.md, "src/lib/core/crypto".
 */
export { ready, randomBytes } from './sodium';
export { CryptoError, type CryptoErrorCode } from './errors';
export {
	type KdfParams,
	newKdfParams,
	deriveKey,
	KDF_OPS_LIMIT,
	KDF_MEM_LIMIT,
	KDF_MIN_OPS_LIMIT,
	KDF_MIN_MEM_LIMIT,
	PASSCODE_OPS_LIMIT,
	PASSCODE_MEM_LIMIT,
	hashPasscode,
	verifyPasscode
} from './kdf';
export { encrypt, decrypt } from './aead';
export { type BoxKeyPair, boxKeyPair, seal, openSealed } from './box';
export { type SignKeyPair, signKeyPair, sign, verify } from './sign';
export { hash, deriveSubkey, createHasher, type Hasher } from './hash';
export {
	FILE_PIECE_BYTES,
	paddedSize,
	sealedLength,
	isSealedLength,
	FileSealer,
	FileOpener,
	type SealedFile,
	type FileToOpen
} from './file';
export {
	STREAM_CHUNK_BYTES,
	type EncryptStream,
	type DecryptStream,
	createEncryptStream,
	createDecryptStream,
	encryptStream,
	decryptStream
} from './stream';
export { newRecoveryPhrase, isValidRecoveryPhrase, normalizeRecoveryPhrase, recoveryKeys } from './recovery';
export {
	toBase64url,
	fromBase64url,
	utf8Encode,
	utf8Decode,
	toHex,
	fromHex,
	concatBytes,
	constantTimeEqual
} from './encoding';
