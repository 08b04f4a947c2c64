import { ObjectWriter } from "../archive/r2/object-writer";
import type { InstanceDataset, InstanceUids } from "./backend";

/** What the cache keeps beside an object, so that a plan needs no upstream request for it. */
export interface CachedLayout {
  transferSyntax: string;
  sopClass: string;
  datasetOffset: number;
  size: number;
}

/** A copy being written while its bytes pass to the caller; nothing of it is visible until `close`. */
export interface CacheWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Keeps the copy; fails, keeping nothing, when it holds other than the `size` it was opened with. */
  close(): Promise<void>;
  /** Drops the copy: no object is left. */
  abort(reason: unknown): Promise<void>;
}

/**
 * Copies of a proxied source's instances in R2 (PROXY_CACHE=r2), so that a
 * second retrieve of them reads R2 instead of the upstream DICOMweb server
 * or the PACS: one object per SOP Instance, the Part-10 bytes as they came,
 * under a prefix of the source's name (another source never sees them). A
 * SOP Instance UID names one object for good (PS3.3 C.12.1.1.1), so a copy
 * is not refreshed; the archive's own objects live apart.
 */
export class InstanceCache {
  private readonly prefix: string;

  constructor(
    private readonly bucket: R2Bucket,
    /** The upstream's URL, or the agent and PACS AE title. */
    source: string,
  ) {
    this.prefix = `proxy-cache/${fnv1a(source)}/`;
  }

  async layout(uids: InstanceUids): Promise<CachedLayout | null> {
    const object = await this.bucket.head(this.key(uids));
    return object ? layoutOf(object) : null;
  }

  /** The cached data set (File Meta Information excluded) and its length, or null. */
  async dataset(uids: InstanceUids): Promise<InstanceDataset | null> {
    const head = await this.bucket.head(this.key(uids));
    const layout = head && layoutOf(head);
    if (!layout) return null;
    const length = layout.size - layout.datasetOffset;
    const { transferSyntax } = layout;
    if (length === 0) return { body: new ReadableStream({ start: (controller) => controller.close() }), length, transferSyntax };
    const object = await this.bucket.get(this.key(uids), { range: { offset: layout.datasetOffset, length } });
    return object ? { body: object.body, length, transferSyntax } : null;
  }

  /** The cached Part-10 object's bytes, whole or one range, or null. */
  async read(uids: InstanceUids, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array> | null> {
    return (await this.bucket.get(this.key(uids), range ? { range } : undefined))?.body ?? null;
  }

  /** The whole cached Part-10 object and its layout, or null. */
  async object(uids: InstanceUids): Promise<{ body: ReadableStream<Uint8Array>; layout: CachedLayout } | null> {
    const object = await this.bucket.get(this.key(uids));
    const layout = object && layoutOf(object);
    if (!layout) return null;
    return { body: object.body, layout };
  }

  /**
   * A copy written as its bytes pass, held to `size` where the source told
   * it (a part's Content-Length); a C-GET's instance comes without one.
   * Memory: one R2 part at most (ObjectWriter).
   */
  writer(uids: InstanceUids, layout: Omit<CachedLayout, "size"> & { size?: number }): CacheWriter {
    const writer = new ObjectWriter(this.bucket, this.key(uids), undefined, {
      transferSyntax: layout.transferSyntax,
      sopClass: layout.sopClass,
      datasetOffset: String(layout.datasetOffset),
    });
    return {
      write: (chunk) => writer.write(chunk),
      close: async () => {
        if (layout.size !== undefined && writer.size !== layout.size) {
          await writer.abort();
          throw new Error(`the copy holds ${writer.size} of ${layout.size} bytes`);
        }
        await writer.close();
      },
      abort: () => writer.abort(),
    };
  }

  private key(uids: InstanceUids): string {
    return `${this.prefix}studies/${uids.study}/series/${uids.series}/instances/${uids.sop}.dcm`;
  }
}

function layoutOf(object: R2Object): CachedLayout | null {
  const meta = object.customMetadata ?? {};
  const datasetOffset = Number(meta.datasetOffset);
  if (!meta.transferSyntax || !meta.sopClass || !Number.isInteger(datasetOffset) || datasetOffset < 0 || datasetOffset > object.size) return null;
  return { transferSyntax: meta.transferSyntax, sopClass: meta.sopClass, datasetOffset, size: object.size };
}

/** A short name for the upstream's URL (FNV-1a, 32 bits): it keeps upstreams apart, it guards nothing. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/**
 * `source` as a stream, copied to `copy` as it passes, after `head` (the
 * File Meta group of a caller that gets the data set only): a copy that fails
 * only stops being written (the caller's bytes go on), and is kept once
 * the source ended and `end` passed (closing the upstream, checking the
 * final status), dropped on an error or a cancel. `failure` maps an error
 * for the caller; `release` lets the source go after one.
 */
export function copiedBody(
  source: AsyncIterator<Uint8Array>,
  copy: CacheWriter | undefined,
  hooks: { head?: Uint8Array; end?: () => Promise<void>; release?: () => Promise<void>; failure?: (error: unknown) => unknown } = {},
): ReadableStream<Uint8Array> {
  let writer = copy;
  let headed = hooks.head === undefined;
  const copied = async (write: (writer: CacheWriter) => Promise<void>) => {
    if (!writer) return;
    try {
      await write(writer);
    } catch (error) {
      const failed = writer;
      writer = undefined;
      await failed.abort(error);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!headed) {
          headed = true;
          await copied((w) => w.write(hooks.head!));
        }
        const next = await source.next();
        if (!next.done) {
          await copied((w) => w.write(next.value));
          controller.enqueue(next.value);
          return;
        }
        await hooks.end?.();
        await copied((w) => w.close());
        controller.close();
      } catch (error) {
        await writer?.abort(error);
        await hooks.release?.();
        controller.error(hooks.failure ? hooks.failure(error) : error);
      }
    },
    async cancel(reason) {
      await writer?.abort(reason);
      await source.return?.();
      await hooks.release?.();
    },
  });
}
