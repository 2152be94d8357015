/**
 * Document types, following the DMP's metadata so an export to the DMP or to FHIR is exact.
 *
 * The DMP files every document under a class (classCode, value set JDV_J57-ClassCode-DMP drawn
 * from TRE_A03-ClasseDocument) and a type (typeCode, value set JDV_J66-TypeCode-DMP, mostly
 * LOINC; JDV_J07-XdsTypeCode-CISIS is the CI-SIS superset). Codes and displays below are those
 * of the ANS value sets (ansforge/IG-terminologie-de-sante, package ans.fr.terminologies 1.12.0),
 * i.e. the French labels the DMP itself shows. The pairing of a type with a class is ours: the
 * DMP has no separate "results" class, a laboratory report is a "Compte rendu" (class 10).
 *
 * The ids are stable: they are stored in entries and are the i18n option keys
 * `option.documents.type.<id>`. Add types at the end; never rename or reuse an id.
 */

/** FHIR system of the DMP document classes (TRE_A03-ClasseDocument, OID 1.2.250.1.213.1.1.4.1). */
export const DMP_CLASS_SYSTEM =
	'https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument';

/** FHIR system of LOINC, which codes the document types. */
export const LOINC_SYSTEM = 'http://loinc.org';

/** A code with the display the code system's publisher gives it. */
export interface Coding {
	readonly code: string;
	readonly display: string;
}

/** One kind of document the patient can file. */
export interface DocumentType {
	readonly id: string;
	/** DMP classCode (TRE_A03-ClasseDocument). */
	readonly dmpClass: Coding;
	/** DMP typeCode as LOINC; the display is the ANS one where the DMP lists the code. */
	readonly loinc: Coding;
}

const COMPTE_RENDU = { code: '10', display: 'Compte rendu' };
const SYNTHESE = { code: '11', display: 'Synthèse' };
const IMAGERIE = { code: '31', display: 'Imagerie médicale' };
const PRESCRIPTION = { code: '42', display: 'Prescription' };
const CERTIFICAT = { code: '52', display: 'Certificat, déclaration' };
const DOCUMENT_PATIENT = { code: '90', display: 'Autres documents déposés par le patient' };

/** The document types, in the order a picker shows them. */
export const DOCUMENT_TYPES = [
	{
		id: 'consultation-report',
		dmpClass: COMPTE_RENDU,
		loinc: { code: '11488-4', display: 'CR ou fiche de consultation ou de visite' }
	},
	{
		id: 'lab-report',
		dmpClass: COMPTE_RENDU,
		loinc: { code: '11502-2', display: "CR d'examens biologiques" }
	},
	{
		id: 'imaging-report',
		dmpClass: COMPTE_RENDU,
		loinc: { code: '18748-4', display: "CR d'imagerie médicale" }
	},
	{
		id: 'operative-report',
		dmpClass: COMPTE_RENDU,
		loinc: { code: '34874-8', display: 'CR opératoire' }
	},
	{
		id: 'discharge-letter',
		dmpClass: COMPTE_RENDU,
		loinc: { code: '11490-0', display: "Lettre de liaison à la sortie d'un établissement de soins" }
	},
	{
		// Photos or scans of images (an X-ray film, a skin lesion) rather than a radiologist's report.
		id: 'medical-image',
		dmpClass: IMAGERIE,
		loinc: { code: '52040-3', display: "Document encapsulant une image d'illustration non DICOM" }
	},
	{
		id: 'prescription',
		dmpClass: PRESCRIPTION,
		loinc: { code: '57833-6', display: 'Prescription de produits de santé' }
	},
	{
		id: 'summary',
		dmpClass: SYNTHESE,
		loinc: { code: '60591-5', display: 'Synthèse médicale' }
	},
	{
		id: 'certificate',
		dmpClass: CERTIFICAT,
		loinc: { code: '89601-9', display: 'Certificat médical' }
	},
	{
		// The DMP types a patient's own document with its TRE_A05 codes (DOCPAT01..09), which are
		// not LOINC; LOINC's "Patient Note" is the closest code for the FHIR side.
		id: 'patient-document',
		dmpClass: DOCUMENT_PATIENT,
		loinc: { code: '51855-5', display: 'Patient Note' }
	}
] as const satisfies readonly DocumentType[];

/** Id of a document type, as stored in a document entry's `type`. */
export type DocumentTypeId = (typeof DOCUMENT_TYPES)[number]['id'];

/** The ids alone, in picker order: the options of the documents `type` field. */
export const DOCUMENT_TYPE_IDS: readonly DocumentTypeId[] = DOCUMENT_TYPES.map((t) => t.id);
