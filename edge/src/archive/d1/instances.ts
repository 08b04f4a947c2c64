import type { MetadataEntry, Scope, StoredInstance } from "../../backends/backend";
import { PLACEMENT, type Placement } from "./commit";

/** The WHERE clause selecting a scope's instances (`i` is instances). */
function scopeFilter(scope: Scope): { sql: string; params: string[] } {
  const parts = ["i.study_pk = (SELECT id FROM studies WHERE study_uid = ?1)"];
  const params = [scope.study];
  if (scope.series !== undefined) {
    parts.push("i.series_pk = (SELECT id FROM series WHERE series_uid = ?2)");
    params.push(scope.series);
  }
  if (scope.instance !== undefined) {
    parts.push(`i.sop_uid = ?${params.length + 1}`);
    params.push(scope.instance);
  }
  return { sql: parts.join(" AND "), params };
}

/** A row as D1 returns it: frames and bulk still JSON text. */
type InstanceRow = Omit<StoredInstance, "frames" | "bulk"> & { frames: string | null; bulk: string | null };

/** A scope's instances in series then instance order (PS3.18 10.4.1.1: retrieve order is not defined; this one is stable). */
export async function findInstances(db: D1Database, scope: Scope): Promise<StoredInstance[]> {
  const { sql, params } = scopeFilter(scope);
  const { results } = await db
    .prepare(
      `SELECT st.study_uid AS study, se.series_uid AS series, i.sop_uid AS sop, i.sop_class_uid AS sopClass,
              i.transfer_syntax_uid AS transferSyntax, i.size AS size, i.dataset_offset AS datasetOffset, i.number_of_frames AS numberOfFrames,
              i.frames AS frames, i.bulk AS bulk, i.object_key AS ref
       FROM instances i JOIN series se ON se.id = i.series_pk JOIN studies st ON st.id = i.study_pk
       WHERE ${sql}
       ORDER BY se.series_number, se.id, i.instance_number, i.id`,
    )
    .bind(...params)
    .all<InstanceRow>();
  return results.map((row) => ({
    ...row,
    frames: row.frames ? (JSON.parse(row.frames) as [number, number][][]) : null,
    bulk: row.bulk ? (JSON.parse(row.bulk) as Record<string, [number, number]>) : {},
  }));
}

/** Rows of metadata per round trip: bounded so a large study never sits in memory whole. */
const METADATA_PAGE = 200;

/** A scope's instance metadata, read in pages by primary key. */
export async function* readMetadata(db: D1Database, scope: Scope): AsyncGenerator<MetadataEntry> {
  const { sql, params } = scopeFilter(scope);
  let after = 0;
  for (;;) {
    const { results } = await db
      .prepare(
        `SELECT i.id AS id, st.study_uid AS study, se.series_uid AS series, i.sop_uid AS sop, m.json AS json
         FROM instances i JOIN instance_metadata m ON m.instance_pk = i.id
              JOIN series se ON se.id = i.series_pk JOIN studies st ON st.id = i.study_pk
         WHERE ${sql} AND i.id > ?${params.length + 1}
         ORDER BY i.id LIMIT ${METADATA_PAGE}`,
      )
      .bind(...params, after)
      .all<MetadataEntry & { id: number }>();
    for (const row of results) yield { study: row.study, series: row.series, sop: row.sop, json: row.json };
    if (results.length < METADATA_PAGE) return;
    after = results[results.length - 1]!.id;
  }
}

/** Where a scope's instances stand, for a delete (PLACEMENT). */
export async function placements(db: D1Database, scope: Scope): Promise<Placement[]> {
  const { sql, params } = scopeFilter(scope);
  const { results } = await db.prepare(`${PLACEMENT} WHERE ${sql}`).bind(...params).all<Placement>();
  return results;
}
