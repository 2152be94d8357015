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
import { encryptFileSegments, randomKey } from '../../core/crypto/jwe';
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
	type StoredShare,
	type FileMeta
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
import { SHARE_PUT_BINARY_TYPE } from '../../core/protocol/shl';
import type { Files } from '../files';
import { CarnetError, FileTooLargeError, LockedError, OfflineError, RelayError } from '../errors';
import { relayRequest } from '../relay-http';
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
	/** The record's file service: a share's files, a contribution's file. */
	readonly files: Files;
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

		// The label is sealed (which may wait for the relay to know the record) while the IPS is built.
		const sealedLabel = this.#sealLabel(id, label);
		sealedLabel.catch(() => {});
		const built = await this.#bundle(id, share, view, now);
		step(1, 'summary');
		const body = await this.#putBody(id, share, built.bundle, sealedLabel);
		step(2, 'encrypt');
		const path = `/api/vaults/${this.#port.vaultId}/shares/${id}`;
		const upload = this.#request('PUT', path, body, SHARE_PUT_BINARY_TYPE);
		// The hash republish compares is made while the body travels (the browser's network
		// stack and the relay do that work, not this thread).
		let hash: string;
		try {
			hash = this.#stableHash(id, share, view);
		} catch (error) {
			if (await upload.then(() => true, () => false)) await this.#request('DELETE', path).catch(() => {});
			throw error;
		}
		await upload;
		step(3, 'upload');
		try {
			await record.change((d, ctx) => addShare(d, id, share, hash, ctx));
		} catch (error) {
			// Nobody could revoke a link the record does not hold: take it down.
			await this.#request('DELETE', path).catch(() => {});
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
			const view = record.view();
			// The files are read only for a share whose content changed.
			const hash = this.#stableHash(info.id, secrets.share, view);
			if (hash === secrets.publishedHash) continue;
			const built = await this.#bundle(info.id, secrets.share, view, now);
			// A device that can neither read nor fetch some file's bytes (offline, damaged) would
			// publish less than the share holds: another device, or a later republish, does it.
			if (built.missingFiles) continue;
			const body = await this.#putBody(info.id, secrets.share, built.bundle, this.#sealLabel(info.id, secrets.share.label));
			await this.#request('PUT', `/api/vaults/${this.#port.vaultId}/shares/${info.id}`, body, SHARE_PUT_BINARY_TYPE);
			await record.change((doc, ctx) => void markPublished(doc, info.id, hash, ctx));
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
		let file: FileMeta | undefined;
		// Imported already (by this device, or by another whose change arrived): no second blob.
		const known = record.view().sections.documents.some((entry) => entry.id === documentId);
		if (parsed.file !== undefined && !known) {
			const data = fromBase64(parsed.file.data);
			if (data === null) return problem('invalid');
			// Sealed and stored here (its upload queued) before the entry: an entry never names a
			// file no device holds.
			try {
				file = await this.#port.files.store(documentId, { name: parsed.file.name, contentType: parsed.file.contentType, data });
			} catch (error) {
				if (error instanceof RecordValidationError || error instanceof FileTooLargeError) return problem('rejected');
				throw error;
			}
		}
		let written = true;
		try {
			await record.change((doc) => {
				written = importContribution(doc, {
					id: documentId,
					share: item.share,
					at: item.at,
					type: parsed.type,
					title: parsed.title,
					date: parsed.date,
					...(parsed.note === undefined ? {} : { note: parsed.note }),
					author: parsed.author,
					...(file === undefined ? {} : { file })
				});
			});
		} catch (error) {
			if (file !== undefined) await this.#port.files.discard(file.blob);
			if (error instanceof RecordValidationError) return problem('rejected');
			throw error;
		}
		// Another device's import landed between the check and the write: its file stands.
		if (!written && file !== undefined) await this.#port.files.discard(file.blob);
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

	/** What a share's IPS is made of, but its documents: the sections chosen, from `view`. */
	#selection(
		id: string,
		share: Pick<StoredShare, 'kind' | 'sections' | 'documents'>,
		view: RecordView
	): { base: Omit<IpsInput, 'now' | 'documents'>; entries: IpsDocumentInput['entry'][] } {
		const sections = new Set<string>(share.kind === 'emergency' ? [...EMERGENCY_SECTIONS, ...share.sections] : share.sections);
		const pick = <S extends keyof IpsInput['sections']>(section: S) =>
			sections.has(section) ? (view.sections[section] as IpsInput['sections'][S]) : undefined;
		const history = pick('history');
		const wanted = new Set(share.documents);
		const entries = view.sections.documents.filter((d) => wanted.has(d.id) && !d.hidden);
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
		return { base, entries };
	}

	/**
	 * The hash republish compares: the share's bundle built at a fixed instant without file
	 * bytes (the entries' file hashes stand for them), so only a change of what is shared changes it.
	 */
	#stableHash(id: string, share: Pick<StoredShare, 'kind' | 'sections' | 'documents'>, view: RecordView): string {
		const { base, entries } = this.#selection(id, share, view);
		const stable = toIpsBundle({ ...base, now: new Date(0), documents: entries.map((entry) => ({ entry })) });
		return toBase64url(hash(utf8Encode(JSON.stringify(stable))));
	}

	/**
	 * The share's IPS Bundle from `view`, the documents' files inline: from this device, or
	 * downloaded from the relay when another device added them.
	 */
	async #bundle(
		id: string,
		share: Pick<StoredShare, 'kind' | 'sections' | 'documents'>,
		view: RecordView,
		now: Date
	): Promise<{ bundle: unknown; missingFiles: boolean }> {
		const { base, entries } = this.#selection(id, share, view);
		const withFiles = entries.filter((entry) => entry.file !== undefined);
		const files = await this.#port.files.getMany(withFiles.map((entry) => entry.id));
		const stored = new Map(withFiles.map((entry, i) => [entry.id, files[i]]));
		// A listed file no device could provide: the share would carry less than the record holds.
		const missingFiles = files.includes(null);
		const documents = await Promise.all(
			entries.map(async (entry): Promise<IpsDocumentInput> => {
				const file = stored.get(entry.id);
				return file
					? { entry, file: { name: file.name, contentType: file.contentType, data: file.bytes, sha1: await sha1Base64(file.bytes) } }
					: { entry };
			})
		);
		return { bundle: toIpsBundle({ ...base, now, documents }), missingFiles };
	}

	/**
	 * The PUT body, binary (protocol/shl.ts `sharePutMetaSchema`): the relay's rules and the
	 * sealed label as JSON, then each file's JWE as its IV, ciphertext and tag, not as text.
	 */
	async #putBody(
		id: string,
		share: Omit<StoredShare, 'v' | 'createdAt' | 'createdBy'>,
		bundle: unknown,
		sealedLabel: Promise<string>
	): Promise<Uint8Array> {
		const info =
			share.inbox === undefined
				? undefined
				: { v: 1, endpoint: `${this.#origins().relay}/api/shl/${id}/contributions`, inboxKey: share.inbox.publicKey, maxBytes: CONTRIBUTION_MAX_BYTES };
		const key = fromBase64url(share.key);
		let files: { contentType: string; protectedHeader: string; iv: Uint8Array; sealed: Uint8Array }[];
		let contributionTokenHash: string | undefined;
		let label: string;
		try {
			const [ips, extension, tokenHashed, sealed] = await Promise.all([
				encryptFileSegments(jsonBytes(bundle), key, 'application/fhir+json'),
				info === undefined ? undefined : encryptFileSegments(utf8Encode(JSON.stringify(info)), key, CONTRIBUTION_CONTENT_TYPE),
				info === undefined ? undefined : contributionToken(key).then(tokenHash),
				sealedLabel
			]);
			files = [{ contentType: 'application/fhir+json', ...ips }, ...(extension === undefined ? [] : [{ contentType: CONTRIBUTION_CONTENT_TYPE, ...extension }])];
			contributionTokenHash = tokenHashed;
			label = sealed;
		} finally {
			key.fill(0);
		}
		const meta = utf8Encode(
			JSON.stringify({
				exp: share.exp,
				flag: share.flag,
				...(share.passcode === undefined ? {} : { passcode: share.passcode }),
				maxUses: share.maxUses ?? null,
				label,
				...(contributionTokenHash === undefined ? {} : { contributionTokenHash }),
				files: files.map((f) => ({ contentType: f.contentType, protected: f.protectedHeader, bytes: f.iv.length + f.sealed.length }))
			})
		);
		const body = new Uint8Array(4 + meta.length + files.reduce((sum, f) => sum + f.iv.length + f.sealed.length, 0));
		new DataView(body.buffer).setUint32(0, meta.length);
		body.set(meta, 4);
		let offset = 4 + meta.length;
		for (const f of files) {
			body.set(f.iv, offset);
			body.set(f.sealed, offset + f.iv.length);
			offset += f.iv.length + f.sealed.length;
		}
		return body;
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
	async #request(method: string, path: string, body: Uint8Array = new Uint8Array(), contentType = 'application/json'): Promise<Response> {
		this.#assertOpen();
		return relayRequest(
			{ relayOrigin: () => this.#port.origins()?.relay, member: () => this.#port.member(), fetch: this.#port.fetch },
			method,
			path,
			{ body, contentType }
		);
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

/** Strings at least this long that JSON leaves as they are (base64) are written into jsonBytes' output apart. */
const SPLICE_MIN_CHARS = 64 * 1024;
const textEncoder = new TextEncoder();

/**
 * `utf8Encode(JSON.stringify(value))`, byte for byte, made faster for megabytes of base64
 * (documents inline): those strings are swapped for numbered random placeholders while
 * `value` is stringified (then put back), and encoded straight into the output, where they are
 * ASCII and need no escaping. Chromium 156, the bench's 7 MB bundle: ~19 ms, against ~48 ms
 * for stringifying it whole and encoding the string (which one non-Latin-1 character, an em
 * dash in a title, makes a two-byte string, slower to encode).
 * `value` is plain JSON data (no toJSON, no cycles), as an IPS bundle is.
 */
function jsonBytes(value: unknown): Uint8Array {
	const holes: { parent: Record<string, unknown>; key: string; text: string }[] = [];
	const mark = toBase64url(randomKey());
	const walk = (node: Record<string, unknown>) => {
		for (const key of Object.keys(node)) {
			const v = node[key];
			if (typeof v === 'string') {
				// JSON escapes nothing in it (the length says so; a regular expression over
				// megabytes is far slower), and it is checked to be ASCII as it is written.
				if (v.length >= SPLICE_MIN_CHARS && JSON.stringify(v).length === v.length + 2) {
					node[key] = `${mark}.${holes.length}`;
					holes.push({ parent: node, key, text: v });
				}
			} else if (typeof v === 'object' && v !== null) walk(v as Record<string, unknown>);
		}
	};
	if (typeof value === 'object' && value !== null) walk(value as Record<string, unknown>);
	let skeleton: string;
	try {
		skeleton = JSON.stringify(value);
	} finally {
		for (const hole of holes) hole.parent[hole.key] = hole.text;
	}
	// Each piece after the first starts with `.<hole>"`, the rest of a placeholder.
	const pieces = skeleton.split(`"${mark}`);
	if (pieces.length !== holes.length + 1) return utf8Encode(JSON.stringify(value));
	// UTF-16 code units take at most 3 bytes each in UTF-8; base64 takes 1.
	const out = new Uint8Array(pieces.reduce((n, p) => n + p.length * 3, 0) + holes.reduce((n, h) => n + h.text.length + 2, 0));
	let offset = textEncoder.encodeInto(pieces[0], out.subarray(0)).written;
	for (let i = 1; i < pieces.length; i++) {
		const end = pieces[i].indexOf('"');
		const hole = holes[Number(pieces[i].slice(1, end))];
		out[offset++] = 0x22; // "
		const { read, written } = textEncoder.encodeInto(hole.text, out.subarray(offset));
		if (read !== hole.text.length || written !== read) return utf8Encode(JSON.stringify(value));
		offset += written;
		out[offset++] = 0x22;
		offset += textEncoder.encodeInto(pieces[i].slice(end + 1), out.subarray(offset)).written;
	}
	return out.subarray(0, offset);
}

/** FHIR's `Attachment.hash`: SHA-1, base64. WebCrypto's, native, for megabytes of documents. */
async function sha1Base64(bytes: Uint8Array): Promise<string> {
	return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-1', bytes as Uint8Array<ArrayBuffer>)));
}
