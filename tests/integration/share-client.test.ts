import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contributionEntryId, type ShareEvent, type ShareService } from '../../src/lib/client';
import { ready, seal, fromBase64url, utf8Encode } from '../../src/lib/core/crypto';
import { decryptFile } from '../../src/lib/core/crypto/jwe';
import { setHidden, type Entry } from '../../src/lib/core/record';
import {
	CONTRIBUTION_CONTENT_TYPE,
	ContributionInfo,
	contributionToken,
	isValidRpps,
	openShl,
	parseShlink,
	payloadKey
} from '../../src/lib/core/share';
import { openCarnetDb } from '../../src/lib/client/db';
import { startRelay, type RelayProcess } from '../support/harness';
import { add, addAllergy, creator, joiner, settle, until, type TestDevice } from '../support/devices';

// The patient's side of sharing (src/lib/client/share) against the real relay process: two
// devices of one patient, each the app's own client code over its own fake IndexedDB; the
// professional's side is played with core/share, as the viewer does.

/** An RPPS number with a valid Luhn key. */
function rpps(): string {
	for (let d = 0; d < 10; d++) if (isValidRpps(`1000345678${d}`)) return `1000345678${d}`;
	throw new Error('no key digit');
}

/** Resolves with the first event `fn` accepts, from `service`. */
function nextEvent(service: ShareService, accept: (event: ShareEvent) => boolean, timeoutMs = 10_000): Promise<ShareEvent> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			stop();
			reject(new Error('no such share event'));
		}, timeoutMs);
		const stop = service.onEvent((event) => {
			if (!accept(event)) return;
			clearTimeout(timer);
			stop();
			resolve(event);
		});
	});
}

/** The IPS a link serves now, as the viewer opens it. */
async function ipsOf(link: string, recipient = 'Dr Test'): Promise<Record<string, unknown>> {
	const files = await openShl(parseShlink(link), { recipient });
	const ips = files.find((f) => f.contentType === 'application/fhir+json');
	return ips!.json as Record<string, unknown>;
}

const inHalfAnHour = () => new Date(Date.now() + 30 * 60_000);

describe('sharing from the patient’s devices', () => {
	let relay: RelayProcess;
	let a: TestDevice & { vaultId: string };
	let b: TestDevice;
	let vaultId: string;

	beforeAll(async () => {
		await ready();
		relay = await startRelay({ RATE_PER_SECOND: '10000', RATE_BURST: '10000' });
		a = await creator(relay.url);
		vaultId = a.vaultId;
		b = await joiner(relay.url, (await a.session!.inviteDevice()).link);
		await addAllergy(await a.session!.open(vaultId), 'Pénicilline');
		await settle([a.session!, b.session!], vaultId);
	}, 60_000);
	afterAll(async () => {
		await Promise.allSettled([a?.session?.lock(), b?.session?.lock()]);
		await relay?.stop();
	});

	it('creates a share the relay serves; the link opens to an IPS with the allergy; revoke takes it down', async () => {
		const shares = a.session!.shares(vaultId);
		const steps: string[] = [];
		const info = await shares.create(
			{ kind: 'consultation', label: '', sections: ['identity', 'allergies'], documents: [], expiresAt: inHalfAnHour(), allowContributions: false },
			(done, total, step) => steps.push(`${done}/${total} ${step}`)
		);
		expect(steps).toEqual(['1/4 summary', '2/4 encrypt', '3/4 upload', '4/4 save']);
		expect(info).toMatchObject({ kind: 'consultation', label: 'Carnet — Anaïs Quintard', flag: '', status: 'active', allowContributions: false });
		expect(info.link.startsWith(`${relay.url}/shl#shlink:/`)).toBe(true);
		expect(shares.link(info.id)).toBe(info.link);

		const bundle = await ipsOf(info.link);
		expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'document' });
		const entries = (bundle.entry as { resource: { resourceType: string } }[]).map((e) => e.resource);
		expect(entries.filter((r) => r.resourceType === 'AllergyIntolerance').map((r) => JSON.stringify(r)).join()).toContain('Pénicilline');

		// The other device sees the share and its link.
		const rb = await b.session!.open(vaultId);
		await until(rb, () => rb.view().shares().some((s) => s.id === info.id));
		await b.session!.shares(vaultId).refresh();
		expect(b.session!.shares(vaultId).link(info.id)).toBe(info.link);

		await b.session!.shares(vaultId).revoke(info.id);
		await expect(openShl(parseShlink(info.link), { recipient: 'Dr Test' })).rejects.toMatchObject({ code: 'not_found' });
		expect(rb.view().shares().find((s) => s.id === info.id)?.status).toBe('revoked');
		// Revoking again (the relay has forgotten it) is fine.
		await a.session!.shares(vaultId).revoke(info.id);
	});

	it('refuses hidden documents and empty selections before anything is published', async () => {
		const ra = await a.session!.open(vaultId);
		const hidden = await add(ra, 'documents', { type: 'lab-report', title: 'Privé', date: '2026-01-02' });
		await ra.change((doc, ctx) => setHidden(doc, hidden, true, ctx));
		const before = ra.view().shares().length;
		const shares = a.session!.shares(vaultId);
		await expect(
			shares.create({ kind: 'custom', label: 'x', sections: [], documents: [hidden], expiresAt: inHalfAnHour(), allowContributions: false })
		).rejects.toMatchObject({ name: 'RecordValidationError' });
		await expect(
			shares.create({ kind: 'custom', label: 'x', sections: [], documents: [], expiresAt: inHalfAnHour(), allowContributions: false })
		).rejects.toMatchObject({ name: 'RecordValidationError' });
		expect(ra.view().shares()).toHaveLength(before);
	});

	it('carries a document’s file inline, sealed on the device by the file service', async () => {
		const ra = await a.session!.open(vaultId);
		const documentId = await add(ra, 'documents', { type: 'prescription', title: 'Ordonnance', date: '2026-11-02' });
		const bytes = utf8Encode('%PDF-1.7 ordonnance');
		const files = a.session!.files(vaultId);
		const meta = await files.attach(documentId, { name: 'ordonnance.pdf', contentType: 'application/pdf', data: bytes });
		expect(meta).toMatchObject({ name: 'ordonnance.pdf', contentType: 'application/pdf', size: bytes.length });
		expect(ra.view().sections.documents.find((d) => d.id === documentId)?.file).toEqual(meta);
		expect(Buffer.from(await (await files.open(documentId)).blob.arrayBuffer()).toString()).toBe('%PDF-1.7 ordonnance');

		const info = await a.session!.shares(vaultId).create({
			kind: 'custom',
			label: 'Ordonnance',
			sections: [],
			documents: [documentId],
			expiresAt: inHalfAnHour(),
			allowContributions: false
		});
		const bundle = await ipsOf(info.link);
		const reference = (bundle.entry as { resource: Record<string, unknown> }[])
			.map((e) => e.resource)
			.find((r) => r.resourceType === 'DocumentReference') as { content: { attachment: { data?: string; contentType?: string } }[] };
		expect(reference.content[0].attachment).toMatchObject({ contentType: 'application/pdf', data: Buffer.from(bytes).toString('base64') });
		// On the disk: ciphertext under keys that do not name the document.
		const db = await openCarnetDb(a.factory, 'carnet');
		const tx = db.transaction(['blobs', 'blobState', 'shareState']);
		const rows = [
			...(await tx.objectStore('blobs').getAllKeys()),
			...(await tx.objectStore('blobs').getAll()),
			...(await tx.objectStore('blobState').getAllKeys()),
			...(await tx.objectStore('blobState').getAll()),
			...(await tx.objectStore('shareState').getAll())
		];
		db.close();
		const disk = rows.map((r) => Buffer.from(JSON.stringify(r instanceof Uint8Array ? Buffer.from(r).toString('latin1') : r)).toString()).join();
		for (const needle of ['PDF', 'ordonnance', documentId]) expect(disk).not.toContain(needle);
	});

	it('carries documents of hundreds of kilobytes inline, byte for byte, in JSON as JSON.stringify writes it', async () => {
		const ra = await a.session!.open(vaultId);
		const files: { id: string; bytes: Uint8Array }[] = [];
		for (const size of [300_000, 70_000, 10]) {
			// A title JSON keeps as is but UTF-8 must encode on two or three bytes.
			const id = await add(ra, 'documents', { type: 'imaging-report', title: `Scanner — thorax ✓ ${size}`, date: '2026-11-03' });
			const bytes = new Uint8Array(size);
			for (let o = 0; o < size; o += 65536) crypto.getRandomValues(bytes.subarray(o, Math.min(size, o + 65536)));
			await a.session!.files(vaultId).attach(id, { name: `scan-${size}.pdf`, contentType: 'application/pdf', data: bytes });
			files.push({ id, bytes });
		}
		const info = await a.session!.shares(vaultId).create({
			kind: 'custom',
			label: 'Scanners',
			sections: ['allergies'],
			documents: files.map((f) => f.id),
			expiresAt: inHalfAnHour(),
			allowContributions: false
		});
		const ips = (await openShl(parseShlink(info.link), { recipient: 'Dr Test' })).find((f) => f.contentType === 'application/fhir+json')!;
		const text = Buffer.from(ips.plaintext).toString('utf8');
		expect(Buffer.from(text, 'utf8').equals(Buffer.from(ips.plaintext))).toBe(true);
		expect(JSON.stringify(JSON.parse(text))).toBe(text);
		expect(text).toContain('Pénicilline');
		const references = ((ips.json as { entry: { resource: Record<string, unknown> }[] }).entry)
			.map((e) => e.resource)
			.filter((r) => r.resourceType === 'DocumentReference') as { description?: string; content: { attachment: { data?: string; title?: string } }[] }[];
		for (const { bytes } of files) {
			const reference = references.find((r) => r.content[0].attachment.title === `scan-${bytes.length}.pdf`);
			expect(reference?.content[0].attachment.data).toBe(Buffer.from(bytes).toString('base64'));
		}
	});

	it('imports a contribution on both devices as the same entry, attributed to the professional', async () => {
		const shares = a.session!.shares(vaultId);
		const info = await shares.create({
			kind: 'consultation',
			label: 'Consultation',
			sections: ['allergies'],
			documents: [],
			expiresAt: inHalfAnHour(),
			allowContributions: true
		});
		// The professional's viewer: open the link, find the contribution file, seal, post.
		const payload = parseShlink(info.link);
		const files = await openShl(payload, { recipient: 'Dr Claire Martin' });
		const extension = ContributionInfo.parse(files.find((f) => f.contentType === CONTRIBUTION_CONTENT_TYPE)!.json);
		const pdf = utf8Encode('%PDF-1.4 bilan');
		const plaintext = {
			v: 1,
			type: 'lab-report',
			title: 'Bilan sanguin',
			date: '2026-11-20',
			note: 'Ferritine basse',
			author: { name: 'Dr Claire Martin', rpps: rpps() },
			file: { name: 'bilan.pdf', contentType: 'application/pdf', data: Buffer.from(pdf).toString('base64') }
		};
		const events = [
			nextEvent(a.session!.shares(vaultId), (e) => e.kind === 'contribution'),
			nextEvent(b.session!.shares(vaultId), (e) => e.kind === 'contribution')
		];
		const response = await fetch(extension.endpoint, {
			method: 'POST',
			headers: { authorization: `Bearer ${await contributionToken(payloadKey(payload))}`, 'content-type': 'application/octet-stream' },
			body: seal(fromBase64url(extension.inboxKey), utf8Encode(JSON.stringify(plaintext))) as Uint8Array<ArrayBuffer>
		});
		expect(response.status).toBe(201);
		const { id } = (await response.json()) as { id: string };
		const documentId = contributionEntryId(id);
		const [ea, eb] = await Promise.all(events);
		for (const event of [ea, eb]) {
			expect(event).toEqual({ kind: 'contribution', share: info.id, documentId, author: { name: 'Dr Claire Martin', rpps: rpps() } });
		}
		const ra = await a.session!.open(vaultId);
		const rb = await b.session!.open(vaultId);
		await settle([a.session!, b.session!], vaultId);
		const documentOf = (view: ReturnType<typeof ra.view>) => view.sections.documents.filter((d) => d.title === 'Bilan sanguin');
		for (const record of [ra, rb]) {
			const docs: readonly Entry<'documents'>[] = documentOf(record.view());
			expect(docs).toHaveLength(1);
			expect(docs[0]).toMatchObject({
				id: documentId,
				createdBy: `pro:Dr Claire Martin (RPPS ${rpps()})`,
				note: 'Ferritine basse',
				contributor: { name: 'Dr Claire Martin', rpps: rpps(), share: info.id },
				file: { name: 'bilan.pdf', contentType: 'application/pdf', size: pdf.length }
			});
		}
		// Each device sealed the file; the record keeps one of them, which both can open.
		for (const session of [a.session!, b.session!]) await session.files(vaultId).flush();
		for (const session of [a.session!, b.session!]) {
			const [stored] = await session.files(vaultId).getMany([documentId]);
			expect(Buffer.from(stored!.bytes).toString()).toBe('%PDF-1.4 bilan');
		}
		// Refreshing again imports nothing twice.
		await a.session!.shares(vaultId).refresh();
		expect(documentOf(ra.view())).toHaveLength(1);
		expect(await a.session!.shares(vaultId).problems()).toEqual([]);
	});

	it('tells an online device of an access at once, and an offline one when it connects', async () => {
		const info = await a.session!.shares(vaultId).create({
			kind: 'consultation',
			label: 'Accès',
			sections: ['allergies'],
			documents: [],
			expiresAt: inHalfAnHour(),
			allowContributions: false
		});
		b.session!.sync.disconnect();
		const seenByB: ShareEvent[] = [];
		b.session!.shares(vaultId).onEvent((event) => seenByB.push(event));
		const live = nextEvent(a.session!.shares(vaultId), (e) => e.kind === 'access' && e.recipient === 'Dr Live');
		await ipsOf(info.link, 'Dr Live');
		expect(await live).toMatchObject({ kind: 'access', share: info.id, recipient: 'Dr Live', outcome: 'opened' });
		expect(seenByB).toEqual([]);

		const caughtUp = nextEvent(b.session!.shares(vaultId), (e) => e.kind === 'access' && e.recipient === 'Dr Live');
		b.session!.sync.connect();
		expect(await caughtUp).toMatchObject({ share: info.id, outcome: 'opened' });
		// Both devices wrote the same access entry: the record holds it once.
		await settle([a.session!, b.session!], vaultId);
		const ra = await a.session!.open(vaultId);
		const accesses = ra.view().shares().find((s) => s.id === info.id)!.accesses;
		expect(accesses.filter((x) => x.recipient === 'Dr Live')).toHaveLength(1);
	});

	it('republishes a long-lived share after an edit: the link serves the new content', async () => {
		const shares = a.session!.shares(vaultId);
		const info = await shares.create({
			kind: 'emergency',
			label: 'Urgence',
			sections: ['identity', 'allergies', 'history', 'treatments', 'contacts', 'directives'],
			documents: [],
			expiresAt: null,
			allowContributions: false
		});
		expect(info.flag).toBe('L');
		const served = async () => {
			const manifest = (await (
				await fetch(parseShlink(info.link).url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: 'Check', embeddedLengthMax: 10_000_000 }) })
			).json()) as { files: { contentType: string; embedded: string }[] };
			const file = manifest.files.find((f) => f.contentType === 'application/fhir+json')!;
			return { jwe: file.embedded, text: Buffer.from((await decryptFile(file.embedded, payloadKey(parseShlink(info.link)))).plaintext).toString() };
		};
		const before = await served();
		expect(before.text).not.toContain('Latex');
		// Nothing changed: nothing to republish.
		expect(await shares.republish()).toBe(0);

		await addAllergy(await a.session!.open(vaultId), 'Latex');
		// Automatic, debounced after the change.
		const deadline = Date.now() + 15_000;
		let after = await served();
		while (!after.text.includes('Latex') && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 300));
			after = await served();
		}
		expect(after.text).toContain('Latex');
		expect(after.jwe).not.toBe(before.jwe);
		expect(await shares.republish()).toBe(0);
	}, 30_000);

	it('surfaces a contribution that does not open as a problem, and goes on', async () => {
		const info = await a.session!.shares(vaultId).create({
			kind: 'consultation',
			label: 'Bad',
			sections: ['allergies'],
			documents: [],
			expiresAt: inHalfAnHour(),
			allowContributions: true
		});
		const payload = parseShlink(info.link);
		const files = await openShl(payload, { recipient: 'Dr Mallory' });
		const extension = ContributionInfo.parse(files.find((f) => f.contentType === CONTRIBUTION_CONTENT_TYPE)!.json);
		const token = await contributionToken(payloadKey(payload));
		const garbage = seal(fromBase64url(extension.inboxKey), utf8Encode(JSON.stringify({ v: 1, type: 'nope' })));
		const response = await fetch(extension.endpoint, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
			body: garbage as Uint8Array<ArrayBuffer>
		});
		expect(response.status).toBe(201);
		const deadline = Date.now() + 10_000;
		let problems = await a.session!.shares(vaultId).problems();
		while (problems.length === 0 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 200));
			problems = await a.session!.shares(vaultId).problems();
		}
		expect(problems).toMatchObject([{ share: info.id, reason: 'invalid' }]);
	});
});
