/**
 * FHIR search parameters (params.ts) to a plan for the one query engine:
 * Query keys built with shared/src/query/build.ts, plus the patients the
 * search is tied to, which patient-lookup.ts resolves against the index
 * (a Patient is a Patient ID with its issuer, two keys the engine cannot OR
 * across patients). Parameters are ANDed, the values of one ORed where the
 * engine can (a list of UIDs, codes or patients); where it cannot, 400. Pure.
 */
import { isUid } from "@dicom-edge/shared/query/keys";
import { exactKey, fuzzyNameKey, oneOfKey, rangeKey } from "@dicom-edge/shared/query/build";
import type { Match } from "@dicom-edge/shared/query/model";
import { fuzzyTokens } from "@dicom-edge/shared/query/normalize";
import { dateBounds } from "./date-param";
import { ACCESSION_SYSTEM, DCM_SYSTEM, DICOM_UID_SYSTEM } from "./imaging-study";
import { FhirError } from "./outcome";
import type { ParsedSearch, SearchParam } from "./params";
import { splitToken, unescapeValue } from "./params";
import { dicomSex, issuerOfSystem } from "./patient";
import { parsePatientResourceId } from "./patient-id";

/** A patient by identity: `issuer` undefined is any issuer, null none. */
export interface PatientFilter {
  id: string;
  issuer?: string | null;
}

/** A patient a search names: an identity, or a hashed Patient.id (patient-id.ts) still to be looked up. */
export type PatientRef = { kind: "filter"; filter: PatientFilter } | { kind: "hashed"; prefix: string; resourceId: string };

export interface SearchPlan {
  level: "patient" | "study";
  matches: Match[];
  /** Each group: the result's patient is one of these; every group must hold. */
  patients: PatientRef[][];
  /** A parameter rules out every result (status=cancelled, only foreign systems): no need to ask. */
  none: boolean;
}

const TAG = {
  patientName: "00100010",
  patientId: "00100020",
  issuer: "00100021",
  birthDate: "00100030",
  sex: "00100040",
  studyDate: "00080020",
  accession: "00080050",
  modalities: "00080061",
  studyUid: "0020000D",
} as const;

const GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender";
const STATUS_SYSTEM = "http://hl7.org/fhir/imagingstudy-status";
const STATUS_CODES = new Set(["registered", "available", "cancelled", "entered-in-error", "unknown"]);

/** Patient search: _id, identifier, name, family, given, birthdate, gender. */
export function patientSearchPlan(search: ParsedSearch): SearchPlan {
  // A patient without a Patient ID has no Patient resource (patient.ts): "?*" is any non-empty ID (PS3.4 C.2.2.2.4).
  const plan: SearchPlan = { level: "patient", matches: [{ kind: "wildcard", tag: TAG.patientId, vr: "LO", pattern: "?*" }], patients: [], none: false };
  for (const param of search.params) {
    switch (param.definition.name) {
      case "_id":
        addGroup(plan, param.values.map((v) => patientRefOfId(unescapeValue(v))));
        break;
      case "identifier":
        patientIdentifier(plan, param);
        break;
      case "name":
      case "family":
      case "given":
        plan.matches.push(fuzzyNameKey(TAG.patientName, nameText(param)));
        break;
      case "birthdate":
        plan.matches.push(rangeKey(TAG.birthDate, dateBounds("birthdate", single(param))));
        break;
      case "gender":
        addOneOf(plan, TAG.sex, param.values.map((v) => gender(v)));
        break;
    }
  }
  return plan;
}

/** ImagingStudy search: _id, identifier, patient, subject, started, modality, status. */
export function studySearchPlan(search: ParsedSearch, fhirBase: string): SearchPlan {
  const plan: SearchPlan = { level: "study", matches: [], patients: [], none: false };
  for (const param of search.params) {
    switch (param.definition.name) {
      case "_id":
        addOneOf(plan, TAG.studyUid, param.values.map((v) => unescapeValue(v)).map((v) => (isUid(v) ? v : undefined)));
        break;
      case "identifier":
        studyIdentifier(plan, param);
        break;
      case "patient":
      case "subject":
        addGroup(plan, param.values.map((v) => patientReference(param.definition.name, unescapeValue(v), fhirBase)));
        break;
      case "started":
        plan.matches.push(rangeKey(TAG.studyDate, dateBounds("started", single(param))));
        break;
      case "modality":
        addOneOf(plan, TAG.modalities, param.values.map((v) => {
          const { system, code } = splitToken(v);
          return (system === undefined || system === DCM_SYSTEM) && code !== "" ? code : undefined;
        }));
        break;
      case "status":
        // Everything indexed is stored and retrievable: status available (R4 ImagingStudy.status).
        if (!param.values.map(statusCode).includes("available")) plan.none = true;
        break;
    }
  }
  return plan;
}

/** OR of values; those undefined match nothing, so with none left nothing matches. */
function addOneOf(plan: SearchPlan, tag: string, values: (string | undefined)[]): void {
  const kept = [...new Set(values.filter((v): v is string => v !== undefined))];
  if (kept.length === 0) plan.none = true;
  else plan.matches.push(oneOfKey(tag, kept));
}

function addGroup(plan: SearchPlan, refs: (PatientRef | undefined)[]): void {
  const kept = refs.filter((r): r is PatientRef => r !== undefined);
  if (kept.length === 0) plan.none = true;
  else plan.patients.push(kept);
}

/** A Patient.id of this server; undefined for one it never gives out (so it matches nothing). */
export function patientRefOfId(id: string): PatientRef | undefined {
  const parsed = parsePatientResourceId(id);
  if (!parsed) return undefined;
  if (parsed.kind === "hashed") return { kind: "hashed", prefix: parsed.prefix, resourceId: id };
  return { kind: "filter", filter: { id: parsed.key.id, issuer: parsed.key.issuer ?? null } };
}

/** Patient.identifier: [system]|value, the system an issuer (patient.ts); a system alone when it names one. */
function patientIdentifier(plan: SearchPlan, param: SearchParam): void {
  const tokens = param.values.map(splitToken);
  const systemOnly = tokens.filter((t) => t.system && t.code === "");
  if (systemOnly.length > 0) {
    const issuer = issuerOfSystem(systemOnly[0]!.system!);
    if (tokens.length > 1 || issuer === null) {
      throw new FhirError(400, "not-supported", `identifier: a system without a value is supported alone and for an issuer only, not "${param.values.join(",")}"`);
    }
    if (issuer === undefined) plan.none = true;
    else plan.matches.push(exactKey(TAG.issuer, issuer));
    return;
  }
  addGroup(plan, tokens.map(({ system, code }): PatientRef | undefined => {
    if (code === "") throw new FhirError(400, "invalid", "identifier: an empty value");
    if (system === undefined) return { kind: "filter", filter: { id: code } };
    const issuer = system === "" ? undefined : issuerOfSystem(system);
    // "|value" is an identifier without a system, and every one here has one.
    return issuer === undefined ? undefined : { kind: "filter", filter: { id: code, issuer } };
  }));
}

/** A reference to a Patient: "Patient/{id}", "{id}" or this server's absolute URL of it (R4 search.html#reference). */
function patientReference(name: string, value: string, fhirBase: string): PatientRef | undefined {
  const local = value.startsWith(`${fhirBase}/`) ? value.slice(fhirBase.length + 1) : value;
  if (/^[a-z][a-z0-9+.-]*:/i.test(local)) return undefined; // another server's resource
  const parts = local.split("/");
  if (parts.length === 1) return patientRefOfId(local);
  if (parts.length === 2 && parts[0] === "Patient") return patientRefOfId(parts[1]!);
  // subject may also be a Group, Device or Location (none are served); patient is a Patient only.
  if (name === "subject" && parts.length === 2 && /^[A-Z][A-Za-z]+$/.test(parts[0]!)) return undefined;
  throw new FhirError(400, "invalid", `${name}: "${value}" is not a reference to a Patient (Patient/{id})`);
}

/**
 * ImagingStudy.identifier: the Study Instance UID (urn:dicom:uid|urn:oid:…,
 * or urn:oid:… alone) or the Accession Number. One parameter holds one kind:
 * the engine cannot OR a UID with an accession number.
 */
function studyIdentifier(plan: SearchPlan, param: SearchParam): void {
  const uids: string[] = [];
  const accessions: string[] = [];
  let foreign = 0;
  for (const { system, code } of param.values.map(splitToken)) {
    if (code === "") throw new FhirError(400, system ? "not-supported" : "invalid", `identifier: ${system ? "a system without a value is not supported" : "an empty value"}`);
    const uid = /^urn:oid:(.+)$/.exec(code)?.[1];
    if ((system === DICOM_UID_SYSTEM || system === undefined) && uid !== undefined && isUid(uid)) uids.push(uid);
    else if (system === ACCESSION_SYSTEM || system === undefined) accessions.push(code);
    else foreign++;
  }
  if (uids.length > 0 && accessions.length > 0) {
    throw new FhirError(400, "not-supported", "identifier: one parameter cannot hold both a Study Instance UID and an Accession Number; repeat the parameter to require both");
  }
  if (uids.length > 0) plan.matches.push(oneOfKey(TAG.studyUid, uids));
  else if (accessions.length > 0) plan.matches.push(oneOfKey(TAG.accession, accessions));
  else if (foreign > 0) plan.none = true;
}

/** A string parameter: one value, with at least one letter or digit, no DICOM wild cards. */
function nameText(param: SearchParam): string {
  const value = unescapeValue(single(param));
  if (/[*?]/.test(value) || fuzzyTokens(value).length === 0) {
    throw new FhirError(400, "invalid", `${param.definition.name}: "${value}" must hold letters or digits and no * or ?`);
  }
  return value;
}

function single(param: SearchParam): string {
  if (param.values.length > 1) {
    throw new FhirError(400, "not-supported", `${param.definition.name}: a list of values (OR) is not supported for this parameter; repeat it to AND`);
  }
  return param.values[0]!;
}

function gender(token: string): string | undefined {
  const { system, code } = splitToken(token);
  if (system !== undefined && system !== GENDER_SYSTEM) return undefined;
  if (code === "unknown") throw new FhirError(400, "not-supported", "gender: unknown (no Patient's Sex, or another value) cannot be searched");
  const sex = dicomSex(code);
  if (!sex) throw new FhirError(400, "invalid", `gender: "${code}" is not male, female, other or unknown`);
  return sex;
}

function statusCode(token: string): string | undefined {
  const { system, code } = splitToken(token);
  if (!STATUS_CODES.has(code)) throw new FhirError(400, "invalid", `status: "${code}" is not an ImagingStudy status (${[...STATUS_CODES].join(", ")})`);
  return system === undefined || system === STATUS_SYSTEM ? code : undefined;
}
