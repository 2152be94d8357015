import type { ParamMatcher } from '@sveltejs/kit';
import { SECTIONS, type SectionId } from '$lib/core/record';

/** `/record/<section>` accepts the record's section ids only. */
export const match = ((param: string): param is SectionId =>
	(SECTIONS as readonly string[]).includes(param)) satisfies ParamMatcher;
