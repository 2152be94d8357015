/**
 * Raw DEFLATE (RFC 1951) inflation with a size cap, for SMART Health Card JWS payloads
 * (`zip: "DEF"`). DecompressionStream('deflate-raw') exists in current browsers and Node >= 20.12.
 */

/** Largest inflated size accepted: stops a few kilobytes of zip bomb from filling memory. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** Inflates raw DEFLATE `bytes`; throws when the data is corrupt or inflates past `maxBytes`. */
export async function inflateRaw(bytes: Uint8Array, maxBytes = MAX_INFLATED_BYTES): Promise<Uint8Array> {
	const stream = new DecompressionStream('deflate-raw');
	const writer = stream.writable.getWriter();
	// Errors surface on the reader; the writer's promises would otherwise be unhandled rejections.
	writer.write(new Uint8Array(bytes)).catch(() => {});
	writer.close().catch(() => {});
	const reader = stream.readable.getReader();
	const chunks: Uint8Array[] = [];
	let length = 0;
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		length += value.byteLength;
		if (length > maxBytes) {
			await reader.cancel().catch(() => {});
			throw new RangeError(`inflated data exceeds ${maxBytes} bytes`);
		}
		chunks.push(value);
	}
	const out = new Uint8Array(length);
	let offset = 0;
	for (const chunk of chunks) {
		out.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return out;
}
