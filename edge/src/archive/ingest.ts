import { stringValue } from "@dicom-edge/shared/dicom/json";
import { Part10Error, Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { Status } from "@dicom-edge/shared/dicom/status";
import type { StoreOutcome, StoreTransaction } from "../backends/backend";
import { commitRecords, storedVersions, type StoredVersion } from "./d1/commit";
import { buildRecord, identity, MISSING_IDENTITY, type InstanceRecord } from "./record";
import type { StudyChangeReporter } from "./study-events";
import { Uploads } from "../backends/uploads";
import { objectKey } from "./r2/keys";
import { ObjectWriter } from "./r2/object-writer";

/** Bytes held before the UIDs that name the object have been read. */
const MAX_HEAD_BYTES = 64 * 1024 * 1024;
/**
 * Uploads running at once while a request goes on: each holds at most one
 * part (8 MiB) of its object, so they add at most 32 MiB to the instance
 * being read, and they overlap R2's latency with reading the next instance.
 */
const MAX_UPLOADS = 4;
/** Index data held for one commit; past it, a long request commits in steps. */
const MAX_STAGED_BYTES = 16 * 1024 * 1024;

/**
 * Stores instances into R2 as they stream in and indexes them in D1 on
 * commit (two phases, as DESIGN's invariants ask): a pending row names each
 * object before its upload starts, the commit replaces it with the index rows,
 * and any failure deletes the object, so nothing half-written stays behind.
 */
export class ArchiveStore implements StoreTransaction {
  private staged: InstanceRecord[] = [];
  private stagedBytes = 0;
  /** Stored versions read ahead of the commit, for staged records (see `upload`). */
  private known = new Map<InstanceRecord, StoredVersion[]>();
  /** Instances received so far; per SOP Instance UID, the latest arrival staged. */
  private arrivals = 0;
  private readonly latest = new Map<string, number>();
  /** Uploads still running, each settling (never rejecting) when its object is in R2 or gone. */
  private readonly uploads = new Uploads(MAX_UPLOADS);

  constructor(
    private readonly db: D1Database,
    private readonly bucket: R2Bucket,
    /** Told which studies each commit changed, once the commit is durable. */
    private readonly report?: StudyChangeReporter,
  ) {}

  async add(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<StoreOutcome> {
    return (await this.receive(body, expect)).outcome;
  }

  /**
   * Reads one instance to its end and starts its upload; the outcome comes
   * once the object is in R2, while the caller reads the next instance of
   * the request. At most MAX_UPLOADS uploads (of at most one part each still
   * held, see ObjectWriter) run at once: this waits for one to end first.
   */
  async receive(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<{ outcome: Promise<StoreOutcome> }> {
    const arrival = this.arrivals++;
    const reader = new Part10Reader();
    const head: Uint8Array[] = [];
    let headBytes = 0;
    let writer: ObjectWriter | undefined;
    let failure: StoreOutcome | undefined;
    try {
      for await (const chunk of body) {
        // After a failure the rest of the part is read and dropped, so the
        // next part of the request can still be stored.
        if (failure) continue;
        reader.write(chunk);
        if (writer) {
          await writer.write(chunk);
          continue;
        }
        head.push(chunk);
        headBytes += chunk.byteLength;
        const id = identity(reader.header.dataset);
        if (id) {
          failure = mismatch(id, expect);
          if (!failure) writer = await this.open(id, head);
        } else if (headBytes > MAX_HEAD_BYTES) {
          failure = { ok: false, reason: Status.CannotUnderstand, message: "no Study, Series and SOP Instance UID in the first 64 MiB" };
        }
      }
      if (failure) {
        if (writer) await this.discard(writer);
        return settled(withIdentity(failure, reader));
      }
      const header = reader.end();
      if (!writer) {
        const id = identity(header.dataset);
        failure = id ? mismatch(id, expect) : MISSING_IDENTITY;
        if (failure) return settled(withIdentity(failure, reader));
        writer = await this.open(id!, head);
      }
      const built = buildRecord(header, writer.key);
      if (!built.ok) {
        await this.discard(writer);
        return settled(withIdentity({ ok: false, reason: built.reason, message: built.message }, reader));
      }
      const upload = this.upload(writer, built.record, arrival).then((): StoreOutcome => {
        const { study, series, sop, sopClass } = built.record;
        return { ok: true, study, series, sop, sopClass, warnings: built.warnings };
      });
      await this.uploads.add(upload);
      return { outcome: upload };
    } catch (error) {
      if (writer) await this.discard(writer);
      if (error instanceof Part10Error) {
        return settled(withIdentity({ ok: false, reason: Status.CannotUnderstand, message: `not a valid DICOM Part-10 object: ${error.message}` }, reader));
      }
      // A broken request body (see MultipartError) ends the whole request.
      throw error;
    }
  }

  /** Puts the object and stages its record; on failure the object goes again. */
  private async upload(writer: ObjectWriter, record: InstanceRecord, arrival: number): Promise<void> {
    // A transaction's first instance (often its only one: a C-STORE through
    // the agent, most STOW-RS requests) reads its stored version while its
    // object goes up; later ones are read a chunk at a time on commit, so a
    // large request stays within D1's queries per invocation.
    // The read is only awaited once the upload settled: a failure must not
    // delete the object while its put is still in flight.
    const before = arrival === 0 ? storedVersions(this.db, [record]) : undefined;
    before?.catch(() => undefined);
    try {
      await writer.close();
      if (before) this.known.set(record, await before);
    } catch (error) {
      await this.discard(writer);
      throw error;
    }
    await this.stage(record, arrival);
  }

  async commit(): Promise<void> {
    await this.uploads.settle();
    await this.flush();
  }

  /** Commits what is staged now; uploads still running stage for the next flush. */
  private async flush(): Promise<void> {
    const records = this.staged;
    const known = this.known;
    this.staged = [];
    this.stagedBytes = 0;
    this.known = new Map();
    let changedStudies: string[];
    try {
      const committed = await commitRecords(this.db, records, known);
      changedStudies = committed.changedStudies;
      await Promise.all(committed.superseded.map((old) => this.bucket.delete(old.key)));
    } catch (error) {
      await this.remove(records.map((r) => r.key));
      throw error;
    }
    // After the commit, outside the cleanup above: the rows are durable, so
    // whatever happens to the report, the objects stay.
    await this.report?.(changedStudies.map((study) => ({ study, change: "stored" })));
  }

  async rollback(): Promise<void> {
    await this.uploads.settle();
    const keys = this.staged.map((r) => r.key);
    this.staged = [];
    this.stagedBytes = 0;
    this.known = new Map();
    await this.remove(keys);
  }

  /**
   * The pending row is written while the rest of the instance streams in;
   * the writer starts no upload before it is durable.
   */
  private async open(id: { study: string; series: string; sop: string }, head: Uint8Array[]): Promise<ObjectWriter> {
    const key = objectKey(id.study, id.series, id.sop);
    const pending = this.db.prepare("INSERT INTO pending_objects (object_key, created_at) VALUES (?1, ?2)").bind(key, Date.now()).run();
    const writer = new ObjectWriter(this.bucket, key, pending.then(() => undefined));
    for (const chunk of head) await writer.write(chunk);
    head.length = 0;
    return writer;
  }

  private async stage(record: InstanceRecord, arrival: number): Promise<void> {
    // The same instance twice in one request: the copy that arrived later
    // wins, as it would across two requests (whichever upload ended first),
    // and the other object goes now.
    if ((this.latest.get(record.sop) ?? -1) > arrival) {
      await this.remove([record.key]);
      return;
    }
    this.latest.set(record.sop, arrival);
    const other = this.staged.findIndex((r) => r.sop === record.sop);
    if (other >= 0) {
      const [old] = this.staged.splice(other, 1);
      this.known.delete(old!);
      await this.remove([old!.key]);
    }
    this.staged.push(record);
    this.stagedBytes += JSON.stringify(record.metadata).length;
    if (this.stagedBytes > MAX_STAGED_BYTES) await this.flush();
  }

  private async discard(writer: ObjectWriter): Promise<void> {
    await writer.abort();
    await this.db.prepare("DELETE FROM pending_objects WHERE object_key = ?1").bind(writer.key).run();
  }

  private async remove(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.bucket.delete(keys);
    await this.db.prepare("DELETE FROM pending_objects WHERE object_key IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(keys)).run();
  }
}

const settled = (outcome: StoreOutcome) => ({ outcome: Promise.resolve(outcome) });

/** PS3.18 10.5.1: an instance outside the study named in the URL is not stored. */
function mismatch(id: { study: string; sop: string; sopClass?: string }, expect: { study?: string }): StoreOutcome | undefined {
  if (expect.study === undefined || expect.study === id.study) return undefined;
  return {
    ok: false,
    reason: Status.DataSetDoesNotMatchSOPClass,
    message: `StudyInstanceUID ${id.study} does not match the study ${expect.study} of the request`,
    sop: id.sop,
    ...(id.sopClass ? { sopClass: id.sopClass } : {}),
  };
}

/** A failure names the instance when the File Meta Information already did (PS3.10 7.1). */
function withIdentity(failure: StoreOutcome, reader: Part10Reader): StoreOutcome {
  if (failure.ok || failure.sop) return failure;
  const meta = reader.header.meta;
  const sop = meta && stringValue(meta, "00020003");
  const sopClass = meta && stringValue(meta, "00020002");
  return { ...failure, ...(sop ? { sop } : {}), ...(sopClass ? { sopClass } : {}) };
}
