/**
 * One WebSocket to the relay's `/sync` (docs/SYNC.md, "Frames"): waits for the challenge,
 * matches answers to requests by id, hands pushes to the owner, and turns every way a socket
 * can fail (closed, silent, refusing) into a rejected request, so callers only ever see an
 * answer or an error. Every frame from the relay is validated with core/protocol before use.
 *
 * The WebSocket class is injected: the browser's own, or `ws` in Node.
 */
import type { SignKeyPair } from '../../core/crypto';
import { parseRelayFrame, type ClientFrame, type RelayFrame } from '../../core/protocol';
import { signAuth } from '../../core/sync';
import { OfflineError, RelayError } from '../errors';

/** What Carnet needs of a WebSocket: the subset the browser's and `ws`'s share. */
export interface WebSocketLike {
	readonly readyState: number;
	send(data: string): void;
	close(code?: number, reason?: string): void;
	addEventListener(type: string, listener: (event: never) => void): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A frame as the client builds it: the socket numbers it. */
export type Outgoing = ClientFrame extends infer F ? (F extends unknown ? Omit<F, 'id'> : never) : never;

/** Frames the relay sends without being asked. */
export type PushFrame = Extract<RelayFrame, { type: 'envelope' | 'membership' | 'revoked' }>;

/** The relay's word that a share event was stored for a vault (docs/SHARING.md, "Live"). */
export type NoticeFrame = Extract<RelayFrame, { type: 'notice' }>;

/** How long a request may wait for its answer before the socket is presumed dead. */
export const REQUEST_TIMEOUT_MS = 20_000;

const OPEN = 1;

/**
 * The `/sync` endpoint of a relay given as an http(s) or ws(s) URL. A URL with no path (an
 * app origin) gets `/sync`; a ws(s) URL with a path is taken as it is.
 */
export function syncUrl(relay: string): string {
	const url = new URL(relay);
	if (url.protocol === 'http:') url.protocol = 'ws:';
	else if (url.protocol === 'https:') url.protocol = 'wss:';
	else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError('relay URL must be http(s) or ws(s)');
	if (url.pathname === '/' || url.pathname === '') url.pathname = '/sync';
	url.hash = '';
	return url.toString();
}

/** See the module comment. */
export class RelaySocket {
	/** The challenge `auth` frames sign. */
	readonly nonce: string;
	readonly #ws: WebSocketLike;
	readonly #waiting = new Map<number, { resolve(frame: RelayFrame): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }>();
	#nextId = 1;
	#closed = false;
	#onPush: (frame: PushFrame) => void = () => {};
	#onNotice: (frame: NoticeFrame) => void = () => {};
	#onClose: () => void = () => {};

	private constructor(ws: WebSocketLike, nonce: string) {
		this.#ws = ws;
		this.nonce = nonce;
	}

	/**
	 * Opens a socket to `url` (a ws(s) `/sync` URL) and resolves once the relay's challenge
	 * arrived. Rejects with OfflineError when the relay cannot be reached in `timeoutMs`.
	 */
	static open(url: string, Impl: WebSocketConstructor, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RelaySocket> {
		return new Promise((resolve, reject) => {
			let socket: RelaySocket | undefined;
			let ws: WebSocketLike;
			try {
				ws = new Impl(url);
			} catch {
				reject(new OfflineError());
				return;
			}
			const fail = () => {
				clearTimeout(timer);
				if (socket === undefined) {
					reject(new OfflineError());
					try {
						ws.close();
					} catch {
						// Closing a socket that never opened may throw; it is gone either way.
					}
				}
			};
			const timer = setTimeout(fail, timeoutMs);
			ws.addEventListener('error', fail);
			ws.addEventListener('close', () => {
				fail();
				if (socket !== undefined) socket.#shut();
			});
			ws.addEventListener('message', (event: { data: unknown }) => {
				if (typeof event.data !== 'string') return;
				if (socket !== undefined) return socket.#receive(event.data);
				const parsed = parseRelayFrame(event.data);
				if (!parsed.ok || parsed.frame.type !== 'challenge') return fail();
				clearTimeout(timer);
				socket = new RelaySocket(ws, parsed.frame.nonce);
				resolve(socket);
			});
		});
	}

	/** True until the socket closed, by either side. */
	get isOpen(): boolean {
		return !this.#closed && this.#ws.readyState === OPEN;
	}

	/**
	 * Sets who gets the relay's pushes and who hears of the close (once); `onNotice` gets the
	 * share notices, which concern no record's sync.
	 */
	listen(onPush: (frame: PushFrame) => void, onClose: () => void, onNotice?: (frame: NoticeFrame) => void): void {
		this.#onPush = onPush;
		this.#onClose = onClose;
		if (onNotice !== undefined) this.#onNotice = onNotice;
		if (this.#closed) onClose();
	}

	/**
	 * Authenticates `signer` on this socket, for `vault` or (without) to learn which vaults it
	 * belongs to. Rejects with RelayError (`not_member`...) when refused.
	 */
	async auth(signer: SignKeyPair, vault?: string): Promise<string[]> {
		const answer = await this.request({ type: 'auth', ...signAuth(signer, this.nonce, vault) }, 'ok');
		return answer.vaults ?? [];
	}

	/**
	 * Sends `frame` and resolves with the answer of type `type`. Rejects with RelayError when
	 * the relay refuses it, OfflineError when the socket closes or stays silent first.
	 */
	request<T extends RelayFrame['type']>(frame: Outgoing, type: T, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Extract<RelayFrame, { type: T }>> {
		if (!this.isOpen) return Promise.reject(new OfflineError());
		const id = this.#nextId++;
		return new Promise<RelayFrame>((resolve, reject) => {
			// A silent relay is a dead one: close, so every other request fails now too and the owner reconnects.
			const timer = setTimeout(() => this.close(), timeoutMs);
			this.#waiting.set(id, { resolve, reject, timer });
			this.#ws.send(JSON.stringify({ ...frame, id }));
		}).then((answer) => {
			if (answer.type === 'error') throw new RelayError(answer.code, answer.message, answer.expected);
			if (answer.type !== type) throw new RelayError('bad_frame', `expected ${type}, got ${answer.type}`);
			return answer as Extract<RelayFrame, { type: T }>;
		});
	}

	/** Closes the socket; pending requests reject with OfflineError. Idempotent. */
	close(): void {
		try {
			this.#ws.close(1000);
		} catch {
			// Already closing.
		}
		this.#shut();
	}

	#receive(text: string): void {
		const parsed = parseRelayFrame(text);
		// Nothing off-protocol is acted on: a relay that sends it is treated as silent.
		if (!parsed.ok) return;
		const frame = parsed.frame;
		const id = 'id' in frame ? frame.id : undefined;
		if (id !== undefined) {
			const waiter = this.#waiting.get(id);
			if (waiter === undefined) return;
			this.#waiting.delete(id);
			clearTimeout(waiter.timer);
			waiter.resolve(frame);
			return;
		}
		switch (frame.type) {
			case 'envelope':
			case 'membership':
			case 'revoked':
				this.#onPush(frame);
				return;
			case 'notice':
				this.#onNotice(frame);
				return;
			case 'error':
				// A refusal the relay could not tie to a request (rate_limited): which request it
				// dropped is unknown, so start over on a new socket, where every request is retried.
				if (frame.code === 'rate_limited') this.close();
				return;
			default:
				return;
		}
	}

	#shut(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const { reject, timer } of this.#waiting.values()) {
			clearTimeout(timer);
			reject(new OfflineError());
		}
		this.#waiting.clear();
		this.#onClose();
	}
}
