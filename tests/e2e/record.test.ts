import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntry, navigate, onboard, unlock, unlockHome, type Person } from '../support/app';
import { dumpIndexedDb, launchBrowser, openApp, startRelay, type RelayProcess } from '../support/harness';

// One patient's whole first visit, in a real Chromium against the real relay serving the build.
const patient: Person = {
	givenName: 'Heloise',
	familyName: 'Quemeneur',
	birthDate: '1984-03-17',
	passphrase: 'orange piano glacier lundi'
};
const ALLERGY = 'Amoxicilline';
const TREATMENT = 'Levothyrox 75';

/** Every string the patient typed that is health data or identifies them. */
const TYPED = [patient.givenName, patient.familyName, ALLERGY, TREATMENT, 'Urticaire geante', 'Dr Kerhervé'];

describe('the patient record in the browser', () => {
	let relay: RelayProcess;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	let errors: string[];
	let words: string[];

	beforeAll(async () => {
		relay = await startRelay();
		browser = await launchBrowser();
		({ context, page, errors } = await openApp(browser, relay.url));
	});
	afterAll(async () => {
		await browser?.close();
		await relay?.stop();
	});

	it('creates a record, adds an allergy and a treatment, and finds them after a reload', async () => {
		words = await onboard(page, patient);
		expect(words).toHaveLength(24);
		await addEntry(page, 'allergies', 'Add an allergy', {
			Substance: ALLERGY,
			Reaction: 'Urticaire geante',
			Risk: 'high'
		});
		await addEntry(page, 'treatments', 'Add a treatment', {
			Medicine: TREATMENT,
			Schedule: '1 comprimé le matin',
			Prescriber: 'Dr Kerhervé'
		});

		await page.reload();
		await page.getByRole('button', { name: 'Unlock' }).waitFor();
		await unlockHome(page, patient.passphrase);
		const allergies = page.getByTestId('card-allergies');
		await expect.poll(() => allergies.innerText()).toContain(ALLERGY);
		expect(await allergies.innerText()).toMatch(/high risk/i);
		expect(await page.getByTestId('card-treatments').innerText()).toContain(TREATMENT);
		expect(await page.getByTestId('person-name').innerText()).toContain(patient.givenName);
		expect(errors).toEqual([]);
	});

	it('keeps nothing readable at rest: no typed string in any IndexedDB store', async () => {
		const raw = await dumpIndexedDb(page);
		expect(raw.length).toBeGreaterThan(1000); // the scan did read the stores
		for (const text of TYPED) {
			const utf8 = String.fromCharCode(...new TextEncoder().encode(text)); // as the scan reads bytes
			expect(raw).not.toContain(text);
			expect(raw).not.toContain(utf8);
			expect(raw.toLowerCase()).not.toContain(text.toLowerCase());
		}
		// Nor in localStorage, where only preferences live.
		const local = await page.evaluate(() => JSON.stringify({ ...localStorage }));
		for (const text of TYPED) expect(local).not.toContain(text);
	});

	it('refuses a wrong passphrase with a clear message and keeps the record locked', async () => {
		await page.getByRole('button', { name: 'Lock now' }).click();
		await unlock(page, 'orange piano glacier mardi');
		const alert = page.getByTestId('unlock-error');
		await alert.waitFor();
		expect(await alert.innerText()).toMatch(/wrong passphrase/i);
		expect(await page.getByRole('alert').count()).toBeGreaterThan(0);
		expect(await page.getByTestId('card-allergies').count()).toBe(0);
		await unlockHome(page, patient.passphrase);
	});

	it('locks itself after the idle time chosen in settings', async () => {
		await page.evaluate(() => localStorage.setItem('carnet.idleMinutes', '0.05')); // 3 s
		await page.reload();
		await unlockHome(page, patient.passphrase);
		const notice = page.getByTestId('idle-lock-notice');
		await notice.waitFor({ timeout: 15_000 });
		expect(await notice.innerText()).toMatch(/inactivity/);
		expect(await page.getByRole('button', { name: 'Unlock' }).isVisible()).toBe(true);
		await page.evaluate(() => localStorage.setItem('carnet.idleMinutes', '5'));
	});

	it('opens offline after one online visit, and the record is still there', async () => {
		await page.reload();
		await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
		await context.setOffline(true);
		try {
			await page.goto('/record/allergies');
			await unlock(page, patient.passphrase);
			await page.getByTestId('entry-allergies').filter({ hasText: ALLERGY }).waitFor();
		} finally {
			await context.setOffline(false);
		}
	});

	it('switches language between French and English', async () => {
		await navigate(page, 'settings');
		await page.getByRole('button', { name: 'Français' }).click();
		await page.getByRole('button', { name: 'Verrouiller' }).waitFor();
		expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
		await page.getByRole('navigation').getByRole('link', { name: 'Mon carnet' }).click();
		expect(await page.getByTestId('card-treatments').innerText()).toContain('Traitements en cours');
		await page.getByRole('navigation').getByRole('link', { name: 'Réglages' }).click();
		await page.getByRole('button', { name: 'English' }).click();
		await page.getByRole('button', { name: 'Lock now' }).waitFor();
		expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
	});

	it('changes the passphrase in settings: the old one stops working', async () => {
		const next = 'violet harbour tundra 1984';
		await navigate(page, 'settings');
		await page.getByLabel('Current passphrase', { exact: true }).fill(patient.passphrase);
		await page.getByLabel('New passphrase', { exact: true }).fill(next);
		await page.getByLabel('Confirmation', { exact: true }).fill(next);
		await page.getByRole('button', { name: 'Change passphrase' }).click();
		// Success, or the message the page gave instead (a failure then says which).
		const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Change passphrase' }) });
		const outcome = page.getByTestId('passphrase-changed').or(form.locator('.alert, .field-error'));
		await outcome.first().waitFor();
		expect(await form.locator('.alert, .field-error').allInnerTexts()).toEqual([]);
		await page.getByTestId('passphrase-changed').waitFor();
		await page.getByRole('button', { name: 'Lock now' }).click();
		await unlock(page, patient.passphrase);
		await page.getByTestId('unlock-error').waitFor();
		await unlockHome(page, next);
		expect(await page.getByTestId('card-allergies').innerText()).toContain(ALLERGY);
		patient.passphrase = next;
	});

	it('restores access with the recovery phrase when the passphrase is forgotten', async () => {
		await page.getByRole('button', { name: 'Lock now' }).click();
		await page.getByRole('link', { name: /Forgot your passphrase/ }).click();
		const fresh = 'cobalt meadow lantern quiche';
		// A phrase with one word changed is refused and nothing changes.
		const wrong = [...words];
		wrong[3] = wrong[3] === 'abandon' ? 'ability' : 'abandon';
		await page.getByLabel('Recovery phrase', { exact: true }).fill(wrong.join(' '));
		await page.getByLabel('New passphrase', { exact: true }).fill(fresh);
		await page.getByLabel('Confirmation', { exact: true }).fill(fresh);
		await page.getByRole('button', { name: 'Recover my record' }).click();
		await page.getByTestId('recover-error').waitFor();
		// The right phrase, typed sloppily (extra spaces, capitals), works.
		await page.getByLabel('Recovery phrase', { exact: true }).fill(`  ${words.join('   ').toUpperCase()} `);
		await page.getByRole('button', { name: 'Recover my record' }).click();
		await page.getByRole('navigation', { name: 'Main' }).waitFor();
		await navigate(page, 'home');
		expect(await page.getByTestId('card-treatments').innerText()).toContain(TREATMENT);
		await page.getByRole('button', { name: 'Lock now' }).click();
		await unlock(page, patient.passphrase);
		await page.getByTestId('unlock-error').waitFor();
		await unlockHome(page, fresh);
	});

	it('has no serious or critical accessibility violation on the main pages', async () => {
		const scanned: string[] = [];
		for (const path of ['home', 'allergies', 'treatments', 'documents', 'activity', 'settings'] as const) {
			await navigate(page, path);
			await page.locator('main').waitFor();
			const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
			const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
			expect(bad.map((v) => `${path}: ${v.id} ${v.help}`)).toEqual([]);
			scanned.push(path);
		}
		// The locked and first-run screens too.
		await page.getByRole('button', { name: 'Lock now' }).click();
		const locked = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
		expect(locked.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
		const fresh = await openApp(browser, relay.url, 'fr-FR');
		await fresh.page.getByRole('button', { name: 'Créer mon carnet' }).waitFor();
		const welcome = await new AxeBuilder({ page: fresh.page }).withTags(['wcag2a', 'wcag2aa']).analyze();
		expect(welcome.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
		await fresh.context.close();
		expect(scanned).toHaveLength(6);
	});
});
