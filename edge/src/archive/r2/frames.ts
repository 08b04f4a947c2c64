import { coalesce } from "@dicom-edge/shared/bytes";

/**
 * Reads a byte stream in frames of `size` bytes (the last one shorter)
 * with workerd's `readAtLeast`: one await per frame instead of one per
 * chunk the stream happens to deliver (R2 bodies come in 4 KiB chunks
 * locally), and no copy to join them. A stream that is not a byte stream
 * is joined chunk by chunk instead. Leaving early cancels the stream.
 */
export async function* frames(body: ReadableStream<Uint8Array>, size: number): AsyncGenerator<Uint8Array, void, undefined> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    yield* coalesce(body, size);
    return;
  }
  let finished = false;
  try {
    for (;;) {
      // A fresh buffer per frame: the consumer may still hold the last one.
      const { value, done } = await reader.readAtLeast(size, new Uint8Array(size));
      if (value && value.byteLength > 0) yield value;
      if (done) {
        finished = true;
        return;
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
