// The documents list's filters and search, as plain functions (tests/unit/ui-documents.test.ts):
// by type, by date range, by author, and a title search that ignores accents and case, so
// "echo" finds "Échographie".

/** The fields of a document the filters read. */
export interface FilterableDocument {
	readonly type: string;
	readonly title: string;
	/** YYYY-MM-DD. */
	readonly date: string;
	readonly author?: string;
}

/** The filters' values as the form holds them: '' means "any". */
export interface DocumentFilters {
	type: string;
	/** YYYY-MM-DD, inclusive. */
	from: string;
	/** YYYY-MM-DD, inclusive. */
	to: string;
	/** An author as `authorsOf` lists it. */
	author: string;
	search: string;
}

export function noFilters(): DocumentFilters {
	return { type: '', from: '', to: '', author: '', search: '' };
}

export function isFiltering(filters: DocumentFilters): boolean {
	return Object.values(filters).some((value) => value.trim() !== '');
}

/** Lower case, accents and other combining marks removed, spaces collapsed. */
export function foldText(text: string): string {
	return text
		.normalize('NFD')
		.replace(/\p{M}+/gu, '')
		.toLowerCase()
		.replace(/\s+/g, ' ')
		.trim();
}

/** The authors named in `documents`, each once (first spelling met), sorted for `locale`. */
export function authorsOf(documents: readonly FilterableDocument[], locale = 'fr'): string[] {
	const byKey = new Map<string, string>();
	for (const document of documents) {
		const author = document.author?.trim().replace(/\s+/g, ' ');
		if (!author) continue;
		const key = foldText(author);
		if (!byKey.has(key)) byKey.set(key, author);
	}
	return [...byKey.values()].sort((a, b) => a.localeCompare(b, locale, { sensitivity: 'base' }));
}

/** The documents that pass every filter, in their order. Every word searched must be in the title. */
export function filterDocuments<T extends FilterableDocument>(documents: readonly T[], filters: DocumentFilters): T[] {
	const words = foldText(filters.search).split(' ').filter(Boolean);
	const author = foldText(filters.author);
	// A range typed backwards (from after to) is read the way it was meant.
	const [from, to] = filters.from && filters.to && filters.from > filters.to ? [filters.to, filters.from] : [filters.from, filters.to];
	return documents.filter((document) => {
		if (filters.type && document.type !== filters.type) return false;
		if (from && document.date < from) return false;
		if (to && document.date > to) return false;
		if (author && foldText(document.author ?? '') !== author) return false;
		if (words.length) {
			const title = foldText(document.title);
			if (!words.every((word) => title.includes(word))) return false;
		}
		return true;
	});
}
