import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

export interface Person {
	givenName: string;
	familyName: string;
	birthDate: string;
	passphrase: string;
}

/**
 * Onboarding in English, as a patient does it: identity and passphrase, the recovery phrase
 * written down, three of its words typed back. Returns the 24 words shown.
 */
export async function onboard(page: Page, person: Person): Promise<string[]> {
	await page.getByRole('button', { name: 'Create my record' }).click();
	await page.getByLabel('Given name', { exact: true }).fill(person.givenName);
	await page.getByLabel('Family name', { exact: true }).fill(person.familyName);
	await page.getByLabel('Date of birth', { exact: true }).fill(person.birthDate);
	await page.getByLabel('Passphrase', { exact: true }).fill(person.passphrase);
	await page.getByLabel('Confirmation', { exact: true }).fill(person.passphrase);
	await page.getByRole('button', { name: 'Create my record' }).click();

	await page.getByTestId('recovery-word-24').waitFor();
	const words: string[] = [];
	for (let n = 1; n <= 24; n++) words.push((await page.getByTestId(`recovery-word-${n}`).innerText()).trim());
	expect(await page.getByTestId('recovery-warning').innerText()).toMatch(/nobody/i);
	await page.getByLabel('I have written it down').check();
	await page.getByRole('button', { name: 'Continue' }).click();

	const inputs = page.getByLabel(/^Word #\d+$/);
	await inputs.first().waitFor();
	for (const input of await inputs.all()) {
		const label = await input.evaluate((el) => (el as HTMLInputElement).labels?.[0]?.textContent ?? '');
		const n = Number(/#(\d+)/.exec(label)![1]);
		await input.fill(words[n - 1]);
	}
	await page.getByRole('button', { name: 'Confirm' }).click();
	await page.getByTestId('card-allergies').waitFor();
	return words;
}

/** Unlocks the record from the unlock screen (the app then returns to the page asked for). */
export async function unlock(page: Page, passphrase: string): Promise<void> {
	await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
	await page.getByRole('button', { name: 'Unlock' }).click();
}

/** Unlocks and waits for the record's home page. */
export async function unlockHome(page: Page, passphrase: string): Promise<void> {
	await unlock(page, passphrase);
	await page.getByRole('navigation', { name: 'Main' }).waitFor();
	await navigate(page, 'home');
}

/** English names of the section pages, as the home page links to them. */
export const SECTION_TITLES: Record<string, string> = {
	identity: 'Identity',
	contacts: 'Emergency contacts',
	allergies: 'Allergies and intolerances',
	history: 'Medical history',
	treatments: 'Treatments',
	vaccinations: 'Vaccinations',
	measurements: 'Measurements',
	directives: 'Advance directives and organ donation',
	visits: 'Care history',
	documents: 'Documents'
};

/**
 * Goes to a page of the unlocked app the way a user does, by its links: a full page load
 * would lock the record (keys live only in the page's memory).
 */
export async function navigate(
	page: Page,
	where: 'home' | 'activity' | 'settings' | 'devices' | keyof typeof SECTION_TITLES
) {
	const nav = page.getByRole('navigation', { name: 'Main' });
	if (where === 'activity') return nav.getByRole('link', { name: 'Activity' }).click();
	if (where === 'settings') return nav.getByRole('link', { name: 'Settings' }).click();
	if (where === 'devices') {
		await nav.getByRole('link', { name: 'Devices' }).click();
		return page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
	}
	await nav.getByRole('link', { name: 'My record' }).click();
	if (where === 'home') return page.getByTestId('card-allergies').waitFor();
	// The list of every section closes the home page (a card may link to the same page).
	await page.getByRole('link', { name: SECTION_TITLES[where], exact: true }).last().click();
	await page.getByRole('heading', { level: 1, name: SECTION_TITLES[where] }).waitFor();
}

/** Adds an entry from a section page's add form, by field label. */
export async function addEntry(
	page: Page,
	section: string,
	addButton: string,
	fields: Record<string, string>
): Promise<void> {
	await navigate(page, section);
	await page.getByRole('button', { name: addButton }).click();
	for (const [label, value] of Object.entries(fields)) {
		const control = page.getByLabel(label, { exact: true });
		const tag = await control.evaluate((el) => el.tagName);
		if (tag === 'SELECT') await control.selectOption(value);
		else await control.fill(value);
	}
	await page.getByRole('button', { name: 'Add', exact: true }).click();
	// Documents have rows of their own (src/lib/ui/components/documents/DocumentRow.svelte).
	const row = section === 'documents' ? 'document-row' : `entry-${section}`;
	await page.getByTestId(row).filter({ hasText: Object.values(fields)[0] }).waitFor();
}

/** The header's sync state (`data-state`: synced, offline, sending, catching-up, connecting, error). */
export function syncState(page: Page): Promise<string | null> {
	return page.getByTestId('sync-status').getAttribute('data-state');
}

/** Waits until the header says the record is synced. */
export async function waitSynced(page: Page, timeout = 20_000): Promise<void> {
	await expect.poll(() => syncState(page), { timeout }).toBe('synced');
}

/** On an unlocked device: Devices, then "Add a device"; resolves with the QR image. */
export async function showInvitation(page: Page): Promise<Locator> {
	await navigate(page, 'devices');
	await page.getByRole('button', { name: 'Add a device' }).click();
	const qr = page.getByTestId('invite-qr');
	const error = page.getByTestId('invite-error');
	await qr.or(error).waitFor();
	if (await error.isVisible()) throw new Error(`no invitation: ${await error.innerText()}`);
	return qr;
}

/**
 * On a new device that holds an invitation ("Set up this device"): names the device, sets its
 * passphrase, joins, and waits for the record's home page.
 */
export async function joinDevice(page: Page, device: { name: string; passphrase: string }): Promise<void> {
	await fillJoin(page, device);
	await page.getByTestId('card-allergies').waitFor({ timeout: 45_000 });
}

/** Fills "Set up this device" and presses Join, without waiting for the outcome. */
export async function fillJoin(page: Page, device: { name: string; passphrase: string }): Promise<void> {
	await page.getByRole('heading', { level: 1, name: 'Set up this device' }).waitFor();
	await page.getByLabel('Name of this device', { exact: true }).fill(device.name);
	await page.getByLabel('New passphrase', { exact: true }).fill(device.passphrase);
	await page.getByLabel('Confirmation', { exact: true }).fill(device.passphrase);
	await page.getByRole('button', { name: 'Join', exact: true }).click();
}
