// The agents' side of authentication: each agent's own key on its
// WebSocket, and revocation through the admin routes cutting a live tunnel.
import { env, SELF } from "cloudflare:test";
import { SignJWT } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { authEnv, call, edgeToken, errorComment } from "./auth";

// The keys edge/vitest.config.ts gives the Worker as AGENT_KEYS.
const KEYS = { "site-a": "test-key-site-a", "site-b": "test-key-site-b" } as const;

async function agentToken(signedBy: keyof typeof KEYS, subject: string = signedBy): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(subject).setIssuedAt().setExpirationTime("2m").sign(new TextEncoder().encode(KEYS[signedBy]));
}

function connect(id: string, token?: string): Promise<Response> {
  return SELF.fetch(`http://edge.test/agents/${id}/connect`, { headers: { Upgrade: "websocket", ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
}

/** An accepted agent socket, and how it closed. */
async function connected(id: keyof typeof KEYS): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const res = await connect(id, await agentToken(id));
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  ws.accept();
  sockets.push(ws);
  return { ws, closed };
}

const sockets: WebSocket[] = [];
const ON = authEnv();
let admin: string;

beforeAll(async () => {
  admin = (await edgeToken(["admin"], { name: "operator" })).token;
});
beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const ws of sockets.splice(0)) if (ws.readyState === WebSocket.OPEN) ws.close(1000, "test over");
  await env.DB.prepare("DELETE FROM agent_revocations").run();
});

describe("the agent WebSocket: each agent its own key", () => {
  it("B's token on A's URL is refused, as are a missing token and an unknown agent", async () => {
    const crossed = await connect("site-a", await agentToken("site-b"));
    expect(crossed.status).toBe(401);
    expect(crossed.headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge", error="invalid_token", error_description="unknown agent or token refused"');
    // B's key with A as subject: the signature is still B's.
    expect((await connect("site-a", await agentToken("site-b", "site-a"))).status).toBe(401);
    expect((await connect("site-a")).status).toBe(401);
    expect((await connect("site-a")).headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge"');
    expect((await connect("site-z", await agentToken("site-a", "site-z"))).status).toBe(401);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM agent_connections").first()).toEqual({ n: 0 });
  });

  it("a revoked agent is refused with 403 and the reason, before its Durable Object", async () => {
    await env.DB.prepare("INSERT INTO agent_revocations (agent_id, revoked_at) VALUES ('site-b', ?1)").bind(Date.UTC(2026, 0, 2)).run();
    const res = await connect("site-b", await agentToken("site-b"));
    expect(res.status).toBe(403);
    expect(await errorComment(res)).toBe("agent site-b is revoked since 2026-01-02T00:00:00.000Z");
    // A wrong token for a revoked agent learns nothing about the revocation.
    expect((await connect("site-b", await agentToken("site-a", "site-b"))).status).toBe(401);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM agent_connections").first()).toEqual({ n: 0 });
  });
});

describe("/admin/agents: revoke cuts the tunnel, reinstate lets it back", () => {
  it("lists the configured agents, connected or not, revoked or not", async () => {
    await connected("site-a");
    const res = await call(ON, "/admin/agents", {}, admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { id: "site-a", configured: true, connected: true, connectedAt: expect.any(String), revoked: false, revokedAt: null },
      { id: "site-b", configured: true, connected: false, connectedAt: null, revoked: false, revokedAt: null },
    ]);
  });

  it("revoking a connected agent closes its socket now (4001), and its reconnects are refused until reinstated", async () => {
    const { closed } = await connected("site-a");
    const revoke = await call(ON, "/admin/agents/site-a/revoke", { method: "POST" }, admin);
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toEqual({ id: "site-a", revoked: true, revokedAt: expect.stringMatching(/^\d{4}-/), closed: 1 });
    expect(await closed).toEqual({ code: 4001, reason: "revoked" });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM agent_connections WHERE agent_id = 'site-a'").first()).toEqual({ n: 0 });

    expect((await connect("site-a", await agentToken("site-a"))).status).toBe(403);
    expect(await (await call(ON, "/admin/agents", {}, admin)).json()).toContainEqual(expect.objectContaining({ id: "site-a", connected: false, revoked: true }));

    const reinstate = await call(ON, "/admin/agents/site-a/reinstate", { method: "POST" }, admin);
    expect(reinstate.status).toBe(200);
    expect(await reinstate.json()).toEqual({ id: "site-a", revoked: false, wasRevoked: true });
    const { ws } = await connected("site-a");
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(await (await call(ON, "/admin/agents", {}, admin)).json()).toContainEqual(expect.objectContaining({ id: "site-a", connected: true, revoked: false }));
  });

  it("404 for an agent AGENT_KEYS does not know, and a token needs admin", async () => {
    for (const action of ["revoke", "reinstate"]) {
      const res = await call(ON, `/admin/agents/site-z/${action}`, { method: "POST" }, admin);
      expect(res.status).toBe(404);
      expect(await errorComment(res)).toBe("unknown agent site-z");
    }
    const reader = (await edgeToken(["read", "write", "delete"])).token;
    expect((await call(ON, "/admin/agents/site-a/revoke", { method: "POST" }, reader)).status).toBe(403);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM agent_revocations").first()).toEqual({ n: 0 });
  });
});

describe("/admin/tokens", () => {
  it("revoking an unknown token is 404; revoking twice keeps the first time", async () => {
    const missing = await call(ON, "/admin/tokens/no-such-id/revoke", { method: "POST" }, admin);
    expect(missing.status).toBe(404);
    expect(await errorComment(missing)).toBe("no such token no-such-id");
    const { record } = await edgeToken(["read"]);
    const first = (await (await call(ON, `/admin/tokens/${record.id}/revoke`, { method: "POST" }, admin)).json()) as { revoked: string };
    await new Promise((r) => setTimeout(r, 5));
    const second = (await (await call(ON, `/admin/tokens/${record.id}/revoke`, { method: "POST" }, admin)).json()) as { revoked: string };
    expect(second.revoked).toBe(first.revoked);
    const listed = (await (await call(ON, "/admin/tokens", {}, admin)).json()) as { id: string; revoked: string | null }[];
    expect(listed.find((t) => t.id === record.id)?.revoked).toBe(first.revoked);
  });
});
