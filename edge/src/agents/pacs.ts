/**
 * The AgentHub's half of the DIMSE backend (backends/dimse): the Worker
 * asks the agent's Durable Object, the one holding its WebSocket, to open a
 * `pacs-echo`, `pacs-find`, `pacs-store` or `pacs-get` stream
 * (shared/src/tunnel/pacs.ts) and answers with what came back.
 *
 * The internal request: POST /pacs/{echo,find,store,get}, the OPEN meta as
 * JSON in the body (echo, find, get) or in the `x-pacs-meta` header (store,
 * whose body is the instance's Part-10 bytes, streamed to the agent under
 * the tunnel's credit). The answer: 200 `PacsAnswer`; for get, 200 with the
 * stream's framed instances as they come, then its RESULT
 * (`encodeGetResult`); or 502 / 503 / 504 `{ message }` when no RESULT came
 * (tunnel failure, agent not connected, timeout), which the Worker raises
 * as BackendUnavailable.
 */
import { coalesce } from "@dicom-edge/shared/bytes";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { TunnelError } from "@dicom-edge/shared/tunnel/errors";
import { jsonLines } from "@dicom-edge/shared/tunnel/json-lines";
import { PACS_ECHO, PACS_FIND, PACS_GET, PACS_STORE, encodeGetResult } from "@dicom-edge/shared/tunnel/pacs";
import type { TunnelSession, TunnelStream } from "@dicom-edge/shared/tunnel/session";

export const PACS_META_HEADER = "x-pacs-meta";

/** The 200 answer: the stream's RESULT as the agent sent it, and the matches of a find. */
export interface PacsAnswer {
  result: unknown;
  matches?: DicomJson[];
}

/**
 * Beyond the agent's own timeout (it reports a "timeout" RESULT itself):
 * how much longer the DO waits before it gives up on the agent.
 */
const AGENT_GRACE_MS = 5_000;
/** A search answers at most its limit (QIDO-RS: 1000; the agent's own cap: 10,000); this bounds a confused agent. */
const MAX_MATCHES = 10_000;
/** Like the agent's stores (agent/src/store/forward.ts): fewer, larger DATA frames. */
const FRAME_BYTES = 256 * 1024;

const KINDS: Record<string, string> = { echo: PACS_ECHO, find: PACS_FIND, store: PACS_STORE, get: PACS_GET };

export function isPacsPath(path: string): boolean {
  return /^\/pacs\/(echo|find|store|get)$/.test(path);
}

/** Serves one internal PACS request on the agent's session; the request's abort resets the stream. */
export async function pacsThroughAgent(session: TunnelSession, agentId: string, request: Request): Promise<Response> {
  const kind = KINDS[new URL(request.url).pathname.slice("/pacs/".length)];
  if (!kind) return unavailable(502, "no such PACS operation");
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(kind === PACS_STORE ? (request.headers.get(PACS_META_HEADER) ?? "") : await request.text()) as Record<string, unknown>;
  } catch {
    return unavailable(502, "the PACS request is not JSON");
  }
  if (typeof meta !== "object" || meta === null || typeof meta.timeoutMs !== "number") return unavailable(502, "the PACS request has no timeout");
  const timeoutMs = meta.timeoutMs + AGENT_GRACE_MS;

  let stream: TunnelStream;
  try {
    stream = session.open(kind, { ...meta, kind });
  } catch (error) {
    return unavailable(502, `agent ${agentId}: ${describe(error)}`);
  }
  if (kind === PACS_GET) return getThroughAgent(stream, agentId, timeoutMs);
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      stream.reset("timeout", `no answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
  };
  const cancel = () => stream.reset("cancelled", "the request was aborted");
  request.signal.addEventListener("abort", cancel, { once: true });
  try {
    const matches: DicomJson[] = [];
    if (kind === PACS_STORE) {
      await sendBody(stream, request.body);
    } else {
      void stream.end();
    }
    arm();
    if (kind === PACS_FIND) {
      for await (const match of jsonLines(stream.readable)) {
        arm();
        if (matches.length >= MAX_MATCHES || typeof match !== "object" || match === null || Array.isArray(match)) {
          stream.reset("protocol-error", "matches beyond the limit or not DICOM JSON objects");
          return unavailable(502, `agent ${agentId} sent matches that are not DICOM JSON objects, or too many`);
        }
        matches.push(match as DicomJson);
      }
    }
    const result = await stream.result();
    return Response.json({ result, ...(kind === PACS_FIND ? { matches } : {}) } satisfies PacsAnswer);
  } catch (error) {
    if (timedOut) return unavailable(504, `agent ${agentId} did not answer within ${timeoutMs / 1000} s`);
    if (error instanceof SyntaxError) {
      stream.reset("protocol-error", "matches are not JSON lines");
      return unavailable(502, `agent ${agentId} sent matches that are not JSON`);
    }
    // A body that broke off (the caller went away) must not leave the agent waiting mid-instance: it aborts its association.
    stream.reset("cancelled", describe(error));
    return unavailable(502, `agent ${agentId}: ${describe(error)}`);
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener("abort", cancel);
  }
}

/**
 * A `pacs-get` stream as the body of the answer, pulled as the Worker reads
 * (so the tunnel's credit follows the client), its RESULT appended. Each
 * frame from the agent must come within `timeoutMs` of the last; the
 * Worker cancelling the body (its client gone) resets the stream, which
 * the agent turns into a C-CANCEL.
 */
function getThroughAgent(stream: TunnelStream, agentId: string, timeoutMs: number): Response {
  void stream.end();
  const chunks = stream.readable[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), timeoutMs)));
      try {
        const next = await Promise.race([chunks.next(), expired]);
        if (next === "expired") {
          stream.reset("timeout", `no answer within ${timeoutMs / 1000} s`);
          controller.error(new Error(`agent ${agentId} sent nothing of the retrieve within ${timeoutMs / 1000} s`));
          return;
        }
        if (!next.done) {
          controller.enqueue(next.value);
          return;
        }
        const result = await Promise.race([stream.result(), expired]);
        if (result === "expired") {
          stream.reset("timeout", `no RESULT within ${timeoutMs / 1000} s`);
          controller.error(new Error(`agent ${agentId} sent no RESULT of the retrieve within ${timeoutMs / 1000} s`));
          return;
        }
        finished = true;
        controller.enqueue(encodeGetResult(result));
        controller.close();
      } catch (error) {
        stream.reset("cancelled", describe(error));
        controller.error(new Error(`agent ${agentId}: ${describe(error)}`));
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      if (!finished) stream.reset("cancelled", `the retrieve was abandoned: ${describe(reason)}`);
    },
  });
  return new Response(body, { headers: { "content-type": "application/octet-stream" } });
}

/**
 * The instance's bytes to the agent, then END. The agent may answer before
 * it read them all (a refused instance): the rest is not sent, and its
 * RESULT is the answer.
 */
async function sendBody(stream: TunnelStream, body: ReadableStream<Uint8Array> | null): Promise<void> {
  try {
    if (body) for await (const chunk of coalesce(body, FRAME_BYTES)) await stream.write(chunk);
    await stream.end();
  } catch (error) {
    if (error instanceof TunnelError && error.code === "stream-closed") return;
    throw error;
  }
}

export function unavailable(status: 502 | 503 | 504, message: string): Response {
  return Response.json({ message }, { status });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
