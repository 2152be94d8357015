/**
 * Every code system, code and extension URL the FHIR mapping writes or recognises, in one
 * place so the writer (to-ips.ts), the importer (from-ips.ts) and the viewer's summary agree.
 * This file imports nothing: the viewer bundles it.
 */

/** FHIR code system URLs. */
export const SYSTEMS = {
	loinc: 'http://loinc.org',
	snomed: 'http://snomed.info/sct',
	ucum: 'http://unitsofmeasure.org',
	listEmptyReason: 'http://terminology.hl7.org/CodeSystem/list-empty-reason',
	observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
	allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
	conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
	conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
	v2ContactRole: 'http://terminology.hl7.org/CodeSystem/v2-0131',
	v3RoleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
	v3ActCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
	v2YesNo: 'http://terminology.hl7.org/CodeSystem/v2-0136',
	dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
	/** IPS "absent and unknown data" (no-known-allergies, no-medication-info, …), often sent without a display. */
	ipsAbsentUnknown: 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips',
	immunizationRecommendationStatus:
		'http://terminology.hl7.org/CodeSystem/immunization-recommendation-status',
	/** DMP document classes (TRE_A03-ClasseDocument); same value as the record's DMP_CLASS_SYSTEM. */
	dmpClass: 'https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument',
	/**
	 * Carnet's own codes, for what no public code system names (the "personne de confiance",
	 * the place the directives are kept, the organ-donation wish). `.invalid` is reserved
	 * (RFC 2606): the URL never resolves and can never clash with a real system.
	 */
	carnet: 'https://carnet.invalid/fhir/CodeSystem/record'
} as const;

/** The data-absent-reason extension (IPS uses it for required elements it cannot fill). */
export const DATA_ABSENT_REASON_URL = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

/**
 * The core "note" extension (valueAnnotation), for the record's notes on elements R4 gives no
 * `note` (Patient.contact, Encounter, DocumentReference).
 */
export const NOTE_EXTENSION_URL = 'http://hl7.org/fhir/StructureDefinition/note';

/** LOINC of the IPS document (Composition.type). */
export const IPS_DOCUMENT_CODE = '60591-5';

/** LOINC codes of the Composition sections Carnet writes or the viewer singles out. */
export const SECTION_CODES = {
	problems: '11450-4',
	allergies: '48765-2',
	medications: '10160-0',
	immunizations: '11369-6',
	results: '30954-2',
	procedures: '47519-4',
	devices: '46264-8',
	pastIllness: '11348-0',
	familyHistory: '10157-6',
	vitalSigns: '8716-3',
	advanceDirectives: '42348-3',
	encounters: '46240-8',
	alerts: '104605-1',
	/** No IPS section holds documents; LOINC "Patient data Document" names ours. */
	documents: '55188-7'
} as const;

/** The three sections an IPS always has. */
export const REQUIRED_SECTIONS = [SECTION_CODES.problems, SECTION_CODES.allergies, SECTION_CODES.medications];

/** LOINC display of each section code, as LOINC words it. */
export const SECTION_DISPLAYS: Readonly<Record<string, string>> = {
	[SECTION_CODES.problems]: 'Problem list - Reported',
	[SECTION_CODES.allergies]: 'Allergies and adverse reactions Document',
	[SECTION_CODES.medications]: 'History of Medication use Narrative',
	[SECTION_CODES.immunizations]: 'History of Immunization Narrative',
	[SECTION_CODES.results]: 'Relevant diagnostic tests/laboratory data Narrative',
	[SECTION_CODES.procedures]: 'History of Procedures Document',
	[SECTION_CODES.pastIllness]: 'History of Past illness Narrative',
	[SECTION_CODES.familyHistory]: 'History of family member diseases Narrative',
	[SECTION_CODES.vitalSigns]: 'Vital signs',
	[SECTION_CODES.advanceDirectives]: 'Advance directives',
	[SECTION_CODES.encounters]: 'History of Hospitalizations+Outpatient visits Narrative',
	[SECTION_CODES.documents]: 'Patient data Document'
};

/** LOINC of the ABO/Rh group Observation; 883-9 (ABO) and 10331-7 (Rh) are read too. */
export const BLOOD_GROUP_CODE = '882-1';
/** Every LOINC that says something of the blood group: ABO/Rh, ABO alone, Rh alone. */
export const BLOOD_GROUP_CODES = ['882-1', '883-9', '10331-7'] as const;

/** SNOMED CT "Blood group X Rh(D) positive/negative" findings for the record's values. */
export const BLOOD_GROUP_SNOMED: Readonly<Record<string, { code: string; display: string }>> = {
	'A+': { code: '278149003', display: 'Blood group A Rh(D) positive' },
	'A-': { code: '278152006', display: 'Blood group A Rh(D) negative' },
	'B+': { code: '278150003', display: 'Blood group B Rh(D) positive' },
	'B-': { code: '278153001', display: 'Blood group B Rh(D) negative' },
	'AB+': { code: '278151004', display: 'Blood group AB Rh(D) positive' },
	'AB-': { code: '278154007', display: 'Blood group AB Rh(D) negative' },
	'O+': { code: '278147001', display: 'Blood group O Rh(D) positive' },
	'O-': { code: '278148006', display: 'Blood group O Rh(D) negative' }
};

/** One measurement kind as FHIR codes it. */
export interface MeasurementCode {
	readonly loinc: string;
	readonly display: string;
	/** vital-signs or laboratory (Observation.category). */
	readonly category: 'vital-signs' | 'laboratory';
}

/**
 * LOINC per measurement kind (and unit where the unit changes the code: glucose in g/L is a
 * mass concentration, in mmol/L a substance concentration). "other" has no code: its label is
 * the Observation's code text.
 */
export const MEASUREMENT_CODES: Readonly<Record<string, MeasurementCode>> = {
	weight: { loinc: '29463-7', display: 'Body weight', category: 'vital-signs' },
	height: { loinc: '8302-2', display: 'Body height', category: 'vital-signs' },
	'blood-pressure': {
		loinc: '85354-9',
		display: 'Blood pressure panel with all children optional',
		category: 'vital-signs'
	},
	'heart-rate': { loinc: '8867-4', display: 'Heart rate', category: 'vital-signs' },
	temperature: { loinc: '8310-5', display: 'Body temperature', category: 'vital-signs' },
	'glucose:g/L': { loinc: '2339-0', display: 'Glucose [Mass/volume] in Blood', category: 'laboratory' },
	'glucose:mmol/L': { loinc: '15074-8', display: 'Glucose [Moles/volume] in Blood', category: 'laboratory' }
};

/** LOINC of the blood pressure's first component (the record's `value`). */
export const SYSTOLIC = { loinc: '8480-6', display: 'Systolic blood pressure' } as const;
/** LOINC of the blood pressure's second component (the record's `value2`). */
export const DIASTOLIC = { loinc: '8462-4', display: 'Diastolic blood pressure' } as const;

/** LOINC of body mass index (recognised on import; the record has no BMI kind). */
export const BMI_CODE = '39156-5';

/** The record's unit symbols → UCUM codes. */
export const UCUM: Readonly<Record<string, string>> = {
	kg: 'kg',
	cm: 'cm',
	mmHg: 'mm[Hg]',
	'g/L': 'g/L',
	'mmol/L': 'mmol/L',
	'/min': '/min',
	'°C': 'Cel'
};

/** UCUM codes (and common spellings) → the record's unit symbols. */
export const FROM_UCUM: Readonly<Record<string, string>> = {
	kg: 'kg',
	cm: 'cm',
	'mm[Hg]': 'mmHg',
	mmHg: 'mmHg',
	'g/L': 'g/L',
	'mmol/L': 'mmol/L',
	'/min': '/min',
	'{beats}/min': '/min',
	'beats/min': '/min',
	bpm: '/min',
	Cel: '°C',
	'°C': '°C'
};

/** Carnet codes (system `SYSTEMS.carnet`). */
export const CARNET_CODES = {
	trustedPerson: 'trusted-person',
	advanceDirectives: 'advance-directives',
	directivesLocation: 'directives-location',
	organDonation: 'organ-donation'
} as const;

/** LOINC "Date vaccine due" (ImmunizationRecommendation dateCriterion). */
export const VACCINE_DUE_CODE = '30980-7';

/** Displays of HL7 v2 table 0131 contact roles, for contacts coded without display. */
export const CONTACT_ROLE_NAMES: Readonly<Record<string, string>> = {
	C: 'Emergency Contact',
	E: 'Employer',
	F: 'Federal Agency',
	I: 'Insurance Company',
	N: 'Next-of-Kin',
	S: 'State Agency',
	O: 'Other',
	U: 'Unknown',
	BP: 'Billing contact person',
	CP: 'Contact person',
	EP: 'Emergency contact person',
	PR: 'Person preparing referral'
};

/** Common v3 RoleCode personal relationships, for contacts and relatives coded without display. */
export const RELATION_NAMES: Readonly<Record<string, string>> = {
	MTH: 'mother',
	FTH: 'father',
	PRN: 'parent',
	SPS: 'spouse',
	HUSB: 'husband',
	WIFE: 'wife',
	DOMPART: 'domestic partner',
	CHILD: 'child',
	SON: 'son',
	DAU: 'daughter',
	SIB: 'sibling',
	BRO: 'brother',
	SIS: 'sister',
	GRPRN: 'grandparent',
	GRMTH: 'grandmother',
	GRFTH: 'grandfather',
	FRND: 'friend',
	NBOR: 'neighbor',
	FAMMEMB: 'family member'
};
