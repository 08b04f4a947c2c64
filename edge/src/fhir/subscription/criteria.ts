/**
 * Subscription.criteria (R4: "ImagingStudy?modality=CT&patient=Patient/123"):
 * read by the FHIR search itself (../params.ts, ../search.ts), so a criteria
 * accepts exactly the ImagingStudy search parameters GET /fhir/ImagingStudy
 * does, and means the same. A changed study then matches when its
 * study-level attributes meet the plan's keys (`matches()` of the one query
 * engine) and its patient is one each patient parameter names.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { buildQuery } from "@dicom-edge/shared/query/build";
import { matches } from "@dicom-edge/shared/query/match";
import { queryError, type Query, type QueryError } from "@dicom-edge/shared/query/model";
import { FhirError } from "../outcome";
import { parseSearch } from "../params";
import { patientKeyOf } from "../patient";
import { patientResourceId } from "../patient-id";
import { satisfies } from "../patient-lookup";
import { studySearchPlan, type PatientRef } from "../search";

/** Search result parameters: about pages and formats, nothing a change could match. */
const RESULT_PARAMETERS = new Set(["_count", "_offset", "_include", "_format"]);

export interface Criteria {
  /** Study-level keys. */
  query: Query;
  /** Each group: the study's patient is one of these; every group must hold. */
  patients: PatientRef[][];
  /** A parameter that no study meets (status=cancelled): the Subscription never fires. */
  none: boolean;
}

/**
 * Parses a criteria. `fhirBase` is this server's FHIR base as the
 * Subscription was created at, so an absolute reference to one of its
 * Patients is one.
 */
export function parseCriteria(criteria: string, fhirBase: string): Criteria | QueryError {
  const mark = criteria.indexOf("?");
  const type = mark >= 0 ? criteria.slice(0, mark) : criteria;
  if (type !== "ImagingStudy") return queryError(`criteria must be "ImagingStudy" or "ImagingStudy?<search parameters>", not "${criteria}"`);
  const params = new URLSearchParams(mark >= 0 ? criteria.slice(mark + 1) : "");
  for (const name of params.keys()) {
    if (RESULT_PARAMETERS.has(name)) return queryError(`criteria: ${name} is a search result parameter, not a criterion`);
  }
  try {
    const plan = studySearchPlan(parseSearch("ImagingStudy", params, false), fhirBase);
    return { query: buildQuery("study", plan.matches), patients: plan.patients, none: plan.none };
  } catch (error) {
    if (error instanceof FhirError) return queryError(`criteria: ${error.message}`);
    throw error;
  }
}

/** Whether a study (its study-level dataset, as the study search returns it) meets a criteria. */
export function meetsCriteria(criteria: Criteria, study: DicomJson): boolean {
  if (criteria.none || !matches(criteria.query, study)) return false;
  const key = patientKeyOf(study);
  return criteria.patients.every((group) => key !== undefined && group.some((ref) => (ref.kind === "hashed" ? patientResourceId(key) === ref.resourceId : satisfies(ref.filter, study))));
}
