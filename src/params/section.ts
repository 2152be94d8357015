import type { ParamMatcher } from '@sveltejs/kit';
// Not the record index: matchers load with every page, the viewer's included, and the index
// pulls in Automerge.
import { SECTIONS, type SectionId } from '$lib/core/record/sections';

/** `/record/<section>` accepts the record's section ids only. */
export const match = ((param: string): param is SectionId =>
	(SECTIONS as readonly string[]).includes(param)) satisfies ParamMatcher;
