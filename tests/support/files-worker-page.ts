/**
 * The page of tests/e2e/files-worker.test.ts: runs the FileCipher suite
 * (file-cipher-conformance.ts) against WorkerCipher, i.e. files/worker.ts in a module worker,
 * plus what only a worker does (pieces transferred, not copied). Results in `window.cipherResults`.
 */
import { WorkerCipher } from '../../src/lib/client/files/cipher';
import { ready } from '../../src/lib/core/crypto';
import { CIPHER_CHECKS } from './file-cipher-conformance';

type Result = { name: string; error?: string };

async function transferred(): Promise<void> {
	const cipher = new WorkerCipher();
	try {
		const plain = new Uint8Array(70_000);
		const job = await cipher.seal(plain.length);
		const pieces = await job.update(plain);
		if (plain.byteLength !== 0) throw new Error('the plaintext piece was copied, not transferred');
		// The header and the first full chunk are complete; the rest of the plaintext waits.
		if (pieces.reduce((n, p) => n + p.length, 0) !== 24 + 65536 + 17) throw new Error('unexpected ciphertext pieces');
		await job.finish();
	} finally {
		cipher.close();
	}
}

async function run(): Promise<Result[]> {
	await ready();
	const results: Result[] = [];
	const checks = [...CIPHER_CHECKS, { name: 'transfers the pieces it is given', run: transferred }];
	for (const check of checks) {
		try {
			await check.run(() => new WorkerCipher());
			results.push({ name: check.name });
		} catch (error) {
			results.push({ name: check.name, error: String(error) });
		}
	}
	return results;
}

run().then(
	(results) => Object.assign(window, { cipherResults: results }),
	(error) => Object.assign(window, { cipherResults: [{ name: 'page', error: String(error) }] })
);
