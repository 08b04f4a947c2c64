import { env } from "cloudflare:test";
import { NOT_AUTHORIZED } from "@dicom-edge/shared/tunnel/identity";
import { describe, expect, it, vi } from "vitest";
import { authEnv, edgeToken } from "../../test/auth";
import type { Principal } from "../auth";
import { authenticateOutcome, grantOf, neededScope, operationRefusal, parseIdentity, PrincipalCache } from "./identity";

describe("parseIdentity", () => {
  it("reads the contract's two kinds and nothing else", () => {
    expect(parseIdentity({ kind: "jwt", token: "a.b.c" })).toEqual({ kind: "jwt", token: "a.b.c" });
    expect(parseIdentity({ kind: "agent", subject: "MODALITY1", scopes: ["write"], extra: 1 })).toEqual({ kind: "agent", subject: "MODALITY1", scopes: ["write"] });
    for (const bad of [undefined, null, "jwt", { kind: "jwt" }, { kind: "jwt", token: "" }, { kind: "agent", subject: "x" }, { kind: "agent", subject: "x", scopes: [1] }, { kind: "saml" }]) {
      expect(parseIdentity(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe("operationRefusal (PS3.7 C.5: 0124 Refused: Not Authorized)", () => {
  it("each operation needs its HTTP counterpart's scope; echo none", () => {
    expect(["echo", "store", "find", "retrieve", "fetch", "authenticate", "send", "toString"].map(neededScope)).toEqual([undefined, "write", "read", "read", "read", undefined, undefined, undefined]);
  });

  it("refuses without the scope, with a comment that fits Error Comment (LO, 64)", () => {
    expect(operationRefusal("write", { subject: "x", scopes: ["write"] })).toBeUndefined();
    const refusal = operationRefusal("write", { subject: "x", scopes: ["read", "admin"] });
    expect(refusal).toEqual({ status: NOT_AUTHORIZED, errorComment: "not authorized: needs the write scope" });
    for (const scope of ["read", "write", "delete", "admin"] as const) expect(operationRefusal(scope, { subject: undefined, scopes: [] })!.errorComment!.length).toBeLessThanOrEqual(64);
  });
});

describe("PrincipalCache", () => {
  const principal = (expiresAt: number): Principal => ({ subject: "s", issuer: "edge", scopes: ["read"], expiresAt });

  it("keeps a principal until its token expires, a minute at most", () => {
    const cache = new PrincipalCache();
    cache.set("long", principal(1_000_000), 0);
    cache.set("short", principal(10_000), 0);
    expect(cache.get("long", 59_999)).toBeDefined();
    expect(cache.get("long", 60_000)).toBeUndefined();
    expect(cache.get("short", 9_999)).toBeDefined();
    expect(cache.get("short", 10_000)).toBeUndefined();
  });

  it("holds a bounded number of entries, the oldest going first", () => {
    const cache = new PrincipalCache();
    for (let i = 0; i <= PrincipalCache.MAX_ENTRIES; i++) cache.set(`k${i}`, principal(1e9), 0);
    expect(cache.get("k0", 1)).toBeUndefined();
    expect(cache.get("k1", 1)).toBeDefined();
    expect(cache.get(`k${PrincipalCache.MAX_ENTRIES}`, 1)).toBeDefined();
  });
});

describe("grantOf and authenticateOutcome", () => {
  const ON = authEnv();

  it("an agent's identity is trusted, unknown scope names dropped; none is nobody", async () => {
    expect(await grantOf({ kind: "agent", subject: "MODALITY1", scopes: ["write", "superuser"] }, ON)).toEqual({ subject: "MODALITY1", scopes: ["write"] });
    expect(await grantOf(undefined, ON)).toEqual({ subject: undefined, scopes: [] });
  });

  it("a JWT is verified as a bearer token; a bad one grants nothing", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { token } = await edgeToken(["read", "write"], { name: "pacs-user" });
    expect(await grantOf({ kind: "jwt", token }, ON)).toEqual({ subject: "pacs-user", scopes: ["read", "write"] });
    expect(await grantOf({ kind: "jwt", token: "not-a-jwt" }, ON)).toEqual({ subject: undefined, scopes: [] });
    vi.restoreAllMocks();
  });

  it("with a cache, a revoked token keeps working at most a minute", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const cache = new PrincipalCache();
    const { token, record } = await edgeToken(["write"]);
    const now = Date.now();
    expect((await grantOf({ kind: "jwt", token }, ON, cache, now)).scopes).toEqual(["write"]);
    await env.DB.prepare("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1").bind(record.id, now).run();
    expect((await grantOf({ kind: "jwt", token }, ON, cache, now + 30_000)).scopes).toEqual(["write"]);
    expect((await grantOf({ kind: "jwt", token }, ON, cache, now + 60_000)).scopes).toEqual([]);
    expect((await grantOf({ kind: "jwt", token }, ON, undefined, now)).scopes).toEqual([]);
    vi.restoreAllMocks();
  });

  it("with AUTH_DISABLED everything is granted, as on HTTP", async () => {
    expect(await grantOf(undefined, env as never)).toEqual({ subject: undefined, scopes: ["read", "write", "delete", "admin"] });
    expect(await authenticateOutcome("anything", env as never)).toEqual({ ok: true, subject: "anonymous", scopes: ["read", "write", "delete", "admin"] });
  });

  it("the authenticate stream's answer", async () => {
    const { token } = await edgeToken(["read"], { name: "ct-tech" });
    expect(await authenticateOutcome(token, ON)).toEqual({ ok: true, subject: "ct-tech", scopes: ["read"] });
    expect(await authenticateOutcome("x.y.z", ON)).toEqual({ ok: false, reason: "the token is not a JWT" });
    expect(await authenticateOutcome(undefined, ON)).toEqual({ ok: false, reason: "no token" });
  });
});
