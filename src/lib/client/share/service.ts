/**
 * The patient's side of sharing (docs/SHARING.md, "Module contracts"): builds a share's IPS
 * from the record, encrypts it for the link, publishes it on the relay with a signed request,
 * keeps the share in the record (so every device of the record can show, revoke and republish
 * it), and fetches who opened which link and what professionals contributed.
 *
 * Order of a creation: build and encrypt, PUT to the relay, then write the share into the
 * record. A failed upload leaves nothing anywhere; a failed record write (rare: local) is
 * followed by a DELETE, so no link lives on the relay that no device knows of.
 */
import {
	boxKeyPair,
	deriveSubkey,
	encrypt,
	fromBase64url,
	hash,
	openSealed,
	toBase64url,
	utf8Decode,
	utf8Encode,
	type SignKeyPair
} from '../../core/crypto';
import { encryptFile, randomKey } from '../../core/crypto/jwe';
import { toIpsBundle, type IpsDocumentInput, type IpsInput } from '../../core/fhir/to-ips';
import {
	addShare,
	checkShareSelection,
	EMERGENCY_SECTIONS,
	importContribution,
	markPublished,
	recordAccess,
	RecordValidationError,
	revokeShare,
	shareSecrets,
	type AccessOutcome,
	type RecordView,
	type ShareInfo,
	type ShareKind,
	type ShareableSection,
	type StoredShare
} from '../../core/record';
import {
	CONTRIBUTION_CONTENT_TYPE,
	Contribution,
	contributionToken,
	fromBase64,
	toBase64,
	manifestUrl,
	newLinkId,
	tokenHash,
	viewerLink,
	type ShlPayloadInput
} from '../../core/share';
import { signRequest } from '../../core/sync/http-auth';
import { fileMetaOf, type Attachments } from '../attachments';
import { CarnetError, LockedError, OfflineError, RelayError } from '../errors';
import type { OpenRecord } from '../record-handle';
import { SHARE_SUBKEY_CONTEXT, ShareStateStore, type ShareProblem, type ShareState } from './state';

export { EMERGENCY_SECTIONS };

/** What the patient chooses when creating a share. */
export interface ShareOptions {
	kind: ShareKind;
	/** At most 80 characters; empty: "Carnet — <given> <family>". */
	label: string;
	/** Sections to share; for `emergency`, an empty list means EMERGENCY_SECTIONS. */
	sections: ShareableSection[];
	/** Document ids; a hidden or unknown one is refused. */
	documents: string[];
	/** null: no expiry (made a long-lived `L` link). */
	expiresAt: Date | null;
	passcode?: string;
	maxUses?: number;
	allowContributions: boolean;
}

/** The steps `create` reports, in order. */
export type ShareStep = 'summary' | 'encrypt' | 'upload' | 'save';
/** Told after each step of `create`: `done` of `total` steps are finished. */
export type ShareProgress = (done: number, total: number, step: ShareStep) => void;

/** What a share service announces: events new to this device. */
export type ShareEvent =
	| { kind: 'access'; share: string; at: string; recipient: string; outcome: AccessOutcome }
	| { kind: 'contribution'; share: string; documentId: string; author: { name: string; rpps: string } };

/** The patient's sharing API for one record (`session.shares(vaultId)`). */
export interface ShareService {
	/** Creates and publishes a share; the ShareInfo carries the viewer `link`. */
	create(options: ShareOptions, onProgress?: ShareProgress): Promise<ShareInfo & { link: string }>;
	/** Revokes a share on the relay (a link it no longer knows is fine) and in the record. */
	revoke(id: string): Promise<void>;
	/** Publishes again the active `L` shares whose content changed; resolves with how many. */
	republish(): Promise<number>;
	/** Fetches access events and contributions this device has not seen, writes them to the record. */
	refresh(): Promise<void>;
	/** The viewer link of a share (`<origin>/shl#shlink:/…`). */
	link(id: string): string;
	/** Calls `fn` with every event new to this device; returns the unsubscriber. */
	onEvent(fn: (event: ShareEvent) => void): () => void;
	/** Contributions this device could not import (newest last). */
	problems(): Promise<readonly ShareProblem[]>;
}

/** What the service needs of the session (closures over its private fields). */
export interface SharePort {
	readonly vaultId: string;
	/** The record, open. */
	record(): Promise<OpenRecord>;
	/** The record if it is open already (for what answers synchronously). */
	openedRecord(): OpenRecord | undefined;
	readonly attachments: Attachments;
	/** This device as a member of the record: its id and signing keys. */
	member(): { id: string; sign: SignKeyPair };
	/** The relay's http(s) origin and the app's (viewer links); undefined without a relay. */
	origins(): { relay: string; app: string } | undefined;
	/** A copy of the record's current epoch key (the caller wipes it), once the relay knows the record; undefined without a relay. */
	epochKey(): Promise<Uint8Array | undefined>;
	/** True while connected to the relay. */
	online(): boolean;
	readonly state: ShareStateStore;
	/** `fetch`; default the global one. */
	readonly fetch?: typeof fetch;
}

/**
 * How long a contribution to a share this device does not know yet waits for the record to
 * bring it (the share was made on another device); after that it is a problem.
 */
const UNKNOWN_SHARE_WAIT_MS = 24 * 60 * 60 * 1000;
/** Largest contribution the relay takes (docs/SHARING.md: default 20 MiB). */
export const CONTRIBUTION_MAX_BYTES = 20 * 1024 * 1024;
/** Past this many days, an expiry makes a long-lived (`L`) link. */
const LONG_LIVED_MS = 7 * 24 * 60 * 60 * 1000;
/** How long record changes settle before republishing. */
export const REPUBLISH_DEBOUNCE_MS = 2_000;
/** Subkey 2 under SHARE_SUBKEY_CONTEXT of the epoch key: labels sent to the relay. */
const SUBKEY_LABEL = 2;
/** The relay's page size for access events. */
const PAGE = 500;

/** The documents entry id of a contribution: the same on every device that imports it. */
export function contributionEntryId(contributionId: string): string {
	return toBase64url(hash(utf8Encode(`carnet/contribution/v1/${contributionId}`), undefined, 16));
}

/** See ShareService. One per record and session; `close()` on lock. */
export class Shares implements ShareService {
	readonly #port: SharePort;
	readonly #listeners = new Set<(event: ShareEvent) => void>();
	#state: Promise<ShareState> | undefined;
	#refreshing: Promise<void> | undefined;
	#again = false;
	#republishing: Promise<number> = Promise.resolve(0);
	#timer: ReturnType<typeof setTimeout> | undefined;
	#unsubscribe: (() => void) | undefined;
	#waitingForShare = false;
	#closed = false;

	constructor(port: SharePort) {
		this.#port = port;
	}

	// --- create, revoke, link --------------------------------------------------------------

	/** See ShareService.create. Throws RecordValidationError (selection), OfflineError, RelayError. */
	async create(options: ShareOptions, onProgress?: ShareProgress): Promise<ShareInfo & { link: string }> {
		this.#assertOpen();
		const origins = this.#origins();
		const record = await this.#port.record();
		const doc = record.doc();
		const view = record.view();
		const now = new Date();
		const label = (options.label ?? '').trim() || defaultLabel(view);
		// The emergency card's sections are known: an empty choice means them.
		const sections = options.kind === 'emergency' && options.sections.length === 0 ? [...EMERGENCY_SECTIONS] : [...options.sections];
		const selection = { kind: options.kind, label, sections, documents: options.documents };
		const issues = checkShareSelection(doc, selection);
		if (options.expiresAt !== null && !(options.expiresAt instanceof Date && options.expiresAt.getTime() > now.getTime())) {
			issues.push({ field: 'expiresAt', code: 'invalid_date' });
		}
		if (options.passcode !== undefined && (typeof options.passcode !== 'string' || options.passcode.length === 0)) {
			issues.push({ field: 'passcode', code: 'invalid_type' });
		}
		if (options.maxUses !== undefined && !(Number.isInteger(options.maxUses) && options.maxUses > 0)) {
			issues.push({ field: 'maxUses', code: 'out_of_range', params: { min: 1 } });
		}
		if (issues.length > 0) throw new RecordValidationError(issues);

		const id = newLinkId();
		const key = randomKey();
		const exp = options.expiresAt === null ? null : Math.floor(options.expiresAt.getTime() / 1000);
		const long = options.kind === 'emergency' || exp === null || exp * 1000 - now.getTime() > LONG_LIVED_MS;
		const flag = `${long ? 'L' : ''}${options.passcode ? 'P' : ''}`;
		const inbox = options.allowContributions ? boxKeyPair() : undefined;
		const share: Omit<StoredShare, 'v' | 'createdAt' | 'createdBy'> = {
			label,
			kind: options.kind,
			sections,
			documents: [...options.documents],
			url: manifestUrl(origins.relay, id),
			key: toBase64url(key),
			exp,
			flag,
			...(options.maxUses === undefined ? {} : { maxUses: options.maxUses }),
			...(options.passcode ? { passcode: options.passcode } : {}),
			allowContributions: options.allowContributions,
			...(inbox === undefined ? {} : { inbox: { publicKey: toBase64url(inbox.publicKey), secretKey: toBase64url(inbox.privateKey) } })
		};
		const step = (done: number, name: ShareStep) => onProgress?.(done, 4, name);

		const built = await this.#build(id, share, view, now);
		step(1, 'summary');
		const body = await this.#putBody(id, share, built.bundle);
		step(2, 'encrypt');
		await this.#request('PUT', `/api/vaults/${this.#port.vaultId}/shares/${id}`, body);
		step(3, 'upload');
		try {
			await record.change((d, ctx) => addShare(d, id, share, built.hash, ctx));
		} catch (error) {
			// Nobody could revoke a link the record does not hold: take it down.
			await this.#request('DELETE', `/api/vaults/${this.#port.vaultId}/shares/${id}`).catch(() => {});
			throw error;
		}
		step(4, 'save');
		this.#watch(record);
		const info = record.view().shares().find((s) => s.id === id);
		if (info === undefined) throw new CarnetError('internal', 'the share was not written');
		return { ...info, link: this.link(id) };
	}

	/** See ShareService.revoke. */
	async revoke(id: string): Promise<void> {
		this.#assertOpen();
		const record = await this.#port.record();
		if (shareSecrets(record.doc(), id) === undefined) throw new RecordValidationError([{ field: 'id', code: 'not_found' }]);
		try {
			await this.#request('DELETE', `/api/vaults/${this.#port.vaultId}/shares/${id}`);
		} catch (error) {
			// The relay forgot it already (expired and purged, or never published): revoked all the same.
			if (!(error instanceof RelayError && error.code === 'not_found')) throw error;
		}
		await record.change((doc, ctx) => void revokeShare(doc, id, ctx));
	}

	/**
	 * See ShareService.link. Synchronous, so the record must be open (`session.open`, as any
	 * page showing shares has done); CarnetError `not_ready` otherwise.
	 */
	link(id: string): string {
		this.#assertOpen();
		const record = this.#opened ?? this.#port.openedRecord();
		if (record === undefined) throw new CarnetError('not_ready', 'open the record first');
		const secrets = shareSecrets(record.doc(), id);
		if (secrets === undefined) throw new RecordValidationError([{ field: 'id', code: 'not_found' }]);
		const s = secrets.share;
		const payload: ShlPayloadInput = {
			url: s.url,
			key: s.key,
			...(s.exp === null ? {} : { exp: s.exp }),
			...(s.flag ? { flag: s.flag } : {}),
			...(s.label ? { label: s.label } : {})
		};
		return viewerLink(this.#origins().app, payload);
	}

	// The record once opened (link is synchronous).
	#opened: OpenRecord | undefined;

	/** Opens the record for the synchronous calls (`link`) and starts watching it. */
	async open(): Promise<void> {
		this.#watch(await this.#port.record());
	}

	// --- republish ---------------------------------------------------------------------------

	/** See ShareService.republish. Runs one at a time. */
	republish(): Promise<number> {
		this.#assertOpen();
		const run = this.#republishing.catch(() => 0).then(() => this.#republish());
		this.#republishing = run;
		return run;
	}

	async #republish(): Promise<number> {
		const record = await this.#port.record();
		this.#watch(record);
		const now = new Date();
		let count = 0;
		for (const info of record.view().shares()) {
			if (info.status !== 'active' || !info.flag.includes('L')) continue;
			const secrets = shareSecrets(record.doc(), info.id);
			if (secrets === undefined) continue;
			const built = await this.#build(info.id, secrets.share, record.view(), now);
			if (built.hash === secrets.publishedHash) continue;
			// A device without some file's bytes would publish less than the share holds: the
			// devices that have them republish.
			if (built.missingFiles) continue;
			const body = await this.#putBody(info.id, secrets.share, built.bundle);
			await this.#request('PUT', `/api/vaults/${this.#port.vaultId}/shares/${info.id}`, body);
			await record.change((doc, ctx) => void markPublished(doc, info.id, built.hash, ctx));
			count++;
		}
		return count;
	}

	/**
	 * Republishes after record changes while online: REPUBLISH_DEBOUNCE_MS after the first
	 * change, taking in whatever else changed meanwhile (republish compares content hashes, so
	 * changes that share nothing, like access entries, publish nothing).
	 */
	#watch(record: OpenRecord): void {
		this.#opened = record;
		if (this.#unsubscribe !== undefined || this.#closed) return;
		let first = true;
		this.#unsubscribe = record.subscribe((view) => {
			if (first) {
				first = false;
				return;
			}
			if (this.#waitingForShare && view.shares().length > 0) {
				// Maybe the share a contribution waits for has arrived.
				this.#waitingForShare = false;
				this.refresh().catch(() => {});
			}
			// Not reset by later changes: access entries written as links are opened would
			// otherwise put republishing off for as long as someone keeps opening one.
			if (this.#timer !== undefined) return;
			if (!view.shares().some((s) => s.status === 'active' && s.flag.includes('L'))) return;
			this.#timer = setTimeout(() => {
				this.#timer = undefined;
				if (!this.#closed && this.#port.online()) this.republish().catch(() => {});
			}, REPUBLISH_DEBOUNCE_MS);
		});
	}

	// --- refresh -----------------------------------------------------------------------------

	/** See ShareService.refresh. Calls during a run make it run once more, after. */
	refresh(): Promise<void> {
		this.#assertOpen();
		if (this.#refreshing !== undefined) {
			this.#again = true;
			return this.#refreshing;
		}
		const run = (async () => {
			try {
				do {
					this.#again = false;
					await this.#refresh();
				} while (this.#again && !this.#closed);
			} finally {
				this.#refreshing = undefined;
			}
		})();
		this.#refreshing = run;
		return run;
	}

	async #refresh(): Promise<void> {
		const state = await this.#loadState();
		const vault = this.#port.vaultId;
		// The record is opened only when there is something to write: a connection makes every
		// record of the device catch up, most with nothing new.
		let record = this.#opened;
		const open = async () => {
			record ??= await this.#port.record();
			this.#watch(record);
			return record;
		};

		for (;;) {
			const page = parseAccess(await this.#json('GET', `/api/vaults/${vault}/access?after=${state.accessAfter}`));
			if (page.length === 0) break;
			const fresh = page.filter((event) => event.seq > state.accessAfter);
			await (await open()).change((doc) => {
				for (const event of fresh) {
					try {
						recordAccess(doc, event);
					} catch {
						// An event the record refuses (bad shape) is skipped, never written.
					}
				}
			});
			state.accessAfter = Math.max(state.accessAfter, ...page.map((e) => e.seq));
			await this.#port.state.save(state);
			for (const event of fresh) {
				this.#emit({ kind: 'access', share: event.share, at: event.at, recipient: event.recipient, outcome: event.outcome });
			}
			if (page.length < PAGE) break;
		}

		for (;;) {
			const page = parseContributions(await this.#json('GET', `/api/vaults/${vault}/contributions?after=${state.contributionsAfter}`));
			if (page.length === 0) break;
			let later = false;
			for (const item of page) {
				if (item.seq <= state.contributionsAfter) continue;
				const imported = await this.#import(await open(), item, state);
				// The cursor stays before a contribution to import later, and so before what follows.
				if (imported === 'later') {
					later = true;
					break;
				}
				state.contributionsAfter = item.seq;
				await this.#port.state.save(state);
				if (imported !== undefined) this.#emit(imported);
			}
			if (later || page.length < PAGE) break;
		}
	}

	/** Opens, checks and imports one contribution; problems go to the state, never thrown. */
	async #import(record: OpenRecord, item: ContributionItem, state: ShareState): Promise<ShareEvent | 'later' | undefined> {
		const problem = (reason: ShareProblem['reason']) => {
			state.problems.push({ id: item.id, share: item.share, at: new Date().toISOString(), reason });
			return undefined;
		};
		const secrets = shareSecrets(record.doc(), item.share);
		const inbox = secrets?.share.inbox;
		if (secrets === undefined && Date.now() - Date.parse(item.at) < UNKNOWN_SHARE_WAIT_MS) {
			// A share made on another device whose record has not arrived here yet: wait for it.
			this.#waitingForShare = true;
			return 'later';
		}
		if (inbox === undefined) return problem('unknown_share');
		const sealed = await this.#bytes('GET', `/api/vaults/${this.#port.vaultId}/contributions/${item.id}`);
		let parsed: Contribution;
		try {
			const opened = openSealed({ publicKey: fromBase64url(inbox.publicKey), privateKey: fromBase64url(inbox.secretKey) }, sealed);
			const result = Contribution.safeParse(JSON.parse(utf8Decode(opened)));
			if (!result.success) return problem('invalid');
			parsed = result.data;
		} catch (error) {
			return problem(error instanceof SyntaxError ? 'invalid' : 'decrypt_failed');
		}
		const documentId = contributionEntryId(item.id);
		let file: Awaited<ReturnType<typeof fileMetaOf>> | undefined;
		if (parsed.file !== undefined) {
			const bytes = fromBase64(parsed.file.data);
			if (bytes === null) return problem('invalid');
			// The bytes before the entry: an entry never names a file its importer lacks.
			file = await this.#port.attachments.store(documentId, { name: parsed.file.name, contentType: parsed.file.contentType, bytes });
		}
		try {
			await record.change((doc) =>
				importContribution(doc, {
					id: documentId,
					share: item.share,
					at: item.at,
					type: parsed.type,
					title: parsed.title,
					date: parsed.date,
					...(parsed.note === undefined ? {} : { note: parsed.note }),
					author: parsed.author,
					...(file === undefined ? {} : { file })
				})
			);
		} catch (error) {
			if (error instanceof RecordValidationError) {
				if (file !== undefined) await this.#port.attachments.delete(documentId);
				return problem('rejected');
			}
			throw error;
		}
		return { kind: 'contribution', share: item.share, documentId, author: { name: parsed.author.name, rpps: parsed.author.rpps } };
	}

	/** See ShareService.problems. */
	async problems(): Promise<readonly ShareProblem[]> {
		return [...(await this.#loadState()).problems];
	}

	/** See ShareService.onEvent. */
	onEvent(fn: (event: ShareEvent) => void): () => void {
		this.#listeners.add(fn);
		return () => {
			this.#listeners.delete(fn);
		};
	}

	/** The session's relay events: a notice for this record, or a (re)connection: catch up. */
	relayEvent(event: { type: 'notice'; vault: string } | { type: 'connected' }): void {
		if (this.#closed || (event.type === 'notice' && event.vault !== this.#port.vaultId)) return;
		this.refresh().catch(() => {
			// Offline again, or the record is not here yet: the next connection catches up.
		});
		// Changes made offline are published once back, by a device that has the record open.
		if (event.type === 'connected' && this.#opened !== undefined) this.republish().catch(() => {});
	}

	/** Stops timers and listeners, wipes the state subkey (lock). */
	close(): void {
		this.#closed = true;
		clearTimeout(this.#timer);
		this.#unsubscribe?.();
		this.#listeners.clear();
		this.#port.state.close();
	}

	#emit(event: ShareEvent): void {
		for (const fn of [...this.#listeners]) {
			try {
				fn(event);
			} catch {
				// A listener's error is its own.
			}
		}
	}

	#loadState(): Promise<ShareState> {
		// One state object per service: the refresh loop mutates it and saves it.
		this.#state ??= this.#port.state.load();
		this.#state.catch(() => (this.#state = undefined));
		return this.#state;
	}

	// --- building ----------------------------------------------------------------------------

	/**
	 * The share's IPS Bundle from the current view, and the hash republish compares: the same
	 * bundle built at a fixed instant without file bytes (the entries' sha256 stand for them),
	 * so only a change of what is shared changes it.
	 */
	async #build(
		id: string,
		share: Pick<StoredShare, 'kind' | 'sections' | 'documents'>,
		view: RecordView,
		now: Date
	): Promise<{ bundle: unknown; hash: string; missingFiles: boolean }> {
		const sections = new Set<string>(share.kind === 'emergency' ? [...EMERGENCY_SECTIONS, ...share.sections] : share.sections);
		const pick = <S extends keyof IpsInput['sections']>(section: S) =>
			sections.has(section) ? (view.sections[section] as IpsInput['sections'][S]) : undefined;
		const history = pick('history');
		const wanted = new Set(share.documents);
		const entries = view.sections.documents.filter((d) => wanted.has(d.id) && !d.hidden);
		let missingFiles = false;
		const documents: IpsDocumentInput[] = [];
		for (const entry of entries) {
			const stored = entry.file === undefined ? null : await this.#port.attachments.get(entry.id);
			if (entry.file !== undefined && stored === null) missingFiles = true;
			documents.push(
				stored === null
					? { entry }
					: { entry, file: { name: stored.name, contentType: stored.contentType, data: stored.bytes, sha1: await sha1Base64(stored.bytes) } }
			);
		}
		const base: Omit<IpsInput, 'now' | 'documents'> = {
			bundleId: id,
			timeZone: localTimeZone(),
			language: 'fr',
			...(sections.has('identity') && view.identity !== null ? { identity: view.identity } : {}),
			...(sections.has('directives') && view.directives !== null ? { directives: view.directives } : {}),
			sections: strip({
				contacts: pick('contacts'),
				allergies: pick('allergies'),
				// The emergency card carries conditions only, not surgeries nor family history.
				history: share.kind === 'emergency' && history !== undefined ? history.filter((h) => h.kind === 'condition') : history,
				treatments: pick('treatments'),
				vaccinations: pick('vaccinations'),
				measurements: pick('measurements'),
				visits: pick('visits')
			})
		};
		const bundle = toIpsBundle({ ...base, now, documents });
		const stable = toIpsBundle({ ...base, now: new Date(0), documents: entries.map((entry) => ({ entry })) });
		return { bundle, hash: toBase64url(hash(utf8Encode(JSON.stringify(stable)))), missingFiles };
	}

	/** The PUT body: encrypted files, encrypted label, the relay's rules. */
	async #putBody(id: string, share: Omit<StoredShare, 'v' | 'createdAt' | 'createdBy'>, bundle: unknown): Promise<Uint8Array> {
		const key = fromBase64url(share.key);
		const files = [{ contentType: 'application/fhir+json', jwe: await encryptFile(utf8Encode(JSON.stringify(bundle)), key, 'application/fhir+json') }];
		let contributionTokenHash: string | undefined;
		if (share.inbox !== undefined) {
			const info = { v: 1, endpoint: `${this.#origins().relay}/api/shl/${id}/contributions`, inboxKey: share.inbox.publicKey, maxBytes: CONTRIBUTION_MAX_BYTES };
			files.push({ contentType: CONTRIBUTION_CONTENT_TYPE, jwe: await encryptFile(utf8Encode(JSON.stringify(info)), key, CONTRIBUTION_CONTENT_TYPE) });
			contributionTokenHash = await tokenHash(await contributionToken(key));
		}
		key.fill(0);
		const head = JSON.stringify({
			exp: share.exp,
			flag: share.flag,
			...(share.passcode === undefined ? {} : { passcode: share.passcode }),
			maxUses: share.maxUses ?? null,
			label: await this.#sealLabel(id, share.label),
			...(contributionTokenHash === undefined ? {} : { contributionTokenHash })
		});
		// A JWE is base64url and dots, nothing JSON escapes: spliced in as is rather than
		// stringified again, which for megabytes of documents costs more than encrypting them.
		const list = files.map((f) => `{"contentType":${JSON.stringify(f.contentType)},"jwe":"${f.jwe}"}`).join(',');
		return utf8Encode(`${head.slice(0, -1)},"files":[${list}]}`);
	}

	/** The label as the relay stores it: sealed under a subkey of the record's current epoch key. */
	async #sealLabel(id: string, label: string): Promise<string> {
		const epochKey = await this.#port.epochKey();
		if (epochKey === undefined) throw new OfflineError();
		const key = deriveSubkey(epochKey, SUBKEY_LABEL, SHARE_SUBKEY_CONTEXT);
		epochKey.fill(0);
		try {
			return toBase64url(encrypt(key, utf8Encode(label), utf8Encode(`carnet/share-label/v1/${id}`)));
		} finally {
			key.fill(0);
		}
	}

	// --- HTTP --------------------------------------------------------------------------------

	#origins(): { relay: string; app: string } {
		const origins = this.#port.origins();
		if (origins === undefined) throw new OfflineError();
		return origins;
	}

	/** A signed request to the relay; throws OfflineError (unreachable) or RelayError (refused). */
	async #request(method: string, path: string, body: Uint8Array = new Uint8Array()): Promise<Response> {
		this.#assertOpen();
		const member = this.#port.member();
		const authorization = signRequest({ method, path, body, member: member.id, signer: member.sign, now: new Date() });
		const fetcher = this.#port.fetch ?? globalThis.fetch;
		let response: Response;
		try {
			response = await fetcher(this.#origins().relay + path, {
				method,
				headers: { authorization, ...(body.length > 0 ? { 'content-type': 'application/json' } : {}) },
				...(body.length > 0 ? { body: body as Uint8Array<ArrayBuffer> } : {})
			});
		} catch {
			throw new OfflineError();
		}
		if (!response.ok) {
			let code = response.status === 404 ? 'not_found' : `http_${response.status}`;
			try {
				const answer = (await response.json()) as { error?: unknown };
				if (typeof answer.error === 'string') code = answer.error;
			} catch {
				// No JSON: the status says enough.
			}
			throw new RelayError(code, `${method} ${path.replace(/\?.*/, '')}: ${response.status}`);
		}
		return response;
	}

	async #json(method: string, path: string): Promise<unknown> {
		return (await this.#request(method, path)).json();
	}

	async #bytes(method: string, path: string): Promise<Uint8Array> {
		return new Uint8Array(await (await this.#request(method, path)).arrayBuffer());
	}

	#assertOpen(): void {
		if (this.#closed) throw new LockedError();
	}
}

/** One contribution as the relay lists it. */
interface ContributionItem {
	seq: number;
	id: string;
	share: string;
	at: string;
}

/** The access listing, entries of the wrong shape dropped (the record checks them again). */
function parseAccess(value: unknown): { seq: number; share: string; at: string; recipient: string; outcome: AccessOutcome }[] {
	if (!Array.isArray(value)) return [];
	return value.filter(
		(e): e is { seq: number; share: string; at: string; recipient: string; outcome: AccessOutcome } =>
			typeof e === 'object' &&
			e !== null &&
			Number.isInteger(e.seq) &&
			e.seq > 0 &&
			typeof e.share === 'string' &&
			typeof e.at === 'string' &&
			typeof e.recipient === 'string' &&
			['opened', 'wrong_passcode', 'refused'].includes(e.outcome)
	).map(({ seq, share, at, recipient, outcome }) => ({ seq, share, at, recipient, outcome }));
}

function parseContributions(value: unknown): ContributionItem[] {
	if (!Array.isArray(value)) return [];
	return value
		.filter(
			(e): e is ContributionItem =>
				typeof e === 'object' && e !== null && Number.isInteger(e.seq) && e.seq > 0 && typeof e.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(e.id) && typeof e.share === 'string' && typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at))
		)
		.map(({ seq, id, share, at }) => ({ seq, id, share, at: new Date(at).toISOString() }));
}

/** "Carnet — <given> <family>", cut to the label limit. */
function defaultLabel(view: RecordView): string {
	const name = [view.identity?.givenName, view.identity?.familyName].filter(Boolean).join(' ');
	const label = name === '' ? 'Carnet' : `Carnet — ${name}`;
	return [...label].slice(0, 80).join('');
}

function localTimeZone(): string {
	try {
		return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
	} catch {
		return 'UTC';
	}
}

/** The object without its undefined values: an absent section is "not shared" to toIpsBundle. */
function strip<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** FHIR's `Attachment.hash`: SHA-1, base64. WebCrypto's, native, for megabytes of documents. */
async function sha1Base64(bytes: Uint8Array): Promise<string> {
	return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-1', bytes as Uint8Array<ArrayBuffer>)));
}
