import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntry, navigate, onboard, unlock, waitSynced, type Person } from '../support/app';
import { axeSerious } from '../support/axe';
import { launchBrowser, openApp, startRelay, type RelayProcess } from '../support/harness';
import { readQrFrom } from '../support/qr';

// A child's record held by both parents (issue 6), as the "done when" tells it: two
// separated parents, each with their own Carnet in their own browser, keep their daughter's
// vaccinations up to date; the second parent joins by the QR code the first one shows
// (decoded from a screenshot, as a phone camera would) and gets the child's record only; each
// sees the other's entry and who wrote it. Years later the daughter takes the record over on
// her own phone (a third context): the parents are out, and she is told what history she holds.
const claire: Person = { givenName: 'Claire', familyName: 'Le Gall', birthDate: '1984-02-11', passphrase: 'goémon falaise biniou mardi' };
const julien: Person = { givenName: 'Julien', familyName: 'Morvan', birthDate: '1982-07-23', passphrase: 'phare crêpière ajonc jeudi' };
const lea: Person = { givenName: 'Léa', familyName: 'Morvan', birthDate: '2008-05-04', passphrase: 'kouign menhir galet samedi' };
const CHILD = `${lea.givenName} ${lea.familyName}`;
const BY_CLAIRE = 'ROR (rougeole, oreillons, rubéole)';
const BY_JULIEN = 'DTPolio rappel';

interface Parent {
	page: Page;
	errors: string[];
}

/** The names of the records this page's session holds, from the header's switcher. */
async function recordNames(page: Page): Promise<string[]> {
	const switcher = page.getByTestId('record-switcher');
	if ((await switcher.count()) === 0) return [await page.getByTestId('person-name').innerText()];
	await switcher.click();
	const names = await page.locator('[data-testid^="record-switch-"]').evaluateAll((items) => items.map((item) => item.getAttribute('data-record-name') ?? ''));
	await page.keyboard.press('Escape');
	return names;
}

/** Switches to the record named `name` with the header's switcher. */
async function openRecord(page: Page, name: string): Promise<void> {
	await page.getByTestId('record-switcher').click();
	await page.locator(`[data-testid^="record-switch-"][data-record-name="${name}"]`).click();
	await expect.poll(() => page.getByTestId('person-name').first().innerText()).toContain(name);
}

/** On the People page of the open record: a 30-minute invitation as guardian; its link read from the QR's pixels. */
async function invite(page: Page): Promise<string> {
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
	await page.getByRole('heading', { level: 1, name: 'People' }).waitFor();
	await page.getByTestId('invite-role-guardian').check();
	await page.getByRole('button', { name: 'Create the invitation' }).click();
	const qr = page.getByTestId('person-invite-qr');
	await qr.waitFor({ timeout: 20_000 });
	expect(await page.getByTestId('person-invite-warning').innerText()).toMatch(/30 minutes/);
	return (await readQrFrom(qr)).text;
}

/**
 * Opens an invitation link in a set-up Carnet, as a phone camera would (a new page load, so the
 * record is locked: the app asks for the passphrase first), and joins the record it offers.
 */
async function join(page: Page, link: string, passphrase: string): Promise<void> {
	await page.goto(link);
	await unlock(page, passphrase);
	await page.getByTestId('join-record').click();
	await expect.poll(() => page.getByTestId('person-name').first().innerText(), { timeout: 45_000 }).toContain(CHILD);
	// The app then shows that record's home page.
	await expect.poll(() => new URL(page.url()).pathname).toBe('/');
	await page.getByTestId('card-allergies').waitFor();
}

function vaccinations(page: Page) {
	return page.getByTestId('entry-vaccinations');
}

describe('a child’s record held by both parents, then handed over to the child', () => {
	let relay: RelayProcess;
	let browser: Browser;
	let a: Parent;
	let b: Parent;

	beforeAll(async () => {
		relay = await startRelay();
		browser = await launchBrowser();
		a = await openApp(browser, relay.url);
		b = await openApp(browser, relay.url);
	}, 60_000);
	afterAll(async () => {
		await browser?.close();
		await relay?.stop();
	});

	it('Claire adds her daughter’s record beside her own', async () => {
		await onboard(a.page, claire);
		await a.page.getByTestId('add-child').click();
		await a.page.getByLabel('Given name', { exact: true }).fill(lea.givenName);
		await a.page.getByLabel('Family name', { exact: true }).fill(lea.familyName);
		await a.page.getByLabel('Date of birth', { exact: true }).fill(lea.birthDate);
		await a.page.getByTestId('add-child-submit').click();
		await expect.poll(() => a.page.getByTestId('person-name').first().innerText()).toContain(CHILD);
		expect(await recordNames(a.page)).toEqual(expect.arrayContaining([`${claire.givenName} ${claire.familyName}`, CHILD]));
		await waitSynced(a.page);
	});

	it('Julien joins the child’s record with his own Carnet, by the QR Claire shows, and only that record', async () => {
		await onboard(b.page, julien);
		const link = await invite(a.page);
		expect(await axeSerious(a.page)).toEqual([]);
		await join(b.page, link, julien.passphrase);
		const names = await recordNames(b.page);
		expect(names).toEqual(expect.arrayContaining([`${julien.givenName} ${julien.familyName}`, CHILD]));
		expect(names).not.toContain(`${claire.givenName} ${claire.familyName}`);
		// Both appear on the People page as guardians, Julien arriving while the invitation is shown.
		await expect
			.poll(() => a.page.getByTestId('person-row').allInnerTexts(), { timeout: 20_000 })
			.toEqual(expect.arrayContaining([expect.stringMatching(/Julien Morvan[\s\S]*Guardian/)]));
	});

	it('each parent adds a vaccination and sees the other’s, with who wrote it', async () => {
		await addEntry(a.page, 'vaccinations', 'Add a vaccination', { Vaccine: BY_CLAIRE, 'Date given': '2009-06-02' });
		await waitSynced(b.page);
		await addEntry(b.page, 'vaccinations', 'Add a vaccination', { Vaccine: BY_JULIEN, 'Date given': '2014-09-15' });

		await navigate(a.page, 'vaccinations');
		await expect.poll(() => vaccinations(a.page).allInnerTexts(), { timeout: 20_000 }).toEqual(expect.arrayContaining([expect.stringContaining(BY_JULIEN)]));
		await navigate(b.page, 'vaccinations');
		await expect.poll(() => vaccinations(b.page).allInnerTexts(), { timeout: 20_000 }).toEqual(expect.arrayContaining([expect.stringContaining(BY_CLAIRE)]));
		expect(await vaccinations(a.page).filter({ hasText: BY_JULIEN }).getByTestId('entry-author').innerText()).toContain('Julien Morvan');
		expect(await vaccinations(b.page).filter({ hasText: BY_CLAIRE }).getByTestId('entry-author').innerText()).toContain('Claire Le Gall');
		// The history names them too.
		await navigate(a.page, 'activity');
		await expect.poll(() => a.page.getByTestId('activity-author').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('Julien Morvan')]));
		expect(await axeSerious(b.page)).toEqual([]);
	});

	it('Léa takes the record over on her own phone: the parents are out, and she is told what she holds', async () => {
		const child = await openApp(browser, relay.url);
		await onboard(child.page, lea);
		await openRecord(a.page, CHILD);
		const link = await invite(a.page);
		await join(child.page, link, lea.passphrase);

		await child.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
		await child.page.getByTestId('hand-over').click();
		const dialog = child.page.getByRole('dialog');
		expect(await dialog.innerText()).toMatch(/lose access/);
		await dialog.getByRole('button', { name: 'Take over this record' }).click();
		const summary = child.page.getByTestId('hand-over-summary');
		await summary.waitFor({ timeout: 45_000 });
		const said = await summary.innerText();
		expect(said).toMatch(/belongs to you alone/);
		expect(said).toMatch(/2 entries/);
		expect(said).toContain('Claire Le Gall');
		expect(said).toContain('Julien Morvan');
		// Only Léa is left holding it.
		await expect.poll(() => child.page.getByTestId('person-row').count(), { timeout: 20_000 }).toBe(2); // Léa and her recovery phrase
		expect(await child.page.getByTestId('person-row').allInnerTexts()).toEqual(
			expect.arrayContaining([expect.stringMatching(/Léa Morvan/), expect.stringMatching(/Recovery phrase/)])
		);

		// Claire's device is refused from now on: what Léa writes never reaches it.
		await addEntry(child.page, 'vaccinations', 'Add a vaccination', { Vaccine: 'HPV 1re dose', 'Date given': '2026-11-20' });
		await expect.poll(() => a.page.getByTestId('sync-status').innerText(), { timeout: 30_000 }).toMatch(/removed from the record/);
		await navigate(a.page, 'vaccinations');
		expect(await vaccinations(a.page).allInnerTexts()).not.toEqual(expect.arrayContaining([expect.stringContaining('HPV')]));
		expect(a.errors).toEqual([]);
		expect(b.errors).toEqual([]);
		expect(child.errors).toEqual([]);
	});
});
