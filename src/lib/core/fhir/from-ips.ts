/**
 * FHIR IPS (or any FHIR Bundle) → record values, for import.
 *
 * Reads Carnet's own bundles back exactly (toIpsBundle → fromIpsBundle gives the same field
 * values, see to-ips.ts for where each field goes) and maps what maps from anyone else's:
 * resources are read by type, wherever they sit in the bundle, and each candidate value goes
 * through the record's own `validate`, so whatever this returns can be written as is. What
 * cannot be read (no name, a partial date where a full one is required, a value that fails
 * validation, a resource type the record has no place for) is reported in `skipped`, never
 * thrown: a foreign bundle is untrusted input. Only a value that is not a Bundle throws.
 *
 * Wall-clock times (measurements) are read in `timeZone`; see time.ts.
 */
import { DOCUMENT_TYPES } from '../record/document-types';
import { MEASUREMENT_KINDS, specOf, type ListSectionId, type SectionId, type SectionValue } from '../record/sections';
import { validate } from '../record/validate';
import { fromBase64 } from './bytes';
import {
	BLOOD_GROUP_CODE,
	BLOOD_GROUP_SNOMED,
	BMI_CODE,
	CARNET_CODES,
	RELATION_NAMES,
	DIASTOLIC,
	FROM_UCUM,
	MEASUREMENT_CODES,
	NOTE_EXTENSION_URL,
	SYSTEMS,
	SYSTOLIC,
	VACCINE_DUE_CODE
} from './codes';
import {
	codeOf,
	codings,
	conceptText,
	conceptTexts,
	extensions,
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
	type FhirResource,
	type Json
} from './read';
import { fhirToDay, fhirToLocal } from './time';

/** List sections an import can fill (documents come separately, with their bytes). */
export type ImportableSection = Exclude<ListSectionId, 'documents'>;

/** One imported list entry: its section and a value valid for it. */
export type ImportedEntry = {
	[S in ImportableSection]: { readonly section: S; readonly value: SectionValue<S> };
}[ImportableSection];

/** An imported document, with its bytes when the bundle carried them inline. */
export interface ImportedDocument {
	readonly value: SectionValue<'documents'>;
	readonly file?: { readonly name: string; readonly contentType: string; readonly data: Uint8Array };
}

/** A resource the import left out, and why. */
export interface SkippedResource {
	readonly resourceType: string;
	/** `unsupported`, `negated` (a "no known …" statement), `not_done`, `entered_in_error`, or `invalid: <field> <code>, …`. */
	readonly reason: string;
}

/** What a bundle gives the record. Every value is valid for its section's content schema. */
export interface ImportedRecord {
	readonly identity?: SectionValue<'identity'>;
	readonly directives?: SectionValue<'directives'>;
	readonly entries: readonly ImportedEntry[];
	readonly documents: readonly ImportedDocument[];
	readonly skipped: readonly SkippedResource[];
}

/** Options of `fromIpsBundle`. */
export interface FromIpsOptions {
	/** IANA zone the record's wall-clock times are in; default UTC. */
	readonly timeZone?: string;
	/** "Today" for the record's no-future-date rules; default the current time. */
	readonly now?: Date;
}

/** Resources that only support others (a medication's product, an author): never reported. */
const SUPPORTING = new Set([
	'Composition',
	'Medication',
	'Practitioner',
	'PractitionerRole',
	'Organization',
	'Device',
	'Location',
	'ImmunizationRecommendation'
]);

/** The IPS "absent or unknown" code system: statements of absence, not entries. */
const ABSENT_UNKNOWN = 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips';

const GLUCOSE_CODES = new Set(['2339-0', '15074-8', '2345-7', '14749-6', '41653-7', '14743-9']);

function kindOfCode(code: unknown): string | undefined {
	for (const [key, spec] of Object.entries(MEASUREMENT_CODES)) {
		if (hasCode(code, spec.loinc, SYSTEMS.loinc)) return key.split(':')[0];
	}
	if (codings(code).some((c) => c.system === SYSTEMS.loinc && GLUCOSE_CODES.has(String(c.code)))) return 'glucose';
	if (hasCode(code, '55284-4', SYSTEMS.loinc)) return 'blood-pressure';
	return undefined;
}

/**
 * Reads a FHIR Bundle (an IPS document or any other) into record values. Throws
 * `Error('not_a_bundle')` when `bundle` is not a FHIR Bundle; anything else that does not map
 * lands in `skipped`.
 */
export function fromIpsBundle(bundle: unknown, options: FromIpsOptions = {}): ImportedRecord {
	if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw new Error('not_a_bundle');
	const tz = options.timeZone ?? 'UTC';
	const now = options.now ?? new Date();
	const index = new ResourceIndex(bundle.entry);
	const entries: ImportedEntry[] = [];
	const documents: ImportedDocument[] = [];
	const skipped: SkippedResource[] = [];
	const skip = (resource: FhirResource, reason: string) => skipped.push({ resourceType: resource.resourceType, reason });

	/** Truncates text fields to the field's limit (not phone numbers or addresses). */
	function fit(section: SectionId, candidate: Json): Json {
		const fields = specOf(section).fields;
		const out: Json = {};
		for (const [k, v] of Object.entries(candidate)) {
			if (v === undefined) continue;
			const f = fields[k];
			out[k] =
				typeof v === 'string' && f?.maxLength !== undefined && (f.kind === 'text' || f.kind === 'textarea')
					? [...v].slice(0, f.maxLength).join('')
					: v;
		}
		return out;
	}

	function check<S extends SectionId>(section: S, resource: FhirResource, candidate: Json): SectionValue<S> | undefined {
		const result = validate(section, fit(section, candidate), now);
		if (result.ok) return result.value;
		skip(resource, `invalid: ${result.issues.map((i) => `${i.field} ${i.code}`).join(', ')}`);
		return undefined;
	}

	function push<S extends ImportableSection>(section: S, resource: FhirResource, candidate: Json) {
		const value = check(section, resource, candidate);
		if (value !== undefined) entries.push({ section, value } as ImportedEntry);
	}

	/** A display for whoever a Reference points to. */
	function who(reference: unknown, depth = 0): string | undefined {
		const display = str(obj(reference).display);
		if (display !== undefined) return display;
		const target = index.resolve(reference);
		if (target === undefined || depth > 2) return undefined;
		if (target.resourceType === 'PractitionerRole') {
			return who(target.practitioner, depth + 1) ?? who(target.organization, depth + 1) ?? conceptTexts(target.code)[0];
		}
		return firstName(target.name) ?? str(target.name);
	}

	const day = (value: unknown) => (typeof value === 'string' ? fhirToDay(value, tz) : undefined);
	const notes = (resource: Json) => {
		const texts = [
			...noteTexts(resource.note),
			...extensions(resource, NOTE_EXTENSION_URL).map((e) => str(obj(e.valueAnnotation).text))
		].filter((t) => t !== undefined);
		return texts.length > 0 ? texts.join('\n\n') : undefined;
	};
	const isAbsentStatement = (code: unknown) => codings(code).some((c) => c.system === ABSENT_UNKNOWN);

	// Immunization recommendations, by the immunization they support.
	const nextDue = new Map<FhirResource, string>();
	for (const r of index.resources) {
		if (r.resourceType !== 'ImmunizationRecommendation') continue;
		for (const rec of objects(r.recommendation)) {
			const criteria = objects(rec.dateCriterion);
			const due = criteria.find((c) => hasCode(c.code, VACCINE_DUE_CODE)) ?? criteria[0];
			const date = day(due?.value);
			if (date === undefined) continue;
			for (const ref of objects(rec.supportingImmunization)) {
				const imm = index.resolve(ref);
				if (imm !== undefined && !nextDue.has(imm)) nextDue.set(imm, date);
			}
		}
	}

	// The patient: the Composition's subject, else the first Patient.
	const composition = index.first('Composition');
	const patient =
		(composition && index.resolve(composition.subject)?.resourceType === 'Patient'
			? index.resolve(composition.subject)
			: undefined) ?? index.first('Patient');

	let bloodGroup: string | undefined;
	let directives: Json | undefined;

	for (const r of index.resources) {
		const status = str(r.status);
		if (status === 'entered-in-error') {
			skip(r, 'entered_in_error');
			continue;
		}
		switch (r.resourceType) {
			case 'Patient':
				if (r !== patient) skip(r, 'other_patient');
				break;
			case 'AllergyIntolerance': {
				if (isAbsentStatement(r.code)) {
					skip(r, 'negated');
					break;
				}
				const category = Array.isArray(r.category) ? r.category.find((c) => typeof c === 'string') : undefined;
				const reactions = objects(r.reaction).flatMap((x) => conceptTexts(x.manifestation));
				push('allergies', r, {
					substance: conceptText(r.code),
					type: str(r.type),
					category,
					reaction: reactions.length > 0 ? reactions.join(', ') : undefined,
					criticality: str(r.criticality),
					onsetDate: day(r.onsetDateTime) ?? day(obj(r.onsetPeriod).start),
					note: notes(r)
				});
				break;
			}
			case 'Condition': {
				if (isAbsentStatement(r.code)) {
					skip(r, 'negated');
					break;
				}
				const clinical = codeOf(r.clinicalStatus);
				push('history', r, {
					kind: 'condition',
					name: conceptText(r.code),
					date: day(r.onsetDateTime) ?? day(obj(r.onsetPeriod).start),
					status:
						clinical === undefined
							? undefined
							: ['inactive', 'remission', 'resolved'].includes(clinical)
								? 'resolved'
								: 'active',
					note: notes(r)
				});
				break;
			}
			case 'Procedure': {
				if (status === 'not-done') {
					skip(r, 'not_done');
					break;
				}
				push('history', r, {
					kind: 'surgery',
					name: conceptText(r.code),
					date: day(r.performedDateTime) ?? day(obj(r.performedPeriod).start),
					note: notes(r)
				});
				break;
			}
			case 'FamilyMemberHistory': {
				const rel = obj(r.relationship);
				// The text as written; else a coding's display, else a known code's name ("family
				// member" alone says nothing).
				const coded = codings(rel).find((c) => c.code !== 'FAMMEMB');
				const relative =
					str(rel.text) ?? (coded && (str(coded.display) ?? RELATION_NAMES[String(coded.code)] ?? str(coded.code)));
				const conditions = objects(r.condition);
				if (conditions.length === 0) {
					skip(r, 'invalid: name required');
					break;
				}
				for (const c of conditions) {
					push('history', r, {
						kind: 'family',
						name: conceptText(c.code),
						relative,
						date: day(c.onsetString) ?? day(obj(c.onsetPeriod).start),
						note: [notes(r), ...noteTexts(c.note)].filter(Boolean).join('\n\n') || undefined
					});
				}
				break;
			}
			case 'MedicationStatement':
			case 'MedicationRequest': {
				const medication = r.medicationCodeableConcept ?? index.resolve(r.medicationReference)?.code;
				if (isAbsentStatement(medication)) {
					skip(r, 'negated');
					break;
				}
				const name = conceptText(medication) ?? str(obj(r.medicationReference).display);
				const dosage = objects(r.dosageInstruction ?? r.dosage)[0] ?? {};
				const schedule = str(obj(obj(dosage.timing).code).text);
				const text = str(dosage.text);
				let dose: string | undefined;
				if (text !== undefined && text !== schedule) {
					dose = schedule !== undefined && text.endsWith(`, ${schedule}`) ? text.slice(0, -(schedule.length + 2)) : text;
				} else if (text === undefined) {
					const q = obj(objects(dosage.doseAndRate)[0]?.doseQuantity);
					const value = num(q.value);
					if (value !== undefined) dose = `${value}${str(q.unit) ? ` ${str(q.unit)}` : ''}`;
				}
				const period = obj(r.effectivePeriod ?? obj(r.dispenseRequest).validityPeriod);
				push('treatments', r, {
					name,
					dose,
					schedule,
					startDate: day(period.start) ?? day(r.effectiveDateTime) ?? day(r.authoredOn),
					endDate: day(period.end),
					prescriber: r.resourceType === 'MedicationRequest' ? who(r.requester) : who(r.informationSource),
					note: notes(r)
				});
				break;
			}
			case 'Immunization': {
				if (status === 'not-done') {
					skip(r, 'not_done');
					break;
				}
				push('vaccinations', r, {
					vaccine: conceptText(r.vaccineCode),
					date: day(r.occurrenceDateTime),
					lot: str(r.lotNumber),
					nextDue: nextDue.get(r),
					administeredBy: who(objects(r.performer)[0]?.actor),
					note: notes(r)
				});
				break;
			}
			case 'Observation': {
				if (hasCode(r.code, BLOOD_GROUP_CODE, SYSTEMS.loinc)) {
					bloodGroup = readBloodGroup(r) ?? bloodGroup;
					break;
				}
				if (hasCode(r.code, CARNET_CODES.advanceDirectives, SYSTEMS.carnet)) {
					const location = objects(r.component).find((c) =>
						hasCode(c.code, CARNET_CODES.directivesLocation, SYSTEMS.carnet)
					);
					directives = {
						...directives,
						advanceDirectives: str(r.valueString),
						directivesLocation: str(location?.valueString)
					};
					break;
				}
				if (hasCode(r.code, CARNET_CODES.organDonation, SYSTEMS.carnet)) {
					const yesNo = codeOf(r.valueCodeableConcept, SYSTEMS.v2YesNo);
					directives = {
						...directives,
						organDonation:
							yesNo === 'Y' ? 'yes' : yesNo === 'N' ? 'no' : r.dataAbsentReason !== undefined ? 'unspecified' : undefined,
						organDonationNote: notes(r)
					};
					break;
				}
				readMeasurement(r);
				break;
			}
			case 'Encounter': {
				const participant = objects(r.participant)
					.map((p) => who(p.individual))
					.find((n) => n !== undefined);
				const location = objects(r.location)[0];
				push('visits', r, {
					date: day(obj(r.period).start),
					professional: participant ?? who(r.serviceProvider),
					specialty: conceptText(r.serviceType),
					reason: conceptTexts(r.reasonCode).join(', ') || undefined,
					place: location && who(location.location),
					note: notes(r)
				});
				break;
			}
			case 'DocumentReference':
				readDocument(r);
				break;
			default:
				if (!SUPPORTING.has(r.resourceType)) skip(r, 'unsupported');
		}
	}

	function readBloodGroup(r: FhirResource): string | undefined {
		const snomed = codeOf(r.valueCodeableConcept, SYSTEMS.snomed);
		const byCode = Object.entries(BLOOD_GROUP_SNOMED).find(([, c]) => c.code === snomed)?.[0];
		if (byCode !== undefined) return byCode;
		if (r.dataAbsentReason !== undefined && r.valueCodeableConcept === undefined) return 'unknown';
		const text = conceptText(r.valueCodeableConcept) ?? str(r.valueString);
		const m = text && /\b(AB|A|B|O)\b\s*(?:Rh\s*\(?D?\)?\s*)?(pos|positive|\+|neg|negative|-)/i.exec(text);
		if (!m) return undefined;
		return `${m[1].toUpperCase()}${/^(pos|positive|\+)$/i.test(m[2]) ? '+' : '-'}`;
	}

	function readMeasurement(r: FhirResource) {
		const date = typeof r.effectiveDateTime === 'string'
			? fhirToLocal(r.effectiveDateTime, tz)
			: typeof r.effectiveInstant === 'string'
				? fhirToLocal(r.effectiveInstant, tz)
				: typeof obj(r.effectivePeriod).start === 'string'
					? fhirToLocal(obj(r.effectivePeriod).start as string, tz)
					: undefined;
		const label = str(obj(r.code).text);
		let kind = kindOfCode(r.code);
		const note = notes(r);
		if (kind === 'blood-pressure') {
			const part = (loincCode: string) =>
				obj(objects(r.component).find((c) => hasCode(c.code, loincCode, SYSTEMS.loinc))?.valueQuantity);
			const sys = part(SYSTOLIC.loinc);
			const dia = part(DIASTOLIC.loinc);
			push('measurements', r, {
				kind,
				value: num(sys.value),
				value2: num(dia.value),
				unit: FROM_UCUM[String(sys.code ?? sys.unit)] ?? str(sys.unit),
				label,
				date,
				note
			});
			return;
		}
		const q = obj(r.valueQuantity);
		const value = num(q.value);
		if (value === undefined) {
			skip(r, Array.isArray(r.hasMember) ? 'panel' : 'no_quantity');
			return;
		}
		let unit: string | undefined = FROM_UCUM[String(q.code ?? '')] ?? FROM_UCUM[String(q.unit ?? '')] ?? str(q.unit) ?? str(q.code);
		if (kind !== undefined) {
			const units = MEASUREMENT_KINDS[kind as keyof typeof MEASUREMENT_KINDS].units as Record<string, number>;
			if (unit === undefined || !(unit in units)) kind = undefined;
		}
		if (kind === undefined) {
			kind = 'other';
			unit = str(q.unit) ?? str(q.code);
		}
		push('measurements', r, {
			kind,
			value,
			unit,
			label: kind === 'other' ? (label ?? conceptText(r.code) ?? (hasCode(r.code, BMI_CODE) ? 'BMI' : undefined)) : label,
			date,
			note
		});
	}

	function readDocument(r: FhirResource) {
		const typeCode = codings(r.type).find((c) => c.system === SYSTEMS.loinc)?.code;
		const type = DOCUMENT_TYPES.find((t) => t.loinc.code === typeCode) ?? DOCUMENT_TYPES[DOCUMENT_TYPES.length - 1];
		const attachment = obj(objects(r.content)[0]?.attachment);
		const value = check('documents', r, {
			type: type.id,
			title: str(r.description) ?? str(attachment.title) ?? conceptText(r.type),
			date: day(obj(obj(r.context).period).start) ?? day(r.date) ?? day(attachment.creation),
			author: objects(r.author)
				.map((a) => who(a))
				.find((n) => n !== undefined),
			note: notes(r)
		});
		if (value === undefined) return;
		// An empty file has no `data` (FHIR strings are never empty), only its size, 0.
		const data =
			typeof attachment.data === 'string'
				? fromBase64(attachment.data)
				: attachment.size === 0 && str(attachment.contentType) !== undefined
					? new Uint8Array(0)
					: undefined;
		documents.push(
			data === undefined
				? { value }
				: {
						value,
						file: {
							name: str(attachment.title) ?? value.title,
							contentType: str(attachment.contentType) ?? 'application/octet-stream',
							data
						}
					}
		);
	}

	// The patient's identity and contacts.
	let identity: SectionValue<'identity'> | undefined;
	if (patient !== undefined) {
		const names = objects(patient.name);
		const name = names.find((n) => n.use === 'official' || n.use === 'usual') ?? names[0] ?? {};
		const given = Array.isArray(name.given) ? name.given.map(str).filter(Boolean).join(' ') : undefined;
		const address = objects(patient.address)[0];
		const addressText =
			address &&
			(str(address.text) ??
				([
					...(Array.isArray(address.line) ? address.line.map(str) : []),
					[str(address.postalCode), str(address.city)].filter(Boolean).join(' '),
					str(address.country)
				]
					.filter(Boolean)
					.join('\n') ||
					undefined));
		const phone = objects(patient.telecom).find((t) => t.system === 'phone' || (t.system === undefined && t.value));
		const gender = str(patient.gender);
		const hasIdentity = names.length > 0 && (given || str(name.family));
		if (hasIdentity) {
			identity = check('identity', patient, {
				givenName: given || undefined,
				familyName: str(name.family),
				birthDate: str(patient.birthDate),
				sex: gender,
				bloodGroup,
				phone: str(phone?.value),
				address: addressText
			});
		}
		for (const contact of objects(patient.contact)) {
			let trustedPerson: boolean | undefined;
			let relationship: string | undefined;
			for (const rel of objects(contact.relationship)) {
				if (hasCode(rel, CARNET_CODES.trustedPerson, SYSTEMS.carnet)) {
					trustedPerson = true;
					continue;
				}
				const list = codings(rel);
				const other = list.find((c) => c.system !== SYSTEMS.v2ContactRole);
				if (list.length > 0 && other === undefined) continue;
				const text = other === undefined ? str(rel.text) : (str(other.display) ?? (RELATION_NAMES[String(other.code)] ?? str(other.code)));
				if (relationship === undefined) relationship = text;
			}
			const telecom = objects(contact.telecom);
			const contactPhone = telecom.find((t) => t.system === 'phone' || t.system === 'sms');
			const email = telecom.find((t) => t.system === 'email');
			push('contacts', patient, {
				name: humanName(contact.name) ?? str(obj(contact.organization).display),
				relationship,
				phone: str(contactPhone?.value),
				email: str(email?.value),
				trustedPerson,
				note: notes(contact)
			});
		}
	}

	let directivesValue: SectionValue<'directives'> | undefined;
	if (directives !== undefined) {
		const source = index.resources.find(
			(r) => r.resourceType === 'Observation' && hasCode(r.code, CARNET_CODES.advanceDirectives, SYSTEMS.carnet)
		) ?? ({ resourceType: 'Observation' } as FhirResource);
		directivesValue = check('directives', source, directives);
	}

	return {
		...(identity && { identity }),
		...(directivesValue && { directives: directivesValue }),
		entries,
		documents,
		skipped
	};
}
