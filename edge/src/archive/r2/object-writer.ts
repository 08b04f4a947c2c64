/**
 * Streams one object into R2 without holding it: a small object is one `put`
 * (R2 needs a known length, so it is buffered up to one part), a larger one a
 * multipart upload of equal 8 MiB parts (R2: every part but the last the same
 * size, at least 5 MiB, at most 10,000 parts, so objects up to 78 GiB).
 * Memory: one part buffer plus the chunk being added.
 *
 * `ready` holds back the first R2 call until it settles (and fails it when it
 * rejects): the archive's pending row must name the object before any of it
 * is uploaded, yet need not stop the bytes from streaming in meanwhile.
 */
export const PART_SIZE = 8 * 1024 * 1024;

export class ObjectWriter {
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private upload: R2MultipartUpload | undefined;
  private readonly parts: R2UploadedPart[] = [];
  private written = 0;
  private finished = false;

  constructor(
    private readonly bucket: R2Bucket,
    readonly key: string,
    private readonly ready: Promise<void> = Promise.resolve(),
    /** Kept beside the object (R2 custom metadata), e.g. a cached copy's layout. */
    private readonly customMetadata?: Record<string, string>,
  ) {
    // Awaited before each upload; a rejection nobody reached yet is not unhandled.
    ready.catch(() => undefined);
  }

  /** Bytes accepted so far. */
  get size(): number {
    return this.written + this.pendingBytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    while (this.pendingBytes >= PART_SIZE) await this.flushPart(this.take(PART_SIZE));
  }

  /** Makes the object visible in R2. */
  async close(): Promise<void> {
    this.finished = true;
    const rest = this.take(this.pendingBytes);
    await this.ready;
    if (!this.upload) {
      await this.bucket.put(this.key, rest, this.putOptions());
      return;
    }
    if (rest.byteLength > 0 || this.parts.length === 0) await this.flushPart(rest);
    await this.upload.complete(this.parts);
  }

  /** Leaves nothing behind: aborts an unfinished upload, deletes a finished one. */
  async abort(): Promise<void> {
    this.pending.length = 0;
    this.pendingBytes = 0;
    // Whatever marks the object must have settled before the caller unmarks it.
    await this.ready.catch(() => undefined);
    if (this.upload && !this.finished) await this.upload.abort().catch(() => undefined);
    await this.bucket.delete(this.key);
  }

  private putOptions(): R2PutOptions & R2MultipartOptions {
    return { httpMetadata: { contentType: "application/dicom" }, ...(this.customMetadata ? { customMetadata: this.customMetadata } : {}) };
  }

  private take(n: number): Uint8Array {
    this.pendingBytes -= n;
    return take(this.pending, n);
  }

  private async flushPart(bytes: Uint8Array): Promise<void> {
    await this.ready;
    this.upload ??= await this.bucket.createMultipartUpload(this.key, this.putOptions());
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, bytes));
    this.written += bytes.byteLength;
  }
}

/** Removes exactly `n` bytes from the front of `chunks` (copying only when it must). */
function take(chunks: Uint8Array[], n: number): Uint8Array {
  const first = chunks[0];
  if (first && first.byteLength === n) {
    chunks.shift();
    return first;
  }
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const chunk = chunks[0]!;
    const want = n - filled;
    if (chunk.byteLength <= want) {
      out.set(chunk, filled);
      filled += chunk.byteLength;
      chunks.shift();
    } else {
      out.set(chunk.subarray(0, want), filled);
      chunks[0] = chunk.subarray(want);
      filled += want;
    }
  }
  return out;
}
