import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ready } from '../../src/lib/core/crypto';
import { editEntry, removeEntry } from '../../src/lib/core/record';
import { startRelay, type RelayProcess } from '../support/harness';
import { addAllergy, creator, joiner, settle, snapshotOf, type TestDevice } from '../support/devices';

// Invariant 3 through the relay: three devices of one patient make random edits (adds, edits
// and removals, of the same entries too) while randomly going offline and online; once all
// are back and settled, their documents are identical (same Automerge heads, same view).
// One relay process serves every run; each run is a new record on three new devices.

// Three new devices per run, so the two deliberately slow derivations are made cheap here:
// the passphrase KDF runs at its floor cost, and every record gets the same recovery phrase
// (its PBKDF2 derived once). Both are tested for what they protect elsewhere (crypto.test.ts,
// client-carnet.test.ts, sync-integrity.test.ts); this property is about convergence.
vi.mock('../../src/lib/core/crypto/kdf', async (importOriginal) => {
	const actual = await importOriginal<typeof import('../../src/lib/core/crypto/kdf')>();
	return {
		...actual,
		newKdfParams: () => ({ ...actual.newKdfParams(), opsLimit: actual.KDF_MIN_OPS_LIMIT, memLimit: actual.KDF_MIN_MEM_LIMIT })
	};
});
vi.mock('../../src/lib/core/crypto/recovery', async (importOriginal) => {
	const actual = await importOriginal<typeof import('../../src/lib/core/crypto/recovery')>();
	let phrase: string | undefined;
	let keys: ReturnType<typeof actual.recoveryKeys> | undefined;
	const copy = (pair: { publicKey: Uint8Array; privateKey: Uint8Array }) => ({ publicKey: pair.publicKey.slice(), privateKey: pair.privateKey.slice() });
	return {
		...actual,
		newRecoveryPhrase: () => (phrase ??= actual.newRecoveryPhrase()),
		// Copies: the caller wipes the private halves it gets.
		recoveryKeys: (words: string) => {
			keys ??= actual.recoveryKeys(words);
			return { sign: copy(keys.sign), box: copy(keys.box) };
		}
	};
});

const RUNS = Number(process.env.SYNC_PROPERTY_RUNS ?? 200);

type Command =
	| { kind: 'add'; device: number; name: string }
	| { kind: 'edit' | 'remove'; device: number; pick: number; note: string }
	| { kind: 'offline' | 'online'; device: number }
	| { kind: 'pause'; ms: number };

const device = fc.integer({ min: 0, max: 2 });
const command: fc.Arbitrary<Command> = fc.oneof(
	fc.record({ kind: fc.constant('add' as const), device, name: fc.stringMatching(/^[a-z]{1,8}$/) }),
	fc.record({ kind: fc.constantFrom('edit' as const, 'remove' as const), device, pick: fc.nat(), note: fc.stringMatching(/^[a-z]{1,8}$/) }),
	fc.record({ kind: fc.constantFrom('offline' as const, 'online' as const), device }),
	fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 15 }) })
);

describe('sync convergence property', () => {
	let relay: RelayProcess;
	const leftovers: TestDevice[] = [];

	// The relay's files in memory where the system has it: durability is sync-crash's subject,
	// and an fsync per acknowledged frame would be most of this file's time.
	const dataDir = existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', 'carnet-property-')) : undefined;

	beforeAll(async () => {
		await ready();
		relay = await startRelay({
			...(dataDir === undefined ? {} : { DATA_DIR: dataDir }),
			RATE_PER_SECOND: '100000',
			RATE_BURST: '100000',
			MAX_CONNECTIONS_PER_IP: '1000'
		});
	}, 30_000);
	afterAll(async () => {
		await Promise.allSettled(leftovers.map((d) => d.session?.lock()));
		await relay?.stop();
		if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
	});

	it(`three devices with random offline edits and reconnections end identical (${RUNS} runs)`, async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (commands) => {
				const a = await creator(relay.url);
				const devices: TestDevice[] = [a];
				leftovers.push(a);
				try {
					for (const name of ['B', 'C']) {
						const joined = await joiner(relay.url, (await a.session.inviteDevice()).link, name);
						devices.push(joined);
						leftovers.push(joined);
					}
					const sessions = devices.map((d) => d.session!);
					const records = await Promise.all(sessions.map((s) => s.open(a.vaultId)));
					for (const c of commands) {
						switch (c.kind) {
							case 'add':
								await addAllergy(records[c.device], c.name);
								break;
							case 'edit':
							case 'remove': {
								const entries = records[c.device].view().sections.allergies;
								if (entries.length === 0) break;
								const id = entries[c.pick % entries.length].id;
								await records[c.device].change((doc, ctx) =>
									c.kind === 'edit' ? editEntry(doc, 'allergies', id, { reaction: c.note }, ctx) : removeEntry(doc, 'allergies', id, ctx)
								);
								break;
							}
							case 'offline':
								sessions[c.device].sync.disconnect();
								break;
							case 'online':
								sessions[c.device].sync.connect();
								break;
							case 'pause':
								await new Promise((resolve) => setTimeout(resolve, c.ms));
								break;
						}
					}
					for (const session of sessions) session.sync.connect();
					await settle(sessions, a.vaultId);
					const [first, ...others] = records.map(snapshotOf);
					for (const other of others) expect(other).toEqual(first);
					for (const session of sessions) expect(session.sync.issues(a.vaultId)).toEqual([]);
				} finally {
					await Promise.all(devices.map((d) => d.session?.lock()));
					for (const d of devices) d.carnet.close();
				}
			}),
			{ numRuns: RUNS }
		);
	}, 120_000);
});
