import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { addEntry, navigate, onboard, type Person } from '../support/app';
import { launchBrowser, openApp, startRelay, type RelayProcess } from '../support/harness';
import { axeSerious } from '../support/axe';
import { fakeCameraArgs, readQrFrom, writeY4mFromPng } from '../support/qr';

// The consultation, with two browser contexts: the patient shares by QR; the doctor, who has
// never heard of Carnet, opens the link decoded from a screenshot of that QR, reads the
// allergy, adds a report; the patient sees the opening live and the report in the record.
// Then the patient revokes and the link gives nothing. A hidden document never leaves.
const patient: Person = {
	givenName: 'Soizic',
	familyName: 'Le Goff',
	birthDate: '1984-02-11',
	passphrase: 'lagune cormoran biscuit octobre'
};
const ALLERGY = 'Pénicilline';
const SHARED_DOC = 'Compte rendu cardiologie';
const HIDDEN_DOC = 'Bilan psychiatrique';
const DOCTOR = 'Dr Yannick Martin';
const RPPS = '10003456786';
const REPORT = 'Consultation du jour';

describe('sharing with a professional by QR (SMART Health Link)', () => {
	let relay: RelayProcess;
	let browser: Browser;
	let patientPage: Page;
	let patientErrors: string[];
	let doctor: BrowserContext;
	let doctorPage: Page;
	let link: string;
	let qrPng: Buffer;

	beforeAll(async () => {
		relay = await startRelay();
		browser = await launchBrowser();
		const app = await openApp(browser, relay.url);
		patientPage = app.page;
		patientErrors = app.errors;
		// The doctor's phone: another context, another language, nothing shared with the patient's.
		doctor = await browser.newContext({ locale: 'en-US' });
		doctorPage = await doctor.newPage();
	});

	afterAll(async () => {
		await browser?.close();
		await relay?.stop();
	});

	it('the patient fills the record, hides one document and shares the rest by QR', async () => {
		const page = patientPage;
		await onboard(page, patient);
		await addEntry(page, 'allergies', 'Add an allergy', { Substance: ALLERGY, Reaction: 'Œdème de Quincke', Risk: 'high' });
		for (const title of [SHARED_DOC, HIDDEN_DOC]) {
			await addEntry(page, 'documents', 'Add a document', {
				Title: title,
				'Document type': 'consultation-report',
				Date: '2026-10-02'
			});
		}
		const hidden = page.getByTestId('document-row').filter({ hasText: HIDDEN_DOC });
		await hidden.getByRole('button', { name: 'Hide' }).click();
		await expect.poll(() => hidden.innerText()).toMatch(/hidden/i);

		await navigate(page, 'home');
		await page.getByTestId('home-share').click();
		await page.getByRole('heading', { level: 1, name: 'Share with a professional' }).waitFor();
		// Hidden documents are not even offered.
		await page.getByRole('checkbox', { name: SHARED_DOC }).check();
		expect(await page.getByRole('checkbox', { name: HIDDEN_DOC }).count()).toBe(0);
		expect(await page.getByRole('radio', { name: 'This consultation (30 minutes)' }).isChecked()).toBe(true);
		await page.getByRole('checkbox', { name: 'The professional may add documents' }).check();
		expect(await axeSerious(page)).toEqual([]);
		await page.getByRole('button', { name: 'Create the share' }).click();

		const qr = page.getByTestId('share-qr');
		await qr.waitFor({ timeout: 20_000 });
		expect(await page.getByTestId('share-status').innerText()).toMatch(/not opened yet/i);
		// What a phone camera would read: the QR decoded from pixels.
		({ text: link, png: qrPng } = await readQrFrom(qr));
		expect(link.startsWith(`${relay.url}/shl#shlink:/`)).toBe(true);
		expect(await axeSerious(page)).toEqual([]);
	});

	it('the doctor opens the link from the QR and reads the allergy, never the hidden document', async () => {
		const page = doctorPage;
		const requests: string[] = [];
		page.on('request', (request) => requests.push(request.url()));
		await page.goto(link);
		// The key must not linger in the address bar.
		await expect.poll(() => page.url()).not.toContain('shlink:/');
		await page.getByLabel('Your name', { exact: true }).fill(DOCTOR);
		await page.getByRole('button', { name: 'Open the record' }).click();
		await page.getByRole('heading', { level: 1, name: new RegExp(`${patient.givenName}.*${patient.familyName}`, 'i') }).waitFor();
		const text = await page.locator('main').innerText();
		expect(text).toContain(ALLERGY);
		expect(text).toContain(SHARED_DOC);
		expect(text).not.toContain(HIDDEN_DOC);
		// The viewer loads neither Automerge nor libsodium, and never sends the key.
		expect(requests.filter((url) => /automerge|sodium/i.test(url))).toEqual([]);
		const key = JSON.parse(Buffer.from(link.split('shlink:/')[1], 'base64url').toString()).key as string;
		expect(requests.some((url) => url.includes(key))).toBe(false);
	});

	it('the patient sees the opening live, with the doctor’s name', async () => {
		await expect
			.poll(() => patientPage.getByTestId('share-status').innerText(), { timeout: 15_000 })
			.toContain(`Opened by ${DOCTOR}`);
		await expect.poll(() => patientPage.getByTestId('toast').allInnerTexts()).toEqual(
			expect.arrayContaining([expect.stringContaining(`${DOCTOR} opened your summary`)])
		);
	});

	it('a second professional scans that QR with the phone camera on /scan and reads the same summary', async () => {
		const work = mkdtempSync(join(tmpdir(), 'carnet-e2e-share-'));
		const video = join(work, 'qr.y4m');
		writeY4mFromPng(qrPng, video);
		const camera = await launchBrowser(fakeCameraArgs(video));
		try {
			const context = await camera.newContext({ baseURL: relay.url, locale: 'en-US' });
			await context.grantPermissions(['camera'], { origin: relay.url });
			const page = await context.newPage();
			await page.goto('/scan');
			await page.getByRole('button', { name: 'Scan with the camera' }).click();
			await page.getByLabel('Your name', { exact: true }).fill('Dr Anne Kerjean', { timeout: 30_000 });
			await page.getByRole('button', { name: 'Open the record' }).click();
			await page.getByRole('heading', { level: 1, name: new RegExp(patient.familyName, 'i') }).waitFor();
			expect(await page.locator('main').innerText()).toContain(ALLERGY);
		} finally {
			await camera.close();
			rmSync(work, { recursive: true, force: true });
		}
	});

	it('the doctor adds a report and the patient’s record shows it, attributed to the doctor', async () => {
		const form = doctorPage.getByTestId('contribute');
		await form.getByRole('heading', { name: 'Add a document' }).waitFor();
		await form.getByLabel('Type of document').selectOption('consultation-report');
		await form.getByLabel('Title').fill(REPORT);
		await form.getByLabel('Note (optional)').fill('Souffle fonctionnel, pas de traitement.');
		if ((await form.getByLabel('Your name').inputValue()) === '') await form.getByLabel('Your name').fill(DOCTOR);
		await form.getByLabel('RPPS number').fill(RPPS);
		await form.getByLabel('File (optional)').setInputFiles({
			name: 'compte-rendu.pdf',
			mimeType: 'application/pdf',
			buffer: Buffer.from('%PDF-1.4\n% Carnet test report\n%%EOF\n')
		});
		await form.getByRole('button', { name: 'Send the document' }).click();
		const sent = doctorPage.getByTestId('contribute-sent');
		await sent.waitFor();
		expect(await sent.innerText()).toContain('Document sent. It will appear in the patient’s record.');

		await expect
			.poll(() => patientPage.getByTestId('toast').allInnerTexts(), { timeout: 15_000 })
			.toEqual(expect.arrayContaining([expect.stringContaining(`${DOCTOR} added a document: ${REPORT}`)]));
		await navigate(patientPage, 'documents');
		const entry = patientPage.getByTestId('document-row').filter({ hasText: REPORT });
		await entry.waitFor();
		expect(await entry.getByTestId('document-contributor').innerText()).toContain(`${DOCTOR} (RPPS ${RPPS})`);
		expect(await entry.getByTestId('document-file').innerText()).toContain('compte-rendu.pdf');
	});

	it('after the patient revokes, the link gives nothing', async () => {
		const page = patientPage;
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Share' }).click();
		await page.getByTestId('share-item').first().getByRole('link').first().click();
		await page.getByTestId('share-qr').waitFor();
		await page.getByRole('button', { name: 'Revoke' }).click();
		await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
		await expect.poll(() => page.getByTestId('share-status').getAttribute('data-status')).toBe('revoked');
		expect(await page.getByTestId('share-qr').count()).toBe(0);

		await doctorPage.goto(link);
		await doctorPage.getByLabel('Your name', { exact: true }).fill(DOCTOR);
		await doctorPage.getByRole('button', { name: 'Open the record' }).click();
		const refusal = doctorPage.getByTestId('viewer-error');
		await refusal.waitFor();
		expect(await refusal.innerText()).toContain('This link is no longer valid (expired, revoked or already used).');
		expect(await doctorPage.locator('main').innerText()).not.toContain(ALLERGY);
	});

	it('the emergency card: a long-lived link to emergency data only, every opening notified', async () => {
		const page = patientPage;
		await navigate(page, 'home');
		await page.getByTestId('home-emergency').click();
		await page.getByTestId('emergency-create').click();
		const qr = page.getByTestId('share-qr');
		await qr.waitFor({ timeout: 20_000 });
		const emergencyLink = (await readQrFrom(qr)).text;
		const payload = JSON.parse(Buffer.from(emergencyLink.split('shlink:/')[1], 'base64url').toString()) as Record<string, unknown>;
		expect(payload.flag).toContain('L');
		expect(payload.exp).toBeUndefined();

		const rescuer = await browser.newContext({ locale: 'en-US' });
		const rescuerPage = await rescuer.newPage();
		await rescuerPage.goto(emergencyLink);
		await rescuerPage.getByLabel('Your name', { exact: true }).fill('SAMU 29');
		await rescuerPage.getByRole('button', { name: 'Open the record' }).click();
		await rescuerPage.getByRole('heading', { level: 1, name: new RegExp(patient.familyName, 'i') }).waitFor();
		const text = await rescuerPage.locator('main').innerText();
		expect(text).toContain(ALLERGY);
		// Emergency data only: no documents, and nothing to add.
		expect(text).not.toContain(SHARED_DOC);
		expect(await rescuerPage.getByTestId('contribute').count()).toBe(0);
		await rescuer.close();

		await expect
			.poll(() => page.getByTestId('toast').allInnerTexts(), { timeout: 15_000 })
			.toEqual(expect.arrayContaining([expect.stringContaining('Your emergency card was opened by SAMU 29')]));
		expect(patientErrors).toEqual([]);
	});
});
