// DIMSE identities through the tunnel (shared/src/tunnel/identity.ts): the
// agent's session back to back with the edge's serving streams exactly as
// AgentHub does (serveStream), with auth on, against the real D1 and R2;
// and the `authenticate` stream through the real Durable Object.
import { env, SELF } from "cloudflare:test";
import { NOT_AUTHORIZED, type AuthenticateOutcome, type TunnelIdentity } from "@dicom-edge/shared/tunnel/identity";
import { TunnelSession, type TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { backToBack, type BackToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import { SignJWT } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { PrincipalCache } from "../src/agents/identity";
import { serveStream } from "../src/agents/serve";
import { authEnv, edgeToken } from "./auth";
import { instance, multipart, STOW_TYPE } from "./instances";

const ON = authEnv();
const links: BackToBack[] = [];

function tunnel(): BackToBack {
  const principals = new PrincipalCache();
  const link = backToBack((stream, meta) => void serveStream(ON, stream, meta, { agentId: "site-a", principals }));
  links.push(link);
  return link;
}

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const link of links.splice(0)) link.close();
});

async function studyStored(study: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM studies WHERE study_uid = ?1").bind(study).first<{ n: number }>();
  return row!.n > 0 || (await env.OBJECTS.list({ prefix: `studies/${study}/` })).objects.length > 0;
}

/** A C-STORE as the agent forwards it: the Part-10 bytes, then END. */
async function store(identity: TunnelIdentity | undefined, study: string): Promise<unknown> {
  const stream = tunnel().link.open("store", identity ? { identity } : {});
  await stream.write(instance({ study, sop: `${study}.1.1` })).catch(() => undefined);
  await stream.end().catch(() => undefined);
  return stream.result();
}

async function find(identity: TunnelIdentity | undefined): Promise<{ lines: string; result: unknown }> {
  const stream = tunnel().link.open("find", { model: "study", ...(identity ? { identity } : {}) });
  await stream.write(new TextEncoder().encode(JSON.stringify({ "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI" } }))).catch(() => undefined);
  await stream.end().catch(() => undefined);
  let lines = "";
  for await (const chunk of stream.readable) lines += new TextDecoder().decode(chunk);
  return { lines, result: await stream.result() };
}

const REFUSED_WRITE = { status: NOT_AUTHORIZED, errorComment: "not authorized: needs the write scope" };
const REFUSED_READ = { status: NOT_AUTHORIZED, errorComment: "not authorized: needs the read scope" };

describe("operations need their scope", () => {
  beforeAll(async () => {
    // Something for C-FIND to find.
    const res = await SELF.fetch("http://edge.test/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart([instance({ study: "5.1", sop: "5.1.1.1" })]) });
    expect(res.status).toBe(200);
  });

  it("store with a read-only JWT: 0124, and nothing stored", async () => {
    const { token } = await edgeToken(["read"]);
    expect(await store({ kind: "jwt", token }, "5.2")).toEqual(REFUSED_WRITE);
    expect(await studyStored("5.2")).toBe(false);
  });

  it("store with a JWT that grants write: stored", async () => {
    const { token } = await edgeToken(["write"]);
    expect(await store({ kind: "jwt", token }, "5.3")).toEqual({ status: 0 });
    expect(await studyStored("5.3")).toBe(true);
  });

  it("store without identity, or with a revoked or forged JWT: 0124, nothing stored", async () => {
    const { token, record } = await edgeToken(["write"]);
    await env.DB.prepare("UPDATE api_tokens SET revoked_at = 1 WHERE id = ?1").bind(record.id).run();
    const forged = await new SignJWT({ scope: "write" }).setProtectedHeader({ alg: "HS256" }).setIssuer("dicom-edge").setAudience("dicom-edge").setSubject("x").setJti(record.id).setExpirationTime("5m").sign(new Uint8Array(32));
    const cases: [TunnelIdentity | undefined, string][] = [
      [undefined, "5.4"],
      [{ kind: "jwt", token }, "5.5"],
      [{ kind: "jwt", token: forged }, "5.6"],
    ];
    for (const [identity, study] of cases) {
      expect(await store(identity, study), study).toEqual(REFUSED_WRITE);
      expect(await studyStored(study), study).toBe(false);
    }
  });

  it("find with an agent identity lacking read: 0124 and no match sent; with read, the matches", async () => {
    expect(await find({ kind: "agent", subject: "MODALITY1", scopes: ["write"] })).toEqual({ lines: "", result: REFUSED_READ });
    expect(await find(undefined)).toEqual({ lines: "", result: REFUSED_READ });
    const allowed = await find({ kind: "agent", subject: "VIEWER1", scopes: ["read"] });
    expect(allowed.result).toEqual({ status: 0 });
    expect(allowed.lines).toContain("5.1");
  });

  it("retrieve and fetch need read; echo needs nothing", async () => {
    for (const kind of ["retrieve", "fetch"]) {
      const stream = tunnel().link.open(kind, { identity: { kind: "agent", subject: "x", scopes: ["write", "delete"] } });
      await stream.end().catch(() => undefined);
      expect(await stream.result(), kind).toEqual(REFUSED_READ);
    }
    const echo = tunnel().link.open("echo", {});
    await echo.end();
    expect(await echo.result()).toEqual({ status: 0 });
  });

  it("the authenticate stream: ok with subject and scopes, or not with the reason", async () => {
    const ask = async (token: unknown) => {
      const stream = tunnel().link.open("authenticate", { token });
      await stream.end();
      return (await stream.result()) as AuthenticateOutcome;
    };
    const { token, record } = await edgeToken(["read", "write"], { name: "pacs-user" });
    expect(await ask(token)).toEqual({ ok: true, subject: "pacs-user", scopes: ["read", "write"] });
    await env.DB.prepare("UPDATE api_tokens SET revoked_at = 1 WHERE id = ?1").bind(record.id).run();
    expect(await ask(token)).toEqual({ ok: false, reason: "the token was revoked" });
    expect(await ask("garbage")).toEqual({ ok: false, reason: "the token is not a JWT" });
    expect(await ask(undefined)).toEqual({ ok: false, reason: "no token" });
  });
});

describe("through the AgentHub Durable Object", () => {
  it("serves the authenticate stream on the agent's WebSocket (auth is off in the DO's test env)", async () => {
    const agentToken = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("site-b").setIssuedAt().setExpirationTime("2m").sign(new TextEncoder().encode("test-key-site-b"));
    const res = await SELF.fetch("http://edge.test/agents/site-b/connect", { headers: { Upgrade: "websocket", Authorization: `Bearer ${agentToken}` } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.binaryType = "arraybuffer";
    ws.accept();
    const session = new TunnelSession({ role: "agent", send: (frame) => ws.send(frame.slice()) });
    ws.addEventListener("message", (event) => session.receive(new Uint8Array(event.data as ArrayBuffer)));
    try {
      const stream: TunnelStream = session.open("authenticate", { token: "any" });
      await stream.end();
      expect(await stream.result()).toEqual({ ok: true, subject: "anonymous", scopes: ["read", "write", "delete", "admin"] });
    } finally {
      session.close("test over");
      ws.close(1000, "test over");
    }
  });
});
