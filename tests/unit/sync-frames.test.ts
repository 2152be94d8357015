import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxKeyPair, randomBytes, ready, signKeyPair, toBase64url } from '../../src/lib/core/crypto';
import {
	ERROR_CODES,
	MAX_FRAME_BYTES,
	VAULT_ID_BYTES,
	base64urlLength,
	isBase64url,
	parseClientFrame,
	parseRelayFrame,
	type ClientFrame,
	type ParseResult,
	type RelayFrame
} from '../../src/lib/core/protocol';
import {
	addOp,
	createVault,
	removeMember,
	replayMembership,
	sealEnvelope,
	sealSnapshot,
	signAuth,
	type MembershipState
} from '../../src/lib/core/sync';

let client: ClientFrame[];
let relay: RelayFrame[];

beforeAll(async () => {
	await ready();
	const creator = { sign: signKeyPair(), box: boxKeyPair() };
	const recovery = { sign: signKeyPair(), box: boxKeyPair() };
	const reader = { sign: signKeyPair(), box: boxKeyPair() };
	// The same 22-character id form src/lib/client's newVault makes.
	const vault = toBase64url(randomBytes(VAULT_ID_BYTES));
	const key = randomBytes(32);
	const now = new Date();
	const created = createVault({ vault, vaultKey: key, creator, recovery, at: now });
	const replayed = replayMembership(created.ops, now);
	if (!replayed.ok) throw new Error(replayed.error.message);
	const state: MembershipState = replayed.state;
	const add = addOp(state, creator.sign, { id: toBase64url(reader.sign.publicKey), box: toBase64url(reader.box.publicKey), role: 'reader' }, now);
	const rotation = removeMember(state, creator.sign, created.ops[1].member.id, key, now);
	const envelope = sealEnvelope({ vault, epoch: 0, key, author: creator.sign, counter: 1, changes: randomBytes(100) });
	const snapshot = sealSnapshot({ vault, epoch: 0, key, author: creator.sign, coversSeq: 1, document: randomBytes(100) });
	const nonce = toBase64url(randomBytes(32));
	client = [
		{ type: 'auth', id: 1, ...signAuth(creator.sign, nonce, vault) },
		{ type: 'auth', id: 2, ...signAuth(creator.sign, nonce) },
		{ type: 'create', id: 3, ops: created.ops, lockboxes: created.lockboxes },
		{ type: 'membership', id: 4, vault, since: 0 },
		{ type: 'append', id: 5, vault, op: add },
		{ type: 'append', id: 6, vault, op: add, lockboxes: [created.lockboxes[0]] },
		{ type: 'rotate', id: 7, vault, op: rotation.op, lockboxes: rotation.lockboxes, history: rotation.history },
		{ type: 'keys', id: 8, vault },
		{ type: 'push', id: 9, envelope },
		{ type: 'pull', id: 10, vault, since: 0 },
		{ type: 'pull', id: 11, vault, since: 3, limit: 50 },
		{ type: 'snapshot', id: 12, snapshot },
		{ type: 'subscribe', id: 13, vault },
		{ type: 'seen', id: 14, vault }
	];
	relay = [
		{ type: 'challenge', nonce },
		{ type: 'ok', id: 1 },
		{ type: 'ok', id: 2, vaults: [vault] },
		{ type: 'error', code: 'bad_frame', message: 'frame: a frame must be JSON' },
		{ type: 'error', id: 3, code: 'conflict', message: 'prev is not the head' },
		{ type: 'membership', id: 4, vault, ops: created.ops },
		{ type: 'membership', vault, ops: [add] },
		{ type: 'keys', id: 8, lockboxes: created.lockboxes, history: [rotation.history] },
		{ type: 'ack', id: 9, seq: 1 },
		{ type: 'batch', id: 10, snapshot, envelopes: [{ seq: 2, envelope }], head: 2 },
		{ type: 'batch', id: 11, envelopes: [], head: 0 },
		{ type: 'envelope', seq: 3, envelope },
		{ type: 'revoked', vault },
		{ type: 'seen', id: 14, vault, members: [{ member: created.ops[0].member.id, at: now.toISOString() }] }
	];
});

function expectBad<F>(result: ParseResult<F>, code: 'bad_frame' | 'too_large' = 'bad_frame', pattern?: RegExp): void {
	expect(result.ok).toBe(false);
	if (result.ok) return;
	expect(result.error.code).toBe(code);
	expect(result.error.message.length).toBeGreaterThan(0);
	if (pattern) expect(result.error.message).toMatch(pattern);
}

/** A valid client frame of `type`, as a mutable plain object. */
function frame(type: string, index = 0): Record<string, unknown> {
	return structuredClone(client.filter((f) => f.type === type)[index]) as Record<string, unknown>;
}

const parse = (value: unknown) => parseClientFrame(JSON.stringify(value));

describe('isBase64url', () => {
	it('accepts exactly what toBase64url produces', () => {
		for (let n = 0; n < 70; n++) {
			const text = toBase64url(randomBytes(n));
			expect(text.length).toBe(base64urlLength(n));
			expect(isBase64url(text)).toBe(true);
		}
	});

	it('refuses padding, the standard alphabet, impossible lengths and stray bits', () => {
		for (const bad of ['AA==', 'A+B/', 'A', 'AAAAA', 'AB', 'AAB', 'A A', 'AAAAAAAAAAAAAAAAAAAAAB']) {
			expect(isBase64url(bad)).toBe(false);
		}
	});
});

describe('valid frames', () => {
	it('every client frame parses back to itself', () => {
		for (const f of client) {
			const result = parseClientFrame(JSON.stringify(f));
			expect(result).toEqual({ ok: true, frame: f });
		}
	});

	it('every relay frame parses back to itself', () => {
		for (const f of relay) {
			const result = parseRelayFrame(JSON.stringify(f));
			expect(result).toEqual({ ok: true, frame: f });
		}
	});

	it('client and relay frames are told apart', () => {
		expectBad(parseRelayFrame(JSON.stringify(frame('push'))));
		expectBad(parseClientFrame(JSON.stringify(relay[0])));
	});
});

describe('bad frames', () => {
	it('too large, counted in UTF-8 bytes, before any JSON parsing', () => {
		expectBad(parseClientFrame('x'.repeat(MAX_FRAME_BYTES + 1)), 'too_large', /1048576/);
		// Under the limit in UTF-16 units, over it in bytes.
		expectBad(parseClientFrame('é'.repeat(MAX_FRAME_BYTES / 2 + 1)), 'too_large');
		expectBad(parseClientFrame('😀'.repeat(MAX_FRAME_BYTES / 4 + 1)), 'too_large');
		expectBad(parseRelayFrame('{'.repeat(MAX_FRAME_BYTES + 1)), 'too_large');
		// At the limit exactly: parsed, and refused for what it is.
		expectBad(parseClientFrame(' '.repeat(MAX_FRAME_BYTES)), 'bad_frame', /JSON/);
		const padded = JSON.stringify(frame('subscribe'));
		expect(parseClientFrame(padded + ' '.repeat(MAX_FRAME_BYTES - padded.length)).ok).toBe(true);
	});

	it('not JSON, or JSON but not an object', () => {
		for (const text of ['', 'hello', '{"type":', '{type:"auth"}', '\u0000']) expectBad(parseClientFrame(text), 'bad_frame', /JSON/);
		for (const text of ['null', '1', '"push"', '[]', 'true']) expectBad(parseClientFrame(text), 'bad_frame', /object/);
		expectBad(parseClientFrame(undefined as unknown as string), 'bad_frame');
	});

	it('unknown or missing type', () => {
		expectBad(parse({ type: 'delete', id: 1, vault: 'AAAAAAAAAAAAAAAAAAAAAA' }), 'bad_frame', /type/);
		expectBad(parse({ id: 1 }), 'bad_frame', /type/);
		expectBad(parse({ ...frame('push'), type: 'PUSH' }), 'bad_frame', /type/);
	});

	it('missing fields are named in the message', () => {
		const push = frame('push');
		delete (push.envelope as Record<string, unknown>).sig;
		expectBad(parse(push), 'bad_frame', /envelope\.sig/);
		const pull = frame('pull');
		delete pull.since;
		expectBad(parse(pull), 'bad_frame', /since/);
		const rotate = frame('rotate');
		delete rotate.history;
		expectBad(parse(rotate), 'bad_frame', /history/);
	});

	it('wrong base64url lengths and forms', () => {
		const vault = frame('subscribe').vault as string;
		for (const bad of [vault.slice(1), vault + 'A', vault.slice(0, -1) + 'B', vault.slice(0, -1) + '+', 'A'.repeat(20) + '==']) {
			expectBad(parse({ ...frame('subscribe'), vault: bad }), 'bad_frame', /16 bytes.*22 characters/);
		}
		const auth = frame('auth');
		const member = auth.member as string;
		expectBad(parse({ ...auth, member: member.slice(1) }), 'bad_frame', /member.*43 characters/);
		expectBad(parse({ ...auth, member: member + 'A' }), 'bad_frame', /43 characters/);
		expectBad(parse({ ...auth, sig: (auth.sig as string).slice(1) }), 'bad_frame', /sig.*86 characters/);
		const create = frame('create');
		const lockboxes = create.lockboxes as Record<string, unknown>[];
		lockboxes[0].sealed = (lockboxes[0].sealed as string).slice(4);
		expectBad(parse(create), 'bad_frame', /lockboxes\[0\]\.sealed/);
	});

	it('wrong types, ranges and extra keys', () => {
		expectBad(parse({ ...frame('pull'), since: -1 }), 'bad_frame', /since/);
		expectBad(parse({ ...frame('pull'), since: 1.5 }), 'bad_frame', /since/);
		expectBad(parse({ ...frame('pull'), limit: 0 }), 'bad_frame', /limit/);
		expectBad(parse({ ...frame('pull'), limit: 100_000 }), 'bad_frame', /limit/);
		expectBad(parse({ ...frame('pull'), id: 'one' }), 'bad_frame', /id/);
		expectBad(parse({ ...frame('subscribe'), note: 'plaintext?' }), 'bad_frame', /note/);
		const push = frame('push');
		(push.envelope as Record<string, unknown>).v = 2;
		expectBad(parse(push), 'bad_frame', /envelope\.v/);
	});

	it('op types must match the frame, and everything must name its vault', () => {
		expectBad(parse({ ...frame('append'), op: frame('rotate').op }), 'bad_frame');
		expectBad(parse({ ...frame('rotate'), op: frame('append').op }), 'bad_frame');
		const other = 'B'.repeat(21) + 'A';
		expectBad(parse({ ...frame('append'), vault: other }), 'bad_frame', /vault/);
		expectBad(parse({ ...frame('rotate'), vault: other }), 'bad_frame', /vault/);
		const create = frame('create');
		expectBad(parse({ ...create, ops: [...(create.ops as unknown[])].reverse() }), 'bad_frame', /create op/);
		expectBad(parse({ ...create, lockboxes: [] }), 'bad_frame', /lockboxes/);
		const rotate = frame('rotate');
		(rotate.history as Record<string, unknown>).epoch = 2;
		expectBad(parse(rotate), 'bad_frame', /epoch/);
	});

	it('error codes are the documented set; a bad frame still reports its request id', () => {
		expect(ERROR_CODES).toContain('stale_epoch');
		expect(parseRelayFrame(JSON.stringify({ type: 'error', code: 'nope', message: '' })).ok).toBe(false);
		const result = parse({ ...frame('pull'), since: -1 });
		expect(!result.ok && result.error.id).toBe(10);
		const noId = parse({ ...frame('pull'), id: -1 });
		expect(!noId.ok && noId.error.id).toBeUndefined();
	});
});

describe('never throws', () => {
	const isRefusal = (result: ParseResult<unknown>) =>
		result.ok || result.error.code === 'bad_frame' || result.error.code === 'too_large';

	it('on random strings', () => {
		fc.assert(
			fc.property(
				fc.string({ unit: 'binary', maxLength: 300 }),
				(text) => isRefusal(parseClientFrame(text)) && isRefusal(parseRelayFrame(text))
			),
			{ numRuns: 2000 }
		);
	});

	it('on random JSON', () => {
		fc.assert(
			fc.property(fc.jsonValue(), (value) => {
				const text = JSON.stringify(value);
				return !parseClientFrame(text).ok && !parseRelayFrame(text).ok;
			}),
			{ numRuns: 1000 }
		);
	});

	/** Every [container, key] pair inside a frame, at any depth. */
	function slots(value: unknown, out: [Record<string, unknown>, string][] = []): [Record<string, unknown>, string][] {
		if (typeof value === 'object' && value !== null) {
			for (const key of Object.keys(value)) {
				out.push([value as Record<string, unknown>, key]);
				slots((value as Record<string, unknown>)[key], out);
			}
		}
		return out;
	}

	it('on valid frames with any field, at any depth, replaced by random JSON or removed', () => {
		fc.assert(
			fc.property(fc.nat(), fc.nat(), fc.option(fc.jsonValue()), fc.boolean(), (which, slot, value, relaySide) => {
				const frames: unknown[] = relaySide ? relay : client;
				const f = structuredClone(frames[which % frames.length]);
				const all = slots(f);
				const [container, key] = all[slot % all.length];
				if (value === null) delete container[key];
				else container[key] = value;
				const text = JSON.stringify(f);
				return isRefusal(relaySide ? parseRelayFrame(text) : parseClientFrame(text));
			}),
			{ numRuns: 3000 }
		);
	});

	it('on deeply nested input', () => {
		const deep = '['.repeat(100_000) + ']'.repeat(100_000);
		expectBad(parseClientFrame(deep), 'bad_frame');
		const deepObject = '{"type":"push","id":1,"envelope":' + '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_001);
		expectBad(parseClientFrame(deepObject), 'bad_frame');
	});
});
