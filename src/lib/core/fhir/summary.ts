/**
 * Any IPS Bundle → what the professional's viewer shows (`IpsSummary`, summary-types.ts).
 *
 * Shaped for the viewer: it imports no record code, no Automerge, no libsodium (only the
 * dependency-free read.ts and codes.ts), so the viewer's bundle stays small. It works on any
 * producer's IPS, not only Carnet's: resources are found through the Composition's sections
 * and resolved by fullUrl or `Type/id`; a bundle without a Composition (a SMART Health Card's
 * `collection`) falls back to grouping resources by type. Items are built from the resources'
 * coded data (CodeableConcept text, else the first coding's display, else the code), never
 * from the XHTML narrative: a section's narrative is used only as stripped plain text, and only
 * to say why a section without entries is empty. Untrusted input: nothing here throws except
 * for a value that is not a Bundle; anything missing is just absent.
 */
import { CONTACT_ROLE_NAMES, RELATION_NAMES, SECTION_CODES, SYSTEMS } from './codes';
import {
	codeOf,
	codings,
	conceptText,
	conceptTexts,
	firstName,
	hasCode,
	humanName,
	isObject,
	noteTexts,
	num,
	obj,
	objects,
	ResourceIndex,
	str,
	stripXhtml,
	type FhirResource,
	type Json
} from './read';
import type {
	IpsSummary,
	SummaryAllergy,
	SummaryDocument,
	SummaryItem,
	SummaryPatient,
	SummarySection
} from './summary-types';

const DEFAULT_TITLES: Readonly<Record<string, string>> = {
	[SECTION_CODES.problems]: 'Problems',
	[SECTION_CODES.medications]: 'Medications',
	[SECTION_CODES.immunizations]: 'Immunizations',
	[SECTION_CODES.results]: 'Results'
};

const CRITICALITY_ORDER: Readonly<Record<string, number>> = { high: 0, 'unable-to-assess': 1, low: 3 };

/** Generic date elements, in the order a resource's "when" is best read from. */
const DATE_FIELDS = [
	'effectiveDateTime',
	'effectiveInstant',
	'onsetDateTime',
	'onsetString',
	'performedDateTime',
	'occurrenceDateTime',
	'occurrenceString',
	'timingDateTime',
	'dateTime',
	'authoredOn',
	'recordedDate',
	'issued',
	'created',
	'date'
];
const PERIOD_FIELDS = ['effectivePeriod', 'onsetPeriod', 'performedPeriod', 'timingPeriod', 'period', 'occurrencePeriod'];

const join = (parts: readonly (string | undefined)[], sep = ' · ') => {
	const kept = parts.filter((p): p is string => p !== undefined && p !== '');
	return kept.length > 0 ? kept.join(sep) : undefined;
};

/** A Quantity as "value unit". */
function quantityText(q: unknown): string | undefined {
	const quantity = obj(q);
	const value = num(quantity.value);
	if (value === undefined) return undefined;
	const unit = str(quantity.unit) ?? str(quantity.code);
	const comparator = str(quantity.comparator) ?? '';
	return unit ? `${comparator}${String(value)} ${unit}` : `${comparator}${String(value)}`;
}

/** An element's value[x] as text. */
function valueText(element: Json): string | undefined {
	if (element.valueQuantity !== undefined) return quantityText(element.valueQuantity);
	if (element.valueCodeableConcept !== undefined) return conceptText(element.valueCodeableConcept);
	if (typeof element.valueString === 'string') return str(element.valueString);
	if (typeof element.valueBoolean === 'boolean') return element.valueBoolean ? 'yes' : 'no';
	if (typeof element.valueInteger === 'number') return String(element.valueInteger);
	if (typeof element.valueDateTime === 'string') return str(element.valueDateTime);
	if (typeof element.valueTime === 'string') return str(element.valueTime);
	if (element.valueRange !== undefined) {
		const range = obj(element.valueRange);
		return join([quantityText(range.low), quantityText(range.high)], ' – ');
	}
	if (element.valueRatio !== undefined) {
		const ratio = obj(element.valueRatio);
		return join([quantityText(ratio.numerator), quantityText(ratio.denominator)], ' / ');
	}
	if (element.valuePeriod !== undefined) {
		const period = obj(element.valuePeriod);
		return join([str(period.start), str(period.end)], ' – ');
	}
	if (element.dataAbsentReason !== undefined) return conceptText(element.dataAbsentReason);
	return undefined;
}

/** The "when" of a resource: its first date element, or the start of its first period. */
function dateOf(resource: Json): string | undefined {
	for (const field of DATE_FIELDS) {
		const value = str(resource[field]);
		if (value !== undefined) return value;
	}
	for (const field of PERIOD_FIELDS) {
		const period = obj(resource[field]);
		const value = str(period.start) ?? str(period.end);
		if (value !== undefined) return value;
	}
	return undefined;
}

/**
 * Builds the viewer's summary of any FHIR Bundle (an IPS document, or a collection).
 * Throws `Error('not_a_bundle')` when the input is not a FHIR Bundle; never otherwise.
 */
export function summarizeIps(bundle: unknown): IpsSummary {
	if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw new Error('not_a_bundle');
	const index = new ResourceIndex(bundle.entry);
	const resolve = (ref: unknown) => index.resolve(ref);

	/** A name for whoever or whatever a Reference points to. */
	function who(reference: unknown, depth = 0): string | undefined {
		const display = str(obj(reference).display);
		if (display !== undefined) return display;
		const target = resolve(reference);
		if (target === undefined || depth > 2) return undefined;
		if (target.resourceType === 'PractitionerRole') {
			return who(target.practitioner, depth + 1) ?? who(target.organization, depth + 1) ?? conceptTexts(target.code)[0];
		}
		return firstName(target.name) ?? str(target.name) ?? conceptText(target.code) ?? conceptText(target.type);
	}

	function medicationName(r: Json): string | undefined {
		return (
			conceptText(r.medicationCodeableConcept) ??
			conceptText(resolve(r.medicationReference)?.code) ??
			str(obj(r.medicationReference).display)
		);
	}

	function dosageText(r: Json): string | undefined {
		const lines = objects(r.dosage ?? r.dosageInstruction).map((d) => {
			const text = str(d.text);
			if (text !== undefined) return text;
			const dose = quantityText(objects(d.doseAndRate)[0]?.doseQuantity);
			const repeat = obj(obj(d.timing).repeat);
			const frequency = num(repeat.frequency);
			const period = num(repeat.period);
			const unit = str(repeat.periodUnit);
			const timing =
				conceptText(obj(d.timing).code) ??
				(frequency !== undefined && period !== undefined && unit !== undefined ? `${frequency}×/${period === 1 ? '' : period}${unit}` : undefined);
			return join([dose, timing, conceptText(d.route)], ', ');
		});
		return join(lines, '; ');
	}

	function observationDetail(r: Json, depth = 0): string | undefined {
		const components = objects(r.component).map((c) => join([conceptText(c.code), valueText(c)], ' '));
		const members =
			depth > 1
				? []
				: objects(r.hasMember).map((ref) => {
						const member = resolve(ref);
						return member && join([conceptText(member.code), observationDetail(member, depth + 1)], ': ');
					});
		return join([valueText(r), join(components, ', '), conceptTexts(r.interpretation).join(', '), join(members, '; ')]);
	}

	/** The title of any resource: what it is about. */
	function titleOf(r: FhirResource): string {
		switch (r.resourceType) {
			case 'MedicationStatement':
			case 'MedicationRequest':
			case 'MedicationAdministration':
			case 'MedicationDispense':
				return medicationName(r) ?? r.resourceType;
			case 'Immunization':
				return conceptText(r.vaccineCode) ?? r.resourceType;
			case 'ImmunizationRecommendation': {
				const rec = objects(r.recommendation)[0] ?? {};
				return conceptTexts(rec.vaccineCode)[0] ?? conceptText(rec.targetDisease) ?? r.resourceType;
			}
			case 'DeviceUseStatement': {
				const device = resolve(r.device);
				return (
					str(obj(r.device).display) ??
					(device && (conceptText(device.type) ?? str(objects(device.deviceName)[0]?.name))) ??
					r.resourceType
				);
			}
			case 'Consent': {
				const provision = obj(r.provision);
				return (
					conceptTexts(provision.code)[0] ?? conceptTexts(r.category)[0] ?? conceptText(r.scope) ?? r.resourceType
				);
			}
			case 'CarePlan':
				return str(r.title) ?? str(r.description) ?? conceptTexts(r.category)[0] ?? r.resourceType;
			case 'FamilyMemberHistory':
				return join(objects(r.condition).map((c) => conceptText(c.code)), ', ') ?? conceptText(r.relationship) ?? r.resourceType;
			case 'Encounter':
				return (
					join(objects(r.participant).map((p) => who(p.individual)), ', ') ??
					conceptText(r.serviceType) ??
					conceptTexts(r.type)[0] ??
					r.resourceType
				);
			case 'DocumentReference':
				return str(r.description) ?? str(obj(objects(r.content)[0]?.attachment).title) ?? conceptText(r.type) ?? r.resourceType;
			case 'Device':
				return conceptText(r.type) ?? str(objects(r.deviceName)[0]?.name) ?? r.resourceType;
			default:
				return (
					conceptText(r.code) ??
					conceptText(r.type) ??
					str(r.title) ??
					str(r.description) ??
					str(r.name) ??
					r.resourceType
				);
		}
	}

	/** Extra facts about any resource, on one line. */
	function detailOf(r: FhirResource): string | undefined {
		switch (r.resourceType) {
			case 'Observation':
				return observationDetail(r);
			case 'MedicationStatement':
				return join([dosageText(r), who(r.informationSource)]);
			case 'MedicationRequest':
				return join([dosageText(r), who(r.requester)]);
			case 'Immunization':
				return join([
					str(r.lotNumber) && `lot ${str(r.lotNumber)}`,
					join(objects(r.performer).map((p) => who(p.actor)), ', '),
					conceptText(r.site),
					str(objects(r.protocolApplied)[0]?.series)
				]);
			case 'ImmunizationRecommendation':
				return join(conceptTexts(objects(r.recommendation)[0]?.targetDisease), ', ');
			case 'Condition':
				return join([conceptText(r.severity), join(conceptTexts(r.bodySite), ', ')]);
			case 'AllergyIntolerance':
				return join([str(r.criticality), join(objects(r.reaction).flatMap((x) => conceptTexts(x.manifestation)), ', ')]);
			case 'Procedure':
				return join([join(conceptTexts(r.bodySite), ', '), conceptText(r.outcome)]);
			case 'DeviceUseStatement':
				return conceptText(r.bodySite);
			case 'Flag':
				return join(conceptTexts(r.category), ', ');
			case 'Consent':
				return join([conceptText(r.scope), join(conceptTexts(r.category), ', ')]);
			case 'CarePlan':
				return join([str(r.title) ? str(r.description) : undefined, str(r.intent), join(conceptTexts(r.category), ', ')]);
			case 'FamilyMemberHistory':
				return conceptText(r.relationship);
			case 'Encounter':
				return join([
					conceptText(r.serviceType),
					join(conceptTexts(r.reasonCode), ', '),
					join(objects(r.location).map((l) => who(l.location)), ', ')
				]);
			default:
				return undefined;
		}
	}

	function itemOf(r: FhirResource): SummaryItem {
		// A recommendation's status and date are the forecast's (due, overdue) and the due date,
		// not the day the recommendation was made.
		const recommendation = r.resourceType === 'ImmunizationRecommendation' ? (objects(r.recommendation)[0] ?? {}) : undefined;
		const status = recommendation
			? conceptText(recommendation.forecastStatus)
			: (conceptText(r.clinicalStatus) ?? str(r.status));
		const note = noteTexts(r.note).join('\n');
		const detail = detailOf(r);
		const date = recommendation
			? (objects(recommendation.dateCriterion).map((c) => str(c.value)).find(Boolean) ?? dateOf(r))
			: (dateOf(r) ?? (r.resourceType === 'FamilyMemberHistory' ? dateOf(objects(r.condition)[0] ?? {}) : undefined));
		return {
			title: titleOf(r),
			...(detail !== undefined && { detail }),
			...(status !== undefined && { status }),
			...(date !== undefined && { date }),
			...(note !== '' && { note })
		};
	}

	function allergyOf(r: FhirResource): SummaryAllergy {
		const criticality = str(r.criticality);
		const type = str(r.type);
		const clinicalStatus = conceptText(r.clinicalStatus);
		const onset = str(r.onsetDateTime) ?? str(r.onsetString) ?? str(obj(r.onsetPeriod).start);
		const note = noteTexts(r.note).join('\n');
		const reactions = objects(r.reaction).flatMap((x) => {
			const list = conceptTexts(x.manifestation);
			const description = str(x.description);
			return description !== undefined && !list.includes(description) ? [...list, description] : list;
		});
		return {
			substance: conceptText(r.code) ?? 'AllergyIntolerance',
			...(criticality !== undefined && { criticality }),
			...(type !== undefined && { type }),
			category: Array.isArray(r.category) ? r.category.filter((c): c is string => typeof c === 'string') : [],
			reactions,
			...(clinicalStatus !== undefined && { clinicalStatus }),
			...(onset !== undefined && { onset }),
			...(note !== '' && { note })
		};
	}

	function documentOf(r: FhirResource): SummaryDocument {
		const attachment = obj(objects(r.content)[0]?.attachment);
		const title = str(r.description) ?? str(attachment.title) ?? conceptText(r.type) ?? 'Document';
		const type = conceptText(r.type);
		const date = str(obj(obj(r.context).period).start) ?? str(r.date) ?? str(attachment.creation);
		const author = join(objects(r.author).map((a) => who(a)), ', ');
		const contentType = str(attachment.contentType);
		const data = str(attachment.data);
		const url = str(attachment.url);
		const size = num(attachment.size);
		return {
			title,
			...(type !== undefined && { type }),
			...(date !== undefined && { date }),
			...(author !== undefined && { author }),
			...(contentType !== undefined && { contentType }),
			...(data !== undefined && { data }),
			...(url !== undefined && { url }),
			...(size !== undefined && { size })
		};
	}

	// The Composition and its sections (sub-sections flattened after their parent).
	const composition = index.first('Composition');
	const sections: Json[] = [];
	const flatten = (list: unknown, depth: number) => {
		for (const s of objects(list)) {
			sections.push(s);
			if (depth < 4) flatten(s.section, depth + 1);
		}
	};
	flatten(composition?.section, 0);

	const sectionResources = (s: Json) =>
		objects(s.entry)
			.map(resolve)
			.filter((r): r is FhirResource => r !== undefined);
	const inSections = new Set<FhirResource>(sections.flatMap(sectionResources));
	// Resources another resource points to (a panel's members, a statement's medication).
	const referencedByOthers = new Set<FhirResource>();
	const walk = (value: unknown, depth: number) => {
		if (depth > 12) return;
		if (Array.isArray(value)) for (const v of value) walk(v, depth + 1);
		else if (isObject(value)) {
			if (typeof value.reference === 'string') {
				const target = resolve(value.reference);
				if (target) referencedByOthers.add(target);
			}
			for (const [k, v] of Object.entries(value)) if (k !== 'text') walk(v, depth + 1);
		}
	};
	for (const r of index.resources) if (r.resourceType !== 'Composition') walk(r, 0);
	const loose = (types: readonly string[]) =>
		index.resources.filter((r) => types.includes(r.resourceType) && !inSections.has(r) && !referencedByOthers.has(r));

	const sectionCode = (s: Json) => codeOf(s.code, SYSTEMS.loinc) ?? codeOf(s.code);
	const emptyReasonOf = (s: Json) => conceptText(s.emptyReason) ?? stripXhtml(obj(s.text).div);

	/** One section as the viewer shows it, items in section order. */
	function summarySection(s: Json): SummarySection {
		const code = sectionCode(s);
		const items = sectionResources(s).map(itemOf);
		const emptyReason = items.length === 0 ? emptyReasonOf(s) : undefined;
		return {
			...(code !== undefined && { code }),
			title: str(s.title) ?? conceptText(s.code) ?? (code && DEFAULT_TITLES[code]) ?? '',
			items,
			...(emptyReason !== undefined && { emptyReason })
		};
	}

	/** The sections with `code` merged into one; from loose resources of `types` when there is none. */
	function mainSection(code: string, types: readonly string[]): SummarySection {
		const matching = sections.filter((s) => sectionCode(s) === code);
		if (matching.length === 0) {
			return { code, title: DEFAULT_TITLES[code] ?? '', items: loose(types).map(itemOf) };
		}
		const parts = matching.map(summarySection);
		const items = parts.flatMap((p) => p.items);
		const emptyReason = items.length === 0 ? parts.find((p) => p.emptyReason !== undefined)?.emptyReason : undefined;
		return { code, title: parts[0].title, items, ...(emptyReason !== undefined && { emptyReason }) };
	}

	const MAIN = new Set<string>([
		SECTION_CODES.allergies,
		SECTION_CODES.problems,
		SECTION_CODES.medications,
		SECTION_CODES.immunizations,
		SECTION_CODES.results
	]);

	// Allergies, criticality high first (stable otherwise).
	const allergySections = sections.filter((s) => sectionCode(s) === SECTION_CODES.allergies);
	const allergyResources =
		allergySections.length > 0
			? allergySections.flatMap(sectionResources).filter((r) => r.resourceType === 'AllergyIntolerance')
			: loose(['AllergyIntolerance']);
	const allergies = allergyResources
		.map(allergyOf)
		.map((a, i) => ({ a, i }))
		.sort((x, y) => {
			const cx = CRITICALITY_ORDER[x.a.criticality ?? ''] ?? 2;
			const cy = CRITICALITY_ORDER[y.a.criticality ?? ''] ?? 2;
			return cx - cy || x.i - y.i;
		})
		.map(({ a }) => a);
	const allergiesEmptyReason =
		allergies.length === 0
			? allergySections.map(emptyReasonOf).find((t) => t !== undefined)
			: undefined;

	// Documents: every DocumentReference, in bundle order.
	const documents = index.resources.filter((r) => r.resourceType === 'DocumentReference').map(documentOf);
	const isDocumentSection = (s: Json) => {
		const list = sectionResources(s);
		return list.length > 0 && list.every((r) => r.resourceType === 'DocumentReference');
	};

	const otherSections = sections
		.filter((s) => {
			const code = sectionCode(s);
			return !(code !== undefined && MAIN.has(code)) && !isDocumentSection(s);
		})
		.map(summarySection);

	const patientResource =
		(composition && resolve(composition.subject)?.resourceType === 'Patient' ? resolve(composition.subject) : undefined) ??
		index.first('Patient');

	const title = str(composition?.title) ?? conceptText(composition?.type) ?? 'Patient summary';
	const date = str(composition?.date) ?? str(bundle.timestamp);
	const author = composition ? join(objects(composition.author).map((a) => who(a)), ', ') : undefined;
	const patient = patientResource && patientOf(patientResource);

	return {
		title,
		...(date !== undefined && { date }),
		...(author !== undefined && { author }),
		...(patient !== undefined && { patient }),
		allergies,
		...(allergiesEmptyReason !== undefined && { allergiesEmptyReason }),
		problems: mainSection(SECTION_CODES.problems, ['Condition']),
		medications: mainSection(SECTION_CODES.medications, ['MedicationStatement', 'MedicationRequest']),
		immunizations: mainSection(SECTION_CODES.immunizations, ['Immunization', 'ImmunizationRecommendation']),
		results: mainSection(SECTION_CODES.results, ['Observation']),
		documents,
		otherSections
	};

	function patientOf(p: FhirResource): SummaryPatient {
		const birthDate = str(p.birthDate);
		const gender = str(p.gender);
		const telecom = (list: unknown) =>
			objects(list)
				.map((t) => str(t.value))
				.filter((v): v is string => v !== undefined);
		const bloodGroup = bloodGroupOf();
		return {
			name: firstName(p.name) ?? '',
			...(birthDate !== undefined && { birthDate }),
			...(gender !== undefined && { gender }),
			identifiers: objects(p.identifier).flatMap((i) => {
				const value = str(i.value);
				const system = str(i.system);
				return value === undefined ? [] : [{ ...(system !== undefined && { system }), value }];
			}),
			telecom: telecom(p.telecom),
			contacts: objects(p.contact).map((c) => {
				const relationship = join(objects(c.relationship).map(relationText), ', ');
				return {
					name: humanName(c.name) ?? str(obj(c.organization).display) ?? '',
					...(relationship !== undefined && { relationship }),
					telecom: telecom(c.telecom)
				};
			}),
			...(bloodGroup !== undefined && { bloodGroup })
		};
	}

	/** A contact's relationship: its text, else its codings' displays, else known codes' names. */
	function relationText(concept: Json): string | undefined {
		const text = str(concept.text);
		if (text !== undefined) return text;
		const names = codings(concept)
			.map((c) => str(c.display) ?? CONTACT_ROLE_NAMES[String(c.code)] ?? RELATION_NAMES[String(c.code)] ?? str(c.code))
			.filter((n, i, all): n is string => n !== undefined && all.indexOf(n) === i);
		return join(names, ', ');
	}

	function bloodGroupOf(): string | undefined {
		const observations = index.resources.filter((r) => r.resourceType === 'Observation');
		const valueOf = (loinc: string) => {
			const o = observations.find((r) => hasCode(r.code, loinc, SYSTEMS.loinc));
			return o && (conceptText(o.valueCodeableConcept) ?? str(o.valueString) ?? conceptText(o.dataAbsentReason));
		};
		return valueOf('882-1') ?? join([valueOf('883-9'), valueOf('10331-7')], ' ');
	}
}

