/**
 * Shares in the record (docs/SHARING.md, "In the record"; src/lib/core/record/shares.ts):
 * definitions and their state, idempotent access entries, contributions imported to the same
 * entry everywhere, documents' file metadata, and records made before sharing existed.
 */
import * as Automerge from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import {
	EMERGENCY_SECTIONS,
	RecordValidationError,
	addEntry,
	addShare,
	checkShareSelection,
	editEntry,
	importContribution,
	initRecord,
	markPublished,
	recordAccess,
	recordView,
	revokeShare,
	setDocumentFile,
	setHidden,
	shareSecrets,
	type RecordDoc,
	type StoredShare
} from '../../src/lib/core/record';

type Doc = Automerge.Doc<RecordDoc>;

const NOW = new Date('2026-11-26T12:00:00Z');
const A = { author: 'device:AAAAAAAAAAAAAAAA', now: NOW };
const B = { author: 'device:BBBBBBBBBBBBBBBB', now: new Date('2026-11-26T12:00:01Z') };
const IDENTITY = { givenName: 'Anaïs', familyName: 'Quintard', birthDate: '1984-03-09' };

/** A link id (43 base64url characters). */
function linkId(c: string): string {
	return c.repeat(43);
}

function share(overrides: Partial<Omit<StoredShare, 'v' | 'createdAt' | 'createdBy'>> = {}): Omit<StoredShare, 'v' | 'createdAt' | 'createdBy'> {
	return {
		label: 'Carnet — Anaïs Quintard',
		kind: 'consultation',
		sections: ['allergies', 'treatments'],
		documents: [],
		url: `http://127.0.0.1:8080/api/shl/${linkId('x')}`,
		key: 'k'.repeat(43),
		exp: Math.floor(NOW.getTime() / 1000) + 1800,
		flag: '',
		allowContributions: false,
		...overrides
	};
}

function newRecord(): Doc {
	return Automerge.change(Automerge.init<RecordDoc>(), (doc) => initRecord(doc, IDENTITY, A));
}

/** A record laid out before sharing existed: no `shares`, no `accessLog`. */
function legacyRecord(): Doc {
	return Automerge.change(Automerge.init<RecordDoc>(), (doc) => {
		initRecord(doc, IDENTITY, A);
		delete doc.shares;
		delete doc.accessLog;
	});
}

function change(doc: Doc, fn: (d: RecordDoc) => void): Doc {
	return Automerge.change(doc, fn);
}

describe('shares in the record', () => {
	it('new records hold the sharing maps from the start', () => {
		const doc = newRecord();
		expect(doc.shares).toEqual({});
		expect(doc.accessLog).toEqual({});
		expect(recordView(doc, NOW).shares()).toEqual([]);
	});

	it('writes a share, lists it with its status, and keeps its secrets apart', () => {
		let doc = newRecord();
		doc = change(doc, (d) => addShare(d, linkId('a'), share({ passcode: '1234', flag: 'P', maxUses: 3 }), 'hash-1', A));
		const [info] = recordView(doc, NOW).shares();
		expect(info).toMatchObject({
			id: linkId('a'),
			label: 'Carnet — Anaïs Quintard',
			kind: 'consultation',
			sections: ['allergies', 'treatments'],
			flag: 'P',
			passcode: '1234',
			maxUses: 3,
			status: 'active',
			createdBy: A.author,
			lastPublishedAt: NOW.toISOString(),
			accesses: []
		});
		expect(info.expiresAt).toBe(new Date((Math.floor(NOW.getTime() / 1000) + 1800) * 1000).toISOString());
		expect(JSON.stringify(info)).not.toContain('k'.repeat(43));
		expect(shareSecrets(doc, linkId('a'))).toMatchObject({ share: { key: 'k'.repeat(43) }, publishedHash: 'hash-1' });
		// Expired by the view's clock.
		expect(recordView(doc, new Date(NOW.getTime() + 3_600_000)).shares()[0].status).toBe('expired');
	});

	it('refuses empty selections, unknown and hidden documents, before writing', () => {
		let doc = newRecord();
		let hidden = '';
		let visible = '';
		doc = change(doc, (d) => {
			hidden = addEntry(d, 'documents', { type: 'lab-report', title: 'Private', date: '2026-01-02' }, A);
			visible = addEntry(d, 'documents', { type: 'lab-report', title: 'Shown', date: '2026-01-02' }, A);
			setHidden(d, hidden, true, A);
		});
		const before = Automerge.getHeads(doc);
		const attempt = (overrides: Partial<StoredShare>) => () => change(doc, (d) => addShare(d, linkId('b'), share(overrides), 'h', A));
		expect(attempt({ documents: [hidden] })).toThrow(RecordValidationError);
		expect(attempt({ documents: ['Z'.repeat(22)] })).toThrow(RecordValidationError);
		expect(attempt({ sections: [], documents: [] })).toThrow(RecordValidationError);
		expect(checkShareSelection(doc, { kind: 'custom', label: 'x', sections: [], documents: [hidden] })).toContainEqual({
			field: 'documents',
			code: 'invalid_option',
			params: { id: hidden }
		});
		expect(checkShareSelection(doc, { kind: 'custom', label: 'x'.repeat(81), sections: ['allergies'], documents: [] })[0].code).toBe('too_long');
		expect(Automerge.getHeads(doc)).toEqual(before);
		doc = change(doc, (d) => addShare(d, linkId('b'), share({ documents: [visible] }), 'h', A));
		expect(recordView(doc, NOW).shares()[0].documents).toEqual([visible]);
		// A link id is written once.
		expect(() => change(doc, (d) => addShare(d, linkId('b'), share(), 'h', A))).toThrow(RecordValidationError);
	});

	it('revocation wins over a concurrent republish, and stays', () => {
		let base = newRecord();
		base = change(base, (d) => addShare(d, linkId('c'), share({ flag: 'L', exp: null }), 'h1', A));
		const a = change(Automerge.clone(base, { actor: 'aa'.repeat(16) }), (d) => void revokeShare(d, linkId('c'), A));
		const b = change(Automerge.clone(base, { actor: 'bb'.repeat(16) }), (d) => void markPublished(d, linkId('c'), 'h2', B));
		for (const merged of [Automerge.merge(Automerge.clone(a), b), Automerge.merge(Automerge.clone(b), a)]) {
			const [info] = recordView(merged, NOW).shares();
			expect(info.status).toBe('revoked');
			expect(info.revokedAt).toBe(NOW.toISOString());
			expect(info.lastPublishedAt).toBe(B.now.toISOString());
			expect(shareSecrets(merged, linkId('c'))?.publishedHash).toBe('h2');
		}
		// Revoking again writes nothing.
		let revoked = a;
		const heads = Automerge.getHeads(revoked);
		revoked = change(revoked, (d) => expect(revokeShare(d, linkId('c'), B)).toBe(false));
		expect(Automerge.getHeads(revoked)).toEqual(heads);
	});

	it('access entries are idempotent, also written by two devices at once', () => {
		let base = newRecord();
		base = change(base, (d) => addShare(d, linkId('d'), share(), 'h', A));
		const event = { share: linkId('d'), seq: 7, at: '2026-11-26T12:05:00.000Z', recipient: 'Dr Martin', outcome: 'opened' as const };
		const later = { ...event, seq: 8, at: '2026-11-26T12:06:00.000Z', outcome: 'wrong_passcode' as const };
		const a = change(Automerge.clone(base, { actor: 'aa'.repeat(16) }), (d) => {
			expect(recordAccess(d, event)).toBe(true);
			expect(recordAccess(d, event)).toBe(false);
		});
		const b = change(Automerge.clone(base, { actor: 'bb'.repeat(16) }), (d) => {
			recordAccess(d, later);
			recordAccess(d, event);
		});
		const ab = Automerge.merge(Automerge.clone(a), b);
		const ba = Automerge.merge(Automerge.clone(b), a);
		const accesses = recordView(ab, NOW).shares()[0].accesses;
		expect(accesses.map((x) => x.seq)).toEqual([8, 7]);
		expect(JSON.stringify(recordView(ba, NOW).shares())).toBe(JSON.stringify(recordView(ab, NOW).shares()));
		// Already there after the merge: nothing to write.
		expect(() => change(ab, (d) => expect(recordAccess(d, event)).toBe(false))).not.toThrow();
		expect(() => change(ab, (d) => recordAccess(d, { ...event, outcome: 'nope' as never }))).toThrow(RecordValidationError);
	});

	it('concurrent share creation on two forks of a record made before sharing converges', () => {
		const base = legacyRecord();
		expect(base.shares).toBeUndefined();
		// Both devices create the maps lazily: two concurrent `shares` maps, one hidden behind the other.
		const a = change(Automerge.clone(base, { actor: 'aa'.repeat(16) }), (d) => {
			addShare(d, linkId('e'), share(), 'h', A);
			recordAccess(d, { share: linkId('e'), seq: 1, at: '2026-11-26T12:01:00.000Z', recipient: 'Dr A', outcome: 'opened' });
		});
		const b = change(Automerge.clone(base, { actor: 'bb'.repeat(16) }), (d) => {
			addShare(d, linkId('f'), share({ kind: 'emergency', sections: [...EMERGENCY_SECTIONS], flag: 'L', exp: null }), 'h', B);
			recordAccess(d, { share: linkId('f'), seq: 2, at: '2026-11-26T12:02:00.000Z', recipient: 'SAMU', outcome: 'opened' });
		});
		const ab = Automerge.merge(Automerge.clone(a), b);
		const ba = Automerge.merge(Automerge.clone(b), a);
		for (const merged of [ab, ba]) {
			const shares = recordView(merged, NOW).shares();
			expect(shares.map((s) => s.id).sort()).toEqual([linkId('e'), linkId('f')]);
			expect(shares.find((s) => s.id === linkId('f'))?.accesses.map((x) => x.recipient)).toEqual(['SAMU']);
			expect(shares.find((s) => s.id === linkId('e'))?.accesses.map((x) => x.recipient)).toEqual(['Dr A']);
		}
		expect(JSON.stringify(recordView(ab, NOW).shares())).toBe(JSON.stringify(recordView(ba, NOW).shares()));
		// Writing after the merge (into the winning copy) keeps both shares revocable.
		const revoked = change(ab, (d) => {
			revokeShare(d, linkId('e'), A);
			revokeShare(d, linkId('f'), A);
		});
		expect(recordView(revoked, NOW).shares().map((s) => s.status)).toEqual(['revoked', 'revoked']);
	});

	it('unreadable share values are skipped, not fatal', () => {
		let doc = newRecord();
		doc = change(doc, (d) => {
			addShare(d, linkId('g'), share(), 'h', A);
			d.shares![linkId('h')] = new TextEncoder().encode('{"v":2}');
			d.accessLog![`${linkId('g')}:9`] = new TextEncoder().encode('{"share":"x","seq":1}');
			// A value copied under another key is not trusted.
			d.accessLog![`${linkId('g')}:10`] = new TextEncoder().encode(
				JSON.stringify({ share: linkId('g'), seq: 11, at: NOW.toISOString(), recipient: 'X', outcome: 'opened' })
			);
		});
		const shares = recordView(doc, NOW).shares();
		expect(shares.map((s) => s.id)).toEqual([linkId('g')]);
		expect(shares[0].accesses).toEqual([]);
	});
});

describe('contributions and files', () => {
	const contribution = {
		id: 'C'.repeat(22),
		share: linkId('p'),
		at: '2026-11-26T11:00:00.000Z',
		type: 'lab-report',
		title: 'Bilan sanguin',
		date: '2026-11-25',
		note: 'RAS',
		author: { name: 'Dr Claire Martin', rpps: '10003456789' },
		file: { name: 'bilan.pdf', contentType: 'application/pdf', size: 3, hash: 'h'.repeat(43), key: 'k'.repeat(43), blob: 'b'.repeat(43) }
	};

	it('imports a contribution to the same entry on two devices, attributed to the professional', () => {
		const base = newRecord();
		const a = change(Automerge.clone(base, { actor: 'aa'.repeat(16) }), (d) => expect(importContribution(d, contribution)).toBe(true));
		const b = change(Automerge.clone(base, { actor: 'bb'.repeat(16) }), (d) => expect(importContribution(d, contribution)).toBe(true));
		const merged = Automerge.merge(Automerge.clone(a), b);
		const view = recordView(merged, NOW);
		expect(view.sections.documents).toHaveLength(1);
		const [entry] = view.sections.documents;
		expect(entry).toMatchObject({
			id: 'C'.repeat(22),
			title: 'Bilan sanguin',
			author: 'Dr Claire Martin',
			createdBy: 'pro:Dr Claire Martin (RPPS 10003456789)',
			createdAt: contribution.at,
			hidden: false,
			file: contribution.file,
			contributor: { name: 'Dr Claire Martin', rpps: '10003456789', share: linkId('p') }
		});
		// One activity line, the same on both devices.
		expect(view.activity.filter((l) => l.entryId === entry.id)).toHaveLength(1);
		expect(view.unreadable).toBe(0);
		// Importing again writes nothing.
		const heads = Automerge.getHeads(merged);
		expect(Automerge.getHeads(change(merged, (d) => expect(importContribution(d, contribution)).toBe(false)))).toEqual(heads);
	});

	it('refuses what the documents section refuses, before writing', () => {
		const doc = newRecord();
		expect(() => change(doc, (d) => importContribution(d, { ...contribution, type: 'x-ray' }))).toThrow(RecordValidationError);
		expect(() => change(doc, (d) => importContribution(d, { ...contribution, date: '2026-12-31' }))).toThrow(RecordValidationError);
		expect(() => change(doc, (d) => importContribution(d, { ...contribution, author: { name: 'X', rpps: '12' } }))).toThrow(RecordValidationError);
		expect(recordView(doc, NOW).sections.documents).toEqual([]);
	});

	it('file metadata is not a form field, and edits keep it', () => {
		let doc = newRecord();
		let id = '';
		doc = change(doc, (d) => {
			id = addEntry(d, 'documents', { type: 'prescription', title: 'Ordonnance', date: '2026-11-20' }, A);
		});
		expect(() => change(doc, (d) => void addEntry(d, 'documents', { type: 'prescription', title: 'X', date: '2026-11-20', file: contribution.file }, A))).toThrow(
			RecordValidationError
		);
		doc = change(doc, (d) => setDocumentFile(d, id, contribution.file, A));
		const [entry] = recordView(doc, NOW).sections.documents;
		expect(entry.file).toEqual(contribution.file);
		// The UI hands back the entry it read, file included: only the title changes.
		doc = change(doc, (d) => editEntry(d, 'documents', id, { ...entry, title: 'Ordonnance du Dr M.' }, B));
		const [edited] = recordView(doc, NOW).sections.documents;
		expect(edited).toMatchObject({ title: 'Ordonnance du Dr M.', file: contribution.file, updatedBy: B.author });
		doc = change(doc, (d) => setDocumentFile(d, id, null, A));
		expect(recordView(doc, NOW).sections.documents[0].file).toBeUndefined();
		expect(() => change(doc, (d) => setDocumentFile(d, id, { ...contribution.file, hash: 'short' }, A))).toThrow(RecordValidationError);
		expect(() => change(doc, (d) => setDocumentFile(d, id, { ...contribution.file, thumb: 'A'.repeat(16388) }, A))).toThrow(RecordValidationError);
		expect(() => change(doc, (d) => setDocumentFile(d, id, { ...contribution.file, thumb: '<svg>' }, A))).toThrow(RecordValidationError);
	});
});
