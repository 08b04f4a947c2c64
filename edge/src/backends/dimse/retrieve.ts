import { frames } from "../../archive/r2/frames";
import { Status } from "@dicom-edge/shared/dicom/status";
import { GetFrameDecoder, GetFramingError, PACS_GET, isPacsFailure, parsePacsGetResult, type GetFrame, type GetInstanceHeader } from "@dicom-edge/shared/tunnel/pacs";
import type { RetrievedInstance } from "../../dicomweb/wado/retrieve-streamed";
import { BackendUnavailable, type Scope } from "../backend";
import { statusText, unavailableFor } from "./failures";
import type { AgentPacsLink } from "./link";

/** PS3.4 C.4.3.1.4: Sub-operations terminated due to Cancel; B000: some sub-operations failed. */
const CANCEL = 0xfe00;
const WARNING = 0xb000;

/**
 * WADO-RS retrieve as a C-GET at the PACS (PS3.4 C.4.3) through the agent:
 * the `pacs-get` stream's instances as they come, or undefined when the
 * PACS has none. A RESULT without instances that is a failure becomes
 * BackendUnavailable (502/503/504) before any byte is sent; one after
 * instances errors the instance stream (its response is under way).
 */
export async function pacsRetrieve(link: AgentPacsLink, scope: Scope): Promise<AsyncGenerator<RetrievedInstance> | undefined> {
  const meta = {
    kind: PACS_GET,
    study: scope.study,
    ...(scope.series !== undefined ? { series: scope.series } : {}),
    ...(scope.instance !== undefined ? { sop: scope.instance } : {}),
  };
  const frames = new Frames(await link.get(meta), link.config.agent);
  const first = await frames.next();
  if (first.type === "result") {
    outcome(first.result, 0, link);
    return undefined;
  }
  if (first.type !== "instance") throw await frames.broken("an instance before its header");
  return instances(first.header, frames, link);
}

async function* instances(first: GetInstanceHeader, frames: Frames, link: AgentPacsLink): AsyncGenerator<RetrievedInstance> {
  let header = first;
  let finished = false;
  try {
    for (let count = 1; ; count++) {
      let read!: (complete: boolean) => void;
      const done = new Promise<boolean>((resolve) => (read = resolve));
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const frame = await frames.next();
            if (frame.type === "data") controller.enqueue(frame.bytes);
            else if (frame.type === "end") {
              controller.close();
              read(true);
            } else throw await frames.broken("an instance that does not end");
          } catch (error) {
            controller.error(error);
            read(false);
          }
        },
        cancel() {
          read(false);
        },
      });
      yield { ...header, body };
      if (!(await done)) return;
      const next = await frames.next();
      if (next.type === "result") {
        finished = true;
        outcome(next.result, count, link);
        return;
      }
      if (next.type !== "instance") throw await frames.broken("data between instances");
      header = next.header;
    }
  } finally {
    if (!finished) await frames.cancel();
  }
}

/** Whether a RESULT may end the retrieve: throws for a failure, and for a failed C-GET that sent nothing. */
function outcome(value: unknown, instances: number, link: AgentPacsLink): void {
  const pacs = link.config.pacs;
  const result = parsePacsGetResult(value);
  if (!result) throw new BackendUnavailable(502, `agent ${link.config.agent} ended the C-GET without a status`);
  if (isPacsFailure(result)) throw unavailableFor(result);
  if (instances > 0 || result.status === Status.Success || result.status === CANCEL) return;
  // PS3.4 C.4.3.1.4: B000 with nothing sent means every sub-operation failed; A7xx/A9xx/Cxxx refused the C-GET.
  const kind = result.status === WARNING ? "sent none of the instances" : "refused the C-GET";
  throw new BackendUnavailable(502, `${pacs} ${kind}: ${statusText(result.status, result.errorComment)} (${result.failed} failed)`);
}

/**
 * The Durable Object's body read in pieces of this size: it arrives in the
 * small chunks of the pipe between the two (as R2 bodies do), and each
 * chunk would otherwise be a round of JavaScript through the decoder.
 */
const BODY_PIECE = 256 * 1024;

/** The Durable Object's body as frames, one at a time, read as they are asked for. */
class Frames {
  private readonly pieces: AsyncGenerator<Uint8Array, void, undefined>;
  private readonly decoder = new GetFrameDecoder();
  private queue: GetFrame[] = [];

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly agent: string,
  ) {
    this.pieces = frames(body, BODY_PIECE);
  }

  async next(): Promise<GetFrame> {
    while (this.queue.length === 0) {
      let chunk: IteratorResult<Uint8Array, void>;
      try {
        chunk = await this.pieces.next();
      } catch (error) {
        throw new BackendUnavailable(502, error instanceof Error ? error.message : String(error));
      }
      if (chunk.done) throw await this.broken("the retrieve ended without its RESULT");
      try {
        this.queue = this.decoder.push(chunk.value);
      } catch (error) {
        if (error instanceof GetFramingError) throw await this.broken(error.message);
        throw error;
      }
    }
    return this.queue.shift()!;
  }

  /** The stream is unusable: stop it (the agent cancels its C-GET) and say why. */
  async broken(why: string): Promise<BackendUnavailable> {
    await this.cancel();
    return new BackendUnavailable(502, `agent ${this.agent} sent a retrieve that breaks the pacs-get framing: ${why}`);
  }

  async cancel(): Promise<void> {
    await this.pieces.return().catch(() => undefined);
  }
}
