/**
 * Record → FHIR R4 International Patient Summary (a `document` Bundle).
 *
 * Shape decisions (docs/SHARING.md: the share's first file is this Bundle):
 * - Pure and synchronous: the caller gathers what the patient chose to share from the record
 *   view and passes plain data; nothing here reads storage, the clock or the network. The same
 *   input gives byte-identical JSON (republishing an unchanged share changes nothing).
 * - Ids are name-based UUIDs (v5) of `<ResourceType>/<entry id>` (per-bundle resources use the
 *   bundle id), and every fullUrl is `urn:uuid:<id>`, so references stay stable across
 *   republishing and always resolve inside the bundle.
 * - Time zone: the record's measurement times are wall-clock times without zone
 *   ("2026-03-04T10:30"); they are written with the offset `timeZone` had at that instant
 *   ("2026-03-04T10:30:00+01:00"), via Intl (see time.ts). Plain dates stay FHIR dates. The
 *   Bundle timestamp and Composition date are `now` in the same zone.
 * - The three required IPS sections (problems, allergies, medications) are always present.
 *   A section the patient shared with nothing in it says `emptyReason` nilknown ("no known
 *   …"); a required section the patient did not share says `withheld`. Optional sections not
 *   shared are left out.
 * - Where R4 has a field, the record's value goes there; the record's free-text notes go to
 *   `note`, or to the core `note` extension on elements without one (Patient.contact,
 *   Encounter, DocumentReference). The few Carnet-only notions (trusted person, where the
 *   directives are kept, organ donation) use Carnet codes (codes.ts), and from-ips.ts reads
 *   all of it back: toIpsBundle → fromIpsBundle gives back the same field values.
 * - Where things go: allergies → AllergyIntolerance; conditions → Condition (active or
 *   undated in problems 11450-4, resolved in past illnesses 11348-0); surgeries → Procedure
 *   (47519-4); family history → FamilyMemberHistory (10157-6); treatments →
 *   MedicationStatement (dosage text "dose, schedule", the schedule also as timing.code text;
 *   prescriber as informationSource display); vaccinations → Immunization, the next dose an
 *   ImmunizationRecommendation (LOINC 30980-7 "Date vaccine due") in the same section;
 *   measurements → Observation with LOINC and UCUM (codes.ts), vital signs in 8716-3, glucose
 *   and "other" in results 30954-2 with the blood group (882-1, SNOMED CT value); directives →
 *   Observations in 42348-3 (the text as valueString, where it is kept as a component, organ
 *   donation as v2-0136 Y/N or data-absent "unknown"); visits → Encounter (46240-8);
 *   documents → DocumentReference (LOINC type, DMP class category, the document's date as
 *   context.period.start, its createdAt as `date`) in a documents section (55188-7);
 *   contacts → Patient.contact (v2-0131 "C", the trusted person a Carnet code).
 * - Kept only where it means something: a relative on family history, a status on
 *   conditions, a second value on blood pressures; a trusted-person box left unticked reads
 *   back as absent.
 * - Compact JSON: no nulls, no empty strings, arrays or objects.
 * - Hidden documents are never written, even if a caller passes one.
 */
import type { Directives, Entry, Identity } from '../record/schema';
import { DOCUMENT_TYPES } from '../record/document-types';
import { sha1, toBase64, uuidFromName, UUID_PATTERN } from './bytes';
import {
	BLOOD_GROUP_CODE,
	BLOOD_GROUP_SNOMED,
	CARNET_CODES,
	DATA_ABSENT_REASON_URL,
	DIASTOLIC,
	IPS_DOCUMENT_CODE,
	MEASUREMENT_CODES,
	NOTE_EXTENSION_URL,
	SECTION_CODES,
	SECTION_DISPLAYS,
	SYSTEMS,
	SYSTOLIC,
	UCUM,
	VACCINE_DUE_CODE
} from './codes';
import type { Bundle, BundleEntry, FhirResource, Json } from './read';
import { instantInZone, localToFhir } from './time';

/**
 * A document to put in the bundle, with its bytes when this device has them; without them,
 * the entry's file metadata (if any) is written, and the document's title otherwise.
 */
export interface IpsDocumentInput {
	readonly entry: Entry<'documents'>;
	readonly file?: {
		readonly name: string;
		readonly contentType: string;
		readonly data: Uint8Array;
		/**
		 * SHA-1 of `data`, base64 (FHIR's `Attachment.hash`), when the caller has it: WebCrypto
		 * computes it natively but asynchronously; otherwise it is computed here, in script.
		 */
		readonly sha1?: string;
	};
}

/**
 * What the caller gathered from the record view: only what the patient chose to share. A list
 * key that is present (even empty) means "shared"; an absent key means "not shared".
 */
export interface IpsInput {
	/** The share's id; names the Bundle and the per-bundle resources. */
	readonly bundleId: string;
	readonly now: Date;
	/** IANA zone of the patient's wall-clock times; default UTC. */
	readonly timeZone?: string;
	/** Language of titles and narratives; default French. */
	readonly language?: 'fr' | 'en';
	/** Who made the summary; the patient when absent. */
	readonly author?: { readonly name: string };
	readonly identity?: Identity;
	readonly sections: {
		readonly contacts?: readonly Entry<'contacts'>[];
		readonly allergies?: readonly Entry<'allergies'>[];
		readonly history?: readonly Entry<'history'>[];
		readonly treatments?: readonly Entry<'treatments'>[];
		readonly vaccinations?: readonly Entry<'vaccinations'>[];
		readonly measurements?: readonly Entry<'measurements'>[];
		readonly visits?: readonly Entry<'visits'>[];
	};
	readonly directives?: Directives;
	readonly documents?: readonly IpsDocumentInput[];
}

type Lang = 'fr' | 'en';

const LABELS = {
	fr: {
		title: 'Synthèse médicale',
		[SECTION_CODES.allergies]: 'Allergies et intolérances',
		[SECTION_CODES.problems]: 'Problèmes de santé actifs',
		[SECTION_CODES.medications]: 'Traitements',
		[SECTION_CODES.immunizations]: 'Vaccinations',
		[SECTION_CODES.pastIllness]: 'Antécédents médicaux',
		[SECTION_CODES.procedures]: 'Antécédents chirurgicaux',
		[SECTION_CODES.familyHistory]: 'Antécédents familiaux',
		[SECTION_CODES.vitalSigns]: 'Constantes',
		[SECTION_CODES.results]: 'Résultats',
		[SECTION_CODES.advanceDirectives]: 'Directives anticipées',
		[SECTION_CODES.encounters]: 'Consultations',
		[SECTION_CODES.documents]: 'Documents',
		nilknown: {
			[SECTION_CODES.allergies]: 'Aucune allergie connue',
			[SECTION_CODES.problems]: 'Aucun problème de santé connu',
			[SECTION_CODES.medications]: 'Aucun traitement connu',
			other: 'Aucune information'
		} as Record<string, string>,
		withheld: 'Non partagé par le patient',
		trustedPerson: 'Personne de confiance',
		emergencyContact: 'Personne à prévenir',
		directivesLocation: 'Lieu de conservation des directives',
		organDonation: "Don d'organes",
		yes: 'Oui',
		no: 'Non',
		unspecified: 'Non précisé',
		bloodGroup: 'Groupe sanguin',
		unknown: 'Inconnu',
		nextDue: 'prochaine dose',
		kinds: {
			weight: 'Poids',
			height: 'Taille',
			'blood-pressure': 'Tension artérielle',
			glucose: 'Glycémie',
			'heart-rate': 'Fréquence cardiaque',
			temperature: 'Température'
		} as Record<string, string>,
		criticality: { high: 'criticité élevée', low: 'criticité faible', 'unable-to-assess': 'criticité non évaluable' } as Record<string, string>
	},
	en: {
		title: 'Patient summary',
		[SECTION_CODES.allergies]: 'Allergies and intolerances',
		[SECTION_CODES.problems]: 'Active problems',
		[SECTION_CODES.medications]: 'Medications',
		[SECTION_CODES.immunizations]: 'Immunizations',
		[SECTION_CODES.pastIllness]: 'Past illnesses',
		[SECTION_CODES.procedures]: 'Surgical history',
		[SECTION_CODES.familyHistory]: 'Family history',
		[SECTION_CODES.vitalSigns]: 'Vital signs',
		[SECTION_CODES.results]: 'Results',
		[SECTION_CODES.advanceDirectives]: 'Advance directives',
		[SECTION_CODES.encounters]: 'Visits',
		[SECTION_CODES.documents]: 'Documents',
		nilknown: {
			[SECTION_CODES.allergies]: 'No known allergies',
			[SECTION_CODES.problems]: 'No known problems',
			[SECTION_CODES.medications]: 'No known medications',
			other: 'No information'
		} as Record<string, string>,
		withheld: 'Not shared by the patient',
		trustedPerson: 'Trusted person',
		emergencyContact: 'Emergency contact',
		directivesLocation: 'Where the directives are kept',
		organDonation: 'Organ donation',
		yes: 'Yes',
		no: 'No',
		unspecified: 'Not stated',
		bloodGroup: 'Blood group',
		unknown: 'Unknown',
		nextDue: 'next dose',
		kinds: {
			weight: 'Weight',
			height: 'Height',
			'blood-pressure': 'Blood pressure',
			glucose: 'Blood glucose',
			'heart-rate': 'Heart rate',
			temperature: 'Temperature'
		} as Record<string, string>,
		criticality: { high: 'high criticality', low: 'low criticality', 'unable-to-assess': 'criticality unable to assess' } as Record<string, string>
	}
};

/** Default unit per measurement kind (the record fills it in; an older entry may lack it). */
const DEFAULT_UNITS: Readonly<Record<string, string>> = {
	weight: 'kg',
	height: 'cm',
	'blood-pressure': 'mmHg',
	glucose: 'g/L',
	'heart-rate': '/min',
	temperature: '°C'
};

/** Drops undefined, null, empty strings, empty arrays and empty objects, recursively. */
function compact<T>(value: T): T {
	if (Array.isArray(value)) {
		return value.map(compact).filter((v) => v !== undefined) as T;
	}
	if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
		const out: Json = {};
		for (const [k, v] of Object.entries(value)) {
			const c = compact(v);
			if (c === undefined || c === null || c === '') continue;
			if (Array.isArray(c) && c.length === 0) continue;
			if (typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) continue;
			out[k] = c;
		}
		return out as T;
	}
	return value;
}

function escapeXml(text: string): string {
	return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** A generated narrative: one escaped line, or a list of escaped lines. */
function narrative(lines: readonly string[]): Json {
	const body =
		lines.length === 1
			? escapeXml(lines[0])
			: `<ul>${lines.map((l) => `<li>${escapeXml(l)}</li>`).join('')}</ul>`;
	return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>` };
}

const joinLine = (...parts: (string | undefined | false)[]) =>
	parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' — ');

const loinc = (code: string, display?: string) => ({ system: SYSTEMS.loinc, code, display });
const noteOf = (text: string | undefined) => (text === undefined ? undefined : [{ text }]);
const noteExtension = (text: string | undefined) =>
	text === undefined ? undefined : [{ url: NOTE_EXTENSION_URL, valueAnnotation: { text } }];

/**
 * The file metadata a document entry carries when its bytes are on another device
 * (docs/SHARING.md): the viewer can say what the file is, not open it. Its SHA-256 is not
 * FHIR's hash (SHA-1), so it is not written.
 */
function fileInfo(entry: object): Json | undefined {
	const file = (entry as { file?: unknown }).file;
	if (typeof file !== 'object' || file === null) return undefined;
	const { name, contentType, size } = file as Record<string, unknown>;
	if (typeof name !== 'string' || typeof contentType !== 'string') return undefined;
	return { contentType, title: name, size: typeof size === 'number' ? size : undefined };
}

/** One section under construction. */
interface SectionDraft {
	readonly code: string;
	readonly resources: { readonly resource: FhirResource; readonly line: string }[];
	/** Set when the section must be written even without entries. */
	emptyReason?: 'nilknown' | 'withheld';
}

/**
 * Builds the IPS document Bundle of what the patient shares. Deterministic: the same input
 * gives the same JSON. Throws only on an unknown `timeZone` (RangeError from Intl).
 */
export function toIpsBundle(input: IpsInput): Bundle {
	const tz = input.timeZone ?? 'UTC';
	const lang: Lang = input.language ?? 'fr';
	const L = LABELS[lang];
	const nowText = instantInZone(input.now, tz);
	const today = nowText.slice(0, 10);
	const bundleUuid = UUID_PATTERN.test(input.bundleId.toLowerCase())
		? input.bundleId.toLowerCase()
		: uuidFromName(`Bundle/${input.bundleId}`);

	const entries: BundleEntry[] = [];
	const urlOf = (resource: FhirResource) => `urn:uuid:${resource.id}`;
	const make = (resourceType: string, name: string, body: Json): FhirResource =>
		compact({ resourceType, id: uuidFromName(`${resourceType}/${name}`), ...body }) as FhirResource;

	const patientId = uuidFromName(`Patient/${input.bundleId}`);
	const patientRef = { reference: `urn:uuid:${patientId}` };

	// Sections, in the order the Composition lists them.
	const drafts = new Map<string, SectionDraft>();
	const draft = (code: string): SectionDraft => {
		let d = drafts.get(code);
		if (d === undefined) {
			d = { code, resources: [] };
			drafts.set(code, d);
		}
		return d;
	};
	for (const code of [
		SECTION_CODES.allergies,
		SECTION_CODES.problems,
		SECTION_CODES.medications,
		SECTION_CODES.immunizations,
		SECTION_CODES.pastIllness,
		SECTION_CODES.procedures,
		SECTION_CODES.familyHistory,
		SECTION_CODES.vitalSigns,
		SECTION_CODES.results,
		SECTION_CODES.advanceDirectives,
		SECTION_CODES.encounters,
		SECTION_CODES.documents
	]) {
		draft(code);
	}
	const add = (code: string, resource: FhirResource, line: string) => draft(code).resources.push({ resource, line });
	const shared = (code: string, list: readonly unknown[] | undefined) => {
		if (list !== undefined) draft(code).emptyReason = 'nilknown';
	};

	const { sections } = input;

	// Allergies.
	shared(SECTION_CODES.allergies, sections.allergies);
	for (const a of sections.allergies ?? []) {
		const resource = make('AllergyIntolerance', a.id, {
			clinicalStatus: { coding: [{ system: SYSTEMS.allergyClinical, code: 'active', display: 'Active' }] },
			type: a.type,
			category: a.category && [a.category],
			criticality: a.criticality,
			code: { text: a.substance },
			patient: patientRef,
			onsetDateTime: a.onsetDate,
			reaction: a.reaction && [{ manifestation: [{ text: a.reaction }] }],
			note: noteOf(a.note)
		});
		add(SECTION_CODES.allergies, resource, joinLine(a.substance, a.criticality && L.criticality[a.criticality], a.reaction));
	}

	// History: conditions, surgeries, family history.
	if (sections.history !== undefined) draft(SECTION_CODES.problems).emptyReason = 'nilknown';
	for (const h of sections.history ?? []) {
		if (h.kind === 'surgery') {
			const resource = make('Procedure', h.id, {
				status: 'completed',
				code: { text: h.name },
				subject: patientRef,
				performedDateTime: h.date,
				note: noteOf(h.note)
			});
			add(SECTION_CODES.procedures, resource, joinLine(h.name, h.date));
		} else if (h.kind === 'family') {
			const resource = make('FamilyMemberHistory', h.id, {
				status: 'completed',
				patient: patientRef,
				relationship: h.relative
					? { text: h.relative }
					: { coding: [{ system: SYSTEMS.v3RoleCode, code: 'FAMMEMB', display: 'family member' }] },
				condition: [{ code: { text: h.name }, onsetString: h.date }],
				note: noteOf(h.note)
			});
			add(SECTION_CODES.familyHistory, resource, joinLine(h.name, h.relative, h.date));
		} else {
			const resource = make('Condition', h.id, {
				clinicalStatus: h.status && {
					coding: [
						{
							system: SYSTEMS.conditionClinical,
							code: h.status,
							display: h.status === 'active' ? 'Active' : 'Resolved'
						}
					]
				},
				category: [
					{ coding: [{ system: SYSTEMS.conditionCategory, code: 'problem-list-item', display: 'Problem List Item' }] }
				],
				code: { text: h.name },
				subject: patientRef,
				onsetDateTime: h.date,
				note: noteOf(h.note)
			});
			add(
				h.status === 'resolved' ? SECTION_CODES.pastIllness : SECTION_CODES.problems,
				resource,
				joinLine(h.name, h.date)
			);
		}
	}

	// Treatments.
	shared(SECTION_CODES.medications, sections.treatments);
	for (const t of sections.treatments ?? []) {
		const dosageText = t.dose !== undefined && t.schedule !== undefined ? `${t.dose}, ${t.schedule}` : (t.dose ?? t.schedule);
		const status =
			t.endDate !== undefined && t.endDate < today
				? 'completed'
				: t.startDate !== undefined && t.startDate > today
					? 'intended'
					: 'active';
		const resource = make('MedicationStatement', t.id, {
			status,
			medicationCodeableConcept: { text: t.name },
			subject: patientRef,
			effectivePeriod: { start: t.startDate, end: t.endDate },
			informationSource: t.prescriber && { display: t.prescriber },
			dosage: dosageText && [{ text: dosageText, timing: t.schedule && { code: { text: t.schedule } } }],
			note: noteOf(t.note)
		});
		add(SECTION_CODES.medications, resource, joinLine(t.name, dosageText));
	}

	// Vaccinations, and the next dose as a recommendation.
	shared(SECTION_CODES.immunizations, sections.vaccinations);
	for (const v of sections.vaccinations ?? []) {
		const resource = make('Immunization', v.id, {
			status: 'completed',
			vaccineCode: { text: v.vaccine },
			patient: patientRef,
			occurrenceDateTime: v.date,
			lotNumber: v.lot,
			performer: v.administeredBy && [{ actor: { display: v.administeredBy } }],
			note: noteOf(v.note)
		});
		add(SECTION_CODES.immunizations, resource, joinLine(v.vaccine, v.date, v.lot));
		if (v.nextDue !== undefined) {
			const due = v.nextDue < today ? 'overdue' : 'due';
			const recommendation = make('ImmunizationRecommendation', v.id, {
				patient: patientRef,
				date: nowText,
				recommendation: [
					{
						vaccineCode: [{ text: v.vaccine }],
						forecastStatus: {
							coding: [
								{
									system: SYSTEMS.immunizationRecommendationStatus,
									code: due,
									display: due === 'due' ? 'Due' : 'Overdue'
								}
							]
						},
						dateCriterion: [{ code: { coding: [loinc(VACCINE_DUE_CODE, 'Date vaccine due')] }, value: v.nextDue }],
						supportingImmunization: [{ reference: urlOf(resource) }]
					}
				]
			});
			add(SECTION_CODES.immunizations, recommendation, joinLine(v.vaccine, `${L.nextDue} ${v.nextDue}`));
		}
	}

	// Measurements: vital signs, and the rest (glucose, "other") as results.
	if (sections.measurements !== undefined) draft(SECTION_CODES.vitalSigns).emptyReason = 'nilknown';
	for (const m of sections.measurements ?? []) {
		const unit = m.unit ?? DEFAULT_UNITS[m.kind];
		const code = MEASUREMENT_CODES[m.kind] ?? MEASUREMENT_CODES[`${m.kind}:${unit}`];
		const quantity = (value: number) =>
			unit !== undefined && UCUM[unit] !== undefined && code !== undefined
				? { value, unit, system: SYSTEMS.ucum, code: UCUM[unit] }
				: { value, unit };
		const isPressure = m.kind === 'blood-pressure';
		const resource = make('Observation', m.id, {
			status: 'final',
			category: code && [{ coding: [{ system: SYSTEMS.observationCategory, code: code.category }] }],
			code: { coding: code && [loinc(code.loinc, code.display)], text: m.label },
			subject: patientRef,
			effectiveDateTime: localToFhir(m.date, tz),
			valueQuantity: isPressure ? undefined : quantity(m.value),
			component: isPressure
				? [
						{ code: { coding: [loinc(SYSTOLIC.loinc, SYSTOLIC.display)] }, valueQuantity: quantity(m.value) },
						m.value2 !== undefined && {
							code: { coding: [loinc(DIASTOLIC.loinc, DIASTOLIC.display)] },
							valueQuantity: quantity(m.value2)
						}
					].filter(Boolean)
				: undefined,
			note: noteOf(m.note)
		});
		const value = isPressure && m.value2 !== undefined ? `${m.value}/${m.value2}` : String(m.value);
		add(
			code?.category === 'vital-signs' ? SECTION_CODES.vitalSigns : SECTION_CODES.results,
			resource,
			joinLine(m.label ?? L.kinds[m.kind] ?? m.kind, `${value} ${unit ?? ''}`.trim(), m.date.replace('T', ' '))
		);
	}

	// Blood group, from the identity.
	const bloodGroup = input.identity?.bloodGroup;
	if (bloodGroup !== undefined) {
		const snomed = BLOOD_GROUP_SNOMED[bloodGroup];
		const resource = make('Observation', `blood-group/${input.bundleId}`, {
			status: 'final',
			category: [{ coding: [{ system: SYSTEMS.observationCategory, code: 'laboratory' }] }],
			code: { coding: [loinc(BLOOD_GROUP_CODE, 'ABO and Rh group [Type] in Blood')] },
			subject: patientRef,
			valueCodeableConcept: snomed && {
				coding: [{ system: SYSTEMS.snomed, code: snomed.code, display: snomed.display }],
				text: bloodGroup
			},
			dataAbsentReason: snomed
				? undefined
				: { coding: [{ system: SYSTEMS.dataAbsentReason, code: 'unknown', display: 'Unknown' }], text: L.unknown }
		});
		add(SECTION_CODES.results, resource, joinLine(L.bloodGroup, snomed ? bloodGroup : L.unknown));
	}

	// Advance directives and organ donation.
	const directives = input.directives;
	if (directives !== undefined) {
		draft(SECTION_CODES.advanceDirectives).emptyReason = 'nilknown';
		if (directives.advanceDirectives !== undefined || directives.directivesLocation !== undefined) {
			const resource = make('Observation', `advance-directives/${input.bundleId}`, {
				status: 'final',
				code: {
					coding: [
						loinc(SECTION_CODES.advanceDirectives, 'Advance directives'),
						{ system: SYSTEMS.carnet, code: CARNET_CODES.advanceDirectives }
					],
					text: L[SECTION_CODES.advanceDirectives]
				},
				subject: patientRef,
				valueString: directives.advanceDirectives,
				component: directives.directivesLocation !== undefined && [
					{
						code: {
							coding: [{ system: SYSTEMS.carnet, code: CARNET_CODES.directivesLocation }],
							text: L.directivesLocation
						},
						valueString: directives.directivesLocation
					}
				]
			});
			add(
				SECTION_CODES.advanceDirectives,
				resource,
				joinLine(directives.advanceDirectives, directives.directivesLocation && `${L.directivesLocation} : ${directives.directivesLocation}`)
			);
		}
		if (directives.organDonation !== undefined || directives.organDonationNote !== undefined) {
			const wish = directives.organDonation;
			const resource = make('Observation', `organ-donation/${input.bundleId}`, {
				status: 'final',
				code: {
					coding: [{ system: SYSTEMS.carnet, code: CARNET_CODES.organDonation, display: 'Organ donation' }],
					text: L.organDonation
				},
				subject: patientRef,
				valueCodeableConcept:
					wish === 'yes' || wish === 'no'
						? {
								coding: [{ system: SYSTEMS.v2YesNo, code: wish === 'yes' ? 'Y' : 'N', display: wish === 'yes' ? 'Yes' : 'No' }],
								text: wish === 'yes' ? L.yes : L.no
							}
						: undefined,
				dataAbsentReason:
					wish === 'unspecified'
						? { coding: [{ system: SYSTEMS.dataAbsentReason, code: 'unknown', display: 'Unknown' }], text: L.unspecified }
						: undefined,
				note: noteOf(directives.organDonationNote)
			});
			const wishText = wish === 'yes' ? L.yes : wish === 'no' ? L.no : wish === 'unspecified' ? L.unspecified : undefined;
			add(SECTION_CODES.advanceDirectives, resource, joinLine(L.organDonation, wishText, directives.organDonationNote));
		}
	}

	// Visits.
	shared(SECTION_CODES.encounters, sections.visits);
	for (const v of sections.visits ?? []) {
		const resource = make('Encounter', v.id, {
			extension: noteExtension(v.note),
			status: 'finished',
			class: { system: SYSTEMS.v3ActCode, code: 'AMB', display: 'ambulatory' },
			serviceType: v.specialty && { text: v.specialty },
			subject: patientRef,
			participant: [{ individual: { display: v.professional } }],
			period: { start: v.date },
			reasonCode: v.reason && [{ text: v.reason }],
			location: v.place && [{ location: { display: v.place } }]
		});
		add(SECTION_CODES.encounters, resource, joinLine(v.date, v.professional, v.specialty, v.reason));
	}

	// Documents (never a hidden one).
	for (const { entry: d, file } of input.documents ?? []) {
		if (d.hidden) continue;
		const type = DOCUMENT_TYPES.find((t) => t.id === d.type) ?? DOCUMENT_TYPES[DOCUMENT_TYPES.length - 1];
		const attachment = file
			? {
					contentType: file.contentType,
					data: toBase64(file.data),
					size: file.data.length,
					hash: file.sha1 ?? toBase64(sha1(file.data)),
					title: file.name
				}
			: fileInfo(d) ?? { title: d.title };
		const resource = make('DocumentReference', d.id, {
			extension: noteExtension(d.note),
			status: 'current',
			type: { coding: [loinc(type.loinc.code, type.loinc.display)] },
			category: [{ coding: [{ system: SYSTEMS.dmpClass, code: type.dmpClass.code, display: type.dmpClass.display }] }],
			subject: patientRef,
			date: d.createdAt,
			author: d.author && [{ display: d.author }],
			description: d.title,
			content: [{ attachment }],
			context: { period: { start: d.date } }
		});
		add(SECTION_CODES.documents, resource, joinLine(d.date, d.title, d.author));
	}

	// Required sections the patient did not share.
	for (const code of [SECTION_CODES.allergies, SECTION_CODES.problems, SECTION_CODES.medications]) {
		const d = draft(code);
		if (d.emptyReason === undefined && d.resources.length === 0) d.emptyReason = 'withheld';
	}

	// Patient.
	const identity = input.identity;
	const masked = [{ url: DATA_ABSENT_REASON_URL, valueCode: 'masked' }];
	const patient = compact({
		resourceType: 'Patient',
		id: patientId,
		name: identity ? [{ family: identity.familyName, given: [identity.givenName] }] : [{ extension: masked }],
		telecom: identity?.phone && [{ system: 'phone', value: identity.phone }],
		gender: identity?.sex,
		birthDate: identity?.birthDate,
		_birthDate: identity ? undefined : { extension: masked },
		address: identity?.address && [{ text: identity.address }],
		contact: (sections.contacts ?? []).map((c) => ({
			extension: noteExtension(c.note),
			relationship: [
				{ coding: [{ system: SYSTEMS.v2ContactRole, code: 'C', display: 'Emergency Contact' }], text: L.emergencyContact },
				c.relationship && { text: c.relationship },
				c.trustedPerson === true && {
					coding: [{ system: SYSTEMS.carnet, code: CARNET_CODES.trustedPerson, display: 'Trusted person' }],
					text: L.trustedPerson
				}
			].filter(Boolean),
			name: { text: c.name },
			telecom: [{ system: 'phone', value: c.phone }, c.email && { system: 'email', value: c.email }].filter(Boolean)
		}))
	}) as FhirResource;

	// Composition.
	const sectionsOut: Json[] = [];
	for (const d of drafts.values()) {
		if (d.resources.length === 0 && d.emptyReason === undefined) continue;
		const title = L[d.code as keyof typeof L] as string;
		const coding = { coding: [loinc(d.code, SECTION_DISPLAYS[d.code])] };
		if (d.resources.length === 0) {
			const reason = d.emptyReason as 'nilknown' | 'withheld';
			const text = reason === 'withheld' ? L.withheld : (L.nilknown[d.code] ?? L.nilknown.other);
			sectionsOut.push({
				title,
				code: coding,
				text: narrative([text]),
				emptyReason: {
					coding: [
						{
							system: SYSTEMS.listEmptyReason,
							code: reason,
							display: reason === 'withheld' ? 'Information Withheld' : 'Nil Known'
						}
					],
					text
				}
			});
			continue;
		}
		sectionsOut.push({
			title,
			code: coding,
			text: narrative(d.resources.map((r) => r.line)),
			entry: d.resources.map((r) => ({ reference: urlOf(r.resource) }))
		});
	}
	const composition = compact({
		resourceType: 'Composition',
		id: uuidFromName(`Composition/${input.bundleId}`),
		language: lang,
		status: 'final',
		type: { coding: [loinc(IPS_DOCUMENT_CODE, 'Patient summary Document')] },
		subject: patientRef,
		date: nowText,
		author: [input.author ? { display: input.author.name } : patientRef],
		title: identity ? `${L.title} — ${identity.givenName} ${identity.familyName}` : L.title,
		section: sectionsOut
	}) as FhirResource;

	entries.push({ fullUrl: urlOf(composition), resource: composition });
	entries.push({ fullUrl: urlOf(patient), resource: patient });
	for (const d of drafts.values()) {
		for (const { resource } of d.resources) entries.push({ fullUrl: urlOf(resource), resource });
	}
	return {
		resourceType: 'Bundle',
		identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${bundleUuid}` },
		type: 'document',
		timestamp: nowText,
		entry: entries
	};
}
