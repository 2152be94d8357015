/**
 * What the professional's viewer shows of any IPS document Bundle, whoever produced it: plain
 * strings, already ordered for a doctor in a hurry. `summarizeIps` (summary.ts) builds it;
 * nothing here is HTML, and nothing from the bundle is ever rendered as markup.
 */

/** A date or date-time as the bundle gave it (FHIR `date`/`dateTime`), for display. */
export type FhirDate = string;

export interface SummaryPatient {
	readonly name: string;
	readonly birthDate?: FhirDate;
	/** FHIR administrative gender: male, female, other, unknown. */
	readonly gender?: string;
	readonly identifiers: readonly { readonly system?: string; readonly value: string }[];
	readonly telecom: readonly string[];
	/** Emergency contacts and the trusted person (Patient.contact). */
	readonly contacts: readonly { readonly name: string; readonly relationship?: string; readonly telecom: readonly string[] }[];
	/** ABO/Rh when an Observation (LOINC 882-1 or 883-9/10331-7) gives it. */
	readonly bloodGroup?: string;
}

export interface SummaryAllergy {
	readonly substance: string;
	/** high, low, unable-to-assess, or absent. Sorted high first. */
	readonly criticality?: string;
	/** allergy or intolerance. */
	readonly type?: string;
	readonly category: readonly string[];
	readonly reactions: readonly string[];
	readonly clinicalStatus?: string;
	readonly onset?: FhirDate;
	readonly note?: string;
}

export interface SummaryItem {
	/** What it is: a condition, a medication, a vaccine, a procedure… */
	readonly title: string;
	/** Extra facts on one line: dose and schedule, status, lot, value and unit… */
	readonly detail?: string;
	readonly status?: string;
	readonly date?: FhirDate;
	readonly note?: string;
}

export interface SummaryDocument {
	readonly title: string;
	readonly type?: string;
	readonly date?: FhirDate;
	readonly author?: string;
	readonly contentType?: string;
	/** Inline bytes (attachment.data), base64 as in the bundle. */
	readonly data?: string;
	/** Or where the bytes are (attachment.url); the viewer never fetches it on its own. */
	readonly url?: string;
	readonly size?: number;
}

export interface SummarySection {
	/** LOINC code of the Composition section. */
	readonly code?: string;
	readonly title: string;
	readonly items: readonly SummaryItem[];
	/** The section's `emptyReason` or a "no information" narrative, as text. */
	readonly emptyReason?: string;
}

/** One IPS as the viewer shows it. */
export interface IpsSummary {
	readonly title: string;
	readonly date?: FhirDate;
	readonly author?: string;
	readonly patient?: SummaryPatient;
	/** Criticality high first, then the rest; empty with `allergiesEmptyReason` when so stated. */
	readonly allergies: readonly SummaryAllergy[];
	readonly allergiesEmptyReason?: string;
	readonly problems: SummarySection;
	readonly medications: SummarySection;
	readonly immunizations: SummarySection;
	readonly results: SummarySection;
	readonly documents: readonly SummaryDocument[];
	/** Every other Composition section (history, procedures, vital signs, directives, …) in bundle order. */
	readonly otherSections: readonly SummarySection[];
}
