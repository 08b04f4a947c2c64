// The Worker's and the AgentHub's halves of the DIMSE backend, in workerd,
// with a scripted agent on the tunnel in place of the agent and its PACS
// (agent/src/pacs and e2e/broker-dimse.test.ts do those for real).
import { env, SELF } from "cloudflare:test";
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import { jsonLine } from "@dicom-edge/shared/tunnel/json-lines";
import { GET_INSTANCE_END, encodeGetChunk, encodeGetInstance, type PacsFindMeta } from "@dicom-edge/shared/tunnel/pacs";
import { TunnelSession, type TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { buildQuery, exactKey } from "@dicom-edge/shared/query/build";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { DicomWebError } from "../../dicomweb/errors";
import { retrieveStreamed } from "../../dicomweb/wado/retrieve-streamed";
import { BackendUnavailable } from "../backend";
import { backendFor } from "../select";
import { dimseConfig } from "./config";
import { DimseBackend } from "./dimse-backend";
import { AgentPacsLink } from "./link";

// The key edge/vitest.config.ts gives the Worker for this agent in AGENT_KEYS.
const SITE_A_KEY = "test-key-site-a";

/** What the scripted agent does with one PACS stream, after it read the edge's bytes. */
type Script = (stream: TunnelStream, meta: OpenMeta, bytes: Uint8Array) => Promise<void>;

const sessions: (() => void)[] = [];
afterEach(() => {
  for (const close of sessions.splice(0)) close();
});

/** Connects as agent site-a through the Worker's own route and answers every stream with `script`. */
async function connect(script: Script): Promise<OpenMeta[]> {
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("site-a").setIssuedAt().setExpirationTime("2m").sign(new TextEncoder().encode(SITE_A_KEY));
  const res = await SELF.fetch("http://edge.test/agents/site-a/connect", { headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.binaryType = "arraybuffer";
  ws.accept();
  const opened: OpenMeta[] = [];
  let outgoing = Promise.resolve();
  let closed = false;
  const session: TunnelSession = new TunnelSession({
    role: "agent",
    // One frame per macrotask, in order (see edge/test/send.test.ts: the pool may reorder frames sent in one turn).
    send: (frame) => {
      const copy = frame.slice();
      outgoing = outgoing.then(() => new Promise<void>((resolve) => setTimeout(() => (closed || ws.send(copy), resolve()), 1)));
    },
    onOpen: (stream, meta) => {
      opened.push(meta);
      void (async () => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of stream.readable) chunks.push(chunk.slice());
        const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
        await script(stream, meta, bytes);
      })().catch(() => undefined);
    },
  });
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") session.receive(new Uint8Array(event.data as ArrayBuffer));
  });
  sessions.push(() => {
    closed = true;
    session.close("test over");
    ws.close(1000, "test over");
  });
  return opened;
}

function backend(agent = "site-a"): DimseBackend {
  return new DimseBackend(new AgentPacsLink(env.AGENT_HUB, { agent, pacs: "PACS", timeoutMs: 500 }));
}

async function rejection(work: Promise<unknown>): Promise<BackendUnavailable> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendUnavailable);
  return error as BackendUnavailable;
}

async function* bytesOf(...chunks: string[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield new TextEncoder().encode(chunk);
}

describe("DIMSE backend settings", () => {
  it("needs a known agent and an AE title; the timeout defaults to 30 s", () => {
    const keys = JSON.stringify({ "site-a": SITE_A_KEY });
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_AGENT: "site-a", DIMSE_PACS: " PACS " })).toEqual({ agent: "site-a", pacs: "PACS", timeoutMs: 30_000 });
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_AGENT: "site-a", DIMSE_PACS: "PACS", BACKEND_TIMEOUT_SECONDS: "2.5" })).toMatchObject({ timeoutMs: 2500 });
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_PACS: "PACS" })).toMatch(/DIMSE_AGENT is not set/);
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_AGENT: "site-z", DIMSE_PACS: "PACS" })).toMatch(/not an agent of AGENT_KEYS/);
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_AGENT: "site-a" })).toMatch(/DIMSE_PACS is not set/);
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_AGENT: "site-a", DIMSE_PACS: "A\\B" })).toMatch(/AE title/);
    expect(dimseConfig({ AGENT_KEYS: keys, DIMSE_AGENT: "site-a", DIMSE_PACS: "PACS", BACKEND_TIMEOUT_SECONDS: "0" })).toMatch(/BACKEND_TIMEOUT_SECONDS/);
  });

  it("is chosen by BACKEND=dimse; a setting that cannot work is a 503 that says what to set", () => {
    expect(backendFor({ ...env, BACKEND: "dimse", DIMSE_AGENT: "site-a", DIMSE_PACS: "PACS" })).toBeInstanceOf(DimseBackend);
    expect(() => backendFor({ ...env, BACKEND: "dimse", DIMSE_AGENT: "site-a" })).toThrow(/DIMSE_PACS/);
  });
});

// Retried like edge/test/send.test.ts: vitest-pool-workers now and then
// reorders a test client's WebSocket frames under load (seen here too).
describe("DIMSE backend through a connected agent", { retry: 2 }, () => {
  it("answers 503 while the agent is not connected", async () => {
    const error = await rejection(backend("site-b").search(buildQuery("study", [])));
    expect(error.httpStatus).toBe(503);
    expect(error.message).toBe("agent site-b is not connected");
    expect(await backend("site-b").health()).toEqual({ ok: false, checks: { pacs: { ok: false, error: "agent site-b is not connected" } } });
  });

  it("health: ok on the PACS's C-ECHO Success, not on a failure status or a rejected association", async () => {
    let answer: unknown = { status: 0 };
    const opened = await connect(async (stream) => stream.sendResult(answer));
    expect(await backend().health()).toEqual({ ok: true, checks: { pacs: { ok: true } } });
    expect(opened[0]).toMatchObject({ kind: "pacs-echo", pacs: "PACS", timeoutMs: 500 });
    answer = { status: 0x0110 };
    expect((await backend().health()).checks.pacs).toEqual({ ok: false, error: "PACS answered the C-ECHO with status 0110" });
    answer = { failure: "rejected", message: "PACS rejected the association: called AE title not recognized" };
    expect((await backend().health()).checks.pacs).toEqual({ ok: false, error: "PACS rejected the association: called AE title not recognized" });
  });

  it("search: the Query goes to the agent, its lines come back as matches, truncated as it says", async () => {
    const opened = await connect(async (stream) => {
      await stream.write(jsonLine({ "0020000D": { vr: "UI", Value: ["1.2.1"] }, "00100020": { vr: "LO", Value: ["P1"] } }));
      await stream.write(jsonLine({ "0020000D": { vr: "UI", Value: ["1.2.2"] } }));
      stream.sendResult({ status: 0, truncated: true });
    });
    const query = { ...buildQuery("study", [exactKey("00100020", "P1")]), limit: 2 };
    const result = await backend().search(query);
    if (isQueryError(result)) throw new Error(result.reason);
    expect(result.truncated).toBe(true);
    expect(result.matches.map((m) => m.study)).toEqual(["1.2.1", "1.2.2"]);
    expect((opened[0] as unknown as PacsFindMeta).query).toEqual(query);
  });

  it("search: A900 from the PACS is a refused query (400), other failures 502, an unknown AE title 503, a timeout 504", async () => {
    let answer: unknown = { status: 0xa900, errorComment: "bad key", truncated: false };
    await connect(async (stream) => stream.sendResult(answer));
    const refused = await backend().search(buildQuery("study", []));
    expect(isQueryError(refused) && refused.reason).toMatch(/PACS refused the C-FIND: status A900 \(bad key\)/);
    answer = { status: 0xc001, truncated: false };
    expect((await rejection(backend().search(buildQuery("study", [])))).httpStatus).toBe(502);
    answer = { failure: "unknown-pacs", message: "PACS is not in the AE table of the agent" };
    expect((await rejection(backend().search(buildQuery("study", [])))).httpStatus).toBe(503);
    answer = { failure: "timeout", message: "PACS sent no C-FIND-RSP within 0.5 s" };
    expect((await rejection(backend().search(buildQuery("study", [])))).httpStatus).toBe(504);
  });

  it("an agent that never answers is a 504 once its own timeout and a grace passed", async () => {
    await connect(async () => undefined);
    const started = Date.now();
    const error = await rejection(backend().search(buildQuery("study", [])));
    expect(error.httpStatus).toBe(504);
    expect(error.message).toMatch(/agent site-a did not answer within 5.5 s/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);

  it("store: the bytes reach the agent with the study to check; the PACS's status is the outcome", async () => {
    let answer: unknown = { status: 0, study: "1.2", series: "1.2.3", sop: "1.2.3.4", sopClass: "1.2.840.10008.5.1.4.1.1.2" };
    const received: string[] = [];
    const opened = await connect(async (stream, _meta, bytes) => {
      received.push(new TextDecoder().decode(bytes));
      stream.sendResult(answer);
    });
    const transaction = backend().store();
    expect(await transaction.add(bytesOf("DICM", " bytes"), { study: "1.2" })).toEqual({ ok: true, study: "1.2", series: "1.2.3", sop: "1.2.3.4", sopClass: "1.2.840.10008.5.1.4.1.1.2", warnings: [] });
    expect(received).toEqual(["DICM bytes"]);
    expect(opened[0]).toMatchObject({ kind: "pacs-store", pacs: "PACS", study: "1.2" });
    answer = { status: 0xb000, study: "1.2", series: "1.2.3", sop: "1.2.3.5", sopClass: "1.2.840.10008.5.1.4.1.1.2" };
    expect(await transaction.add(bytesOf("x"), {})).toMatchObject({ ok: true, warnings: [0xb000] });
    answer = { status: 0xa700, errorComment: "disk full", sop: "1.2.3.6" };
    expect(await transaction.add(bytesOf("x"), {})).toEqual({ ok: false, reason: 0xa700, message: "PACS refused it with status A700 (disk full)", sop: "1.2.3.6" });
    answer = { failure: "unreachable", message: "PACS at 10.0.0.1:104: connect ECONNREFUSED" };
    expect((await rejection(transaction.add(bytesOf("x"), {}))).httpStatus).toBe(502);
    await transaction.commit();
  });

  it("retrieve: the instances the agent sends become multipart parts in their own syntax; none is 404, a failure 502/504", async () => {
    const ct = "1.2.840.10008.5.1.4.1.1.2";
    let answer: unknown = { status: 0, completed: 2, failed: 0, warning: 0 };
    let send = true;
    const opened = await connect(async (stream) => {
      if (send) {
        await stream.write(encodeGetInstance({ sopClass: ct, sop: "1.2.3.4", transferSyntax: "1.2.840.10008.1.2" }));
        await stream.write(encodeGetChunk(new TextEncoder().encode("first ")));
        await stream.write(encodeGetChunk(new TextEncoder().encode("instance")));
        await stream.write(GET_INSTANCE_END);
        await stream.write(encodeGetInstance({ sopClass: ct, sop: "1.2.3.5", transferSyntax: "1.2.840.10008.1.2.1" }));
        await stream.write(encodeGetChunk(new TextEncoder().encode("second instance")));
        await stream.write(GET_INSTANCE_END);
      }
      stream.sendResult(answer);
    });
    const request = (accept = "multipart/related; type=\"application/dicom\"") => new Request("http://edge.test/dicomweb/studies/1.2", { headers: { accept } });
    const response = await retrieveStreamed(request(), backend(), { study: "1.2" });
    expect(response.headers.get("content-type")).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    const text = new TextDecoder().decode(await response.arrayBuffer());
    expect(text).toMatch(/Content-Type: application\/dicom; transfer-syntax=1\.2\.840\.10008\.1\.2\r\n\r\nfirst instance\r\n--/);
    expect(text).toMatch(/Content-Type: application\/dicom; transfer-syntax=1\.2\.840\.10008\.1\.2\.1\r\n\r\nsecond instance\r\n--/);
    expect(opened[0]).toMatchObject({ kind: "pacs-get", pacs: "PACS", study: "1.2" });

    const other = await retrieveStreamed(request("multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50"), backend(), { study: "1.2" }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(DicomWebError);
    expect((other as DicomWebError).status).toBe(406);

    send = false;
    answer = { status: 0, completed: 0, failed: 0, warning: 0 };
    const none = await retrieveStreamed(request(), backend(), { study: "1.2.9", series: "1.2.9.1", instance: "1.2.9.1.1" }).catch((e: unknown) => e);
    expect((none as DicomWebError).status).toBe(404);
    expect(opened.at(-1)).toMatchObject({ kind: "pacs-get", study: "1.2.9", series: "1.2.9.1", sop: "1.2.9.1.1" });
    answer = { failure: "unreachable", message: "PACS at 10.0.0.1:104: connect ECONNREFUSED" };
    expect((await rejection(backend().retrieveStream({ study: "1.2" }))).httpStatus).toBe(502);
    answer = { status: 0xa702, completed: 0, failed: 0, warning: 0 };
    expect((await rejection(backend().retrieveStream({ study: "1.2" }))).httpStatus).toBe(502);
    answer = { failure: "timeout", message: "PACS sent no C-GET response within 0.5 s" };
    expect((await rejection(backend().retrieveStream({ study: "1.2" }))).httpStatus).toBe(504);
  });
});
