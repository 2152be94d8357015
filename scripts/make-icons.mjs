// Regenerates Carnet's icons in static/: icon.svg, icon-192.png, icon-512.png
// (full-bleed squares, so they also serve as maskable icons: the drawing stays inside
// the central 80 % safe zone). Run: node scripts/make-icons.mjs
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const BG = [0x1d, 0x4f, 0x73];
const PAGE = [0xff, 0xff, 0xff];
const SPINE = [0xcf, 0xe3, 0xf1];
const CROSS = [0x1d, 0x4f, 0x73];

// Geometry in units of the icon's side (0..1).
const book = { x0: 0.31, y0: 0.25, x1: 0.69, y1: 0.75, r: 0.04 };
const spine = { x0: 0.31, x1: 0.385 };
const cross = { cx: 0.5375, cy: 0.5, arm: 0.1, half: 0.035 };

function inRoundRect(x, y, { x0, y0, x1, y1, r }) {
	if (x < x0 || x > x1 || y < y0 || y > y1) return false;
	const cx = Math.min(Math.max(x, x0 + r), x1 - r);
	const cy = Math.min(Math.max(y, y0 + r), y1 - r);
	return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function colourAt(x, y) {
	if (inRoundRect(x, y, book)) {
		if (x < spine.x1) return SPINE;
		const dx = Math.abs(x - cross.cx);
		const dy = Math.abs(y - cross.cy);
		if ((dx <= cross.half && dy <= cross.arm) || (dy <= cross.half && dx <= cross.arm)) return CROSS;
		return PAGE;
	}
	return BG;
}

function png(size) {
	const image = new PNG({ width: size, height: size });
	const n = 4; // supersampling per axis
	for (let py = 0; py < size; py++) {
		for (let px = 0; px < size; px++) {
			const sum = [0, 0, 0];
			for (let sy = 0; sy < n; sy++) {
				for (let sx = 0; sx < n; sx++) {
					const c = colourAt((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size);
					sum[0] += c[0];
					sum[1] += c[1];
					sum[2] += c[2];
				}
			}
			const i = (py * size + px) * 4;
			image.data[i] = Math.round(sum[0] / (n * n));
			image.data[i + 1] = Math.round(sum[1] / (n * n));
			image.data[i + 2] = Math.round(sum[2] / (n * n));
			image.data[i + 3] = 255;
		}
	}
	return PNG.sync.write(image);
}

const hex = (c) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
const u = (v) => +(v * 100).toFixed(3);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" role="img" aria-label="Carnet">
<rect width="100" height="100" rx="18" fill="${hex(BG)}"/>
<clipPath id="b"><rect x="${u(book.x0)}" y="${u(book.y0)}" width="${u(book.x1 - book.x0)}" height="${u(book.y1 - book.y0)}" rx="${u(book.r)}"/></clipPath>
<g clip-path="url(#b)">
<rect x="${u(book.x0)}" y="${u(book.y0)}" width="${u(book.x1 - book.x0)}" height="${u(book.y1 - book.y0)}" fill="${hex(PAGE)}"/>
<rect x="${u(spine.x0)}" y="${u(book.y0)}" width="${u(spine.x1 - spine.x0)}" height="${u(book.y1 - book.y0)}" fill="${hex(SPINE)}"/>
</g>
<rect x="${u(cross.cx - cross.half)}" y="${u(cross.cy - cross.arm)}" width="${u(2 * cross.half)}" height="${u(2 * cross.arm)}" fill="${hex(CROSS)}"/>
<rect x="${u(cross.cx - cross.arm)}" y="${u(cross.cy - cross.half)}" width="${u(2 * cross.arm)}" height="${u(2 * cross.half)}" fill="${hex(CROSS)}"/>
</svg>
`;

const out = new URL('../static/', import.meta.url);
writeFileSync(new URL('icon.svg', out), svg);
for (const size of [192, 512]) writeFileSync(new URL(`icon-${size}.png`, out), png(size));
console.log('icons written to static/');
