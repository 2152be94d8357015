/**
 * The platform-free sync core shared by the relay and the devices: canonical signing, the
 * membership chain, epoch keys (lockboxes, history), envelopes and snapshots, connection
 * auth. Contract: docs/SYNC.md. Await `ready()` from ../crypto before calling any of it.
 */
export { canonicalBytes } from './canonical';
export { DOMAINS, type Domain, signedBytes, signObject, verifyObject } from './signing';
export {
	MAX_CLOCK_SKEW_MS,
	MEMBERSHIP_ERRORS,
	type ChainHead,
	type MemberEntry,
	type MembershipErrorReason,
	type MembershipResult,
	type MembershipState,
	type RemovedMember,
	type UnsignedOp,
	acceptOps,
	addOp,
	canAdminister,
	canWrite,
	hashOp,
	isMember,
	memberAt,
	memberId,
	removeOp,
	replayMembership,
	signOp
} from './membership';
export {
	type MemberKeys,
	type MemberRef,
	makeLockbox,
	memberRef,
	openLockbox,
	unwrapHistory,
	verifyKeyHistory,
	verifyLockbox,
	wrapPreviousKey
} from './keys';
export {
	type SealParams,
	openEnvelope,
	openSnapshot,
	sealEnvelope,
	sealSnapshot,
	verifyEnvelope,
	verifySnapshot
} from './envelope';
export { type AuthPayload, type AuthProof, authPayload, signAuth, verifyAuth } from './auth';
export {
	HTTP_AUTH_SCHEME,
	HTTP_AUTH_MAX_SKEW_MS,
	type HttpAuthorization,
	type SignedRequest,
	parseAuthorization,
	signRequest,
	verifyRequest
} from './http-auth';
export { type NewVault, type Rotation, createVault, removeMember } from './vault';
export {
	INVITE_PATH,
	INVITE_SCHEME,
	INVITE_SEED_BYTES,
	INVITE_TTL_MS,
	PERSON_INVITE_TTL_MS,
	MAX_INVITE_VAULTS,
	type Invite,
	type InviteKeys,
	type InviteParseResult,
	inviteKeys,
	inviteLink,
	parseInviteLink
} from './invite';
