import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { isQueryError, type Query, type QueryError } from "@dicom-edge/shared/query/model";
import { compileQueryParts, selectStatement } from "@dicom-edge/shared/query/sql";
import type { SearchMatch, SearchResult } from "../../backends/backend";

/** Columns a result is built from, per level (aliases of shared/src/query/sql.ts). */
const SELECT = {
  // PS3.4 C.6.1.1.2: Number of Patient Related Studies/Series/Instances, from the study counters.
  patient: `p.patient_id AS patientId, p.attributes AS patient,
            (SELECT count(*) FROM studies ps WHERE ps.patient_pk = p.id) AS patientStudies,
            (SELECT coalesce(sum(ps.series_count), 0) FROM studies ps WHERE ps.patient_pk = p.id) AS patientSeries,
            (SELECT coalesce(sum(ps.instance_count), 0) FROM studies ps WHERE ps.patient_pk = p.id) AS patientInstances`,
  study: `st.study_uid AS study, p.attributes AS patient, st.attributes AS studyAttrs, st.modalities AS modalities,
          st.series_count AS seriesCount, st.instance_count AS studyInstances`,
  series: `se.series_uid AS series, se.attributes AS seriesAttrs, se.instance_count AS seriesInstances`,
  instance: `i.sop_uid AS sop, i.sop_class_uid AS sopClass, i.instance_number AS instanceNumber, i.rows AS rows,
             i.columns AS columns, i.number_of_frames AS frames`,
} as const;

interface PatientRow {
  patientId: string;
  patient: string;
  patientStudies: number;
  patientSeries: number;
  patientInstances: number;
}

interface Row {
  study: string;
  patient: string;
  studyAttrs: string;
  modalities: string | null;
  seriesCount: number;
  studyInstances: number;
  series?: string;
  seriesAttrs?: string;
  seriesInstances?: number;
  sop?: string;
  sopClass?: string;
  instanceNumber?: number | null;
  rows?: number | null;
  columns?: number | null;
  frames?: number | null;
  metadata?: string | null;
}

/**
 * Runs a query on the index: one statement, whatever the keys. One row past
 * the limit is read to know whether the result was cut. An instance search
 * that asks for more than the index columns also reads the instances'
 * metadata, which holds every attribute but bulk data.
 */
export async function search(db: D1Database, query: Query): Promise<SearchResult | QueryError> {
  if (query.level === "patient") return searchPatients(db, query);
  const levels: string[] = query.level === "study" ? [SELECT.study] : query.level === "series" ? [SELECT.study, SELECT.series] : [SELECT.study, SELECT.series, SELECT.instance];
  const withMetadata = query.level === "instance" && (query.includeFields === "all" || query.includeFields.length > 0);
  if (withMetadata) levels.push("(SELECT json FROM instance_metadata WHERE instance_pk = i.id) AS metadata");
  const parts = compileQueryParts({ ...query, ...(query.limit !== undefined ? { limit: query.limit + 1 } : {}) }, { select: levels.join(", ") });
  if (isQueryError(parts)) return parts;
  const { sql, params } = selectStatement(parts);
  const { results } = await db.prepare(sql).bind(...params).all<Row>();
  const truncated = query.limit !== undefined && results.length > query.limit;
  return { matches: (truncated ? results.slice(0, query.limit) : results).map(toMatch), truncated };
}

/**
 * Patient level (C-FIND Patient Root, PS3.4 C.6.1.1.2): one row per patient
 * of the index, its attributes as the latest stored instance gave them.
 */
async function searchPatients(db: D1Database, query: Query): Promise<SearchResult | QueryError> {
  const parts = compileQueryParts({ ...query, ...(query.limit !== undefined ? { limit: query.limit + 1 } : {}) }, { select: SELECT.patient });
  if (isQueryError(parts)) return parts;
  const { sql, params } = selectStatement(parts);
  const { results } = await db.prepare(sql).bind(...params).all<PatientRow>();
  const truncated = query.limit !== undefined && results.length > query.limit;
  const matches = (truncated ? results.slice(0, query.limit) : results).map((row): SearchMatch => ({
    patient: row.patientId,
    dataset: {
      ...(JSON.parse(row.patient) as DicomJson),
      "00201200": { vr: "IS", Value: [row.patientStudies] }, // NumberOfPatientRelatedStudies
      "00201202": { vr: "IS", Value: [row.patientSeries] }, // NumberOfPatientRelatedSeries
      "00201204": { vr: "IS", Value: [row.patientInstances] }, // NumberOfPatientRelatedInstances
    },
  }));
  return { matches, truncated };
}

function toMatch(row: Row): SearchMatch {
  const dataset: DicomJson = {
    ...(JSON.parse(row.patient) as DicomJson),
    ...(JSON.parse(row.studyAttrs) as DicomJson),
    "00080056": { vr: "CS", Value: ["ONLINE"] }, // InstanceAvailability: everything indexed is in R2
    "00080061": row.modalities ? { vr: "CS", Value: row.modalities.split(",") } : { vr: "CS" }, // ModalitiesInStudy
    "00201206": { vr: "IS", Value: [row.seriesCount] }, // NumberOfStudyRelatedSeries
    "00201208": { vr: "IS", Value: [row.studyInstances] }, // NumberOfStudyRelatedInstances
  };
  const match: SearchMatch = { study: row.study, dataset };
  if (row.series !== undefined) {
    Object.assign(dataset, JSON.parse(row.seriesAttrs!) as DicomJson);
    dataset["00201209"] = { vr: "IS", Value: [row.seriesInstances] }; // NumberOfSeriesRelatedInstances
    match.series = row.series;
  }
  if (row.sop !== undefined) {
    if (row.metadata) Object.assign(dataset, JSON.parse(row.metadata) as DicomJson);
    dataset["00080016"] = { vr: "UI", Value: [row.sopClass] };
    dataset["00080018"] = { vr: "UI", Value: [row.sop] };
    for (const [tag, vr, value] of [
      ["00200013", "IS", row.instanceNumber],
      ["00280010", "US", row.rows],
      ["00280011", "US", row.columns],
      ["00280008", "IS", row.frames],
    ] as const) {
      if (value !== null && value !== undefined) dataset[tag] = { vr, Value: [value] };
    }
    match.sop = row.sop;
  }
  return match;
}
