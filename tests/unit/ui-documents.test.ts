import { describe, expect, it } from 'vitest';
import { authorsOf, filterDocuments, foldText, isFiltering, noFilters } from '../../src/lib/ui/documents';

const docs = [
	{ id: 'a', type: 'imaging-report', title: 'Échographie abdominale', date: '2026-03-02', author: 'Dr Lefèvre' },
	{ id: 'b', type: 'lab-report', title: 'Bilan sanguin', date: '2026-01-15', author: 'Laboratoire Cerballiance' },
	{ id: 'c', type: 'imaging-report', title: 'IRM du genou', date: '2025-11-30', author: 'dr  lefevre' },
	{ id: 'd', type: 'prescription', title: 'Ordonnance kiné', date: '2026-03-02' }
];

const ids = (found: { id: string }[]) => found.map((d) => d.id);

describe('documents filters', () => {
	it('folds accents, case and spaces', () => {
		expect(foldText('  Échographie   ABDOMINALE ')).toBe('echographie abdominale');
		expect(foldText('Cœur')).toBe('cœur');
	});

	it('finds titles whatever the accents and case', () => {
		expect(ids(filterDocuments(docs, { ...noFilters(), search: 'echo' }))).toEqual(['a']);
		expect(ids(filterDocuments(docs, { ...noFilters(), search: 'ÉCHO' }))).toEqual(['a']);
		expect(ids(filterDocuments(docs, { ...noFilters(), search: 'genou irm' }))).toEqual(['c']);
		expect(ids(filterDocuments(docs, { ...noFilters(), search: 'scanner' }))).toEqual([]);
	});

	it('filters by type, dates (inclusive, in either order) and author', () => {
		expect(ids(filterDocuments(docs, { ...noFilters(), type: 'imaging-report' }))).toEqual(['a', 'c']);
		expect(ids(filterDocuments(docs, { ...noFilters(), from: '2026-01-15' }))).toEqual(['a', 'b', 'd']);
		expect(ids(filterDocuments(docs, { ...noFilters(), to: '2026-01-15' }))).toEqual(['b', 'c']);
		expect(ids(filterDocuments(docs, { ...noFilters(), from: '2026-03-02', to: '2026-01-15' }))).toEqual(['a', 'b', 'd']);
		expect(ids(filterDocuments(docs, { ...noFilters(), author: 'Dr Lefèvre' }))).toEqual(['a', 'c']);
		expect(ids(filterDocuments(docs, { ...noFilters(), author: 'Dr Lefèvre', from: '2026-01-01' }))).toEqual(['a']);
		expect(ids(filterDocuments(docs, noFilters()))).toEqual(['a', 'b', 'c', 'd']);
	});

	it('lists each author once, sorted', () => {
		expect(authorsOf(docs)).toEqual(['Dr Lefèvre', 'Laboratoire Cerballiance']);
		expect(authorsOf([])).toEqual([]);
	});

	it('knows when anything is filtered', () => {
		expect(isFiltering(noFilters())).toBe(false);
		expect(isFiltering({ ...noFilters(), search: ' ' })).toBe(false);
		expect(isFiltering({ ...noFilters(), type: 'lab-report' })).toBe(true);
	});
});
