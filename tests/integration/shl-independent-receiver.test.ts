import { Buffer } from 'node:buffer';
import { compactDecrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The patient's side only: a device creating the share with the app's own client code.
import { ready } from '../../src/lib/core/crypto';
import { startRelay, type RelayProcess } from '../support/harness';
import { addAllergy, creator, type TestDevice } from '../support/devices';

// A receiver written from the SMART Health Links STU1 specification alone (jose, fetch and
// Node built-ins; nothing of ours), resolving a link made by ShareService: what any
// conformant viewer does, so our links do not only work with our own viewer.

interface Payload {
	url: string;
	key: string;
	exp?: number;
	flag?: string;
	label?: string;
	v?: number;
}

/** Everything after `shlink:/` is base64url of the JSON payload (SHL spec, "SMART Health Link Payload"). */
function parseLink(link: string): Payload {
	const at = link.indexOf('shlink:/');
	if (at < 0) throw new Error('not a SMART Health Link');
	return JSON.parse(Buffer.from(link.slice(at + 'shlink:/'.length), 'base64url').toString('utf8')) as Payload;
}

/**
 * Resolves a link as the spec says: POST the manifest URL with a recipient (and a passcode for
 * `P`), take each file embedded or fetch its location, and decrypt the JWE (`dir`, A256GCM)
 * with the payload's key (jose inflates `zip: DEF` when a producer compresses).
 */
async function resolveLink(link: string, passcode?: string): Promise<{ contentType: string; cty?: string; text: string }[]> {
	const payload = parseLink(link);
	expect(payload.v ?? 1).toBe(1);
	if (payload.exp !== undefined) expect(payload.exp * 1000).toBeGreaterThan(Date.now());
	const key = new Uint8Array(Buffer.from(payload.key, 'base64url'));
	expect(key.length).toBe(32);
	const response = await fetch(payload.url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ recipient: 'Independent receiver', ...(payload.flag?.includes('P') ? { passcode } : {}) })
	});
	expect(response.status).toBe(200);
	const manifest = (await response.json()) as { files: { contentType: string; embedded?: string; location?: string }[] };
	const files = [];
	for (const file of manifest.files) {
		const jwe = file.embedded ?? (await (await fetch(file.location!)).text());
		// jose 6 inflates `zip: DEF` itself.
		const { plaintext, protectedHeader } = await compactDecrypt(jwe, key);
		expect(protectedHeader).toMatchObject({ alg: 'dir', enc: 'A256GCM' });
		files.push({ contentType: file.contentType, cty: protectedHeader.cty, text: Buffer.from(plaintext).toString('utf8') });
	}
	return files;
}

describe('a SMART Health Link made by ShareService, read by an independent receiver', () => {
	let relay: RelayProcess;
	let patient: TestDevice & { vaultId: string };

	beforeAll(async () => {
		await ready();
		relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
		patient = await creator(relay.url);
		await addAllergy(await patient.session!.open(patient.vaultId), 'Pénicilline');
		await patient.session!.sync.whenSynced(patient.vaultId);
	}, 60_000);
	afterAll(async () => {
		await patient?.session?.lock();
		await relay?.stop();
	});

	for (const passcode of [undefined, '4321']) {
		it(`resolves to an IPS document with the shared allergy${passcode ? ' (passcode)' : ''}`, async () => {
			const share = await patient.session!.shares(patient.vaultId).create({
				kind: 'consultation',
				label: 'Pour le Dr Martin',
				sections: ['identity', 'allergies'],
				documents: [],
				expiresAt: new Date(Date.now() + 30 * 60_000),
				...(passcode ? { passcode } : {}),
				allowContributions: true
			});
			const payload = parseLink(share.link);
			expect(Object.keys(payload)).toEqual(['url', 'key', 'exp', ...(passcode ? ['flag'] : []), 'label', 'v']);
			expect(payload).toMatchObject({ label: 'Pour le Dr Martin', v: 1, ...(passcode ? { flag: 'P' } : {}) });

			const files = await resolveLink(share.link, passcode);
			const ips = files.find((f) => f.contentType === 'application/fhir+json')!;
			expect(ips.cty).toBe('application/fhir+json');
			const bundle = JSON.parse(ips.text) as { resourceType: string; type: string; entry: { resource: Record<string, unknown> }[] };
			expect(bundle.resourceType).toBe('Bundle');
			expect(bundle.type).toBe('document');
			// An IPS document: a Composition first, typed LOINC 60591-5 (Patient summary).
			const composition = bundle.entry[0].resource as { resourceType: string; type: { coding: { system: string; code: string }[] } };
			expect(composition.resourceType).toBe('Composition');
			expect(composition.type.coding).toContainEqual(expect.objectContaining({ system: 'http://loinc.org', code: '60591-5' }));
			const allergies = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'AllergyIntolerance');
			expect(allergies.map((r) => (r.code as { text?: string }).text)).toContain('Pénicilline');
			// The extension file is there for viewers that know it; others may ignore it.
			expect(files.map((f) => f.contentType)).toContain('application/vnd.carnet.contribution+json');
		});
	}
});
