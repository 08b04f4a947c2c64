/**
 * The archive's side of a retrieve, through the tunnel: which instances a
 * C-GET / C-MOVE identifier names (`retrieve` stream) and each instance's
 * stored data set bytes (`fetch` stream). The contract is
 * shared/src/tunnel/retrieve.ts; the edge's side is edge/src/agents/retrieve.ts.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { Status } from "@dicom-edge/shared/dicom/status";
import { concat } from "@dicom-edge/shared/bytes";
import { TunnelError } from "@dicom-edge/shared/tunnel/errors";
import { type FetchHead, type FetchOutcome, type RetrieveItem, type RetrieveOutcome, type RetrievePlan } from "@dicom-edge/shared/tunnel/retrieve";
import { jsonLines } from "@dicom-edge/shared/tunnel/json-lines";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import type { EdgeLink } from "../store/forward.ts";

/** PS3.4 C.4.2.1.5 / C.4.3.1.4: Refused: Out of Resources - Unable to calculate number of matches. */
export const UNABLE_TO_CALCULATE_MATCHES = 0xa701;

export type Planned =
  | { kind: "plan"; plan: RetrievePlan; items: AsyncGenerator<RetrieveItem, RetrieveOutcome, undefined> }
  /** The edge refused the identifier, or could not be asked: the final response's status. */
  | { kind: "refused"; outcome: RetrieveOutcome };

export interface RetrieveRequest {
  model: "patient" | "study";
  identifier: DicomJson;
  callingAeTitle: string;
}

/**
 * Asks the edge which instances the identifier names. Resolves once the
 * plan (the count and the SOP Class / transfer syntax pairs) has arrived;
 * the items follow as the generator is read, so a large patient never sits
 * in memory whole. Returning from the generator early resets the stream.
 */
export async function planRetrieve(link: EdgeLink, request: RetrieveRequest): Promise<Planned> {
  let stream: TunnelStream;
  try {
    stream = link.open("retrieve", { model: request.model, callingAeTitle: request.callingAeTitle });
  } catch {
    return { kind: "refused", outcome: { status: UNABLE_TO_CALCULATE_MATCHES, errorComment: "edge unreachable" } };
  }
  const lines = jsonLines(stream.readable);
  try {
    await stream.write(new TextEncoder().encode(JSON.stringify(request.identifier)));
    await stream.end();
    const first = await lines.next();
    if (first.done) return { kind: "refused", outcome: outcomeOf(await stream.result()) };
    const plan = first.value as RetrievePlan;
    if (!Number.isInteger(plan?.count) || !Array.isArray(plan.contexts)) throw new Error("the edge sent no plan");
    return { kind: "plan", plan, items: items(stream, lines) };
  } catch (error) {
    // The edge may refuse before reading all we wrote: its answer is the one to give.
    if (error instanceof TunnelError && error.code === "stream-closed") {
      const answer = await stream.result().catch(() => undefined);
      if (answer !== undefined) return { kind: "refused", outcome: outcomeOf(answer) };
    }
    if (!stream.closed) stream.reset("agent-failed", error instanceof Error ? error.message : String(error));
    return { kind: "refused", outcome: { status: UNABLE_TO_CALCULATE_MATCHES, errorComment: "edge link lost during the query" } };
  }
}

async function* items(stream: TunnelStream, lines: AsyncGenerator<unknown>): AsyncGenerator<RetrieveItem, RetrieveOutcome, undefined> {
  try {
    for await (const line of lines) yield line as RetrieveItem;
    return outcomeOf(await stream.result());
  } catch (error) {
    // Cut off mid-list (link lost, a line that is not JSON): the retrieve cannot go on.
    return { status: Status.CannotUnderstand, errorComment: `instance list cut off: ${error instanceof Error ? error.message : String(error)}`.slice(0, 64) };
  } finally {
    if (!stream.closed) stream.reset("cancelled", "the retrieve was abandoned");
  }
}

function outcomeOf(result: unknown): RetrieveOutcome {
  const r = result as Partial<RetrieveOutcome> | undefined;
  if (typeof r?.status !== "number") return { status: Status.CannotUnderstand, errorComment: "edge answered without a status" };
  return typeof r.errorComment === "string" ? { status: r.status, errorComment: r.errorComment } : { status: r.status };
}

/** The fetch failed: the edge's answer, a short read, or a lost link. */
export class FetchError extends Error {
  constructor(
    message: string,
    readonly outcome: FetchOutcome,
  ) {
    super(message);
    this.name = "FetchError";
  }
}

/**
 * One instance's stored data set bytes, streamed as the edge reads them
 * from R2 (the tunnel's credit is the backpressure). The iteration throws
 * a FetchError, rather than ending, when the edge reports a failure or
 * the bytes fall short of the announced size: a C-STORE-RQ must never
 * carry a truncated data set as if it were whole.
 *
 * The stream opens at once, so a caller that asks for the next instance
 * while sending this one overlaps the edge's latency with the send; only
 * one window of credit is buffered meanwhile.
 */
export interface Fetch {
  chunks: AsyncGenerator<Uint8Array, void, undefined>;
  /**
   * The syntax the bytes are in: the item's, or the one the edge announced
   * for an item without one (set before the first chunk is yielded).
   */
  transferSyntax: string | undefined;
  /** Gives up on it, read or not: the edge stops sending. */
  cancel(): void;
}

export function fetchDataset(link: EdgeLink, item: RetrieveItem): Fetch {
  let stream: TunnelStream | undefined;
  let openError: unknown;
  const announced = item.transferSyntax === undefined;
  try {
    stream = link.open("fetch", { study: item.study, series: item.series, sop: item.sop, ...(announced ? { announceSyntax: true } : {}) });
    void stream.end().catch(() => undefined);
  } catch (error) {
    openError = error;
  }
  const fetch: Fetch = {
    chunks: undefined!,
    transferSyntax: item.transferSyntax,
    cancel: () => stream?.reset("cancelled", "the fetch was abandoned"),
  };
  fetch.chunks = (async function* () {
    if (!stream) throw new FetchError(`edge unreachable: ${String(openError)}`, { status: Status.OutOfResources, errorComment: "edge unreachable" });
    let received = 0;
    try {
      const source = announced ? afterHead(stream.readable, (head) => (fetch.transferSyntax = head.transferSyntax)) : stream.readable;
      for await (const chunk of source) {
        received += chunk.byteLength;
        yield chunk;
      }
      const outcome = outcomeOf(await stream.result());
      if (outcome.status !== Status.Success) throw new FetchError(`edge: ${outcome.errorComment ?? outcome.status}`, outcome);
      if (announced && fetch.transferSyntax === undefined) throw new FetchError("edge sent no transfer syntax", { status: Status.ProcessingFailure, errorComment: "instance syntax not announced" });
      if (item.size !== undefined && received !== item.size) {
        throw new FetchError(`edge sent ${received} of ${item.size} bytes`, { status: Status.ProcessingFailure, errorComment: "instance bytes incomplete" });
      }
    } catch (error) {
      if (error instanceof FetchError) throw error;
      throw new FetchError(`edge link lost: ${error instanceof Error ? error.message : String(error)}`, {
        status: Status.OutOfResources,
        errorComment: "edge link lost during the transfer",
      });
    } finally {
      if (!stream.closed) stream.reset("cancelled", "the fetch was abandoned");
    }
  })();
  return fetch;
}

function badHead(why: string): FetchError {
  return new FetchError(`the edge's fetch head line: ${why}`, { status: Status.ProcessingFailure, errorComment: "instance syntax not announced" });
}

/** PS3.5 Table 6.2-1: a UI value is at most 64 characters; the head line is that and a little JSON. */
const MAX_HEAD_BYTES = 256;

/** The bytes after the `FetchHead` line that opens an announced fetch; `onHead` gets it before the first of them. */
export async function* afterHead(chunks: AsyncIterable<Uint8Array>, onHead: (head: FetchHead) => void): AsyncGenerator<Uint8Array> {
  let held: Uint8Array = new Uint8Array(0);
  let headed = false;
  for await (const chunk of chunks) {
    if (headed) {
      yield chunk;
      continue;
    }
    held = concat([held, chunk]);
    const newline = held.indexOf(0x0a);
    if (newline < 0) {
      if (held.byteLength > MAX_HEAD_BYTES) throw badHead("too long");
      continue;
    }
    let head: Partial<FetchHead> | null;
    try {
      head = JSON.parse(new TextDecoder().decode(held.subarray(0, newline))) as Partial<FetchHead> | null;
    } catch {
      throw badHead("not JSON");
    }
    if (typeof head?.transferSyntax !== "string" || !/^[0-9.]{1,64}$/.test(head.transferSyntax)) throw badHead("no transfer syntax");
    onHead(head as FetchHead);
    headed = true;
    if (newline + 1 < held.byteLength) yield held.subarray(newline + 1);
  }
}
