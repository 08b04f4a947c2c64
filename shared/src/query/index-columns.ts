/**
 * Values of the query columns that edge/migrations/0002_query.sql adds, for
 * the archive to write with the rest of a row when it indexes an instance.
 */
import { fuzzyName, normalizeTime } from "./normalize.ts";

export interface IndexColumnSource {
  /** PatientName (0010,0010) as "Alphabetic=Ideographic=Phonetic" (personNameString), all groups searchable. */
  patientName: string | null;
  /** ReferringPhysicianName (0008,0090), same form. */
  referringPhysician: string | null;
  /** StudyTime (0008,0030). */
  studyTime: string | null;
  /** PerformedProcedureStepStartTime (0040,0245). */
  performedStartTime: string | null;
}

/**
 * Column name to value: `patients.patient_name_fuzzy`,
 * `studies.referring_physician_fuzzy`, `studies.study_time_norm`,
 * `series.performed_start_time_norm`. Null when the source is absent or
 * does not parse, so range and fuzzy matching never select the row.
 */
export function indexColumns(record: IndexColumnSource): Record<string, string | null> {
  return {
    patient_name_fuzzy: orNull(record.patientName, fuzzyName),
    referring_physician_fuzzy: orNull(record.referringPhysician, fuzzyName),
    study_time_norm: orNull(record.studyTime, (t) => normalizeTime(t)),
    performed_start_time_norm: orNull(record.performedStartTime, (t) => normalizeTime(t)),
  };
}

function orNull(value: string | null, normalize: (s: string) => string): string | null {
  if (value === null) return null;
  const normalized = normalize(value);
  return normalized === "" ? null : normalized;
}
