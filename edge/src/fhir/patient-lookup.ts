/**
 * The patients a search or a read names, found in the index through the
 * one query engine. A patient is its Patient ID and Issuer: the engine
 * matches keys, so "this ID without an issuer" or "A from X or B from Y"
 * cannot be one key. The Patient IDs are looked up first; when no other
 * patient shares them, matching the IDs is exact, else the results are
 * checked against the identities as well (`keep`).
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { buildQuery, oneOfKey } from "@dicom-edge/shared/query/build";
import { isQueryError, type Match } from "@dicom-edge/shared/query/model";
import type { Backend } from "../backends/backend";
import { FhirError } from "./outcome";
import { patientKeyOf } from "./patient";
import { patientResourceId, type PatientKey } from "./patient-id";
import type { PatientFilter, PatientRef } from "./search";

/** Patients one lookup may find (the identities of a few Patient IDs, or of a hashed id's prefix). */
const LOOKUP_LIMIT = 100;
const PATIENT_ID = "00100020";

export interface ResolvedPatients {
  /** The patients found, as the index has them. */
  patients: DicomJson[];
  /** Keys that select their studies (or them). */
  matches: Match[];
  /** When the keys select more than these patients: true for a result of one of them. */
  keep?: (dataset: DicomJson) => boolean;
}

/** Resolves AND-groups of ORed patients; undefined when no patient satisfies them. */
export async function resolvePatients(backend: Backend, groups: PatientRef[][]): Promise<ResolvedPatients | undefined> {
  const filters: PatientFilter[][] = [];
  for (const group of groups) {
    const resolved: PatientFilter[] = [];
    for (const ref of group) {
      if (ref.kind === "filter") resolved.push(ref.filter);
      else resolved.push(...(await hashed(backend, ref)));
    }
    if (resolved.length === 0) return undefined;
    filters.push(resolved);
  }
  // Patient IDs every group allows.
  let ids: Set<string> | undefined;
  for (const group of filters) {
    const groupIds = new Set(group.map((f) => f.id));
    ids = ids ? new Set([...ids].filter((id) => groupIds.has(id))) : groupIds;
  }
  if (!ids || ids.size === 0) return undefined;
  const candidates = await patientsWith(backend, [oneOfKey(PATIENT_ID, [...ids])]);
  const patients = candidates.filter((p) => filters.every((group) => group.some((f) => satisfies(f, p))));
  if (patients.length === 0) return undefined;
  const targets = new Set(patients.map((p) => identity(patientKeyOf(p)!)));
  return {
    patients,
    matches: [oneOfKey(PATIENT_ID, [...new Set(patients.map((p) => patientKeyOf(p)!.id))])],
    ...(patients.length < candidates.length && {
      keep: (dataset: DicomJson) => {
        const key = patientKeyOf(dataset);
        return key !== undefined && targets.has(identity(key));
      },
    }),
  };
}

/** The patient of a Patient.id, or undefined. */
export async function findPatient(backend: Backend, ref: PatientRef): Promise<DicomJson | undefined> {
  return (await resolvePatients(backend, [[ref]]))?.patients[0];
}

/** A hashed id: the patients whose Patient ID starts with its prefix, those whose id it is. */
async function hashed(backend: Backend, ref: Extract<PatientRef, { kind: "hashed" }>): Promise<PatientFilter[]> {
  // The prefix is literal: its own wild card characters become "?", which matches them too.
  const pattern = `${ref.prefix.replace(/[*?]/g, "?")}*`;
  const match: Match = { kind: "wildcard", tag: PATIENT_ID, vr: "LO", pattern };
  const found = await patientsWith(backend, [match]);
  return found
    .map((p) => patientKeyOf(p)!)
    .filter((key) => patientResourceId(key) === ref.resourceId)
    .map((key) => ({ id: key.id, issuer: key.issuer ?? null }));
}

async function patientsWith(backend: Backend, matches: Match[]): Promise<DicomJson[]> {
  const result = await backend.search(buildQuery("patient", matches, { limit: LOOKUP_LIMIT }));
  if (isQueryError(result)) throw new FhirError(400, "invalid", result.reason);
  if (result.truncated) throw new FhirError(400, "too-costly", `more than ${LOOKUP_LIMIT} patients share these Patient IDs; add an issuer`);
  return result.matches.map((m) => m.dataset).filter((d) => patientKeyOf(d) !== undefined);
}

/** Whether a dataset's Patient ID and issuer are the filter's (an absent issuer in the filter matches any). */
export function satisfies(filter: PatientFilter, dataset: DicomJson): boolean {
  const key = patientKeyOf(dataset);
  if (!key || key.id !== filter.id) return false;
  if (filter.issuer === undefined) return true;
  return (key.issuer ?? null) === filter.issuer;
}

function identity(key: PatientKey): string {
  return `${key.id}\u0000${key.issuer ?? ""}`;
}
