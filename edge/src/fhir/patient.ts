/**
 * Patient from the index's patient attributes (PS3.17 / FHIR's DICOM
 * mapping: Patient ID, Issuer, Patient's Name, Birth Date, Sex). Pure.
 */
import { stringValue, type DicomJson, type PersonName } from "@dicom-edge/shared/dicom/json";
import { fhirDate } from "./dicom-time";
import { patientResourceId, type PatientKey } from "./patient-id";
import type { HumanName, Identifier, Patient } from "./r4";

/** Identifier.system of a Patient ID that has no Issuer of Patient ID (0010,0021). */
export const PATIENT_ID_SYSTEM = "urn:dicom-edge:patient-id";
/** Identifier.system of an issuer that is not itself a URI: this prefix and the issuer, percent-encoded. */
export const ISSUER_SYSTEM_PREFIX = "urn:dicom-edge:issuer:";

const TAG = { name: "00100010", id: "00100020", issuer: "00100021", birthDate: "00100030", sex: "00100040" } as const;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/** The patient a dataset belongs to; undefined without a Patient ID (then there is no Patient resource). */
export function patientKeyOf(dataset: DicomJson): PatientKey | undefined {
  const id = stringValue(dataset, TAG.id)?.trim();
  if (!id) return undefined;
  const issuer = stringValue(dataset, TAG.issuer)?.trim();
  return issuer ? { id, issuer } : { id };
}

/**
 * Identifier.system for an issuer: the issuer itself when it is a URI (an
 * "urn:oid:..." or "https://..."), else ISSUER_SYSTEM_PREFIX + the issuer;
 * PATIENT_ID_SYSTEM without one. issuerOfSystem() reverses it.
 */
export function identifierSystem(issuer: string | undefined): string {
  if (issuer === undefined) return PATIENT_ID_SYSTEM;
  if (URI.test(issuer) && !issuer.startsWith(ISSUER_SYSTEM_PREFIX) && issuer !== PATIENT_ID_SYSTEM) return issuer;
  return ISSUER_SYSTEM_PREFIX + encodeURIComponent(issuer);
}

/** The issuer an Identifier.system stands for: null for "no issuer", undefined when it is none of ours. */
export function issuerOfSystem(system: string): string | null | undefined {
  if (system === PATIENT_ID_SYSTEM) return null;
  if (system.startsWith(ISSUER_SYSTEM_PREFIX)) {
    try {
      const issuer = decodeURIComponent(system.slice(ISSUER_SYSTEM_PREFIX.length));
      return issuer === "" ? undefined : issuer;
    } catch {
      return undefined;
    }
  }
  return URI.test(system) ? system : undefined;
}

/** The Patient of a dataset with the patient attributes; undefined without a Patient ID. */
export function patientResource(dataset: DicomJson): Patient | undefined {
  const key = patientKeyOf(dataset);
  if (!key) return undefined;
  const identifier: Identifier = { use: "usual", system: identifierSystem(key.issuer), value: key.id };
  const names = humanNames(dataset[TAG.name]?.Value?.[0]);
  const birthDate = fhirDate(stringValue(dataset, TAG.birthDate));
  return {
    resourceType: "Patient",
    id: patientResourceId(key),
    identifier: [identifier],
    ...(names.length > 0 && { name: names }),
    gender: fhirGender(stringValue(dataset, TAG.sex)),
    ...(birthDate && { birthDate }),
  };
}

/** PatientSex (0010,0040) M/F/O to AdministrativeGender; anything else, or nothing, is unknown. */
export function fhirGender(sex: string | undefined): Patient["gender"] {
  switch (sex?.trim().toUpperCase()) {
    case "M":
      return "male";
    case "F":
      return "female";
    case "O":
      return "other";
    default:
      return "unknown";
  }
}

/** AdministrativeGender to the PatientSex it is stored as; undefined for unknown (no value to match). */
export function dicomSex(gender: string): "M" | "F" | "O" | undefined {
  return gender === "male" ? "M" : gender === "female" ? "F" : gender === "other" ? "O" : undefined;
}

/**
 * A Person Name (PS3.5 6.2.1) as HumanNames: one per component group
 * (Alphabetic, Ideographic, Phonetic; FHIR has no way to say which is
 * which), components family^given^middle^prefix^suffix, given and middle
 * names split at spaces.
 */
export function humanNames(value: unknown): HumanName[] {
  const pn: PersonName = typeof value === "string" ? { Alphabetic: value } : ((value ?? {}) as PersonName);
  const names: HumanName[] = [];
  for (const group of [pn.Alphabetic, pn.Ideographic, pn.Phonetic]) {
    if (!group) continue;
    const [family, given, middle, prefix, suffix] = group.split("^").map((c) => c.trim());
    const givens = [given, middle].flatMap((c) => (c ? c.split(/\s+/) : []));
    const name: HumanName = {
      ...(family && { family }),
      ...(givens.length > 0 && { given: givens }),
      ...(prefix && { prefix: prefix.split(/\s+/) }),
      ...(suffix && { suffix: suffix.split(/\s+/) }),
    };
    if (Object.keys(name).length > 0) names.push(name);
  }
  return names;
}
