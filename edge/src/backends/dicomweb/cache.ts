import type { InstanceDataset, InstanceUids } from "../backend";

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
  close(): Promise<void>;
  /** Drops the copy: a put that does not get all its bytes fails, and no object is left. */
  abort(reason: unknown): Promise<void>;
}

/**
 * Copies of an upstream's instances in R2 (PROXY_CACHE=r2), so that a
 * second C-GET, C-MOVE or SEND of them reads R2 instead of the upstream:
 * one object per SOP Instance, the Part-10 bytes as the upstream served
 * them, under a prefix of the upstream's URL (another upstream never sees
 * them). A SOP Instance UID names one object for good (PS3.3 C.12.1.1.1),
 * so a copy is not refreshed; the archive's own objects live apart.
 */
export class InstanceCache {
  private readonly prefix: string;

  constructor(
    private readonly bucket: R2Bucket,
    upstreamBase: string,
  ) {
    this.prefix = `proxy-cache/${fnv1a(upstreamBase)}/`;
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

  /**
   * A copy of `size` bytes to be written as they pass (R2 needs the length
   * first: a FixedLengthStream). Each write waits for R2, so the copy never
   * holds more than a chunk.
   */
  writer(uids: InstanceUids, layout: CachedLayout): CacheWriter {
    const { readable, writable } = new FixedLengthStream(layout.size);
    const put = this.bucket.put(this.key(uids), readable, {
      customMetadata: { transferSyntax: layout.transferSyntax, sopClass: layout.sopClass, datasetOffset: String(layout.datasetOffset) },
    });
    // A failed copy only means the next read goes upstream again.
    const stored = put.then(
      () => undefined,
      () => undefined,
    );
    const writer = writable.getWriter();
    // Rejects when the copy is aborted; that is told by `abort` itself.
    writer.closed.catch(() => undefined);
    return {
      write: (chunk) => writer.write(chunk),
      close: async () => {
        await writer.close();
        await stored;
      },
      abort: async (reason) => {
        await writer.abort(reason).catch(() => undefined);
        await stored;
      },
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
