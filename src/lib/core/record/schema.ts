/**
 * The zod schemas of what the document stores, derived from the section table, and the entry
 * types the views return. The same content schema checks a form on the way in and a stored
 * entry on the way out, so anything a device writes is something every device can read.
 */
import { z } from 'zod';
import { ID_PATTERN } from './ids';
import {
	perSection,
	SECTIONS,
	specOf,
	type ListSectionId,
	type SectionId,
	type SectionValue,
	type SingletonSectionId
} from './sections';

/** Who made a change, as the operation's context names them (a device, a professional). */
const author = z.string().min(1).max(200);
const instant = z.iso.datetime();
const entryId = z.string().regex(ID_PATTERN);

// Object types rather than interfaces: they keep an entry assignable to Record<string, unknown>,
// which generic display code takes.

/** What every list entry carries besides its fields; written by the operations only. */
export type EntryMeta = {
	readonly id: string;
	/** ISO instant (UTC). */
	readonly createdAt: string;
	readonly updatedAt: string;
	readonly createdBy: string;
	readonly updatedBy: string;
};

/** What a singleton (identity, directives) carries besides its fields. */
export type SingletonMeta = {
	readonly updatedAt: string;
	readonly updatedBy: string;
};

/**
 * One entry of a list section as the views return it. Documents also say whether they are
 * hidden: the UI shows hidden ones greyed, shares leave them out.
 */
export type Entry<S extends ListSectionId> = SectionValue<S> &
	EntryMeta &
	(S extends 'documents' ? { readonly hidden: boolean } : unknown);

/** A singleton section's value as the views return it. */
export type Singleton<S extends SingletonSectionId> = SectionValue<S> & SingletonMeta;

/** The patient's identity. */
export type Identity = Singleton<'identity'>;
/** Advance directives and organ-donation wishes. */
export type Directives = Singleton<'directives'>;

/** Keys the operations own; a form may not set them (`error.read_only`). */
export const META_KEYS: readonly string[] = [
	'id',
	'createdAt',
	'updatedAt',
	'createdBy',
	'updatedBy',
	'hidden'
];

// No id: the map key is the id, and a random id stored twice would cost a third of the
// document's size (it does not compress).
const entryMetaShape = {
	createdAt: instant,
	updatedAt: instant,
	createdBy: author,
	updatedBy: author
};
const singletonMetaShape = { updatedAt: instant, updatedBy: author };

function contentSchema(section: SectionId) {
	const shape = Object.fromEntries(
		Object.entries(specOf(section).fields).map(([name, field]) => [
			name,
			field.required ? field.schema : field.schema.optional()
		])
	);
	// Strict: a field no form shows is a mistake (or a newer schema) to report, never to store silently.
	return z.strictObject(shape);
}

/** A section's fields, as a form submits them (after trimming). */
export const CONTENT_SCHEMAS = perSection(contentSchema);

/** A stored list entry or singleton: the fields plus the metadata the operations add (an entry's id is its key). */
export const STORED_SCHEMAS = perSection((s) =>
	CONTENT_SCHEMAS[s].extend(s === 'identity' || s === 'directives' ? singletonMetaShape : entryMetaShape)
);

/** What the activity log records of an operation. */
export const ACTIVITY_ACTIONS = ['add', 'edit', 'remove', 'hide', 'unhide', 'set'] as const;

/** One operation kind in the activity log. */
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

/** Longest activity summary: a title is enough to recognise the entry. */
export const SUMMARY_MAX = 80;

/** One line of the activity log. `summary` is at most the entry's title, never clinical detail. */
export interface ActivityEntry {
	readonly id: string;
	/** ISO instant (UTC). */
	readonly at: string;
	readonly author: string;
	readonly action: ActivityAction;
	readonly section: SectionId;
	readonly entryId?: string;
	readonly summary?: string;
}

/** A stored activity line (its id is its key). */
export const ACTIVITY_SCHEMA: z.ZodType<Omit<ActivityEntry, 'id'>> = z.strictObject({
	at: instant,
	author,
	action: z.enum(ACTIVITY_ACTIONS),
	section: z.enum(SECTIONS),
	entryId: entryId.optional(),
	summary: z.string().max(SUMMARY_MAX).optional()
});

/** The operation context's author, checked like the stored metadata it becomes. */
export const AUTHOR_SCHEMA = author;
