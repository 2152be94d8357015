/**
 * What every FileCipher (src/lib/client/files/cipher.ts) must do, as checks that throw on
 * failure, so that one suite runs against both implementations: the in-process one under vitest
 * (tests/unit/client-files.test.ts), the worker one in Chromium (tests/e2e/files-worker.test.ts).
 * No vitest and no Node here: the checks are bundled into a page too.
 */
import type { FileCipher } from '../../src/lib/client/files/cipher';
import { FILE_PIECE_BYTES, hash, sealedLength, toBase64url } from '../../src/lib/core/crypto';

/** One check: `run` throws (an Error saying what differs) when the cipher fails it. */
export interface CipherCheck {
	readonly name: string;
	run(make: () => FileCipher): Promise<void>;
}

/** Random bytes of any length (getRandomValues draws at most 64 KiB at a time). */
function random(size: number): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(size);
	for (let o = 0; o < size; o += 65536) crypto.getRandomValues(out.subarray(o, Math.min(size, o + 65536)));
	return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function assert(condition: boolean, what: string): void {
	if (!condition) throw new Error(what);
}

/** Seals `plain` feeding `slice`-byte copies; the blob and the job's result. */
async function seal(cipher: FileCipher, plain: Uint8Array, slice: number) {
	const job = await cipher.seal(plain.length);
	const parts: Uint8Array[] = [];
	for (let o = 0; o < plain.length; o += slice) parts.push(...(await job.update(plain.slice(o, o + slice))));
	const result = await job.finish();
	parts.push(...result.pieces);
	return { blob: concat(parts), key: result.key, hash: result.hash, id: result.id };
}

/** Opens `blob` feeding `slice`-byte copies; the plaintext. */
async function open(cipher: FileCipher, file: { key: Uint8Array; size: number; hash: Uint8Array }, blob: Uint8Array, slice: number) {
	const job = await cipher.open({ ...file, length: blob.length });
	const parts: Uint8Array[] = [];
	for (let o = 0; o < blob.length; o += slice) parts.push(...(await job.update(blob.slice(o, o + slice))));
	await job.finish();
	return concat(parts);
}

/** Whether `promise` rejects with code `decrypt_failed`. */
async function refuses(promise: Promise<unknown>): Promise<boolean> {
	try {
		await promise;
		return false;
	} catch (error) {
		return (error as { code?: unknown }).code === 'decrypt_failed';
	}
}

const roundTrip = (size: number, sealSlice: number, openSlice: number): CipherCheck => ({
	name: `seals and opens ${size} bytes (slices ${sealSlice} / ${openSlice})`,
	async run(make) {
		const cipher = make();
		try {
			const plain = random(size);
			const sealed = await seal(cipher, plain, sealSlice);
			assert(sealed.blob.length === sealedLength(size), `blob length ${sealed.blob.length}, not ${sealedLength(size)}`);
			assert(toBase64url(sealed.id) === toBase64url(hash(sealed.blob, undefined, 32)), 'id is not BLAKE2b-256 of the blob');
			assert(toBase64url(sealed.hash) === toBase64url(hash(plain, undefined, 32)), 'hash is not BLAKE2b-256 of the file');
			assert(sealed.key.length === 32, 'key is not 32 bytes');
			const opened = await open(cipher, { key: sealed.key, size, hash: sealed.hash }, sealed.blob, openSlice);
			assert(equal(opened, plain), 'opened bytes differ');
		} finally {
			cipher.close();
		}
	}
});

/** The suite. */
export const CIPHER_CHECKS: readonly CipherCheck[] = [
	roundTrip(0, FILE_PIECE_BYTES, FILE_PIECE_BYTES),
	roundTrip(1, FILE_PIECE_BYTES, FILE_PIECE_BYTES),
	roundTrip(65536, 1000, 65553),
	roundTrip(65537, FILE_PIECE_BYTES, 7),
	roundTrip(FILE_PIECE_BYTES * 2 + 7, 100_000, FILE_PIECE_BYTES),
	{
		name: 'refuses an altered byte, a wrong hash, a truncated blob',
		async run(make) {
			const cipher = make();
			try {
				const plain = random(200_000);
				const sealed = await seal(cipher, plain, FILE_PIECE_BYTES);
				const file = { key: sealed.key, size: plain.length, hash: sealed.hash };
				const altered = sealed.blob.slice();
				altered[100_000] ^= 1;
				assert(await refuses(open(cipher, file, altered, 65536)), 'an altered byte opened');
				const wrong = sealed.hash.slice();
				wrong[0] ^= 1;
				assert(await refuses(open(cipher, { ...file, hash: wrong }, sealed.blob, 65536)), 'a wrong hash opened');
				const job = await cipher.open({ ...file, length: sealed.blob.length });
				await job.update(sealed.blob.slice(0, sealed.blob.length - 1));
				assert(await refuses(job.finish()), 'a truncated blob opened');
			} finally {
				cipher.close();
			}
		}
	},
	{
		name: 'seals and opens two files at once, interleaved, without mixing them',
		async run(make) {
			const cipher = make();
			try {
				const [a, b] = [random(150_000), random(70_000)];
				const [ja, jb] = await Promise.all([cipher.seal(a.length), cipher.seal(b.length)]);
				const [outA, outB]: Uint8Array[][] = [[], []];
				outA.push(...(await ja.update(a.slice(0, 100_000))));
				outB.push(...(await jb.update(b.slice(0, 30_000))));
				outA.push(...(await ja.update(a.slice(100_000))));
				outB.push(...(await jb.update(b.slice(30_000))));
				const [ra, rb] = await Promise.all([ja.finish(), jb.finish()]);
				outA.push(...ra.pieces);
				outB.push(...rb.pieces);
				const [openedA, openedB] = await Promise.all([
					open(cipher, { key: ra.key, size: a.length, hash: ra.hash }, concat(outA), 40_000),
					open(cipher, { key: rb.key, size: b.length, hash: rb.hash }, concat(outB), 40_000)
				]);
				assert(equal(openedA, a) && equal(openedB, b), 'interleaved files came back mixed');
			} finally {
				cipher.close();
			}
		}
	}
];
