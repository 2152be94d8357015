/**
 * QR codes in browser tests: read one from a screenshot as a phone camera would (pixels only,
 * never the DOM), and turn a screenshot into a Y4M video that Chromium's fake camera plays
 * (`--use-file-for-fake-video-capture`), with no tool beyond pngjs.
 */
import { writeFileSync } from 'node:fs';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import type { Locator } from 'playwright-core';

/** The text of the QR code in a PNG image; throws when none can be read. */
export function decodeQrPng(png: Buffer): string {
	const image = PNG.sync.read(png);
	const code = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
	if (!code) throw new Error(`no QR code found in a ${image.width}x${image.height} screenshot`);
	return code.data;
}

/** Screenshots `element` and decodes the QR code in the pixels. Returns the text and the PNG. */
export async function readQrFrom(element: Locator): Promise<{ text: string; png: Buffer }> {
	await element.waitFor();
	// The image must be loaded and painted before its pixels are taken.
	await element.evaluate((img) =>
		img instanceof HTMLImageElement && !img.complete
			? new Promise((resolve) => img.addEventListener('load', resolve, { once: true }))
			: undefined
	);
	const png = await element.screenshot();
	return { text: decodeQrPng(png), png };
}

export interface Y4mOptions {
	/** Frame size; even numbers (4:2:0 chroma is subsampled by 2). Default 640x480. */
	width?: number;
	height?: number;
	/** How many identical frames, and their rate. Chromium loops the file. */
	frames?: number;
	fps?: number;
}

/**
 * Writes a Y4M video (YUV4MPEG2, 4:2:0, BT.601 full range) showing the PNG image centred on
 * a white background, `frames` times. Y4M is a one-line text header, then per frame the line
 * "FRAME" and the raw Y, U and V planes.
 */
export function writeY4mFromPng(png: Buffer, file: string, options: Y4mOptions = {}): void {
	const { width = 640, height = 480, frames = 5, fps = 10 } = options;
	if (width % 2 || height % 2) throw new Error('Y4M 4:2:0 needs an even width and height');
	const image = PNG.sync.read(png);
	if (image.width > width || image.height > height) {
		throw new Error(`image ${image.width}x${image.height} does not fit a ${width}x${height} frame`);
	}
	// RGB of the frame: white, with the image (alpha blended on white) in the middle.
	const left = Math.floor((width - image.width) / 2);
	const top = Math.floor((height - image.height) / 2);
	const rgb = new Uint8Array(width * height * 3).fill(255);
	for (let y = 0; y < image.height; y++) {
		for (let x = 0; x < image.width; x++) {
			const from = (y * image.width + x) * 4;
			const alpha = image.data[from + 3] / 255;
			const to = ((top + y) * width + left + x) * 3;
			for (let c = 0; c < 3; c++) rgb[to + c] = Math.round(image.data[from + c] * alpha + 255 * (1 - alpha));
		}
	}
	const yPlane = Buffer.alloc(width * height);
	const uPlane = Buffer.alloc((width / 2) * (height / 2));
	const vPlane = Buffer.alloc((width / 2) * (height / 2));
	const clamp = (value: number) => Math.max(0, Math.min(255, Math.round(value)));
	for (let i = 0; i < width * height; i++) {
		const [r, g, b] = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
		yPlane[i] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
	}
	for (let y = 0; y < height / 2; y++) {
		for (let x = 0; x < width / 2; x++) {
			// The average colour of each 2x2 block.
			let r = 0;
			let g = 0;
			let b = 0;
			for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
				const p = ((2 * y + dy) * width + 2 * x + dx) * 3;
				r += rgb[p];
				g += rgb[p + 1];
				b += rgb[p + 2];
			}
			r /= 4;
			g /= 4;
			b /= 4;
			const i = y * (width / 2) + x;
			uPlane[i] = clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + 128);
			vPlane[i] = clamp(0.5 * r - 0.418688 * g - 0.081312 * b + 128);
		}
	}
	const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`, 'ascii');
	const frame = Buffer.concat([Buffer.from('FRAME\n', 'ascii'), yPlane, uPlane, vPlane]);
	writeFileSync(file, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
}

/** Chromium flags for a camera that grants itself and plays `y4mFile`. */
export function fakeCameraArgs(y4mFile: string): string[] {
	return ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4mFile}`];
}
