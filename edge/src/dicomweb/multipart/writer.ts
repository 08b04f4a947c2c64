/**
 * Streaming writer for multipart/related response bodies (RFC 2046 5.1.1,
 * RFC 2387), as WADO-RS returns them (PS3.18 8.7.3, 10.4.3).
 */

import { isValidBoundary } from "./content-type.ts";

export interface MultipartSourcePart {
  /** Written in order as `Name: value` lines, e.g. Content-Type, Content-Location. */
  headers: Record<string, string>;
  body: ReadableStream<Uint8Array> | Uint8Array;
}

const encoder = new TextEncoder();
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Bytes per read of a part body that is a byte stream. R2 bodies arrive in
 * 4 KiB chunks locally; a pull per chunk made the JavaScript hops, not the
 * bytes, the cost of a study retrieve (85 MB/s; ~300 MB/s at 256 KiB).
 */
export const PART_READ_BYTES = 256 * 1024;

/** A fresh boundary: a UUID is 36 bchars and will not occur in DICOM data by chance. */
export function newBoundary(): string {
  return crypto.randomUUID();
}

/**
 * Streams `parts` as one multipart body with CRLF line endings and a
 * close-delimiter followed by CRLF. Pull-based: the next part is taken from
 * `parts` (and its body opened) only when the consumer reads past the
 * previous one, so a slow client holds back the archive reads.
 *
 * An error from `parts` or from a part's stream errors the returned stream;
 * cancelling the returned stream cancels the current part's stream and
 * returns `parts`. With no parts at all the body is just the
 * close-delimiter (RFC 2046 wants at least one part; callers answer such
 * requests with 404 before getting here).
 *
 * @throws RangeError for a boundary RFC 2046 5.1.1 does not allow.
 */
export function multipartStream(
  boundary: string,
  parts: AsyncIterable<MultipartSourcePart>,
): ReadableStream<Uint8Array> {
  if (!isValidBoundary(boundary)) throw new RangeError(`invalid multipart boundary "${boundary}"`);
  let iterator: AsyncIterator<MultipartSourcePart> | undefined;
  let body: PartReader | undefined;
  // The CRLF before each delimiter belongs to the delimiter (RFC 2046
  // 5.1.1), so the first one is omitted.
  let lead = "";

  const cleanUp = async (reason: unknown): Promise<void> => {
    const current = body;
    body = undefined;
    await current?.cancel(reason).catch(() => undefined);
    await iterator?.return?.().catch(() => undefined);
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            if (body !== undefined) {
              const { done, value } = await body.read();
              if (done) {
                body.releaseLock();
                body = undefined;
              }
              // A byte stream's last read may carry bytes and done together.
              if (value !== undefined && value.byteLength > 0) {
                controller.enqueue(value);
                return;
              }
              if (!done) continue;
            }
            iterator ??= parts[Symbol.asyncIterator]();
            const next = await iterator.next();
            if (next.done) {
              controller.enqueue(encoder.encode(`${lead}--${boundary}--\r\n`));
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`${lead}--${boundary}\r\n${headerBlock(next.value.headers)}\r\n`));
            lead = "\r\n";
            const partBody = next.value.body;
            if (partBody instanceof Uint8Array) {
              if (partBody.byteLength > 0) controller.enqueue(partBody);
            } else {
              body = partReader(partBody);
            }
            return;
          }
        } catch (e) {
          await cleanUp(e);
          throw e;
        }
      },
      cancel: cleanUp,
    },
    // Nothing is read ahead of the consumer.
    { highWaterMark: 0 },
  );
}

export type PartReader = Pick<ReadableStreamDefaultReader<Uint8Array>, "read" | "cancel" | "releaseLock">;

/**
 * Reads a byte stream (R2's bodies) PART_READ_BYTES at a time with
 * workerd's `readAtLeast`, into a fresh buffer each time since the consumer
 * keeps the last one; any other stream chunk by chunk, as it comes.
 */
export function partReader(stream: ReadableStream<Uint8Array>): PartReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    return stream.getReader();
  }
  return {
    read: () => byob.readAtLeast(PART_READ_BYTES, new Uint8Array(PART_READ_BYTES)),
    cancel: (reason?: unknown) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}

function headerBlock(headers: Record<string, string>): string {
  let out = "";
  for (const [name, value] of Object.entries(headers)) {
    // A CR or LF in a value would end the header block early and let the
    // value forge headers or body bytes.
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new TypeError(`invalid part header ${JSON.stringify(name)}`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}
