/**
 * A generated file of `argv[3]` bytes (100 MB by default) sealed, uploaded to the relay at
 * `argv[2]`, downloaded and opened, streaming all the way: the plaintext is generated a piece at
 * a time, the blob sealed into a temporary file on disk, uploaded from it in parts by the client's
 * BlobTransfer (what the file service's outbox runs), downloaded into FileOpener piece by piece.
 * `argv[4]` rounds (default 1). Prints one JSON line per round: the seconds of each leg, and the
 * peak growth of the resident set over the round, which must stay far below the file's size
 * (tests/integration/files-memory.test.ts, bench/attachments-roundtrip.ts).
 *
 * Run in a child process (`node --import tsx tests/support/files-roundtrip.ts <relay> [bytes]
 * [rounds]`): the RSS of a test runner or of a bench that already did other work says nothing
 * about this. A first round of 4 MB warms up what is allocated once (the code of fetch,
 * libsodium's heap grown to a part's size): the growth measured is what scales with the file.
 *
 * The relay's signed requests are made with the device's own keys, unwrapped from its IndexedDB
 * with the test passphrase (the session keeps them to itself). Node's own fetch is used, as the
 * client uses the browser's.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_KEY, openCarnetDb } from '../../src/lib/client/db';
import { BlobTransfer, UPLOAD_PART_BYTES } from '../../src/lib/client/files/transfer';
import { unwrapDevice } from '../../src/lib/client/keyring';
import { FILE_PIECE_BYTES, FileOpener, FileSealer, ready, toBase64url } from '../../src/lib/core/crypto';
import { PASSPHRASE, creator } from './devices';

const relayUrl = process.argv[2];
const size = Number(process.argv[3] ?? 100_000_000);
const rounds = Number(process.argv[4] ?? 1);
if (!relayUrl) throw new Error('usage: files-roundtrip.ts <relay url> [bytes] [rounds]');

await ready();
const device = await creator(relayUrl);
await device.session.sync.whenSynced(device.vaultId);
const db = await openCarnetDb(device.factory, 'carnet');
const keys = unwrapDevice((await db.get('device', DEVICE_KEY))!, PASSPHRASE)!;
db.close();
const transfer = new BlobTransfer({ relayOrigin: () => relayUrl, member: () => ({ id: keys.deviceId, sign: keys.sign }) }, device.vaultId);
const dir = mkdtempSync(join(tmpdir(), 'carnet-files-'));
const path = join(dir, 'blob');

let peak = 0;
const sample = () => {
	peak = Math.max(peak, process.memoryUsage.rss());
};
const seconds = (since: number) => Number(((performance.now() - since) / 1000).toFixed(3));

/** One round trip of a `size`-byte file; its timings and peak RSS growth. */
async function roundTrip(size: number) {
	const baseline = process.memoryUsage.rss();
	peak = baseline;
	const timer = setInterval(sample, 10);
	try {
		// Seal into a file on disk, piece by piece; one plaintext buffer, its first bytes stamped so pieces differ.
		let started = performance.now();
		const plain = new Uint8Array(FILE_PIECE_BYTES).map((_, i) => (i * 7919) & 0xff);
		const sealer = new FileSealer(size);
		const fd = openSync(path, 'w');
		for (let i = 0; i * FILE_PIECE_BYTES < size; i++) {
			new DataView(plain.buffer).setUint32(0, i);
			for (const cipher of sealer.update(plain.subarray(0, Math.min(FILE_PIECE_BYTES, size - i * FILE_PIECE_BYTES)))) writeSync(fd, cipher);
			sample();
		}
		const sealed = sealer.finish();
		for (const cipher of sealed.pieces) writeSync(fd, cipher);
		closeSync(fd);
		const id = toBase64url(sealed.id);
		const sealSeconds = seconds(started);

		// Upload from the file, in the client's parts; two buffers in turn (the transfer reads the
		// next part while it sends one, and is done with a part once it asks for the one after).
		started = performance.now();
		const input = openSync(path, 'r');
		const buffers = [new Uint8Array(UPLOAD_PART_BYTES), new Uint8Array(UPLOAD_PART_BYTES)];
		let turn = 0;
		const { sent } = await transfer.upload(id, sealer.length, async (offset, length) => {
			const part = buffers[turn++ % 2].subarray(0, length);
			if (readSync(input, part, 0, length, offset) !== length) throw new Error('short read');
			sample();
			return part;
		});
		closeSync(input);
		const uploadSeconds = seconds(started);
		if (sent !== sealer.length) throw new Error(`sent ${sent} of ${sealer.length}`);

		// Download into the opener, which checks the plaintext against the hash the sealer gave.
		started = performance.now();
		const opener = new FileOpener({ key: sealer.key, size, length: sealer.length, hash: sealed.hash });
		let opened = 0;
		await transfer.download(id, sealer.length, 0, async (cipher) => {
			for (const piece of opener.update(cipher)) opened += piece.length;
			sample();
		});
		opener.finish();
		const downloadSeconds = seconds(started);
		if (opened !== size) throw new Error('the file came back shorter or longer');
		await transfer.delete(id);
		sample();
		return { size, length: sealer.length, sealSeconds, uploadSeconds, downloadSeconds, baselineRssBytes: baseline, peakRssGrowthBytes: peak - baseline };
	} finally {
		clearInterval(timer);
	}
}

try {
	await roundTrip(4_000_000);
	for (let round = 0; round < rounds; round++) console.log(JSON.stringify(await roundTrip(size)));
} finally {
	rmSync(dir, { recursive: true, force: true });
	await device.session.lock();
	device.carnet.close();
}
process.exit(0);
