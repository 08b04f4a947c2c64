import { coalesce } from "@dicom-edge/shared/bytes";
import { Status } from "@dicom-edge/shared/dicom/status";
import { TunnelError } from "@dicom-edge/shared/tunnel/errors";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";

/** What the agent answers a C-STORE with (PS3.4 B.2.3). */
export interface StoreStatus {
  status: number;
  errorComment?: string;
}

/** Something that opens streams to the edge (the tunnel client). */
export interface EdgeLink {
  open(kind: string, meta?: Record<string, unknown>): TunnelStream;
}

/**
 * Carries one instance to the edge and returns the edge's answer, which
 * comes only once the instance is durable in R2 and D1. A tunnel that is
 * down or breaks mid-way is "Refused: Out of Resources" (A700): nothing was
 * stored, and the sender may try again.
 */
export async function forwardToEdge(link: EdgeLink, meta: Record<string, unknown>, chunks: AsyncIterable<Uint8Array>): Promise<StoreStatus> {
  let stream: TunnelStream;
  try {
    stream = link.open("store", meta);
  } catch {
    return { status: Status.OutOfResources, errorComment: "edge unreachable" };
  }
  try {
    for await (const chunk of coalesce(chunks, FRAME_BYTES)) await stream.write(chunk);
    await stream.end();
    const result = (await stream.result()) as StoreStatus;
    return typeof result?.status === "number" ? result : { status: Status.ProcessingFailure, errorComment: "edge answered without a status" };
  } catch (error) {
    // The edge may answer before it has read everything (a failure status):
    // the stream then closes for writing, and its answer is the one to give.
    if (error instanceof TunnelError && error.code === "stream-closed") {
      const answer = (await stream.result().catch(() => undefined)) as StoreStatus | undefined;
      if (typeof answer?.status === "number") return answer;
    }
    stream.reset("agent-failed", error instanceof Error ? error.message : String(error));
    return { status: Status.OutOfResources, errorComment: "edge link lost during the transfer" };
  }
}

/**
 * DIMSE delivers a dataset in PDV fragments of at most the negotiated PDU
 * size (often 16 KiB); each would be one WebSocket message, and one wake of
 * the edge's Durable Object. Joined to 256 KiB they cost a sixteenth of that.
 */
const FRAME_BYTES = 256 * 1024;

/** The instance, as the agent sends it: File Meta Information, then the dataset bytes unchanged. */
export async function* part10(meta: Uint8Array, dataset: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield meta;
  yield* dataset;
}
