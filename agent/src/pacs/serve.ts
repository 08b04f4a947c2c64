/**
 * The PACS streams the edge opens on the agent's tunnel for its DIMSE
 * backend (contract: shared/src/tunnel/pacs.ts): each one an operation
 * this agent performs as an SCU toward a PACS of its AE table.
 */
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import {
  PACS_ECHO,
  PACS_FIND,
  PACS_GET,
  PACS_STORE,
  type PacsFailure,
  type PacsFindResult,
  type PacsGetResult,
  type PacsResult,
  type PacsStoreResult,
} from "@dicom-edge/shared/tunnel/pacs";
import type { Query } from "@dicom-edge/shared/query/model";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { PacsError, type PacsSettings } from "./association.ts";
import { pacsEcho } from "./echo.ts";
import { pacsFind } from "./find.ts";
import { pacsGet } from "./get.ts";
import { pacsMove } from "./move.ts";
import { pacsStore } from "./store.ts";

export type { PacsSettings } from "./association.ts";

/** The edge's timeout arrives with each stream; this bounds a confused one. */
const MAX_TIMEOUT_MS = 10 * 60_000;

export function isPacsKind(kind: string): boolean {
  return kind === PACS_ECHO || kind === PACS_FIND || kind === PACS_STORE || kind === PACS_GET;
}

/** Serves one `pacs-*` stream to its RESULT; the edge's RESET cancels it. */
export async function servePacs(stream: TunnelStream, meta: OpenMeta, settings: PacsSettings): Promise<void> {
  const cancel = new AbortController();
  // RESULT from us or RESET from the edge: either way the stream is over, and anything still running stops.
  stream.result().catch(() => cancel.abort());
  let result: PacsResult | PacsFindResult | PacsStoreResult | PacsGetResult;
  try {
    result = await perform(stream, meta, settings, cancel.signal);
  } catch (error) {
    result = error instanceof PacsError ? error.failure : { failure: "unreachable", message: error instanceof Error ? error.message : String(error) };
  }
  if (cancel.signal.aborted || stream.closed) return;
  if ("failure" in result) settings.log?.(`${meta.kind} ${String(meta.pacs)}: ${result.failure}: ${result.message}`);
  stream.sendResult(result);
}

async function perform(stream: TunnelStream, meta: OpenMeta, settings: PacsSettings, signal: AbortSignal): Promise<PacsResult | PacsFindResult | PacsStoreResult | PacsGetResult> {
  const pacs = typeof meta.pacs === "string" ? meta.pacs.trim() : undefined;
  const timeoutMs = typeof meta.timeoutMs === "number" && meta.timeoutMs > 0 ? Math.min(meta.timeoutMs, MAX_TIMEOUT_MS) : undefined;
  if (!pacs || timeoutMs === undefined) return badRequest(`${meta.kind} needs an AE title (pacs) and a timeout (timeoutMs)`);
  switch (meta.kind) {
    case PACS_ECHO:
      return pacsEcho(settings, { pacs, timeoutMs });
    case PACS_FIND: {
      const query = meta.query as Query | undefined;
      if (typeof query !== "object" || query === null || !Array.isArray(query.matches) || typeof query.level !== "string") return badRequest("pacs-find without a query");
      return pacsFind(settings, { pacs, timeoutMs, query: { ...query, offset: typeof query.offset === "number" ? query.offset : 0 } }, (line) => stream.write(line), signal);
    }
    case PACS_STORE:
      return pacsStore(settings, { pacs, timeoutMs, ...(typeof meta.study === "string" ? { study: meta.study } : {}) }, stream.readable);
    case PACS_GET: {
      const uid = (value: unknown) => typeof value === "string" && /^[0-9.]{1,64}$/.test(value);
      if (!uid(meta.study) || (meta.series !== undefined && !uid(meta.series)) || (meta.sop !== undefined && (!uid(meta.sop) || meta.series === undefined))) {
        return badRequest("pacs-get needs a study UID, maybe a series UID and, with it, a SOP Instance UID");
      }
      const scope = { study: meta.study as string, ...(meta.series ? { series: meta.series as string } : {}), ...(meta.sop ? { sop: meta.sop as string } : {}) };
      const retrieve = settings.destination(pacs)?.retrieve === "move" ? pacsMove : pacsGet;
      return retrieve(settings, { pacs, timeoutMs, ...scope }, (bytes) => stream.write(bytes), signal);
    }
    default:
      return badRequest(`no PACS operation ${meta.kind}`);
  }
}

function badRequest(message: string): PacsFailure {
  return { failure: "bad-request", message };
}
