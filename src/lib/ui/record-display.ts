// How the UI shows record data: labels, formatted values, entry titles, issue messages.
// Everything visible goes through t(): field labels are `field.<section>.<name>`, options
// `option.<section>.<name>.<value>`, issue messages `error.<code>`.
import {
	FIELDS,
	LIST_SECTIONS,
	SINGLETON_SECTIONS,
	type AuthorName,
	type FieldDescriptor,
	type FieldDifference,
	type Issue,
	type ListSectionId,
	type RecordView,
	type SectionId
} from '$lib/core/record';
import { formatDate, formatDateTime, formatNumber, t } from './i18n/index.svelte';

export type Row = Record<string, unknown>;

export function isListSection(section: string): section is ListSectionId {
	return (LIST_SECTIONS as readonly string[]).includes(section);
}

export function isSingletonSection(section: string): section is (typeof SINGLETON_SECTIONS)[number] {
	return (SINGLETON_SECTIONS as readonly string[]).includes(section);
}

export function fieldLabel(section: SectionId, name: string): string {
	return t(`field.${section}.${name}`);
}

export function optionLabel(section: SectionId, name: string, value: string): string {
	return t(`option.${section}.${name}.${value}`);
}

export function personName(view: RecordView | null): string {
	const identity = view?.identity;
	if (!identity) return '';
	return [identity.givenName, identity.familyName].filter(Boolean).join(' ');
}

/** "Julien (Pixel 8)", the person alone when the device has no name; '' when unknown. */
export function authorLabel(author: AuthorName | null): string {
	if (!author) return '';
	return author.device ? t('author.withDevice', { person: author.person, device: author.device }) : author.person;
}

/** "Lot : AB123 ; Date : 12 mars 2024": the fields a concurrent version had otherwise. */
export function differencesText(section: ListSectionId, differences: readonly FieldDifference[]): string {
	return differences
		.map(({ name, value }) => {
			const field = FIELDS[section].find((f) => f.name === name);
			const shown = field ? formatValue(section, field, value) : String(value ?? '');
			return `${fieldLabel(section, name)}${t('punct.colon')}${shown || t('conflict.empty')}`;
		})
		.join(t('punct.semicolon'));
}

/** A field's value as text, or '' when absent. */
export function formatValue(section: SectionId, field: FieldDescriptor, value: unknown): string {
	if (value === undefined || value === null || value === '') return '';
	switch (field.kind) {
		case 'select':
			return optionLabel(section, field.name, String(value));
		case 'checkbox':
			return value === true ? t('value.yes') : t('value.no');
		case 'date':
			return formatDate(String(value));
		case 'datetime':
			return formatDateTime(String(value));
		case 'number':
			return typeof value === 'number' ? formatNumber(value) : String(value);
		default:
			return String(value);
	}
}

/** "120/80 mmHg", "72 kg". */
export function measurementValue(entry: Row): string {
	const value = typeof entry.value === 'number' ? formatNumber(entry.value) : '';
	const value2 = typeof entry.value2 === 'number' ? `/${formatNumber(entry.value2)}` : '';
	const unit = typeof entry.unit === 'string' && entry.unit ? ` ${entry.unit}` : '';
	return `${value}${value2}${unit}`;
}

/** "Blood pressure" or, for "other", the patient's label. */
export function measurementKind(entry: Row): string {
	if (entry.kind === 'other' && typeof entry.label === 'string' && entry.label) return entry.label;
	return optionLabel('measurements', 'kind', String(entry.kind));
}

/** The line that names an entry in a list. */
export function entryTitle(section: ListSectionId, entry: Row): string {
	const text = (name: string) => (typeof entry[name] === 'string' ? (entry[name] as string) : '');
	switch (section) {
		case 'contacts':
			return text('name');
		case 'allergies':
			return text('substance');
		case 'history':
		case 'treatments':
			return text('name');
		case 'vaccinations':
			return text('vaccine');
		case 'measurements':
			return `${measurementKind(entry)}${t('punct.colon')}${measurementValue(entry)}`;
		case 'visits':
			return text('professional');
		case 'documents':
			return text('title');
	}
}

/** Fields shown in an entry's details (its title field is already the heading). */
const TITLE_FIELDS: Partial<Record<SectionId, string[]>> = {
	contacts: ['name'],
	allergies: ['substance'],
	history: ['name'],
	treatments: ['name'],
	vaccinations: ['vaccine'],
	measurements: ['kind', 'value', 'value2', 'unit', 'label'],
	visits: ['professional'],
	documents: ['title']
};

export function entryDetails(section: SectionId, entry: Row): { label: string; value: string; name: string }[] {
	const skip = TITLE_FIELDS[section] ?? [];
	const details: { label: string; value: string; name: string }[] = [];
	for (const field of FIELDS[section]) {
		if (skip.includes(field.name)) continue;
		if (field.kind === 'checkbox') continue; // shown as badges
		const value = formatValue(section, field, entry[field.name]);
		if (value) details.push({ name: field.name, label: fieldLabel(section, field.name), value });
	}
	return details;
}

function formatParam(value: string | number): string {
	if (typeof value === 'number') return formatNumber(value);
	if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return formatDate(value);
	return value;
}

/** The translated message of a validation issue. `section` lets `date_order` name the other field. */
export function issueMessage(issue: Issue, section?: SectionId): string {
	const params: Record<string, string | number> = {};
	for (const [key, value] of Object.entries(issue.params ?? {})) params[key] = formatParam(value);
	if (issue.code === 'date_order' && typeof issue.params?.after === 'string' && section) {
		params.after = fieldLabel(section, issue.params.after);
	}
	if (issue.code === 'out_of_range') {
		const hasMin = issue.params?.min !== undefined;
		const hasMax = issue.params?.max !== undefined;
		if (hasMin && hasMax && issue.params?.min !== 0) return t('error.out_of_range_between', params);
		if (hasMax) return t('error.out_of_range_max', params);
		if (hasMin) return t('error.out_of_range_min', params);
	}
	if (issue.code === 'too_long' && issue.params?.max !== undefined) return t('error.too_long_max', params);
	if (issue.code === 'invalid_option' && issue.params?.options !== undefined) {
		return t('error.invalid_option_list', params);
	}
	return t(`error.${issue.code}`, params);
}
