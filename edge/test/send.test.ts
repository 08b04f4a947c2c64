import { SELF } from "cloudflare:test";
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import { type SendMeta, type SendOutcome, type SendProgress } from "@dicom-edge/shared/tunnel/retrieve";
import { jsonLine } from "@dicom-edge/shared/tunnel/json-lines";
import { TunnelSession, type TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { backToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import { SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { isAeTitle, parseSendRequest, sendIdentifier, sendThroughAgent } from "../src/agents/send";
import { CT, instance, multipart, STOW_TYPE } from "./instances";

// The keys edge/vitest.config.ts gives the Worker as AGENT_KEYS.
const KEYS = { "site-a": "test-key-site-a", "site-b": "test-key-site-b" } as const;

beforeAll(async () => {
  const parts = [
    instance({ study: "9.1", series: "9.1.1", sop: "9.1.1.1" }),
    instance({ study: "9.1", series: "9.1.1", sop: "9.1.1.2" }),
    instance({ study: "9.1", series: "9.1.2", sop: "9.1.2.1" }),
  ];
  const res = await SELF.fetch("http://edge.test/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart(parts) });
  expect(res.status).toBe(200);
});

/** What a scripted agent does with a `send` stream: progress lines, then an outcome (or a reset). */
type Script = (stream: TunnelStream, meta: SendMeta) => Promise<void>;

interface TestAgent {
  opened: SendMeta[];
  /** Resets the agent saw on its send streams (the edge cancelling). */
  resets: string[];
  close(): void;
}

const agents: TestAgent[] = [];
afterEach(() => {
  for (const agent of agents.splice(0)) agent.close();
});

async function token(id: keyof typeof KEYS): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(id).setIssuedAt().setExpirationTime("2m").sign(new TextEncoder().encode(KEYS[id]));
}

/** Connects as agent `id` through the Worker's own route, and answers `send` streams with `script`. */
async function connect(id: keyof typeof KEYS, script: Script): Promise<TestAgent> {
  const res = await SELF.fetch(`http://edge.test/agents/${id}/connect`, { headers: { Upgrade: "websocket", Authorization: `Bearer ${await token(id)}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  // workerd hands binary messages to a client socket as Blobs unless told otherwise.
  ws.binaryType = "arraybuffer";
  ws.accept();
  const agent: TestAgent = {
    opened: [],
    resets: [],
    close: () => {
      session.close("test over");
      ws.close(1000, "test over");
    },
  };
  let outgoing = Promise.resolve();
  const session: TunnelSession = new TunnelSession({
    role: "agent",
    // One frame per macrotask, in call order: vitest-pool-workers sometimes
    // delivers frames a test's client WebSocket sends within one turn to the
    // Durable Object out of order (a RESULT ahead of the DATA sent before it);
    // a real agent's connection is one ordered TCP stream.
    send: (frame) => {
      const copy = frame.slice();
      outgoing = outgoing.then(() => new Promise<void>((resolve) => setTimeout(() => (ws.send(copy), resolve()), 1)));
    },
    onOpen: (stream: TunnelStream, meta: OpenMeta) => {
      agent.opened.push(meta as unknown as SendMeta);
      void (async () => {
        // The edge sends END right away; the agent reads it before it works.
        for await (const _ of stream.readable);
        await script(stream, meta as unknown as SendMeta);
      })().catch((error: unknown) => {
        agent.resets.push(error instanceof Error ? error.message : String(error));
      });
    },
  });
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") session.receive(new Uint8Array(event.data as ArrayBuffer));
  });
  agents.push(agent);
  return agent;
}

/** A script that reports `progress` one line at a time, then `outcome`. */
const answer =
  (progress: SendProgress[], outcome: SendOutcome): Script =>
  async (stream) => {
    for (const line of progress) await stream.write(jsonLine(line));
    stream.sendResult(outcome);
  };

function send(id: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(`http://edge.test/agents/${id}/send`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

async function errorComment(res: Response): Promise<string> {
  expect(res.headers.get("content-type")).toBe("application/dicom+json");
  const body = (await res.json()) as [{ "00000902": { Value: [string] } }];
  return body[0]["00000902"].Value[0];
}

describe("send request rules", () => {
  it("AE titles: 1 to 16 characters, no backslash or control characters, not only spaces (PS3.5 6.2)", () => {
    for (const ok of ["PACS", "A", "SIXTEEN_CHARS_AE", " STORE SCP ", "lower-case.ae"]) expect(isAeTitle(ok), ok).toBe(true);
    for (const bad of ["", "   ", "SEVENTEEN_CHARS_A", "PA\\CS", "PACS\n", "PA\u001bCS", "PÄCS"]) expect(isAeTitle(bad), JSON.stringify(bad)).toBe(false);
  });

  it("reads the body and builds the Study Root identifier of its level", () => {
    const study = parseSendRequest({ destination: " PACS ", studyInstanceUID: "9.1" });
    expect(study).toEqual({ destination: "PACS", studyInstanceUID: "9.1" });
    expect(sendIdentifier(study as never)).toEqual({ "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI", Value: ["9.1"] } });
    const images = parseSendRequest({ destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.1", sopInstanceUIDs: ["9.1.1.1", "9.1.1.2", "9.1.1.1"] });
    expect(sendIdentifier(images as never)).toEqual({
      "00080052": { vr: "CS", Value: ["IMAGE"] },
      "0020000D": { vr: "UI", Value: ["9.1"] },
      "0020000E": { vr: "UI", Value: ["9.1.1"] },
      "00080018": { vr: "UI", Value: ["9.1.1.1", "9.1.1.2"] },
    });
    expect(parseSendRequest({ destination: "PACS", studyInstanceUID: "9.1", sopInstanceUIDs: ["9.1.1.1"] })).toEqual({ reason: "sopInstanceUIDs needs seriesInstanceUID" });
    expect(parseSendRequest([])).toMatchObject({ reason: expect.stringMatching(/JSON object/) });
  });
});

// Retried: even paced, one run in a few dozen under load sees a frame of the
// scripted agent reach the Durable Object after the one sent after it (see
// the transport in connect()); the assertions are unchanged on every try.
describe("POST /agents/{id}/send", { retry: 2 }, () => {
  it("reports the agent's C-MOVE: final status, counts and each sub-operation", async () => {
    const agent = await connect(
      "site-a",
      answer(
        [
          { sop: "9.1.1.1", sopClass: CT, status: 0 },
          { sop: "9.1.1.2", sopClass: CT, status: 0xa700, errorComment: "out of resources" },
          { sop: "9.1.2.1", sopClass: CT, status: 0xb000 },
        ],
        { status: 0xb000, completed: 1, failed: 1, warning: 1, errorComment: "one sub-operation failed" },
      ),
    );
    const res = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      agent: "site-a",
      destination: "PACS",
      status: 0xb000,
      completed: 1,
      failed: 1,
      warning: 1,
      errorComment: "one sub-operation failed",
      instances: [
        { sopInstanceUID: "9.1.1.1", sopClassUID: CT, status: 0 },
        { sopInstanceUID: "9.1.1.2", sopClassUID: CT, status: 0xa700, errorComment: "out of resources" },
        { sopInstanceUID: "9.1.2.1", sopClassUID: CT, status: 0xb000 },
      ],
    });
    expect(agent.opened).toEqual([{ kind: "send", destination: "PACS", identifier: { "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI", Value: ["9.1"] } } }]);
  });

  it("sends a series, or instances of it, at the matching level", async () => {
    const agent = await connect("site-a", answer([{ sop: "9.1.1.2", sopClass: CT, status: 0 }], { status: 0, completed: 1, failed: 0, warning: 0 }));
    const series = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.2" });
    expect(series.status).toBe(200);
    const images = await send("site-a", { destination: "WS1", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.1", sopInstanceUIDs: ["9.1.1.2"] });
    expect(images.status).toBe(200);
    expect(await images.json()).toEqual({
      agent: "site-a",
      destination: "WS1",
      status: 0,
      completed: 1,
      failed: 0,
      warning: 0,
      instances: [{ sopInstanceUID: "9.1.1.2", sopClassUID: CT, status: 0 }],
    });
    expect(agent.opened.map((m) => m.identifier)).toEqual([
      { "00080052": { vr: "CS", Value: ["SERIES"] }, "0020000D": { vr: "UI", Value: ["9.1"] }, "0020000E": { vr: "UI", Value: ["9.1.2"] } },
      { "00080052": { vr: "CS", Value: ["IMAGE"] }, "0020000D": { vr: "UI", Value: ["9.1"] }, "0020000E": { vr: "UI", Value: ["9.1.1"] }, "00080018": { vr: "UI", Value: ["9.1.1.2"] } },
    ]);
  });

  it("422 when the destination is not in the agent's AE table (A801)", async () => {
    await connect("site-a", answer([], { status: 0xa801, completed: 0, failed: 0, warning: 0, errorComment: "unknown AE NOWHERE" }));
    const res = await send("site-a", { destination: "NOWHERE", studyInstanceUID: "9.1" });
    expect(res.status).toBe(422);
    expect(await errorComment(res)).toBe("destination NOWHERE is not in the AE table of agent site-a");
  });

  it("502 when the agent resets the stream or answers nonsense", async () => {
    await connect("site-a", async (stream) => {
      await stream.write(jsonLine({ sop: "9.1.1.1", sopClass: CT, status: 0 }));
      stream.reset("agent-failed", "association aborted");
    });
    const reset = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1" });
    expect(reset.status).toBe(502);
    expect(await errorComment(reset)).toMatch(/^agent site-a: .*agent-failed.*association aborted/);

    const agent = await connect("site-a", async (stream) => {
      await stream.write(new TextEncoder().encode("progress!\n"));
      await stream.result().catch(() => undefined);
    });
    const garbled = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1" });
    expect(garbled.status).toBe(502);
    expect(await errorComment(garbled)).toBe("agent site-a: the agent sent progress that is not JSON");

    await connect("site-a", answer([], { completed: 1 } as SendOutcome));
    const statusless = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1" });
    expect(statusless.status).toBe(502);
    expect(await errorComment(statusless)).toBe("agent site-a: the agent answered without a status");
    expect(agent.opened).toHaveLength(1);
  });

  it("502 with the reason when the tunnel goes away mid-way", async () => {
    let closeTunnel = () => {};
    const agent = await connect("site-a", async () => {
      closeTunnel();
    });
    closeTunnel = () => agent.close();
    const res = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1" });
    expect(res.status).toBe(502);
    expect(await errorComment(res)).toMatch(/^agent site-a: the tunnel session closed/);
  });

  it("503 when the agent is not connected", async () => {
    const res = await send("site-b", { destination: "PACS", studyInstanceUID: "9.1" });
    expect(res.status).toBe(503);
    expect(await errorComment(res)).toBe("agent site-b is not connected");
  });

  it("404 for an unknown agent and for what the archive does not hold", async () => {
    await connect("site-a", answer([], { status: 0, completed: 0, failed: 0, warning: 0 }));
    const cases: [string, unknown, string][] = [
      ["site-z", { destination: "PACS", studyInstanceUID: "9.1" }, "unknown agent site-z"],
      ["site-a", { destination: "PACS", studyInstanceUID: "9.9" }, "no such study 9.9"],
      ["site-a", { destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.9" }, "no such series 9.1.9 in study 9.1"],
      ["site-a", { destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.1", sopInstanceUIDs: ["9.1.1.1", "9.1.2.1"] }, "no such instance 9.1.2.1 in series 9.1.1"],
    ];
    for (const [id, body, comment] of cases) {
      const res = await send(id, body);
      expect(res.status, comment).toBe(404);
      expect(await errorComment(res)).toBe(comment);
    }
  });

  it("400 with the reason for a request that is not valid, 415 for another media type", async () => {
    const cases: [unknown, RegExp][] = [
      ["{ not json", /not JSON/],
      [{ studyInstanceUID: "9.1" }, /destination must be an AE title/],
      [{ destination: "SEVENTEEN_CHARS_A", studyInstanceUID: "9.1" }, /destination/],
      [{ destination: "PA\\CS", studyInstanceUID: "9.1" }, /destination/],
      [{ destination: "    ", studyInstanceUID: "9.1" }, /destination/],
      [{ destination: "PA\tCS", studyInstanceUID: "9.1" }, /destination/],
      [{ destination: "PACS" }, /studyInstanceUID must be a UID/],
      [{ destination: "PACS", studyInstanceUID: "9.01" }, /studyInstanceUID must be a UID/],
      [{ destination: "PACS", studyInstanceUID: `9.${"1".repeat(63)}` }, /studyInstanceUID must be a UID/],
      [{ destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.a" }, /seriesInstanceUID must be a UID/],
      [{ destination: "PACS", studyInstanceUID: "9.1", sopInstanceUIDs: ["9.1.1.1"] }, /sopInstanceUIDs needs seriesInstanceUID/],
      [{ destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.1", sopInstanceUIDs: [] }, /non-empty array/],
      [{ destination: "PACS", studyInstanceUID: "9.1", seriesInstanceUID: "9.1.1", sopInstanceUIDs: ["9.1.1.1", 7] }, /7 is not a UID/],
    ];
    for (const [body, reason] of cases) {
      const res = await send("site-a", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorComment(res)).toMatch(reason);
    }
    const form = await send("site-a", "destination=PACS", { headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    const huge = await send("site-a", { destination: "PACS", studyInstanceUID: "9.1", pad: "x".repeat(1024 * 1024) });
    expect(huge.status).toBe(413);
  });

  it("resets the stream (cancelled) when the HTTP caller goes away", async () => {
    // The edge's half, on a session back to back with a scripted agent that never answers.
    const resets: string[] = [];
    const { agent, edge } = backToBack(undefined, {
      agentOnOpen: (stream) => {
        void stream.result().catch((error: Error) => resets.push(error.message));
      },
    });
    const caller = new AbortController();
    const pending = sendThroughAgent(edge, { destination: "PACS", studyInstanceUID: "9.1" }, caller.signal);
    await new Promise((r) => setTimeout(r, 20));
    caller.abort();
    expect(await pending).toEqual({ kind: "tunnel-failed", reason: expect.stringMatching(/cancelled/) });
    for (let i = 0; i < 50 && resets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(resets).toEqual([expect.stringMatching(/reset by the peer \(cancelled\): the HTTP request was aborted/)]);
    agent.close("test over");
    edge.close("test over");
  });
});
