/**
 * SMART Health Links (HL7 SHL STU1) as docs/SHARING.md specifies them: payloads, opening a
 * link, SMART Health Cards inside one, and contributions.
 *
 * Viewer-safe: imports jose, zod, WebCrypto and `../crypto/jwe` only, never libsodium
 * (`../crypto/index`), Automerge or the record (apart from the plain-data document types).
 */
export { ShlError, type ShlErrorCode } from './errors';
export {
	EXP_MS_THRESHOLD,
	LABEL_MAX,
	SHL_FLAGS,
	ShlPayloadSchema,
	URL_MAX,
	encodeShlink,
	isAllowedUrl,
	manifestUrl,
	newLinkId,
	parseShlink,
	payloadKey,
	readPayload,
	viewerLink,
	type ShlPayload,
	type ShlPayloadInput
} from './payload';
export {
	JSON_CONTENT_TYPES,
	ShlManifest,
	openShl,
	type OpenShlOptions,
	type ShlFile,
	type ShlProblem
} from './resolve';
export { shcBundles } from './shc';
export {
	CONTRIBUTION_CONTENT_TYPE,
	CONTRIBUTION_TOKEN_INFO,
	Contribution,
	ContributionInfo,
	contributionToken,
	isValidRpps,
	tokenHash
} from './contribution';
export { fromBase64, fromBase64url, isBase64, toBase64, toBase64url } from './base64';
export { uploadBody } from './upload';
