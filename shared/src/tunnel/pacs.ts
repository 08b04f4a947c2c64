/**
 * The PACS streams of the tunnel: the edge's DIMSE backend (BACKEND=dimse)
 * asks a connected agent to act as a DIMSE SCU toward a hospital PACS of
 * its AE table. The edge opens each stream; both sides import these
 * shapes, so the contract is written once.
 *
 * - `pacs-echo`: OPEN meta `PacsEchoMeta`, END. The agent sends a C-ECHO
 *   (PS3.7 9.1.5) on a new association and answers RESULT `PacsResult`.
 * - `pacs-find`: OPEN meta `PacsFindMeta` (the one query engine's Query),
 *   END. The agent sends the C-FIND (PS3.4 C.4.1) its identifier becomes
 *   and writes one line of DICOM JSON per pending response (json-lines.ts:
 *   its identifier, Query/Retrieve Level removed),
 *   at most `query.limit` of them past the first `query.offset`, then RESULT
 *   `PacsFindResult`; `truncated` says the PACS had more.
 * - `pacs-store`: OPEN meta `PacsStoreMeta`, DATA the instance's Part-10
 *   bytes, END. The agent sends them as one C-STORE-RQ (PS3.4 B.2) in the
 *   instance's own SOP Class and transfer syntax, and answers RESULT
 *   `PacsStoreResult` with the PACS's status.
 * - `pacs-get`: OPEN meta `PacsGetMeta`, END. The agent sends a C-GET
 *   (PS3.4 C.4.3) for the study, series or instance (or a C-MOVE to
 *   itself, C.4.2, for a PACS without C-GET: its AE table says which) and
 *   writes each instance the PACS sends back as a Part-10 object framed by
 *   `encodeGetInstance` / `encodeGetChunk` / `GET_INSTANCE_END`
 *   (`GetFrameDecoder` splits them again), then RESULT `PacsGetResult`:
 *   the final C-GET-RSP (C-MOVE-RSP) status and its sub-operation counts. The edge's
 *   Durable Object passes the framed bytes on to the Worker unchanged and
 *   appends that RESULT as `encodeGetResult`, one last JSON line.
 *
 * A RESULT is either a DIMSE status from the PACS or a `PacsFailure`: why
 * no status came (the edge maps it to 502, 503 or 504). The edge's RESET
 * cancels the operation (a C-CANCEL, or an A-ABORT mid-store).
 */
import type { Query } from "../query/model.ts";

export const PACS_ECHO = "pacs-echo";
export const PACS_FIND = "pacs-find";
export const PACS_STORE = "pacs-store";
export const PACS_GET = "pacs-get";

interface PacsMeta {
  /** An AE title of the agent's AE table: where the association goes. */
  pacs: string;
  /** Bounds each wait on the PACS: connect, A-ASSOCIATE-AC, every response, ms. */
  timeoutMs: number;
}

export interface PacsEchoMeta extends PacsMeta {
  kind: typeof PACS_ECHO;
}

export interface PacsFindMeta extends PacsMeta {
  kind: typeof PACS_FIND;
  query: Query;
}

export interface PacsStoreMeta extends PacsMeta {
  kind: typeof PACS_STORE;
  /** PS3.18 10.5.1: STOW-RS to a study's URL stores only instances of that study. */
  study?: string;
}

export interface PacsGetMeta extends PacsMeta {
  kind: typeof PACS_GET;
  study: string;
  series?: string;
  /** Set only with `series`: PS3.4 C.4.3.1.3 keys each level below by the ones above. */
  sop?: string;
}

export type PacsFailureKind =
  /** The AE title is not in the agent's AE table (a setting to fix: 503). */
  | "unknown-pacs"
  /** A-ASSOCIATE-RJ (PS3.8 9.3.4), or no presentation context accepted (502). */
  | "rejected"
  /** No connection, a TLS failure, an A-ABORT or a broken association (502). */
  | "unreachable"
  /** The PACS did not answer within `timeoutMs` (504). */
  | "timeout"
  /** The PACS answered with something that is not DIMSE as PS3.7 has it: an unreadable identifier (502). */
  | "bad-response"
  /** The request cannot be sent as DIMSE: a key no identifier can carry (the edge's 400), a malformed meta. */
  | "bad-request";

export interface PacsFailure {
  failure: PacsFailureKind;
  message: string;
}

/** A DIMSE response status from the PACS (PS3.7 Annex C) and its Error Comment. */
export interface PacsStatus {
  status: number;
  errorComment?: string;
}

export type PacsResult = PacsStatus | PacsFailure;

export type PacsFindResult = (PacsStatus & { truncated: boolean }) | PacsFailure;

export type PacsStoreResult =
  | (PacsStatus & {
      /** The instance as its header names it, for the StoreOutcome. */
      study?: string;
      series?: string;
      sop?: string;
      sopClass?: string;
    })
  | PacsFailure;

export type PacsGetResult =
  | (PacsStatus & {
      /** PS3.7 9.3.3.2: Number of Completed / Failed / Warning Sub-operations of the final C-GET-RSP. */
      completed: number;
      failed: number;
      warning: number;
    })
  | PacsFailure;

const FAILURES: readonly PacsFailureKind[] = ["unknown-pacs", "rejected", "unreachable", "timeout", "bad-response", "bad-request"];

export function isPacsFailure(value: PacsResult | PacsFindResult | PacsStoreResult | PacsGetResult): value is PacsFailure {
  return "failure" in value;
}

/** A RESULT as the edge reads it: a status or a failure, or undefined when it is neither. Pure. */
export function parsePacsResult(value: unknown): PacsResult | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.failure === "string") {
    if (!(FAILURES as readonly string[]).includes(r.failure)) return undefined;
    return { failure: r.failure as PacsFailureKind, message: typeof r.message === "string" ? r.message : r.failure };
  }
  if (typeof r.status !== "number" || !Number.isInteger(r.status) || r.status < 0 || r.status > 0xffff) return undefined;
  return { status: r.status, ...(typeof r.errorComment === "string" ? { errorComment: r.errorComment } : {}) };
}

/** A `pacs-find` RESULT: `parsePacsResult` plus `truncated`. Pure. */
export function parsePacsFindResult(value: unknown): PacsFindResult | undefined {
  const result = parsePacsResult(value);
  if (!result || isPacsFailure(result)) return result;
  return { ...result, truncated: (value as Record<string, unknown>).truncated === true };
}

/** A `pacs-store` RESULT: `parsePacsResult` plus the UIDs that name the instance. Pure. */
export function parsePacsStoreResult(value: unknown): PacsStoreResult | undefined {
  const result = parsePacsResult(value);
  if (!result || isPacsFailure(result)) return result;
  const r = value as Record<string, unknown>;
  const named: Record<string, string> = {};
  for (const key of ["study", "series", "sop", "sopClass"] as const) if (typeof r[key] === "string") named[key] = r[key] as string;
  return { ...result, ...named };
}

/** A `pacs-get` RESULT: `parsePacsResult` plus the sub-operation counts (0 when absent). Pure. */
export function parsePacsGetResult(value: unknown): PacsGetResult | undefined {
  const result = parsePacsResult(value);
  if (!result || isPacsFailure(result)) return result;
  const r = value as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0);
  return { ...result, completed: count(r.completed), failed: count(r.failed), warning: count(r.warning) };
}

// ------------------------------------------------------------ pacs-get framing

/** What precedes each instance of a `pacs-get` stream: how the edge labels its part (PS3.18 8.7.3.5.2). */
export interface GetInstanceHeader {
  sopClass: string;
  sop: string;
  transferSyntax: string;
}

/**
 * The framing of a `pacs-get` stream, per instance: the header as one JSON
 * line, then chunks each prefixed by its length (uint32, big endian), then
 * a zero length as the end marker. DATA frame boundaries are not frame
 * boundaries: the decoder takes bytes as they come.
 */
export const GET_INSTANCE_END = new Uint8Array(4);
/** Bounds what the decoder accepts, so a confused agent cannot make the edge hold more. */
export const MAX_GET_HEADER_BYTES = 4096;
export const MAX_GET_CHUNK_BYTES = 16 << 20;

const utf8 = new TextEncoder();

export function encodeGetInstance(header: GetInstanceHeader): Uint8Array {
  return utf8.encode(`${JSON.stringify({ sopClass: header.sopClass, sop: header.sop, transferSyntax: header.transferSyntax })}\n`);
}

/** The length prefix and the chunk, as one frame; an empty chunk would read as the end marker, so it is refused. */
export function encodeGetChunk(chunk: Uint8Array): Uint8Array {
  if (chunk.byteLength === 0 || chunk.byteLength > MAX_GET_CHUNK_BYTES) throw new RangeError(`a pacs-get chunk holds 1 to ${MAX_GET_CHUNK_BYTES} bytes`);
  const out = new Uint8Array(4 + chunk.byteLength);
  new DataView(out.buffer).setUint32(0, chunk.byteLength);
  out.set(chunk, 4);
  return out;
}

/** The stream's RESULT after the last instance, as the edge's Durable Object hands the stream to the Worker. */
export function encodeGetResult(result: unknown): Uint8Array {
  return utf8.encode(`${JSON.stringify({ result })}\n`);
}

export type GetFrame =
  | { type: "instance"; header: GetInstanceHeader }
  | { type: "data"; bytes: Uint8Array }
  | { type: "end" }
  | { type: "result"; result: unknown };

/** A `pacs-get` stream that breaks the framing; the edge resets the stream. */
export class GetFramingError extends Error {
  readonly code = "ERR_PACS_GET_FRAMING";
  constructor(message: string) {
    super(message);
    this.name = "GetFramingError";
  }
}

/**
 * Splits a `pacs-get` stream back into frames. Pure and incremental: `push`
 * takes bytes as they arrive and returns the frames they complete; data is
 * passed on as it arrives (a chunk split across pushes comes out in
 * pieces, sliced, not copied). `finish` throws when the stream stopped
 * inside an instance.
 */
export class GetFrameDecoder {
  private state: "header" | "length" | "data" | "after-result" = "header";
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private remaining = 0;

  push(bytes: Uint8Array): GetFrame[] {
    const frames: GetFrame[] = [];
    let offset = 0;
    while (offset < bytes.byteLength) {
      switch (this.state) {
        case "header": {
          const newline = bytes.indexOf(0x0a, offset);
          const end = newline < 0 ? bytes.byteLength : newline;
          if (this.pendingLength + end - offset > MAX_GET_HEADER_BYTES) throw new GetFramingError(`a pacs-get instance header longer than ${MAX_GET_HEADER_BYTES} bytes`);
          this.keep(bytes.subarray(offset, end));
          offset = end;
          if (newline < 0) break;
          offset++;
          const frame = parseLine(this.take());
          frames.push(frame);
          this.state = frame.type === "result" ? "after-result" : "length";
          break;
        }
        case "length": {
          const needed = 4 - this.pendingLength;
          this.keep(bytes.subarray(offset, offset + needed));
          offset = Math.min(bytes.byteLength, offset + needed);
          if (this.pendingLength < 4) break;
          const prefix = this.take();
          const length = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0);
          if (length > MAX_GET_CHUNK_BYTES) throw new GetFramingError(`a pacs-get chunk of ${length} bytes`);
          if (length === 0) {
            frames.push({ type: "end" });
            this.state = "header";
          } else {
            this.remaining = length;
            this.state = "data";
          }
          break;
        }
        case "data": {
          const n = Math.min(this.remaining, bytes.byteLength - offset);
          frames.push({ type: "data", bytes: bytes.subarray(offset, offset + n) });
          offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = "length";
          break;
        }
        case "after-result":
          throw new GetFramingError("bytes after the pacs-get RESULT");
      }
    }
    return frames;
  }

  /** The stream ended: only between instances (or after the RESULT) is that its end. */
  finish(): void {
    if (this.state === "length" || this.state === "data" || this.pendingLength > 0) throw new GetFramingError("the pacs-get stream ended inside an instance");
  }

  private keep(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.pending.push(bytes);
    this.pendingLength += bytes.byteLength;
  }

  private take(): Uint8Array {
    const out = new Uint8Array(this.pendingLength);
    let at = 0;
    for (const part of this.pending) {
      out.set(part, at);
      at += part.byteLength;
    }
    this.pending = [];
    this.pendingLength = 0;
    return out;
  }
}

function parseLine(bytes: Uint8Array): GetFrame {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new GetFramingError("a pacs-get line that is not JSON");
  }
  const h = value as Record<string, unknown> | null;
  if (typeof h === "object" && h !== null && "result" in h) return { type: "result", result: h.result };
  const uid = (v: unknown) => typeof v === "string" && /^[0-9.]{1,64}$/.test(v);
  if (typeof h !== "object" || h === null || !uid(h.sopClass) || !uid(h.sop) || !uid(h.transferSyntax)) {
    throw new GetFramingError("a pacs-get line that is neither an instance header (sopClass, sop, transferSyntax UIDs) nor the RESULT");
  }
  return { type: "instance", header: { sopClass: h.sopClass as string, sop: h.sop as string, transferSyntax: h.transferSyntax as string } };
}
