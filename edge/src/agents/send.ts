/**
 * POST /agents/{id}/send: the archive pushes a study, a series or some of
 * its instances to an on-prem AE through that site's agent. The agent does
 * it as a C-MOVE to a destination of its own AE table (PS3.4 C.4.2), whose
 * sub-operations it feeds from the archive with `retrieve` and `fetch`
 * streams; the edge opens a `send` stream (shared/src/tunnel/retrieve.ts)
 * and turns its progress and outcome into one JSON report.
 *
 * The Worker validates the request and checks the archive, then hands it to
 * the agent's AgentHub Durable Object, the one holding its WebSocket.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { isUid } from "@dicom-edge/shared/query/keys";
import { TunnelError } from "@dicom-edge/shared/tunnel/errors";
import { type SendMeta, type SendOutcome, type SendProgress } from "@dicom-edge/shared/tunnel/retrieve";
import { jsonLines } from "@dicom-edge/shared/tunnel/json-lines";
import type { TunnelSession, TunnelStream } from "@dicom-edge/shared/tunnel/session";
import type { Backend } from "../backends/backend";
import { backendFor } from "../backends/select";
import { retrieveItemsOf } from "./retrieve";
import { errorResponse } from "../dicomweb/errors";
import type { Env } from "../env";
import { agentKey } from "./keys";

/** PS3.4 C.4.2.1.5: Refused: Move Destination unknown. */
export const MOVE_DESTINATION_UNKNOWN = 0xa801;

/** A request body is a few UIDs; this bounds a list of ~15,000 instances and what a client can make us buffer. */
const MAX_BODY_BYTES = 1024 * 1024;

/** The body of POST /agents/{id}/send. */
export interface SendRequest {
  /** An AE title of the agent's AE table. */
  destination: string;
  studyInstanceUID: string;
  seriesInstanceUID?: string;
  /** Some instances of that series. */
  sopInstanceUIDs?: string[];
}

/** The 200 answer: the C-MOVE's final status and counts (PS3.4 C.4.2.1.5), and one entry per sub-operation. */
export interface SendReport {
  agent: string;
  destination: string;
  status: number;
  completed: number;
  failed: number;
  warning: number;
  errorComment?: string;
  instances: { sopInstanceUID: string; sopClassUID: string; status: number; errorComment?: string }[];
}

/** How a send ended, before it becomes HTTP (sendResponse). */
export type SendResult =
  | { kind: "outcome"; outcome: SendOutcome; progress: SendProgress[] }
  /** The tunnel failed or the stream was reset before the outcome came. */
  | { kind: "tunnel-failed"; reason: string };

/**
 * PS3.5 Table 6.2-1, AE: at most 16 characters of the default repertoire,
 * no backslash (the value delimiter), no control characters, and not only
 * spaces. Leading and trailing spaces are not significant.
 */
export function isAeTitle(value: string): boolean {
  return value.length >= 1 && value.length <= 16 && /^[\x20-\x5b\x5d-\x7e]+$/.test(value) && value.trim() !== "";
}

/** The body, checked; a reason for the 400 otherwise. UIDs per PS3.5 9.1; duplicates dropped. */
export function parseSendRequest(body: unknown): SendRequest | { reason: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { reason: "the body must be a JSON object" };
  const { destination, studyInstanceUID, seriesInstanceUID, sopInstanceUIDs } = body as Record<string, unknown>;
  if (typeof destination !== "string" || !isAeTitle(destination)) {
    return { reason: "destination must be an AE title: 1 to 16 characters, no backslash or control characters, not only spaces" };
  }
  if (typeof studyInstanceUID !== "string" || !isUid(studyInstanceUID)) return { reason: "studyInstanceUID must be a UID (PS3.5 9.1)" };
  const request: SendRequest = { destination: destination.trim(), studyInstanceUID };
  if (seriesInstanceUID !== undefined) {
    if (typeof seriesInstanceUID !== "string" || !isUid(seriesInstanceUID)) return { reason: "seriesInstanceUID must be a UID (PS3.5 9.1)" };
    request.seriesInstanceUID = seriesInstanceUID;
  }
  if (sopInstanceUIDs !== undefined) {
    if (request.seriesInstanceUID === undefined) return { reason: "sopInstanceUIDs needs seriesInstanceUID" };
    if (!Array.isArray(sopInstanceUIDs) || sopInstanceUIDs.length === 0) return { reason: "sopInstanceUIDs must be a non-empty array of UIDs" };
    const invalid = sopInstanceUIDs.find((uid) => typeof uid !== "string" || !isUid(uid));
    if (invalid !== undefined) return { reason: `sopInstanceUIDs: ${JSON.stringify(invalid)} is not a UID (PS3.5 9.1)` };
    request.sopInstanceUIDs = [...new Set(sopInstanceUIDs as string[])];
  }
  return request;
}

/**
 * The Study Root C-MOVE identifier (PS3.4 C.4.2.2.1, C.6.2): the level is
 * the deepest key given, the keys above it single values, the instances a
 * list of UIDs (C.2.2.2.2).
 */
export function sendIdentifier(request: SendRequest): DicomJson {
  const level = request.sopInstanceUIDs ? "IMAGE" : request.seriesInstanceUID ? "SERIES" : "STUDY";
  const identifier: DicomJson = {
    "00080052": { vr: "CS", Value: [level] },
    "0020000D": { vr: "UI", Value: [request.studyInstanceUID] },
  };
  if (request.seriesInstanceUID) identifier["0020000E"] = { vr: "UI", Value: [request.seriesInstanceUID] };
  if (request.sopInstanceUIDs) identifier["00080018"] = { vr: "UI", Value: request.sopInstanceUIDs };
  return identifier;
}

/**
 * Why a scope cannot be sent: nothing of it is stored. Every listed
 * instance must be: a C-MOVE would skip a missing one silently, and the
 * caller named it.
 */
export async function missingScope(backend: Backend, request: SendRequest): Promise<string | undefined> {
  const instances = await retrieveItemsOf(backend, { study: request.studyInstanceUID, ...(request.seriesInstanceUID ? { series: request.seriesInstanceUID } : {}) });
  if (instances.length === 0) {
    return request.seriesInstanceUID ? `no such series ${request.seriesInstanceUID} in study ${request.studyInstanceUID}` : `no such study ${request.studyInstanceUID}`;
  }
  if (!request.sopInstanceUIDs) return undefined;
  const stored = new Set(instances.map((instance) => instance.sop));
  const missing = request.sopInstanceUIDs.find((sop) => !stored.has(sop));
  return missing === undefined ? undefined : `no such instance ${missing} in series ${request.seriesInstanceUID}`;
}

/**
 * The Worker's half: who, what, and whether the archive has it; then the
 * agent's Durable Object does the rest. The DO alone knows whether the agent
 * is connected (503 there).
 */
export async function sendToAgent(request: Request, env: Env, agentId: string): Promise<Response> {
  if (agentKey(env, agentId) === undefined) return errorResponse(404, `unknown agent ${agentId}`);
  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "application/json") return errorResponse(415, "the body must be application/json");
  const text = await readBounded(request.body, MAX_BODY_BYTES);
  if (text === undefined) return errorResponse(413, `the body exceeds ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return errorResponse(400, "the body is not JSON");
  }
  const send = parseSendRequest(body);
  if ("reason" in send) return errorResponse(400, send.reason);
  const missing = await missingScope(backendFor(env), send);
  if (missing) return errorResponse(404, missing);

  const hub = env.AGENT_HUB.get(env.AGENT_HUB.idFromName(agentId));
  // The signal reaches the DO, which resets the stream (a C-CANCEL at the agent) when the caller goes away.
  return hub.fetch(request.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-agent-id": agentId },
    body: JSON.stringify(send),
    signal: request.signal,
  });
}

/** The body as text, or undefined past `max` bytes: never more than `max` is buffered. */
async function readBounded(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | undefined> {
  if (!body) return "";
  const decoder = new TextDecoder();
  let text = "";
  let length = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    length += value.byteLength;
    if (length > max) {
      await reader.cancel();
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * The DO's half: opens the `send` stream on the agent's session, collects
 * one progress line per sub-operation and the outcome. `signal` aborting
 * resets the stream ("cancelled"), which the agent turns into a C-CANCEL of
 * its C-MOVE.
 */
export async function sendThroughAgent(session: TunnelSession, request: SendRequest, signal?: AbortSignal): Promise<SendResult> {
  const meta: SendMeta = { kind: "send", destination: request.destination, identifier: sendIdentifier(request) };
  let stream: TunnelStream;
  try {
    stream = session.open("send", meta);
  } catch (error) {
    return { kind: "tunnel-failed", reason: describe(error) };
  }
  const cancel = () => stream.reset("cancelled", "the HTTP request was aborted");
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    void stream.end();
    const progress: SendProgress[] = [];
    for await (const line of jsonLines(stream.readable)) {
      const entry = asProgress(line);
      if (!entry) {
        stream.reset("protocol-error", "malformed send progress line");
        return { kind: "tunnel-failed", reason: "the agent sent a malformed progress line" };
      }
      progress.push(entry);
    }
    const outcome = asOutcome(await stream.result());
    if (!outcome) return { kind: "tunnel-failed", reason: "the agent answered without a status" };
    return { kind: "outcome", outcome, progress };
  } catch (error) {
    if (error instanceof SyntaxError) {
      stream.reset("protocol-error", "send progress is not JSON lines");
      return { kind: "tunnel-failed", reason: "the agent sent progress that is not JSON" };
    }
    return { kind: "tunnel-failed", reason: describe(error) };
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

/**
 * The one place a send becomes HTTP: 200 with the report whatever the C-MOVE
 * status (the counts say what happened), 422 when the agent does not know
 * the destination (A801), 502 when the tunnel failed on the way.
 */
export function sendResponse(agentId: string, request: SendRequest, result: SendResult): Response {
  if (result.kind === "tunnel-failed") return errorResponse(502, `agent ${agentId}: ${result.reason}`);
  const { outcome, progress } = result;
  if (outcome.status === MOVE_DESTINATION_UNKNOWN) {
    return errorResponse(422, `destination ${request.destination} is not in the AE table of agent ${agentId}`);
  }
  const report: SendReport = {
    agent: agentId,
    destination: request.destination,
    status: outcome.status,
    completed: outcome.completed,
    failed: outcome.failed,
    warning: outcome.warning,
    ...(outcome.errorComment !== undefined ? { errorComment: outcome.errorComment } : {}),
    instances: progress.map((p) => ({
      sopInstanceUID: p.sop,
      sopClassUID: p.sopClass,
      status: p.status,
      ...(p.errorComment !== undefined ? { errorComment: p.errorComment } : {}),
    })),
  };
  return Response.json(report);
}

function asProgress(value: unknown): SendProgress | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (typeof p.sop !== "string" || typeof p.sopClass !== "string" || typeof p.status !== "number") return undefined;
  return { sop: p.sop, sopClass: p.sopClass, status: p.status, ...(typeof p.errorComment === "string" ? { errorComment: p.errorComment } : {}) };
}

function asOutcome(value: unknown): SendOutcome | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.status !== "number") return undefined;
  const count = (n: unknown) => (typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : 0);
  return {
    status: o.status,
    completed: count(o.completed),
    failed: count(o.failed),
    warning: count(o.warning),
    ...(typeof o.errorComment === "string" ? { errorComment: o.errorComment } : {}),
  };
}

function describe(error: unknown): string {
  if (error instanceof TunnelError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
