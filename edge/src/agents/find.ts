/**
 * C-FIND at the agent (PS3.4 C.4.1, PS3.7 9.1.2), answered by the archive
 * with the one query engine QIDO-RS uses.
 *
 * The `find` tunnel stream (the agent opens it): OPEN meta
 * `{ kind: "find", model?: "patient" | "study", level?, callingAeTitle }`,
 * then DATA = the request identifier as DICOM JSON (UTF-8), then END. The
 * edge answers one DATA line of DICOM JSON per match (newline-delimited; the
 * agent sends each as a pending C-FIND-RSP), then RESULT
 * `{ status, errorComment? }`, the final response's status. The agent's
 * RESET (its peer's C-CANCEL, PS3.7 9.3.2.3) stops the search.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { Status } from "@dicom-edge/shared/dicom/status";
import { parseCFindIdentifier } from "@dicom-edge/shared/query/c-find";
import { isQueryError, type Level, type Query } from "@dicom-edge/shared/query/model";
import { returnAttributes } from "@dicom-edge/shared/query/return-keys";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import type { Backend, SearchMatch } from "../backends/backend";
import type { DimseOutcome } from "./operations";

/** The OPEN meta of a `find` stream. */
export interface FindMeta {
  /** The information model of the presentation context: Patient Root (C.6.1) or Study Root (C.6.2). */
  model?: "patient" | "study";
  /** Query/Retrieve Level as the agent read it, for logs; the identifier's own value decides. */
  level?: string;
  callingAeTitle?: string;
}

// PS3.4 C.4.1.1.4: the C-FIND failures share their codes with C-STORE's (B.2.3).
/** Error: Identifier does not match SOP Class. */
const IDENTIFIER_DOES_NOT_MATCH = Status.DataSetDoesNotMatchSOPClass;
/** Failed: Unable to process. */
const UNABLE_TO_PROCESS = Status.CannotUnderstand;

/** Rows read from the index per statement: memory stays bounded whatever the result size. */
export const FIND_PAGE = 500;
/** A request identifier is a few hundred bytes; this bounds what a confused agent can make us buffer. */
const MAX_IDENTIFIER_BYTES = 1024 * 1024;

const QUERY_RETRIEVE_LEVEL = "00080052";
const SPECIFIC_CHARACTER_SET = "00080005";
const SOP_CLASS_UID = "00080016";
const SOP_INSTANCE_UID = "00080018";
const LEVEL_NAMES: Record<Level, string> = { patient: "PATIENT", study: "STUDY", series: "SERIES", instance: "IMAGE" };

const encoder = new TextEncoder();

/**
 * Runs the search of one `find` stream, writing each match as it is read
 * (the stream's credit is the backpressure). Returns the final status, or
 * undefined when the agent reset the stream (C-CANCEL): nothing is left to
 * answer.
 */
export async function findOutcome(backend: Backend, stream: TunnelStream, meta: FindMeta, options: { pageSize?: number } = {}): Promise<DimseOutcome | undefined> {
  const pageSize = options.pageSize ?? FIND_PAGE;
  const read = await readIdentifier(stream);
  if (read.kind === "cancelled") return undefined;
  if (read.kind === "unusable") return { status: UNABLE_TO_PROCESS, errorComment: read.reason };

  const query = parseCFindIdentifier(read.identifier);
  if (isQueryError(query)) return { status: IDENTIFIER_DOES_NOT_MATCH, errorComment: query.reason.slice(0, 64) };
  // PS3.4 C.6.2.1: the Study Root model has no PATIENT level.
  if (meta.model === "study" && query.level === "patient") {
    return { status: IDENTIFIER_DOES_NOT_MATCH, errorComment: "Study Root has no PATIENT level (PS3.4 C.6.2.1)" };
  }

  for (let offset = 0; ; offset += pageSize) {
    if (stream.closed) return undefined;
    const page = await backend.search({ ...query, limit: pageSize, offset });
    if (isQueryError(page)) return { status: IDENTIFIER_DOES_NOT_MATCH, errorComment: page.reason.slice(0, 64) };
    for (const match of page.matches) {
      try {
        await stream.write(encoder.encode(`${JSON.stringify(responseIdentifier(match, query))}\n`));
      } catch {
        // Reset by the agent (C-CANCEL) or the tunnel went away: no one is left to answer.
        return undefined;
      }
    }
    if (!page.truncated) return { status: Status.Success };
  }
}

/**
 * A pending response's identifier (PS3.4 C.4.1.1.3.2): the keys of the
 * request with this match's values (empty where it has none), the
 * Query/Retrieve Level, and the Specific Character Set the values came
 * with; at IMAGE level the SOP Class and Instance UIDs as well.
 */
export function responseIdentifier(match: SearchMatch, query: Query): DicomJson {
  const always = [QUERY_RETRIEVE_LEVEL, SPECIFIC_CHARACTER_SET];
  if (query.level === "instance") always.push(SOP_CLASS_UID, SOP_INSTANCE_UID);
  const dataset: DicomJson = { ...match.dataset, [QUERY_RETRIEVE_LEVEL]: { vr: "CS", Value: [LEVEL_NAMES[query.level]] } };
  return returnAttributes(dataset, query, always);
}

export type ReadIdentifier = { kind: "identifier"; identifier: DicomJson } | { kind: "unusable"; reason: string } | { kind: "cancelled" };

/**
 * The identifier the agent sent, up to its END: shared by every stream that
 * carries one (`find`, `retrieve`). "cancelled" when the agent reset the
 * stream meanwhile, "unusable" when it is not a bounded DICOM JSON object.
 */
export async function readIdentifier(stream: TunnelStream): Promise<ReadIdentifier> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of stream.readable) {
      length += chunk.length;
      if (length > MAX_IDENTIFIER_BYTES) return { kind: "unusable", reason: `identifier beyond ${MAX_IDENTIFIER_BYTES} bytes` };
      chunks.push(chunk);
    }
  } catch {
    return { kind: "cancelled" };
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { kind: "unusable", reason: "identifier is not DICOM JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { kind: "unusable", reason: "identifier is not a DICOM JSON object" };
  return { kind: "identifier", identifier: parsed as DicomJson };
}
