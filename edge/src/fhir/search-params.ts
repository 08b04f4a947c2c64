/**
 * The search parameters each resource type supports: the one list both the
 * parser (params.ts) and the CapabilityStatement (metadata.ts) read, so the
 * statement says exactly what a search accepts.
 */

export type SearchParamType = "token" | "string" | "date" | "reference";

export interface SearchParamDefinition {
  name: string;
  type: SearchParamType;
  /** The R4 SearchParameter it implements. */
  definition: string;
  documentation: string;
}

export type SearchableType = "Patient" | "ImagingStudy";

const SP = "http://hl7.org/fhir/SearchParameter/";

const ID: SearchParamDefinition = { name: "_id", type: "token", definition: `${SP}Resource-id`, documentation: "Logical id; a comma-separated list is any of them." };

const STRING_DOC = "Starts a part of the name, ignoring case and accents, in any component group (the index's fuzzy person-name matching, which does not keep which component a part came from).";

export const SEARCH_PARAMS: Readonly<Record<SearchableType, readonly SearchParamDefinition[]>> = {
  Patient: [
    ID,
    { name: "identifier", type: "token", definition: `${SP}Patient-identifier`, documentation: "Patient ID (0010,0020) as value, its Issuer (0010,0021) as system, urn:dicom-edge:patient-id when it has none. [system]|value; a system alone only with an issuer." },
    { name: "name", type: "string", definition: `${SP}Patient-name`, documentation: STRING_DOC },
    { name: "family", type: "string", definition: `${SP}individual-family`, documentation: STRING_DOC },
    { name: "given", type: "string", definition: `${SP}individual-given`, documentation: STRING_DOC },
    { name: "birthdate", type: "date", definition: `${SP}individual-birthdate`, documentation: "Prefixes eq, gt, ge, lt, le, sa, eb on YYYY, YYYY-MM or YYYY-MM-DD." },
    { name: "gender", type: "token", definition: `${SP}individual-gender`, documentation: "male, female or other (Patient's Sex M, F, O); unknown cannot be searched." },
  ],
  ImagingStudy: [
    ID,
    { name: "identifier", type: "token", definition: `${SP}clinical-identifier`, documentation: "urn:dicom:uid|urn:oid:<Study Instance UID>, or urn:dicom-edge:accession-number|<Accession Number>; without a system either value." },
    { name: "patient", type: "reference", definition: `${SP}clinical-patient`, documentation: "Patient/<id>, <id> or this server's absolute Patient URL." },
    { name: "subject", type: "reference", definition: `${SP}ImagingStudy-subject`, documentation: "As patient: every subject is a Patient." },
    { name: "started", type: "date", definition: `${SP}ImagingStudy-started`, documentation: "Study Date (0008,0020) to the day: prefixes eq, gt, ge, lt, le, sa, eb on YYYY, YYYY-MM or YYYY-MM-DD; times are refused." },
    { name: "modality", type: "token", definition: `${SP}ImagingStudy-modality`, documentation: "A modality of the study (ModalitiesInStudy), [http://dicom.nema.org/resources/ontology/DCM|]code." },
    { name: "status", type: "token", definition: `${SP}ImagingStudy-status`, documentation: "Every stored study is available; the other codes find nothing." },
  ],
};

/** _include values per type (R4 search.html#include). */
export const SEARCH_INCLUDES: Readonly<Record<SearchableType, readonly string[]>> = {
  Patient: [],
  ImagingStudy: ["ImagingStudy:patient", "ImagingStudy:subject"],
};

/** Page size without _count, and the most one page holds. */
export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 100;
