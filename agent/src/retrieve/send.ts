/**
 * The edge's SEND (the `send` tunnel stream, shared/src/tunnel/retrieve.ts):
 * a C-MOVE the edge asks for, of a study, series or instances, to an AE of
 * the agent's table. The agent performs it exactly as a C-MOVE from a
 * workstation, and reports each sub-operation as it finishes.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { jsonLine } from "@dicom-edge/shared/tunnel/json-lines";
import type { TunnelIdentity } from "@dicom-edge/shared/tunnel/identity";
import type { SendMeta, SendOutcome, SendProgress } from "@dicom-edge/shared/tunnel/retrieve";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import type { RetrieveService } from "../dimse/c-get-move.ts";
import { withIdentity } from "../identity/identity.ts";
import { planRetrieve } from "./edge-source.ts";
import { moveInstances } from "./move.ts";
import { RetrieveStatus, finalStatus } from "./sub-operations.ts";

const SEND_IDENTITY: TunnelIdentity = { kind: "agent", subject: "SEND from the edge", scopes: ["read"] };

/** Serves one `send` stream to its RESULT; the edge's RESET cancels it. */
export async function serveSend(stream: TunnelStream, meta: Partial<SendMeta>, service: RetrieveService): Promise<void> {
  const result = await send(stream, meta, service);
  if (!stream.closed) stream.sendResult(result);
}

async function send(stream: TunnelStream, meta: Partial<SendMeta>, service: RetrieveService): Promise<SendOutcome> {
  const none = { completed: 0, failed: 0, warning: 0 };
  const destination = typeof meta.destination === "string" ? service.destination(meta.destination.trim()) : undefined;
  if (!destination) {
    return { status: RetrieveStatus.MoveDestinationUnknown, ...none, errorComment: `${String(meta.destination)} is not in the agent's AE table` };
  }
  if (typeof meta.identifier !== "object" || meta.identifier === null) {
    return { status: RetrieveStatus.IdentifierDoesNotMatchSOPClass, ...none, errorComment: "send without an identifier" };
  }
  // The edge asked for this SEND after checking its caller's read scope; the agent's own streams for it say so.
  const link = withIdentity(service.link, SEND_IDENTITY);
  const planned = await planRetrieve(link, { model: "study", identifier: meta.identifier as DicomJson, callingAeTitle: service.aeTitle });
  if (planned.kind === "refused") return { status: planned.outcome.status, ...none, ...(planned.outcome.errorComment ? { errorComment: planned.outcome.errorComment } : {}) };

  // The edge cancels by resetting the stream; a progress line that cannot be written says so.
  const cancel = new AbortController();
  const run = await moveInstances({ ...service, link }, {
    destination,
    plan: planned.plan,
    items: planned.items,
    signal: cancel.signal,
    progress: async (_counts, item, result) => {
      const line: SendProgress = { sop: item.sop, sopClass: item.sopClass, status: result.status, ...(result.errorComment ? { errorComment: result.errorComment } : {}) };
      await stream.write(jsonLine(line)).catch(() => cancel.abort());
    },
  }).finally(() => planned.items.return({ status: 0 }));
  const comment = run.errorComment ?? run.listingFailed?.errorComment ?? run.broken;
  return {
    status: finalStatus(run),
    completed: run.counts.completed,
    failed: run.counts.failed,
    warning: run.counts.warning,
    ...(comment ? { errorComment: comment } : {}),
  };
}
