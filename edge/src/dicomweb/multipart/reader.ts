/**
 * Streaming reader for multipart bodies (RFC 2046 5.1.1, RFC 2387), as sent
 * to STOW-RS (PS3.18 10.5.1.1). Part bodies are passed on as subarrays of
 * the chunks the stream delivers. Copies are bounded: the bytes either side
 * of a chunk seam (2 x boundary + 6) and, when a part's header block spans
 * chunks, at most maxPartHeaderBytes of the following chunk.
 *
 * Where errors surface:
 * - A stream that ends inside a part body throws MultipartError
 *   "no-closing-boundary" from that part's body iteration, and again from
 *   the generator's next() (which drains an abandoned body first).
 * - A stream that ends in the preamble, on a delimiter line or inside a
 *   header block throws "no-closing-boundary" from the generator.
 * - "malformed" and "part-headers-too-large" come from the generator, except
 *   a body whose length contradicts its Content-Length, which throws from the
 *   body iteration (and again from the generator).
 * - Errors of the underlying stream pass through unchanged.
 * Every error is fatal: the generator does not continue after one.
 */

import { isAcceptableBoundary, MAX_RECEIVED_BOUNDARY } from "./content-type.ts";

export type MultipartErrorCode = "no-closing-boundary" | "malformed" | "part-headers-too-large";

export class MultipartError extends Error {
  override readonly name = "MultipartError";
  readonly code: MultipartErrorCode;

  constructor(code: MultipartErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface MultipartPart {
  headers: Headers;
  /** From the part's Content-Length header (Orthanc sends one), if present. */
  contentLength?: number;
  /**
   * The part's bytes. Iterate it, or leave it: the generator skips whatever
   * is left before yielding the next part. Breaking out of a `for await`
   * does not end the part; iterating again continues where it stopped.
   */
  body: AsyncIterable<Uint8Array>;
}

export interface ReadMultipartOptions {
  /** Bytes allowed for one part's header block, line breaks included. Default 16 KiB. */
  maxPartHeaderBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const SP = 0x20;
const HT = 0x09;
const EMPTY = new Uint8Array(0);

/**
 * Yields the parts of a multipart body in order, reading `body` only as fast
 * as the consumer takes part bytes. Returning early (break) cancels `body`;
 * so does reaching the close-delimiter, since the epilogue is to be ignored
 * (RFC 2046 5.1.1).
 */
export async function* readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  options: ReadMultipartOptions = {},
): AsyncGenerator<MultipartPart, void, undefined> {
  if (!isAcceptableBoundary(boundary)) {
    throw new MultipartError(
      "malformed",
      `boundary must be 1 to ${MAX_RECEIVED_BOUNDARY} characters allowed by RFC 2046 5.1.1`,
    );
  }
  const reader = body.getReader();
  const scanner = new Scanner(reader, boundary, options.maxPartHeaderBytes ?? 16 * 1024);
  try {
    await scanner.skipPreamble();
    while ((await scanner.afterDelimiter()) === "part") {
      const headers = await scanner.readHeaders();
      const contentLength = declaredLength(headers);
      const partBody = new PartBody(scanner.scanBody(), contentLength);
      yield contentLength === undefined ? { headers, body: partBody } : { headers, contentLength, body: partBody };
      await partBody.drain();
    }
    await drainEpilogue(reader);
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * The epilogue is ignored (RFC 2046 5.1.1) but still read, up to a bound:
 * a request body cancelled before its end leaves the connection it came on
 * unusable for the next request in some HTTP stacks (wrangler dev's proxy
 * then never answers a keep-alive client's next request), while an
 * epilogue is normally empty or a CRLF.
 */
const MAX_EPILOGUE_BYTES = 64 * 1024;

async function drainEpilogue(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  for (let read = 0; read <= MAX_EPILOGUE_BYTES; ) {
    const chunk = await reader.read();
    if (chunk.done) return;
    read += chunk.value.byteLength;
  }
}

function declaredLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  if (value === null) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new MultipartError("malformed", `part Content-Length "${value}" is not a number`);
  return Number(value);
}

/**
 * One part's body as handed to the consumer. Its iterator ignores return()
 * so that an abandoned body can still be drained by the generator.
 */
class PartBody implements AsyncIterable<Uint8Array> {
  private received = 0;
  private done = false;
  private failure: unknown;
  private failed = false;

  constructor(
    private readonly source: AsyncGenerator<Uint8Array, void, undefined>,
    private readonly contentLength: number | undefined,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, undefined> {
    return {
      next: () => this.next(),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.failed) throw this.failure;
    if (this.done) return { done: true, value: undefined };
    try {
      const r = await this.source.next();
      if (r.done) {
        this.done = true;
        if (this.contentLength !== undefined && this.received !== this.contentLength) {
          throw new MultipartError(
            "malformed",
            `part has ${this.received} bytes but its Content-Length is ${this.contentLength}`,
          );
        }
        return { done: true, value: undefined };
      }
      this.received += r.value.byteLength;
      // Fail as soon as the declared length is passed rather than after
      // streaming the rest of an oversized part somewhere.
      if (this.contentLength !== undefined && this.received > this.contentLength) {
        throw new MultipartError("malformed", `part is longer than its Content-Length ${this.contentLength}`);
      }
      return { done: false, value: r.value };
    } catch (e) {
      this.failed = true;
      this.failure = e;
      throw e;
    }
  }

  async drain(): Promise<void> {
    while (!(await this.next()).done) {
      // Discarding the rest of the part.
    }
  }
}

/**
 * Owns the stream reader and the unconsumed bytes. The delimiter is searched
 * as "\n--boundary" so that both CRLF (RFC 2046) and bare LF line endings
 * end a part; a CR before the LF is dropped from the body.
 */
class Scanner {
  /** Unconsumed bytes: a view of a stream chunk, or a small copy at a seam. */
  private buf: Uint8Array = EMPTY;
  /** The unread rest of a chunk of which only a prefix was copied into buf. */
  private pushback: Uint8Array | undefined;
  private ended = false;
  /** "\n--" + boundary. */
  private readonly delim: Uint8Array;
  /** Boyer-Moore-Horspool shift per byte value. */
  private readonly shift: Uint8Array;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    boundary: string,
    private readonly maxHeaderBytes: number,
  ) {
    const b = new TextEncoder().encode(boundary);
    this.delim = new Uint8Array(b.length + 3);
    this.delim.set([LF, DASH, DASH]);
    this.delim.set(b, 3);
    this.shift = horspoolShifts(this.delim);
  }

  /** Next non-empty chunk, or undefined at the end of the stream. */
  private async read(): Promise<Uint8Array | undefined> {
    if (this.pushback !== undefined) {
      const rest = this.pushback;
      this.pushback = undefined;
      return rest;
    }
    while (!this.ended) {
      const r = await this.reader.read();
      if (r.done) {
        this.ended = true;
        break;
      }
      if (r.value.byteLength > 0) return r.value;
    }
    return undefined;
  }

  /**
   * Appends the next chunk to buf: as is when buf is empty, otherwise only
   * its first `limit` bytes are copied and the rest is pushed back, so that
   * a large chunk is never copied to join a few leftover bytes.
   */
  private async more(limit: number): Promise<boolean> {
    const chunk = await this.read();
    if (chunk === undefined) return false;
    if (this.buf.length === 0) {
      this.buf = chunk;
      return true;
    }
    const take = Math.min(chunk.length, Math.max(limit, 1));
    this.buf = concat(this.buf, chunk.subarray(0, take));
    if (take < chunk.length) this.pushback = chunk.subarray(take);
    return true;
  }

  /**
   * Consumes the preamble and the first dash-boundary (RFC 2046 5.1.1). The
   * first delimiter may open the body without a preceding line break.
   */
  async skipPreamble(): Promise<void> {
    const dashBoundary = this.delim.length - 1;
    while (this.buf.length < dashBoundary && (await this.more(dashBoundary))) {
      // Gathering enough bytes to compare.
    }
    if (this.buf.length >= dashBoundary && matchesAt(this.buf, 0, this.delim, 1)) {
      this.buf = this.buf.subarray(dashBoundary);
      return;
    }
    for await (const _ of this.scanBody()) {
      // The preamble is to be ignored (RFC 2046 5.1.1).
    }
  }

  /**
   * Reads what follows a dash-boundary: "--" for the close-delimiter, or
   * transport padding (RFC 2046 5.1.1 LWSP) then a line break. Nothing need
   * follow "--": Orthanc ends the body right after it.
   */
  async afterDelimiter(): Promise<"part" | "close"> {
    let padded = false;
    for (;;) {
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      if (b0 === DASH && !padded) {
        if (b1 === DASH) {
          this.buf = this.buf.subarray(2);
          return "close";
        }
        if (b1 !== undefined) throw new MultipartError("malformed", "unexpected byte after boundary");
      } else if (b0 === SP || b0 === HT) {
        let i = 1;
        while (this.buf[i] === SP || this.buf[i] === HT) i++;
        this.buf = this.buf.subarray(i);
        padded = true;
        continue;
      } else if (b0 === LF) {
        this.buf = this.buf.subarray(1);
        return "part";
      } else if (b0 === CR) {
        if (b1 === LF) {
          this.buf = this.buf.subarray(2);
          return "part";
        }
        if (b1 !== undefined) throw new MultipartError("malformed", "CR not followed by LF after boundary");
      } else if (b0 !== undefined) {
        // Includes a longer string that merely starts with the boundary,
        // which RFC 2046 5.1.1 forbids inside parts.
        throw new MultipartError("malformed", "unexpected byte after boundary");
      }
      if (!(await this.more(64))) {
        throw new MultipartError("no-closing-boundary", "body ended on a boundary line without a close-delimiter");
      }
    }
  }

  /** Reads a part's header block up to its empty line (RFC 2046 5.1.1, RFC 5322 2.2). */
  async readHeaders(): Promise<Headers> {
    const headers = new Headers();
    let used = 0;
    for (;;) {
      const lf = this.buf.indexOf(LF);
      if (lf < 0) {
        if (used + this.buf.length >= this.maxHeaderBytes) {
          throw new MultipartError("part-headers-too-large", `part headers exceed ${this.maxHeaderBytes} bytes`);
        }
        if (!(await this.more(this.maxHeaderBytes))) {
          throw new MultipartError("no-closing-boundary", "body ended inside part headers");
        }
        continue;
      }
      used += lf + 1;
      if (used > this.maxHeaderBytes) {
        throw new MultipartError("part-headers-too-large", `part headers exceed ${this.maxHeaderBytes} bytes`);
      }
      const end = lf > 0 && this.buf[lf - 1] === CR ? lf - 1 : lf;
      const line = latin1(this.buf, 0, end);
      this.buf = this.buf.subarray(lf + 1);
      // A part without headers has just the empty line (RFC 2046 5.1.1).
      if (line === "") return headers;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new MultipartError("malformed", "part header line without a name");
      try {
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch (cause) {
        throw new MultipartError("malformed", "invalid part header", { cause });
      }
    }
  }

  /**
   * Yields a part body (or the preamble) up to the next delimiter and
   * consumes the delimiter's "\n--boundary". Holds back at most
   * delim.length bytes (boundary + 3) between chunks: a delimiter that may
   * start there, and the CR before it.
   */
  async *scanBody(): AsyncGenerator<Uint8Array, void, undefined> {
    const delim = this.delim;
    const n = delim.length;
    for (;;) {
      const buf = this.buf;
      const at = horspool(buf, delim, this.shift);
      if (at >= 0) {
        // No match can start at 0 unless nothing of this body was yielded
        // yet (see below), so a CR before it is always still in buf.
        const end = at > 0 && buf[at - 1] === CR ? at - 1 : at;
        this.buf = buf.subarray(at + n);
        if (end > 0) yield buf.subarray(0, end);
        return;
      }
      // Everything before the last n bytes is body: a match starting there
      // would have been complete, and its CR would be among those n bytes.
      const keep = Math.min(buf.length, n);
      const held = buf.subarray(buf.length - keep);
      this.buf = held;
      if (buf.length > keep) yield buf.subarray(0, buf.length - keep);

      const chunk = await this.read();
      if (chunk === undefined) {
        throw new MultipartError("no-closing-boundary", "body ended without a close-delimiter");
      }
      if (held.length === 0) {
        this.buf = chunk;
        continue;
      }
      if (chunk.length < n) {
        this.buf = concat(held, chunk);
        continue;
      }
      // Search the seam: held plus the chunk's first n bytes covers every
      // match starting in held or at chunk[0], with the byte before it.
      const seam = concat(held, chunk.subarray(0, n));
      const k = horspool(seam, delim, this.shift);
      if (k >= 0 && k <= held.length) {
        const end = k > 0 && seam[k - 1] === CR ? k - 1 : k;
        this.buf = chunk.subarray(k + n - held.length);
        if (end > 0) yield held.subarray(0, end);
        return;
      }
      this.buf = chunk;
      yield held;
    }
  }
}

/** Boyer-Moore-Horspool bad-character shifts; every shift fits a byte (pattern ≤ MAX_RECEIVED_BOUNDARY + 3). */
function horspoolShifts(pattern: Uint8Array): Uint8Array {
  const m = pattern.length;
  const shift = new Uint8Array(256).fill(m);
  for (let i = 0; i < m - 1; i++) shift[pattern[i] as number] = m - 1 - i;
  return shift;
}

/**
 * First index of `pattern` in `hay`, or -1. Horspool looks at about one byte
 * in pattern.length of typical DICOM data (a 36-character UUID boundary
 * gives shifts near 39), which keeps scanning far above network speed.
 */
function horspool(hay: Uint8Array, pattern: Uint8Array, shift: Uint8Array): number {
  const m = pattern.length;
  const last = m - 1;
  const lastByte = pattern[last] as number;
  const n = hay.length;
  let i = last;
  while (i < n) {
    const b = hay[i] as number;
    if (b === lastByte) {
      let j = last - 1;
      let k = i - 1;
      while (j >= 0 && hay[k] === pattern[j]) {
        j--;
        k--;
      }
      if (j < 0) return k + 1;
    }
    i += shift[b] as number;
  }
  return -1;
}

function matchesAt(hay: Uint8Array, at: number, pattern: Uint8Array, from: number): boolean {
  for (let i = from; i < pattern.length; i++) {
    if (hay[at + i - from] !== pattern[i]) return false;
  }
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Header bytes as ISO-8859-1, the way Headers stores ByteStrings. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}
