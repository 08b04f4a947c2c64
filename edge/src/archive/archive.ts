import { isQueryError, type Query, type QueryError } from "@dicom-edge/shared/query/model";
import type { Backend, InstanceDataset, InstanceUids, MetadataEntry, Scope, SearchResult, StoredInstance, StoreTransaction } from "../backends/backend";
import { search } from "./d1/search";
import { removeRows } from "./d1/commit";
import { findInstances, placements, readMetadata } from "./d1/instances";
import { ArchiveStore } from "./ingest";
import { studiesQuery, type StudyChange, type StudyChangeReporter } from "./study-events";

/** R2 deletes at most 1,000 keys per call. */
const DELETE_BATCH = 1000;

/** The archive backend: the index in D1, the objects in R2 (DESIGN: Storage). */
export class Archive implements Backend {
  constructor(
    private readonly db: D1Database,
    private readonly bucket: R2Bucket,
    /**
     * The one place the archive tells that a study was created, changed or
     * deleted: after each store commit and each delete (study-events.ts).
     */
    private readonly report?: StudyChangeReporter,
  ) {}

  store(): StoreTransaction {
    return new ArchiveStore(this.db, this.bucket, this.report);
  }

  search(query: Query): Promise<SearchResult | QueryError> {
    return search(this.db, query);
  }

  instances(scope: Scope): Promise<StoredInstance[]> {
    return findInstances(this.db, scope);
  }

  async read(instance: StoredInstance, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array> | null> {
    const object = await this.bucket.get(instance.ref, range ? { range } : undefined);
    return object?.body ?? null;
  }

  /** One range read of the object: its length is known, so a short read fails the caller's check. */
  async dataset(uids: InstanceUids): Promise<InstanceDataset | null> {
    const [instance] = await this.instances({ study: uids.study, series: uids.series, instance: uids.sop });
    if (!instance) return null;
    const length = instance.size - instance.datasetOffset;
    // A File Meta group and no data set (PS3.10 7.1 allows it): nothing to read from R2.
    const { transferSyntax } = instance;
    if (length === 0) return { body: new ReadableStream({ start: (controller) => controller.close() }), length, transferSyntax };
    const body = await this.read(instance, { offset: instance.datasetOffset, length });
    return body ? { body, length, transferSyntax } : null;
  }

  metadata(scope: Scope): AsyncIterable<MetadataEntry> {
    return readMetadata(this.db, scope);
  }

  /**
   * The rows go first, in one transaction: an object whose row is gone is
   * unreachable, and is deleted next (a crash in between leaves an orphan
   * object, never a row that points at nothing).
   */
  async delete(scope: Scope): Promise<number> {
    const removed = await placements(this.db, scope);
    if (removed.length === 0) return 0;
    const studies = [...new Set(removed.map((p) => p.study))];
    // The studies as they were, for subscriptions to match once they are gone.
    const before = this.report ? await this.search(studiesQuery(studies)) : undefined;
    await removeRows(this.db, removed);
    if (this.report) {
      const datasets = new Map(before && !isQueryError(before) ? before.matches.map((m) => [m.study, m.dataset]) : []);
      await this.report(
        studies.map((study): StudyChange => {
          const dataset = datasets.get(study);
          return { study, change: "deleted", ...(dataset ? { before: dataset } : {}) };
        }),
      );
    }
    const keys = removed.map((p) => p.key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) await this.bucket.delete(keys.slice(i, i + DELETE_BATCH));
    return removed.length;
  }

  async health(): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; error?: string }> }> {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await probe();
        return { ok: true };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    };
    const [d1, r2] = await Promise.all([
      check(() => this.db.prepare("SELECT count(*) FROM studies").first()),
      check(() => this.bucket.head("health-probe")),
    ]);
    return { ok: d1.ok && r2.ok, checks: { d1, r2 } };
  }
}

/**
 * Objects whose upload began more than `olderThanMs` ago and never reached
 * the index: an invocation died between the two phases. Deletes them.
 */
export async function sweepPending(db: D1Database, bucket: R2Bucket, olderThanMs: number): Promise<number> {
  const { results } = await db
    .prepare("SELECT object_key AS key FROM pending_objects WHERE created_at < ?1 LIMIT 1000")
    .bind(Date.now() - olderThanMs)
    .all<{ key: string }>();
  if (results.length === 0) return 0;
  const keys = results.map((r) => r.key);
  await bucket.delete(keys);
  await db.prepare("DELETE FROM pending_objects WHERE object_key IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(keys)).run();
  return keys.length;
}
