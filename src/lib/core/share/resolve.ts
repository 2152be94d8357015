/**
 * Opening a SMART Health Link as a recipient (HL7 SHL STU1, docs/SHARING.md): fetch the
 * manifest (or the single file of a `U` link), fetch and decrypt each file. Viewer-safe: jose
 * and WebCrypto only.
 */
import { z } from 'zod';
import { CryptoError } from '../crypto/errors';
import { decryptFile } from '../crypto/jwe';
import { ShlError, type ShlErrorCode } from './errors';
import { isAllowedUrl, payloadKey, type ShlPayload } from './payload';

/** Content types whose plaintext `openShl` parses as JSON into `ShlFile.json`. */
export const JSON_CONTENT_TYPES: readonly string[] = [
	'application/fhir+json',
	'application/smart-health-card',
	'application/vnd.carnet.contribution+json'
];

/** STU1: the recipient is a short description of who opens the link (the relay takes 1..200). */
const RECIPIENT_MAX = 200;

/** One decrypted file of a link. `json` is set for the types of JSON_CONTENT_TYPES. */
export interface ShlFile {
	contentType: string;
	plaintext: Uint8Array;
	json?: unknown;
}

/** A file of the manifest that `openShl` skipped, and why (`code` as in ShlError). */
export interface ShlProblem {
	/** Position of the file in the manifest. */
	index: number;
	/** Its content type as the manifest announced it. */
	contentType: string;
	code: Extract<ShlErrorCode, 'bad_file' | 'not_found' | 'network'>;
	message: string;
}

/** Options of `openShl`. */
export interface OpenShlOptions {
	/** Who opens the link (1..200 characters); the relay logs it for the patient. */
	recipient: string;
	/** The passcode, for `P` links. */
	passcode?: string;
	/** A fetch to use instead of globalThis.fetch (tests, or a fetch with credentials off). */
	fetch?: typeof globalThis.fetch;
	/** Ask the server to embed files whose JWE is at most this long (saves round trips). */
	embeddedLengthMax?: number;
	/** The current time, for the expiry check (default: the clock). */
	now?: Date | number;
	/** Called for each manifest file that could not be fetched, decrypted or parsed. */
	onProblem?: (problem: ShlProblem) => void;
	/** Aborts the requests; the abort error is thrown as is. */
	signal?: AbortSignal;
}

/**
 * A manifest as STU1 describes it: each file has a content type and exactly one of `embedded`
 * (the JWE) or `location` (a URL to GET it from). Unknown fields (lastUpdated, status…) are
 * ignored.
 */
export const ShlManifest = z.object({
	files: z.array(
		z
			.object({
				contentType: z.string().min(1),
				embedded: z.string().min(1).optional(),
				location: z.string().min(1).optional()
			})
			.refine((file) => (file.embedded === undefined) !== (file.location === undefined), {
				message: 'a file has exactly one of embedded and location'
			})
	)
});

/** The parsed manifest. */
export type ShlManifest = z.infer<typeof ShlManifest>;

/**
 * Opens the link `payload` for `recipient` and returns its decrypted files, in manifest order.
 *
 * Before any request: `v` above 1 throws `unsupported_version`, a past `exp` throws `expired`,
 * a `P` link without `passcode` throws `passcode_required`.
 * `U` links: `GET url?recipient=…`, the body is the single JWE.
 * Other links: `POST url` `{recipient, passcode?, embeddedLengthMax?}`, then each `location`
 * is fetched with GET; files are decrypted with the payload's key.
 * Server answers: 404 → `not_found`; 401 → `invalid_passcode` with `remainingAttempts` (or
 * `passcode_required` when no passcode was sent); other statuses and failed requests →
 * `network`; a manifest that is not JSON of the STU1 shape → `bad_file`.
 *
 * Files: the content type is the JWE's `cty` when present (it is authenticated by the key; the
 * manifest's is not), else the manifest's; a `U` file without `cty` is sniffed (a FHIR
 * resource → application/fhir+json, `verifiableCredential` → application/smart-health-card,
 * else application/octet-stream). A manifest file that fails (fetch, decryption, JSON) is
 * skipped and reported to `onProblem`, so one broken file does not hide the others; when every
 * file of a non-empty manifest fails, the first problem is also thrown as a ShlError.
 */
export async function openShl(payload: ShlPayload, options: OpenShlOptions): Promise<ShlFile[]> {
	if (payload.v !== undefined && payload.v !== 1) throw new ShlError('unsupported_version');
	const { recipient, passcode, embeddedLengthMax, signal } = options;
	if (typeof recipient !== 'string' || recipient.length < 1 || recipient.length > RECIPIENT_MAX) {
		throw new RangeError(`openShl: recipient must be 1 to ${RECIPIENT_MAX} characters`);
	}
	if (embeddedLengthMax !== undefined && (!Number.isSafeInteger(embeddedLengthMax) || embeddedLengthMax < 0)) {
		throw new RangeError('openShl: embeddedLengthMax must be a non-negative integer');
	}
	const nowMs = options.now === undefined ? Date.now() : +options.now;
	if (payload.exp !== undefined && payload.exp * 1000 <= nowMs) throw new ShlError('expired');
	const flag = payload.flag ?? '';
	if (flag.includes('P') && !passcode) throw new ShlError('passcode_required');
	if (!isAllowedUrl(payload.url)) throw new ShlError('bad_payload', 'url must be https, or http on localhost');
	const key = payloadKey(payload);
	const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

	if (flag.includes('U')) {
		const url = new URL(payload.url);
		url.searchParams.set('recipient', recipient);
		const response = await request(doFetch, url.href, { method: 'GET', signal });
		if (!response.ok) throw statusError(response.status);
		const jwe = await readText(response, signal);
		return [await decodeFile(jwe, key, undefined)];
	}

	const body = {
		recipient,
		...(passcode ? { passcode } : {}),
		...(embeddedLengthMax !== undefined ? { embeddedLengthMax } : {})
	};
	const response = await request(doFetch, payload.url, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify(body),
		signal
	});
	if (response.status === 401) {
		if (!passcode) throw new ShlError('passcode_required');
		let remainingAttempts: number | undefined;
		try {
			const answer = (await response.json()) as { remainingAttempts?: unknown };
			const n = answer?.remainingAttempts;
			if (typeof n === 'number' && Number.isInteger(n) && n >= 0) remainingAttempts = n;
		} catch {
			// A 401 without a readable body is still a wrong passcode; the count is just unknown.
		}
		throw new ShlError('invalid_passcode', 'wrong passcode', { remainingAttempts });
	}
	if (!response.ok) throw statusError(response.status);
	let manifest: ShlManifest;
	try {
		manifest = ShlManifest.parse(JSON.parse(await readText(response, signal)));
	} catch (error) {
		if (error instanceof ShlError || isAbort(error, signal)) throw error;
		throw new ShlError('bad_file', 'the manifest is not valid', { cause: error });
	}

	const outcomes = await Promise.all(
		manifest.files.map(async (entry, index): Promise<ShlFile | ShlProblem> => {
			try {
				let jwe = entry.embedded;
				if (jwe === undefined) {
					const location = new URL(entry.location as string, payload.url);
					if (!isAllowedUrl(location.href)) throw new ShlError('bad_file', 'file location must be https');
					const fileResponse = await request(doFetch, location.href, { method: 'GET', signal });
					if (!fileResponse.ok) throw statusError(fileResponse.status);
					jwe = await readText(fileResponse, signal);
				}
				return await decodeFile(jwe, key, entry.contentType);
			} catch (error) {
				if (isAbort(error, signal)) throw error;
				const shl = error instanceof ShlError ? error : new ShlError('bad_file');
				const code = shl.code === 'not_found' || shl.code === 'network' ? shl.code : 'bad_file';
				return { index, contentType: entry.contentType, code, message: shl.message };
			}
		})
	);
	const files = outcomes.filter((outcome): outcome is ShlFile => 'plaintext' in outcome);
	const problems = outcomes.filter((outcome): outcome is ShlProblem => !('plaintext' in outcome));
	for (const problem of problems) options.onProblem?.(problem);
	if (problems.length > 0 && files.length === 0) {
		throw new ShlError(problems[0].code, problems[0].message);
	}
	return files;
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
	return signal?.aborted === true && (error === signal.reason || (error as Error)?.name === 'AbortError');
}

/** fetch, with a failed request (DNS, refused, offline, CORS) turned into `network`. */
async function request(doFetch: typeof globalThis.fetch, url: string, init: RequestInit): Promise<Response> {
	try {
		return await doFetch(url, { ...init, cache: 'no-store', credentials: 'omit', redirect: 'follow' });
	} catch (error) {
		if (isAbort(error, init.signal ?? undefined)) throw error;
		throw new ShlError('network', 'the request failed', { cause: error });
	}
}

async function readText(response: Response, signal: AbortSignal | undefined): Promise<string> {
	try {
		return await response.text();
	} catch (error) {
		if (isAbort(error, signal)) throw error;
		throw new ShlError('network', 'the answer could not be read', { cause: error });
	}
}

function statusError(status: number): ShlError {
	if (status === 404) return new ShlError('not_found');
	return new ShlError('network', `unexpected HTTP status ${status}`);
}

/** Decrypts one JWE and parses it when its type is JSON; any failure is `bad_file`. */
async function decodeFile(jwe: string, key: Uint8Array, announced: string | undefined): Promise<ShlFile> {
	let decrypted: { contentType?: string; plaintext: Uint8Array };
	try {
		decrypted = await decryptFile(jwe, key);
	} catch (error) {
		const reason = error instanceof CryptoError && error.code === 'unsupported' ? 'uses an unsupported format' : 'does not decrypt';
		throw new ShlError('bad_file', `a file ${reason}`, { cause: error });
	}
	const { plaintext } = decrypted;
	let contentType = decrypted.contentType ?? announced;
	let json: unknown;
	if (contentType === undefined) {
		// A U link's file without cty: recognise the two JSON formats STU1 carries.
		try {
			json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
		} catch {
			json = undefined;
		}
		if (isObject(json) && typeof json.resourceType === 'string') contentType = 'application/fhir+json';
		else if (isObject(json) && Array.isArray(json.verifiableCredential)) contentType = 'application/smart-health-card';
		else return { contentType: 'application/octet-stream', plaintext };
		return { contentType, plaintext, json };
	}
	if (JSON_CONTENT_TYPES.includes(contentType)) {
		try {
			json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
		} catch (error) {
			throw new ShlError('bad_file', 'a JSON file does not parse', { cause: error });
		}
		return { contentType, plaintext, json };
	}
	return { contentType, plaintext };
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
