import type { InstanceRecord } from "../record";

/**
 * Writes index rows for a set of stored instances. Every statement takes the
 * whole set as one JSON parameter and expands it with json_each, so the count
 * of statements and bound parameters stays fixed whatever the set's size (D1:
 * 100 parameters per query, 1,000 queries per invocation). A batch is one
 * transaction: either every row of a chunk is written or none.
 */
const CHUNK_BYTES = 256 * 1024;

const UPSERT_PATIENTS = `
INSERT INTO patients (patient_id, issuer, patient_name, patient_name_fuzzy, birth_date, sex, attributes, updated_at)
SELECT r->>'patientId', r->>'issuer', r->>'patientName', r->>'$.index.patient_name_fuzzy', r->>'birthDate', r->>'sex',
  r->>'patientAttributes', ?2
FROM (SELECT value AS r FROM json_each(?1)) WHERE true
ON CONFLICT (patient_id, issuer) DO UPDATE SET
  patient_name = excluded.patient_name, patient_name_fuzzy = excluded.patient_name_fuzzy, birth_date = excluded.birth_date, sex = excluded.sex,
  attributes = excluded.attributes, updated_at = excluded.updated_at`;

const UPSERT_STUDIES = `
INSERT INTO studies (study_uid, patient_pk, study_date, study_time, study_time_norm, accession_number, study_id,
  referring_physician_name, referring_physician_fuzzy, study_description, attributes, updated_at)
SELECT r->>'study', (SELECT id FROM patients WHERE patient_id = r->>'patientId' AND issuer = r->>'issuer'),
  r->>'studyDate', r->>'studyTime', r->>'$.index.study_time_norm', r->>'accession', r->>'studyId',
  r->>'referringPhysician', r->>'$.index.referring_physician_fuzzy', r->>'studyDescription', r->>'studyAttributes', ?2
FROM (SELECT value AS r FROM json_each(?1)) WHERE true
ON CONFLICT (study_uid) DO UPDATE SET
  patient_pk = excluded.patient_pk, study_date = excluded.study_date, study_time = excluded.study_time,
  study_time_norm = excluded.study_time_norm, referring_physician_fuzzy = excluded.referring_physician_fuzzy,
  accession_number = excluded.accession_number, study_id = excluded.study_id,
  referring_physician_name = excluded.referring_physician_name, study_description = excluded.study_description,
  attributes = excluded.attributes, updated_at = excluded.updated_at`;

const UPSERT_SERIES = `
INSERT INTO series (series_uid, study_pk, modality, series_number, series_description,
  performed_start_date, performed_start_time, performed_start_time_norm, attributes, updated_at)
SELECT r->>'series', (SELECT id FROM studies WHERE study_uid = r->>'study'), r->>'modality',
  r->>'seriesNumber', r->>'seriesDescription', r->>'performedStartDate', r->>'performedStartTime',
  r->>'$.index.performed_start_time_norm', r->>'seriesAttributes', ?2
FROM (SELECT value AS r FROM json_each(?1)) WHERE true
ON CONFLICT (series_uid) DO UPDATE SET
  study_pk = excluded.study_pk, modality = excluded.modality, series_number = excluded.series_number,
  series_description = excluded.series_description, performed_start_date = excluded.performed_start_date,
  performed_start_time = excluded.performed_start_time, performed_start_time_norm = excluded.performed_start_time_norm,
  attributes = excluded.attributes,
  updated_at = excluded.updated_at`;

const UPSERT_INSTANCES = `
INSERT INTO instances (sop_uid, series_pk, study_pk, sop_class_uid, instance_number, transfer_syntax_uid,
  number_of_frames, rows, columns, size, dataset_offset, object_key, frames, bulk, updated_at)
SELECT r->>'sop', (SELECT id FROM series WHERE series_uid = r->>'series'),
  (SELECT id FROM studies WHERE study_uid = r->>'study'), r->>'sopClass', r->>'instanceNumber',
  r->>'transferSyntax', r->>'numberOfFrames', r->>'rows', r->>'columns', r->>'size', r->>'datasetOffset', r->>'key',
  r->>'frames', r->>'bulk', ?2
FROM (SELECT value AS r FROM json_each(?1)) WHERE true
ON CONFLICT (sop_uid) DO UPDATE SET
  series_pk = excluded.series_pk, study_pk = excluded.study_pk, sop_class_uid = excluded.sop_class_uid,
  instance_number = excluded.instance_number, transfer_syntax_uid = excluded.transfer_syntax_uid,
  number_of_frames = excluded.number_of_frames, rows = excluded.rows, columns = excluded.columns,
  size = excluded.size, dataset_offset = excluded.dataset_offset, object_key = excluded.object_key, frames = excluded.frames, bulk = excluded.bulk,
  updated_at = excluded.updated_at`;

const UPSERT_METADATA = `
INSERT INTO instance_metadata (instance_pk, study_pk, series_pk, json)
SELECT i.id, i.study_pk, i.series_pk, r->>'metadata'
FROM (SELECT value AS r FROM json_each(?1)) JOIN instances i ON i.sop_uid = r->>'sop'
WHERE true
ON CONFLICT (instance_pk) DO UPDATE SET
  study_pk = excluded.study_pk, series_pk = excluded.series_pk, json = excluded.json`;

/**
 * Instances of one study that name different patients leave the study with
 * the last one; a patient that so lost its only study goes.
 */
const PRUNE_ABANDONED_PATIENTS = `
DELETE FROM patients WHERE id IN (
  SELECT p.id FROM (SELECT value AS r FROM json_each(?1)) JOIN patients p ON p.patient_id = r->>'patientId' AND p.issuer = r->>'issuer')
AND NOT EXISTS (SELECT 1 FROM studies WHERE patient_pk = patients.id)`;

const CLEAR_PENDING = `
DELETE FROM pending_objects WHERE object_key IN (SELECT value->>'key' FROM json_each(?1))`;

/**
 * PS3.18 Table 10.6.3-3/-4: the counts and ModalitiesInStudy a level
 * reports, kept current in the same transaction as the rows they count, and
 * the levels a delete or a moved instance left empty removed. Levels are
 * named by UID (?1 series, ?2 studies), patients by key (?3).
 */
function recountStatements(db: D1Database, seriesUids: string[], studyUids: string[], patientPks: number[]): D1PreparedStatement[] {
  const series = JSON.stringify([...new Set(seriesUids)]);
  const studies = JSON.stringify([...new Set(studyUids)]);
  const patients = JSON.stringify([...new Set(patientPks)]);
  return [
    db
      .prepare(
        `UPDATE series SET instance_count = (SELECT count(*) FROM instances WHERE series_pk = series.id)
         WHERE series_uid IN (SELECT value FROM json_each(?1))`,
      )
      .bind(series),
    db.prepare(`DELETE FROM series WHERE series_uid IN (SELECT value FROM json_each(?1)) AND instance_count = 0`).bind(series),
    db
      .prepare(
        `UPDATE studies SET
           instance_count = (SELECT count(*) FROM instances WHERE study_pk = studies.id),
           series_count = (SELECT count(*) FROM series WHERE study_pk = studies.id),
           modalities = (SELECT group_concat(DISTINCT modality) FROM series WHERE study_pk = studies.id AND modality <> '')
         WHERE study_uid IN (SELECT value FROM json_each(?1))`,
      )
      .bind(studies),
    db.prepare(`DELETE FROM studies WHERE study_uid IN (SELECT value FROM json_each(?1)) AND series_count = 0`).bind(studies),
    db
      .prepare(
        `DELETE FROM patients WHERE id IN (SELECT value FROM json_each(?1))
         AND NOT EXISTS (SELECT 1 FROM studies WHERE patient_pk = patients.id)`,
      )
      .bind(patients),
  ];
}

/** Where an instance stood: its object and levels, as a commit or delete replaces it. */
export interface Placement {
  sop: string;
  key: string;
  series: string;
  study: string;
  patientPk: number;
}

export const PLACEMENT = `SELECT i.sop_uid AS sop, i.object_key AS key, se.series_uid AS series, st.study_uid AS study, st.patient_pk AS patientPk
  FROM instances i JOIN series se ON se.id = i.series_pk JOIN studies st ON st.id = i.study_pk`;

/**
 * The stored versions of the instances of a chunk, and whether each is the
 * same as its new version: same study and series, size, transfer syntax and
 * metadata (every attribute but bulk data), compared in D1 so the metadata
 * never travels back.
 */
const BEFORE = `SELECT i.sop_uid AS sop, i.object_key AS key, se.series_uid AS series, st.study_uid AS study, st.patient_pk AS patientPk,
    coalesce(se.series_uid = r->>'series' AND st.study_uid = r->>'study' AND i.size = r->>'size'
      AND i.transfer_syntax_uid = r->>'transferSyntax' AND m.json = r->>'metadata', 0) AS same
  FROM (SELECT value AS r FROM json_each(?1)) JOIN instances i ON i.sop_uid = r->>'sop'
  JOIN series se ON se.id = i.series_pk JOIN studies st ON st.id = i.study_pk
  LEFT JOIN instance_metadata m ON m.instance_pk = i.id`;

/** An instance's stored version, and whether the version about to be indexed is the same (1) or not (0). */
export type StoredVersion = Placement & { same: number };

/** The stored versions of `records`, one query; an instance not stored yet has none. */
export async function storedVersions(db: D1Database, records: InstanceRecord[]): Promise<StoredVersion[]> {
  if (records.length === 0) return [];
  return (await db.prepare(BEFORE).bind(JSON.stringify(records.map(row))).all<StoredVersion>()).results;
}

/** What a commit did: the versions it replaced, and the studies whose content changed. */
export interface CommitResult {
  /** Replaced versions, whose objects the caller deletes afterwards. */
  superseded: Placement[];
  /**
   * Studies that gained an instance, or whose instance was replaced by a
   * different one (or moved away); a re-sent identical instance changes nothing.
   */
  changedStudies: string[];
}

/**
 * Indexes `records` (whose objects are already in R2) in one transaction
 * per chunk. `known` holds the stored versions already read for some of
 * them (storedVersions), which spares their lookup here.
 */
export async function commitRecords(db: D1Database, records: InstanceRecord[], known: ReadonlyMap<InstanceRecord, StoredVersion[]> = new Map()): Promise<CommitResult> {
  const superseded: Placement[] = [];
  const changed = new Set<string>();
  for (const chunk of chunks(records)) {
    const json = JSON.stringify(chunk.map(row));
    const now = Date.now();
    const before = [...chunk.flatMap((r) => known.get(r) ?? []), ...(await storedVersions(db, chunk.filter((r) => !known.has(r))))];
    for (const r of chunk) {
      const old = before.find((b) => b.sop === r.sop);
      if (old?.same) continue;
      changed.add(r.study);
      if (old) changed.add(old.study);
    }
    const replaced = before.filter((old) => !chunk.some((r) => r.key === old.key)).map(({ same: _, ...placement }) => placement);
    await db.batch([
      db.prepare(UPSERT_PATIENTS).bind(json, now),
      db.prepare(UPSERT_STUDIES).bind(json, now),
      db.prepare(UPSERT_SERIES).bind(json, now),
      db.prepare(UPSERT_INSTANCES).bind(json, now),
      db.prepare(UPSERT_METADATA).bind(json),
      db.prepare(PRUNE_ABANDONED_PATIENTS).bind(json),
      db.prepare(CLEAR_PENDING).bind(json),
      ...recountStatements(
        db,
        [...chunk.map((r) => r.series), ...replaced.map((r) => r.series)],
        [...chunk.map((r) => r.study), ...replaced.map((r) => r.study)],
        replaced.map((r) => r.patientPk),
      ),
    ]);
    superseded.push(...replaced);
  }
  return { superseded, changedStudies: [...changed] };
}

/** Removes the index rows of `placements` and what they leave empty, in one transaction. */
export async function removeRows(db: D1Database, placements: Placement[]): Promise<void> {
  const sops = JSON.stringify(placements.map((p) => p.sop));
  await db.batch([
    db.prepare("DELETE FROM instance_metadata WHERE instance_pk IN (SELECT id FROM instances WHERE sop_uid IN (SELECT value FROM json_each(?1)))").bind(sops),
    db.prepare("DELETE FROM instances WHERE sop_uid IN (SELECT value FROM json_each(?1))").bind(sops),
    ...recountStatements(
      db,
      placements.map((p) => p.series),
      placements.map((p) => p.study),
      placements.map((p) => p.patientPk),
    ),
  ]);
}
function row(r: InstanceRecord): Record<string, unknown> {
  return {
    ...r,
    frames: r.frames ? JSON.stringify(r.frames) : null,
    bulk: JSON.stringify(r.bulk),
    patientAttributes: JSON.stringify(r.patientAttributes),
    studyAttributes: JSON.stringify(r.studyAttributes),
    seriesAttributes: JSON.stringify(r.seriesAttributes),
    metadata: JSON.stringify(r.metadata),
  };
}

function* chunks(records: InstanceRecord[]): Generator<InstanceRecord[]> {
  let chunk: InstanceRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = JSON.stringify(record.metadata).length + 2048;
    if (chunk.length > 0 && bytes + size > CHUNK_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
