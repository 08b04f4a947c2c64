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
 *
 * A RESULT is either a DIMSE status from the PACS or a `PacsFailure`: why
 * no status came (the edge maps it to 502, 503 or 504). The edge's RESET
 * cancels the operation (a C-CANCEL, or an A-ABORT mid-store).
 */
import type { Query } from "../query/model.ts";

export const PACS_ECHO = "pacs-echo";
export const PACS_FIND = "pacs-find";
export const PACS_STORE = "pacs-store";

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

const FAILURES: readonly PacsFailureKind[] = ["unknown-pacs", "rejected", "unreachable", "timeout", "bad-response", "bad-request"];

export function isPacsFailure(value: PacsResult | PacsFindResult | PacsStoreResult): value is PacsFailure {
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
