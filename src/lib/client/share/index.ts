/**
 * The patient's side of sharing (docs/SHARING.md, "Module contracts"), reached as
 * `session.shares(vaultId)`.
 */
export {
	CONTRIBUTION_MAX_BYTES,
	EMERGENCY_SECTIONS,
	REPUBLISH_DEBOUNCE_MS,
	Shares,
	contributionEntryId,
	type ShareEvent,
	type ShareOptions,
	type SharePort,
	type ShareProgress,
	type ShareService,
	type ShareStep
} from './service';
export { ShareStateStore, type ShareProblem, type ShareState } from './state';
