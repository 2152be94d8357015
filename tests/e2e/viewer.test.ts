import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxKeyPair, openSealed, ready, toBase64url } from '../../src/lib/core/crypto';
import { encryptFile } from '../../src/lib/core/crypto/jwe';
import { contributionToken, isValidRpps } from '../../src/lib/core/share';
import { launchBrowser, startRelay, type RelayProcess } from '../support/harness';
import { axeSerious } from '../support/axe';
import { fakeCameraArgs, writeY4mFromPng } from '../support/qr';
import { shlinkOf, startShlServer, type ShlTestServer } from '../support/shl-server';

// The professional's side of a SMART Health Link, in a real Chromium against the built app
// (served by the relay): links served by a small local SHL server (tests/support/shl-server.ts),
// the HL7 IPS example bundle, passcodes, dead links, the scanner (picture and fake camera),
// contributions, and what the viewer must not do (store, or load Automerge or libsodium).
const FIXTURES = join(process.cwd(), 'tests', 'fixtures');
const HL7_JWE = readFileSync(join(FIXTURES, 'shl', 'ips-bundle-01.jwe'), 'utf8').trim();
const HL7_LINK = readFileSync(join(FIXTURES, 'shl', 'ips-bundle-01.shlink.txt'), 'utf8').trim();
const HL7_KEY = JSON.parse(Buffer.from(HL7_LINK.split('#shlink:/')[1], 'base64url').toString('utf8')).key as string;
const IPS_BUNDLE = readFileSync(join(FIXTURES, 'fhir', 'ips-bundle-01.json'));
const PATIENT = 'Martha DeLarosa';
const ALLERGY = /penicillin/i;
const DOCTOR = 'Dr Anne Lefèvre';

/** A valid RPPS number (11 digits, Luhn): the first one found from a 10-digit stem. */
function rpps(): string {
	for (let d = 0; d <= 9; d++) if (isValidRpps(`1000000001${d}`)) return `1000000001${d}`;
	throw new Error('no RPPS');
}

/** The scripts and wasm of ours among `urls` whose content holds one of `needles`. */
async function scriptsHolding(urls: string[], origin: string, needles: string[]): Promise<string[]> {
	const scripts = [...new Set(urls.filter((u) => u.startsWith(origin) && /\.(m?js|wasm)$/.test(u)))];
	const found: string[] = [];
	for (const script of scripts) {
		const body = await (await fetch(script)).text();
		if (needles.some((needle) => body.includes(needle))) found.push(script);
	}
	return found;
}

/** What only libsodium's and Automerge's code hold (chunk names are hashes: their URLs say nothing). */
const SODIUM = ['crypto_box_seal_open'];
const AUTOMERGE = ['automerge_wasm'];

describe('the professional’s viewer', () => {
	let relay: RelayProcess;
	let shl: ShlTestServer;
	let browser: Browser;
	let work: string;

	beforeAll(async () => {
		work = mkdtempSync(join(tmpdir(), 'carnet-e2e-viewer-'));
		[relay, shl, browser] = await Promise.all([startRelay(), startShlServer(), launchBrowser()]);
		await ready();
	});

	afterAll(async () => {
		await browser?.close();
		await shl?.close();
		await relay?.stop();
		rmSync(work, { recursive: true, force: true });
	});

	/**
	 * A fresh browser context (nothing shared between tests), English, with requests and page
	 * errors recorded. The CSP is the relay's own: the viewer's pages may fetch another
	 * producer's SHL server, as this test's is.
	 */
	async function viewerPage(locale = 'en-US') {
		const context = await browser.newContext({ baseURL: relay.url, locale });
		const page = await context.newPage();
		const errors: string[] = [];
		const loaded: string[] = [];
		page.on('pageerror', (error) => errors.push(error.message));
		page.on('request', (request) => loaded.push(request.url()));
		return { context, page, errors, loaded };
	}

	function viewerUrl(payload: Record<string, unknown>): string {
		return `/shl#${shlinkOf(payload)}`;
	}

	async function openAs(page: Page, recipient = DOCTOR, passcode?: string, lang: 'en' | 'fr' = 'en') {
		await page.getByLabel(lang === 'fr' ? 'Votre nom' : 'Your name', { exact: true }).fill(recipient);
		if (passcode !== undefined) await page.getByLabel('Code', { exact: true }).fill(passcode);
		await page.getByRole('button', { name: lang === 'fr' ? 'Ouvrir le dossier' : 'Open the record' }).click();
	}

	it('opens the HL7 example (U link) and shows the patient and allergies, storing nothing and loading neither Automerge nor libsodium', async () => {
		const url = shl.addU('hl7-ips', HL7_JWE);
		const exp = Math.floor(Date.now() / 1000) + 3600;
		const { context, page, errors, loaded } = await viewerPage();
		const before = shl.requests.length;
		await page.goto(viewerUrl({ url, key: HL7_KEY, flag: 'U', exp, label: 'Urgences' }));
		await page.getByRole('heading', { level: 1, name: 'Shared health record' }).waitFor();

		// The key is out of the address bar at once, and nothing was fetched yet.
		expect(new URL(page.url()).hash).toBe('');
		expect(await page.evaluate(() => location.hash)).toBe('');
		expect(shl.requests.length).toBe(before);
		expect(await page.getByTestId('viewer-label').innerText()).toBe('Urgences');
		expect(await page.getByTestId('viewer-expiry').innerText()).toMatch(/^valid until \d{2}\/\d{2},? \d{2}:\d{2}$/);

		// The name is required.
		await page.getByRole('button', { name: 'Open the record' }).click();
		// In the page, not the live region that also announces it.
		await page.locator('main').getByText('Enter your name: the patient sees who opened their record.').waitFor();
		expect(shl.requests.length).toBe(before);

		await openAs(page);
		const name = page.getByRole('heading', { level: 1, name: PATIENT });
		await name.waitFor();
		// The focus moves to the summary's heading.
		expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe(PATIENT);
		const request = shl.requests.at(-1)!;
		expect(request.method).toBe('GET');
		expect(new URL(request.path, shl.origin).searchParams.get('recipient')).toBe(DOCTOR);

		// Allergies: the high-criticality one first, marked in words, not by colour alone.
		const allergies = page.getByTestId('viewer-allergy');
		expect(await allergies.count()).toBeGreaterThan(0);
		const first = allergies.first();
		expect(await first.innerText()).toMatch(ALLERGY);
		expect(await first.getAttribute('data-criticality')).toBe('high');
		expect(await first.innerText()).toMatch(/High criticality/);
		expect(await page.getByTestId('patient-birth').innerText()).toMatch(/1972/);
		expect(await page.getByTestId('viewer-problems').innerText()).toMatch(/Problems/);
		expect(await page.getByTestId('viewer-medications').getByTestId('viewer-item').count()).toBeGreaterThan(0);
		expect(await page.getByTestId('signature-unverified').count()).toBe(0);
		expect(await page.title()).not.toContain('DeLarosa');

		// Nothing stored, nothing heavy loaded, no service worker.
		const traces = await page.evaluate(async () => ({
			databases: (await indexedDB.databases()).map((db) => db.name),
			local: localStorage.length,
			caches: 'caches' in window ? await caches.keys() : [],
			workers: (await navigator.serviceWorker?.getRegistrations())?.length ?? 0
		}));
		expect(traces).toEqual({ databases: [], local: 0, caches: [], workers: 0 });
		expect(loaded.filter((u) => /automerge|sodium/i.test(u))).toEqual([]);
		// Script contents too: chunk names are hashes.
		expect(loaded.filter((u) => u.startsWith(relay.url) && u.endsWith('.js')).length).toBeGreaterThan(0);
		expect(await scriptsHolding(loaded, relay.url, [...SODIUM, ...AUTOMERGE])).toEqual([]);

		// The accessibility of the rendered summary.
		expect(await axeSerious(page)).toEqual([]);
		expect(errors).toEqual([]);
		await context.close();
	});

	it('asks for the passcode of a P link: a wrong one says the attempts left, the right one opens; contributions are sealed and posted', async () => {
		const key = crypto.getRandomValues(new Uint8Array(32));
		const inbox = boxKeyPair();
		const id = 'passcode-link';
		const contributions = `${shl.origin}/api/shl/${id}/contributions`;
		const info = { v: 1, endpoint: contributions, inboxKey: toBase64url(inbox.publicKey), maxBytes: 256 * 1024 };
		const url = shl.addManifest(id, {
			passcode: '4821',
			attempts: 5,
			files: [
				{ contentType: 'application/fhir+json', jwe: await encryptFile(IPS_BUNDLE, key, 'application/fhir+json') },
				{
					contentType: 'application/vnd.carnet.contribution+json',
					jwe: await encryptFile(Buffer.from(JSON.stringify(info)), key, 'application/vnd.carnet.contribution+json')
				}
			]
		});
		const { context, page, errors, loaded } = await viewerPage();
		await page.goto(viewerUrl({ url, key: Buffer.from(key).toString('base64url'), flag: 'P', v: 1 }));
		await page.getByRole('heading', { level: 1, name: 'Shared health record' }).waitFor();

		await openAs(page, DOCTOR, '0000');
		await page.locator('#viewer-passcode-error', { hasText: 'Wrong code. 4 attempts left.' }).waitFor();
		expect(await page.getByLabel('Code', { exact: true }).inputValue()).toBe('');
		await openAs(page, DOCTOR, '4821');
		await page.getByRole('heading', { level: 1, name: PATIENT }).waitFor();
		expect(shl.link(id).attempts).toBe(4);

		// Add a document: RPPS checked (Luhn) before anything is sent; libsodium only now.
		const form = page.getByTestId('contribute');
		await form.getByRole('heading', { name: 'Add a document' }).waitFor();
		expect(loaded.filter((u) => /automerge|sodium/i.test(u))).toEqual([]);
		expect(await scriptsHolding(loaded, relay.url, [...SODIUM, ...AUTOMERGE])).toEqual([]);
		expect(await form.getByLabel('Your name').inputValue()).toBe(DOCTOR);
		await form.getByLabel('Type of document').selectOption('consultation-report');
		await form.getByLabel('Title').fill('Consultation du 26/11');
		await form.getByLabel('Note (optional)').fill('Asthme stable.');
		const valid = rpps();
		const invalid = valid.slice(0, 10) + String((Number(valid[10]) + 1) % 10);
		await form.getByLabel('RPPS number').fill(invalid);
		await form.getByRole('button', { name: 'Send the document' }).click();
		await form.getByTestId('contribute-rpps-error').waitFor();
		expect(shl.contributions).toHaveLength(0);
		// A file over the link's limit is refused before anything is sent.
		const big = join(work, 'big.pdf');
		writeFileSync(big, Buffer.alloc(300 * 1024, 1));
		await form.getByLabel('File (optional)').setInputFiles(big);
		await form.getByTestId('contribute-file-error').waitFor();
		const small = join(work, 'cr.pdf');
		writeFileSync(small, Buffer.from('%PDF-1.4 small report'));
		await form.getByLabel('File (optional)').setInputFiles(small);
		await form.getByLabel('RPPS number').fill(valid);
		await form.getByRole('button', { name: 'Send the document' }).click();
		await form.getByTestId('contribute-sent').waitFor();

		expect(shl.contributions).toHaveLength(1);
		// libsodium came with the sending, and Automerge never.
		expect((await scriptsHolding(loaded, relay.url, SODIUM)).length).toBeGreaterThan(0);
		expect(await scriptsHolding(loaded, relay.url, AUTOMERGE)).toEqual([]);
		const received = shl.contributions[0];
		expect(received.token).toBe(await contributionToken(key));
		const sent = shl.requests.find((r) => r.method === 'POST' && r.path.endsWith('/contributions'))!;
		expect(sent.headers['content-type']).toBe('application/octet-stream');
		const plain = JSON.parse(Buffer.from(openSealed(inbox, new Uint8Array(received.body))).toString('utf8'));
		expect(plain).toMatchObject({
			v: 1,
			type: 'consultation-report',
			title: 'Consultation du 26/11',
			note: 'Asthme stable.',
			author: { name: DOCTOR, rpps: valid },
			file: { name: 'cr.pdf', contentType: 'application/pdf' }
		});
		expect(Buffer.from(plain.file.data, 'base64').toString()).toBe('%PDF-1.4 small report');
		expect(plain.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);

		// A link no longer accepting contributions says so.
		shl.contributionStatus(404);
		await form.getByLabel('Type of document').selectOption('lab-report');
		await form.getByLabel('Title').fill('Bilan');
		await form.getByRole('button', { name: 'Send the document' }).click();
		await form.getByText('This link no longer accepts documents').waitFor();
		shl.contributionStatus(201);

		expect(await page.evaluate(async () => ({ db: (await indexedDB.databases()).length, local: localStorage.length }))).toEqual({
			db: 0,
			local: 0
		});
		expect(errors).toEqual([]);
		await context.close();
	});

	it('says a revoked or used link (404) is no longer valid, an unreachable server can be retried, and an expired link is expired without asking the server', async () => {
		const { context, page, errors } = await viewerPage();
		const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
		await page.goto(viewerUrl({ url: `${shl.origin}/api/shl/unknown-link`, key }));
		await openAs(page);
		const error = page.getByTestId('viewer-error');
		await error.waitFor();
		expect(await error.innerText()).toContain('This link is no longer valid (expired, revoked or already used)');
		expect(await page.getByRole('button', { name: 'Open the record' }).count()).toBe(0);

		// A server that cannot be reached: a translated message and a way to try again.
		await page.goto('/scan');
		await page.goto(viewerUrl({ url: 'http://127.0.0.1:9/api/shl/nowhere', key }));
		await openAs(page);
		await page.getByTestId('viewer-retry').waitFor();
		expect(await page.getByTestId('viewer-error').innerText()).toMatch(/could not be reached/);
		await page.getByTestId('viewer-retry').click();
		await page.getByTestId('viewer-retry').waitFor();
		expect(await page.getByRole('button', { name: 'Open the record' }).count()).toBe(1);

		const before = shl.requests.length;
		const exp = Math.floor(Date.now() / 1000) - 60;
		await page.goto('/scan');
		await page.goto(viewerUrl({ url: `${shl.origin}/api/shl/old-link`, key, exp, label: 'Old' }));
		await page.getByRole('heading', { level: 1, name: 'Link expired' }).waitFor();
		expect(await page.getByTestId('viewer-error').innerText()).toMatch(/expired/);
		expect(await page.getByLabel('Your name', { exact: true }).count()).toBe(0);
		expect(shl.requests.length).toBe(before);
		expect(errors).toEqual([]);
		await context.close();
	});

	it('shows attachments safely (images inline with zoom, PDFs in the browser’s viewer, anything else as a download) and SMART Health Cards as unverified', async () => {
		const bundle = JSON.parse(IPS_BUNDLE.toString('utf8'));
		const png = await QRCode.toBuffer('radio', { width: 120 });
		const pdf = Buffer.from('%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF');
		const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
		const html = Buffer.from('<html><body><script>alert(1)</script></body></html>');
		const documents: [string, string, Buffer][] = [
			['Radio du thorax <b>bold</b><img src=x>', 'image/png', png],
			['Compte rendu PDF', 'application/pdf', pdf],
			['Schéma SVG', 'image/svg+xml', svg],
			['Page HTML', 'text/html', html]
		];
		for (const [i, [description, contentType, bytes]] of documents.entries()) {
			bundle.entry.push({
				fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${i}`,
				resource: {
					resourceType: 'DocumentReference',
					status: 'current',
					description,
					date: '2026-11-20T10:00:00Z',
					content: [{ attachment: { contentType, data: bytes.toString('base64') } }]
				}
			});
		}
		const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
		const card = `${b64({ alg: 'ES256', kid: 'x' })}.${b64({ vc: { credentialSubject: { fhirBundle: JSON.parse(IPS_BUNDLE.toString('utf8')) } } })}.c2ln`;
		const key = crypto.getRandomValues(new Uint8Array(32));
		const url = shl.addManifest('documents-link', {
			files: [
				{ contentType: 'application/fhir+json', jwe: await encryptFile(Buffer.from(JSON.stringify(bundle)), key, 'application/fhir+json') },
				{
					contentType: 'application/smart-health-card',
					jwe: await encryptFile(Buffer.from(JSON.stringify({ verifiableCredential: [card] })), key, 'application/smart-health-card')
				}
			]
		});
		const { context, page, errors } = await viewerPage('fr-FR');
		await page.goto(viewerUrl({ url, key: Buffer.from(key).toString('base64url') }));
		await page.getByRole('heading', { level: 1, name: 'Dossier de santé partagé' }).waitFor();
		expect(await axeSerious(page)).toEqual([]);
		await openAs(page, DOCTOR.replace('Anne', 'Paul'), undefined, 'fr');
		await page.getByTestId('ips-summary').nth(1).waitFor();
		expect(await page.getByTestId('ips-summary').count()).toBe(2);
		expect(await page.getByTestId('ips-summary').first().getByTestId('signature-unverified').count()).toBe(0);
		expect(await page.getByTestId('ips-summary').nth(1).getByTestId('signature-unverified').innerText()).toMatch(/non vérifiée|pas été vérifiée/);

		// Text only: markup in a description is shown as characters.
		const docs = page.getByTestId('ips-summary').first().getByTestId('viewer-documents');
		expect(await docs.innerText()).toContain('Radio du thorax <b>bold</b><img src=x>');
		expect(await docs.locator('b').count()).toBe(0);

		// The image: a blob of its raster type, enlarged in a dialog by keyboard, closed by Escape.
		const thumb = docs.getByTestId('attachment-image');
		const src = await thumb.locator('img').getAttribute('src');
		expect(src).toMatch(/^blob:/);
		await thumb.focus();
		await page.keyboard.press('Enter');
		await docs.locator('dialog[open]').waitFor();
		await page.keyboard.press('Escape');
		await docs.locator('dialog[open]').waitFor({ state: 'detached' });
		expect(await thumb.evaluate((el) => el === document.activeElement)).toBe(true);

		// The PDF: a blob forced to application/pdf, opened in a new tab without an opener.
		const pdfLink = docs.getByTestId('attachment-pdf');
		expect(await pdfLink.getAttribute('target')).toBe('_blank');
		expect(await pdfLink.getAttribute('rel')).toContain('noopener');
		const [tab] = await Promise.all([context.waitForEvent('page'), pdfLink.click()]);
		await tab.waitForLoadState();
		expect(tab.url()).toMatch(/^blob:/);
		expect(await tab.evaluate(() => [document.contentType, window.opener === null])).toEqual(['application/pdf', true]);
		await tab.close();

		// SVG and HTML: download only, as application/octet-stream.
		const downloads = docs.getByTestId('attachment-download');
		expect(await downloads.count()).toBe(2);
		expect(await downloads.nth(0).getAttribute('download')).toMatch(/\.svg$/);
		expect(await downloads.nth(1).getAttribute('download')).toMatch(/\.html$/);
		// No blob URL of this page is a document type that could run as our origin.
		const types = await page.evaluate(async () => {
			const urls = [...document.querySelectorAll('img[src^="blob:"], a[href^="blob:"]')].map(
				(el) => (el as HTMLImageElement).src || (el as HTMLAnchorElement).href
			);
			return Promise.all(urls.map(async (u) => (await (await fetch(u)).blob()).type));
		});
		expect(types.length).toBeGreaterThanOrEqual(5);
		expect(new Set(types)).toEqual(new Set(['image/png', 'application/pdf', 'application/octet-stream']));

		expect(await axeSerious(page)).toEqual([]);
		expect(errors).toEqual([]);
		await context.close();
	});

	it('opens a link from a picture of its QR code on /scan, and refuses other content', async () => {
		const url = shl.addU('hl7-ips-scan', HL7_JWE);
		const link = `https://viewer.example.org/shlink.html#${shlinkOf({ url, key: HL7_KEY, flag: 'LU' })}`;
		const png = join(work, 'qr.png');
		await QRCode.toFile(png, link, { errorCorrectionLevel: 'M', margin: 4, width: 480 });
		const other = join(work, 'other.png');
		await QRCode.toFile(other, 'https://example.org/not-a-link', { errorCorrectionLevel: 'M', width: 300 });

		const { context, page, errors } = await viewerPage();
		await page.goto('/scan');
		await page.getByRole('heading', { level: 1, name: 'Open a patient’s shared record' }).waitFor();
		expect(await axeSerious(page)).toEqual([]);
		await page.getByLabel('Picture of the code', { exact: true }).setInputFiles(other);
		await page.getByTestId('image-error').waitFor();
		expect(await page.getByTestId('image-error').innerText()).toMatch(/not a health record link/);

		// A pasted link that is damaged.
		await page.getByLabel('Link received').fill('shlink:/abc');
		await page.getByRole('button', { name: 'Open the link' }).click();
		await page.getByTestId('paste-error').waitFor();

		await page.getByLabel('Picture of the code', { exact: true }).setInputFiles(png);
		await page.getByRole('heading', { level: 1, name: 'Shared health record' }).waitFor();
		expect(new URL(page.url()).pathname).toBe('/shl');
		expect(new URL(page.url()).hash).toBe('');
		await openAs(page);
		await page.getByRole('heading', { level: 1, name: PATIENT }).waitFor();
		expect(await page.getByTestId('viewer-allergy').first().innerText()).toMatch(ALLERGY);
		expect(errors).toEqual([]);
		await context.close();
	});

	it('opens a link scanned by the camera on /scan', async () => {
		const url = shl.addU('hl7-ips-camera', HL7_JWE);
		const png = join(work, 'camera-qr.png');
		await QRCode.toFile(png, shlinkOf({ url, key: HL7_KEY, flag: 'U' }), { errorCorrectionLevel: 'M', margin: 4, width: 400 });
		const video = join(work, 'qr.y4m');
		writeY4mFromPng(readFileSync(png), video);
		const camera = await launchBrowser(fakeCameraArgs(video));
		try {
			const context = await camera.newContext({ baseURL: relay.url, locale: 'en-US' });
			await context.grantPermissions(['camera'], { origin: relay.url });
			const page = await context.newPage();
			const errors: string[] = [];
			page.on('pageerror', (error) => errors.push(error.message));
			await page.goto('/scan');
			await page.getByRole('button', { name: 'Scan with the camera' }).click();
			await page.getByRole('heading', { level: 1, name: 'Shared health record' }).waitFor({ timeout: 30_000 });
			expect(new URL(page.url()).hash).toBe('');
			await openAs(page);
			await page.getByRole('heading', { level: 1, name: PATIENT }).waitFor();
			expect(errors).toEqual([]);
			await context.close();
		} finally {
			await camera.close();
		}
	});
});
