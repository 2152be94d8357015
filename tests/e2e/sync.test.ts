import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	addEntry,
	fillJoin,
	joinDevice,
	navigate,
	onboard,
	showInvitation,
	syncState,
	waitSynced,
	type Person
} from '../support/app';
import { launchBrowser, openApp, startRelay, type RelayProcess } from '../support/harness';
import { axeSerious } from '../support/axe';
import { fakeCameraArgs, readQrFrom, writeY4mFromPng } from '../support/qr';

// One patient, three devices, one relay: device A creates the record, B joins by the QR
// code (decoded from a screenshot, as a phone camera would), C joins by scanning it with a
// (fake) camera. Edits travel live and after being offline; removing B locks it out.
const patient: Person = {
	givenName: 'Gwenaelle',
	familyName: 'Le Bihan',
	birthDate: '1979-06-02',
	passphrase: 'heron tilleul brioche novembre'
};
const PHONE = { name: 'Pixel de Gwen', passphrase: 'falaise moutarde kayak jeudi' };
const TABLET = { name: 'Tablette cuisine', passphrase: 'sorbet granit hibou mardi' };
const ALLERGY = 'Amoxicilline';
const TREATMENT = 'Levothyrox 75';
const CONDITION = 'Asthme saisonnier';
const AFTER_REMOVAL = 'Penicilline G';

/** Set E2E_SCREENSHOTS=/some/dir to keep screenshots of the screens this test visits. */
const SHOTS = process.env.E2E_SCREENSHOTS;
async function shot(page: Page, name: string): Promise<void> {
	if (!SHOTS) return;
	mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

interface Device {
	context: BrowserContext;
	page: Page;
	errors: string[];
}

async function blankDevice(browser: Browser, baseURL: string): Promise<Device> {
	const context = await browser.newContext({ baseURL, locale: 'en-US' });
	const page = await context.newPage();
	const errors: string[] = [];
	page.on('pageerror', (error) => errors.push(error.message));
	return { context, page, errors };
}

describe('one record on several devices, through the relay', () => {
	let relay: RelayProcess;
	let browser: Browser;
	let cameraBrowser: Browser | undefined;
	let a: Device;
	let b: Device;
	let c: Device;
	let work: string;
	let words: string[];

	beforeAll(async () => {
		work = mkdtempSync(join(tmpdir(), 'carnet-e2e-sync-'));
		relay = await startRelay();
		browser = await launchBrowser();
		a = await openApp(browser, relay.url);
	});
	afterAll(async () => {
		await cameraBrowser?.close();
		await browser?.close();
		await relay?.stop();
		rmSync(work, { recursive: true, force: true });
	});

	it('device A creates the record and says it is synced', async () => {
		words = await onboard(a.page, patient);
		await addEntry(a.page, 'allergies', 'Add an allergy', { Substance: ALLERGY, Risk: 'high' });
		await waitSynced(a.page);
		const status = a.page.getByTestId('sync-status');
		expect(await status.innerText()).toMatch(/synced/i);
		expect(await status.getByRole('status').count()).toBe(1);
		await shot(a.page, 'a-synced');
	});

	it('B joins with the QR code read from a screenshot, and receives the record', async () => {
		const qr = await showInvitation(a.page);
		expect(await qr.getAttribute('alt')).toMatch(/QR code/);
		expect(await a.page.getByTestId('invite-warning').innerText()).toMatch(/10 minutes/);
		expect(await a.page.getByTestId('invite-countdown').innerText()).toMatch(/\b(10:00|9:\d\d) left/);
		expect(await axeSerious(a.page)).toEqual([]);
		await shot(a.page, 'a-invite');

		const { text: link } = await readQrFrom(qr);
		expect(link).toMatch(new RegExp(`^${relay.url}/link#carnet-invite:/[A-Za-z0-9_-]+$`));

		b = await blankDevice(browser, relay.url);
		await b.page.goto(link);
		await b.page.getByRole('heading', { level: 1, name: 'Set up this device' }).waitFor();
		// The secret fragment left the address bar at once.
		expect(b.page.url()).toBe(`${relay.url}/link`);
		expect(await b.page.evaluate(() => location.hash)).toBe('');
		expect(await b.page.getByLabel('Name of this device', { exact: true }).inputValue()).not.toBe('');
		expect(await axeSerious(b.page)).toEqual([]);
		await shot(b.page, 'b-join');

		// Without a network, joining fails with a clear message and nothing is spent.
		await b.context.setOffline(true);
		await fillJoin(b.page, PHONE);
		await b.page.getByTestId('link-error').waitFor({ timeout: 30_000 });
		expect(await b.page.getByTestId('link-error').innerText()).toMatch(/No connection to the relay/);
		await b.context.setOffline(false);

		await joinDevice(b.page, PHONE);
		await expect.poll(() => b.page.getByTestId('card-allergies').innerText()).toContain(ALLERGY);
		await waitSynced(b.page);
		expect(b.page.url()).not.toContain('#');

		// The invitation worked once: the same link on another device is refused.
		const again = await blankDevice(browser, relay.url);
		await again.page.goto(link);
		await fillJoin(again.page, { name: 'Intrus', passphrase: 'quatre mots au hasard' });
		await again.page.getByTestId('link-error').waitFor({ timeout: 30_000 });
		expect(await again.page.getByTestId('link-error').innerText()).toMatch(/already been used/);
		await again.context.close();
	});

	it('an edit on A appears on B live, without a reload', async () => {
		const marker = await b.page.evaluate(() => ((window as unknown as { marker: number }).marker = Math.random()));
		await addEntry(a.page, 'treatments', 'Add a treatment', { Medicine: TREATMENT });
		await expect
			.poll(() => b.page.getByTestId('card-treatments').innerText(), { timeout: 15_000 })
			.toContain(TREATMENT);
		// Same page, same JavaScript realm: it was not reloaded.
		expect(await b.page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(marker);
	});

	it('an edit made on B while offline reaches A after B reconnects', async () => {
		await b.context.setOffline(true);
		await expect.poll(() => syncState(b.page), { timeout: 15_000 }).toBe('offline');
		await addEntry(b.page, 'history', 'Add to history', { Kind: 'condition', Name: CONDITION, Status: 'active' });
		await expect.poll(() => b.page.getByTestId('sync-status').innerText()).toMatch(/offline.*\bchanges? waiting/i);
		await shot(b.page, 'b-offline');
		await navigate(a.page, 'home');
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect(await a.page.getByTestId('card-conditions').innerText()).not.toContain(CONDITION);

		await b.context.setOffline(false);
		await expect
			.poll(() => a.page.getByTestId('card-conditions').innerText(), { timeout: 30_000 })
			.toContain(CONDITION);
		await waitSynced(b.page, 30_000);
	});

	it('A lists both devices, with this device marked and the other named', async () => {
		await navigate(a.page, 'devices');
		const items = a.page.getByTestId('device-item');
		await expect.poll(() => items.count()).toBe(2);
		const mine = a.page.locator('[data-testid="device-item"][data-this-device="true"]');
		expect(await mine.count()).toBe(1);
		expect(await mine.innerText()).toContain('This device');
		const phone = items.filter({ hasText: PHONE.name });
		expect(await phone.count()).toBe(1);
		expect(await phone.innerText()).toMatch(/last seen/i);
		expect(await phone.getByRole('button', { name: `Remove ${PHONE.name}` }).count()).toBe(1);
		expect(await axeSerious(a.page)).toEqual([]);
		await shot(a.page, 'a-devices');
	});

	it('a third device joins by scanning the QR code with its camera', async () => {
		const qr = await showInvitation(a.page);
		const { png } = await readQrFrom(qr);
		const video = join(work, 'invite.y4m');
		writeY4mFromPng(png, video);
		cameraBrowser = await launchBrowser(fakeCameraArgs(video));
		c = await blankDevice(cameraBrowser, relay.url);
		await c.page.goto('/');
		await c.page.getByRole('link', { name: 'I already use Carnet on another device' }).click();
		await c.page.getByRole('heading', { level: 1, name: 'Add this device to my record' }).waitFor();
		expect(await axeSerious(c.page)).toEqual([]);
		await c.page.getByRole('button', { name: 'Scan with the camera' }).click();
		await c.page.getByLabel(/Camera view/).waitFor();
		await joinDevice(c.page, TABLET);
		// The camera is off once the code was read.
		expect(await c.page.locator('video').count()).toBe(0);
		await expect.poll(() => c.page.getByTestId('card-treatments').innerText()).toContain(TREATMENT);
		expect(await c.page.getByTestId('card-conditions').innerText()).toContain(CONDITION);
		expect(c.errors).toEqual([]);
		// A, still showing the code, sees the new device arrive and takes the spent code away.
		await expect.poll(() => a.page.getByTestId('device-item').count(), { timeout: 15_000 }).toBe(3);
		await expect.poll(() => a.page.getByTestId('invite-qr').count()).toBe(0);
		// Its name travels inside the record, right behind it.
		await expect
			.poll(() => a.page.getByTestId('device-item').filter({ hasText: TABLET.name }).count(), { timeout: 15_000 })
			.toBe(1);
	});

	it('A removes B: B is told, locked out, and gets nothing written afterwards', async () => {
		await navigate(a.page, 'devices');
		await a.page.getByRole('button', { name: `Remove ${PHONE.name}` }).click();
		const dialog = a.page.getByRole('dialog', { name: `Remove “${PHONE.name}”?` });
		await dialog.waitFor();
		expect(await dialog.innerText()).toMatch(/key/);
		expect(await dialog.innerText()).toMatch(/cannot read anything written from now on/);
		expect(await axeSerious(a.page)).toEqual([]);
		await shot(a.page, 'a-remove-dialog');
		await dialog.getByRole('button', { name: 'Remove the device' }).click();
		await expect.poll(() => a.page.getByTestId('device-item').filter({ hasText: PHONE.name }).count()).toBe(0);

		await expect.poll(() => syncState(b.page), { timeout: 15_000 }).toBe('error');
		expect(await b.page.getByTestId('sync-status').innerText()).toMatch(/removed/i);
		await shot(b.page, 'b-revoked');

		await addEntry(a.page, 'allergies', 'Add an allergy', { Substance: AFTER_REMOVAL });
		await navigate(c.page, 'home');
		await expect
			.poll(() => c.page.getByTestId('card-allergies').innerText(), { timeout: 15_000 })
			.toContain(AFTER_REMOVAL);
		await navigate(b.page, 'home');
		expect(await b.page.getByTestId('card-allergies').innerText()).toContain(ALLERGY);
		expect(await b.page.getByTestId('card-allergies').innerText()).not.toContain(AFTER_REMOVAL);
		expect([...a.errors, ...b.errors]).toEqual([]);
	});

	it('a brand-new device restores the whole record from the recovery phrase', async () => {
		const d = await blankDevice(browser, relay.url);
		await d.page.goto('/');
		await d.page.getByRole('link', { name: 'Restore from my recovery phrase' }).click();
		await d.page.getByRole('heading', { level: 1, name: 'Restore my record' }).waitFor();
		expect(await axeSerious(d.page)).toEqual([]);
		await d.page.getByLabel('Recovery phrase', { exact: true }).fill(words.join(' '));
		await d.page.getByLabel('Name of this device', { exact: true }).fill('Nouveau téléphone');
		await d.page.getByLabel('New passphrase', { exact: true }).fill('citron phare vallee dimanche');
		await d.page.getByLabel('Confirmation', { exact: true }).fill('citron phare vallee dimanche');
		await d.page.getByRole('button', { name: 'Restore my record' }).click();
		await d.page.getByTestId('card-allergies').waitFor({ timeout: 45_000 });
		await expect.poll(() => d.page.getByTestId('card-allergies').innerText()).toContain(AFTER_REMOVAL);
		expect(await d.page.getByTestId('card-conditions').innerText()).toContain(CONDITION);
		await navigate(d.page, 'devices');
		await expect
			.poll(() => d.page.locator('[data-testid="device-item"][data-this-device="true"]').innerText())
			.toContain('Nouveau téléphone');
		expect(d.errors).toEqual([]);
		await d.context.close();
	});
});
