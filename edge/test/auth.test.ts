// Authentication and authorisation over HTTP: the app as the Worker runs
// it, with auth on (edge/test/auth.ts), against the real D1 and R2. Every
// refusal is checked for its status and challenge, and for what it must
// not do: store, delete or show anything.
import { env } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { mintEdgeToken, type Scope } from "../src/auth/edge-tokens";
import type { Env } from "../src/env";
import {
  EDGE_KEY,
  FORGED_KEY,
  UNKNOWN_KID_KEY,
  authEnv,
  call,
  customEdgeToken,
  edgeToken,
  errorComment,
  jwksFetches,
  oidcKey,
  oidcToken,
  publishJwks,
  storeRecord,
  unsecuredToken,
} from "./auth";
import { instance, multipart, STOW_TYPE } from "./instances";

const ON = authEnv();

let serial = 0;
/** A STOW-RS of one new instance of a new study. */
async function stow(variant: Env, token?: string): Promise<{ res: Response; study: string; sop: string }> {
  const study = `6.${++serial}`;
  const sop = `${study}.1.1`;
  const res = await call(variant, "/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart([instance({ study, sop })]) }, token);
  return { res, study, sop };
}

/** Whether anything of the study is in the index or the bucket. */
async function stored(study: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM studies WHERE study_uid = ?1").bind(study).first<{ n: number }>();
  const objects = await env.OBJECTS.list({ prefix: `studies/${study}/` });
  return row!.n > 0 || objects.objects.length > 0;
}

/** A study stored beforehand, with auth off (the default test env). */
async function existingStudy(): Promise<string> {
  const { res, study } = await stow(env as unknown as Env);
  expect(res.status).toBe(200);
  return study;
}

function challenge(res: Response): string | null {
  return res.headers.get("www-authenticate");
}

// Refusals are logged (auth/failure.ts); the test that reads the log spies on its own.
beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

describe("refused tokens: 401 with the reason, nothing stored", () => {
  it("no token: the bare challenge (RFC 6750 3.1)", async () => {
    const { res, study } = await stow(ON);
    expect(res.status).toBe(401);
    expect(challenge(res)).toBe('Bearer realm="dicom-edge"');
    expect(await errorComment(res)).toBe("a bearer token is required");
    expect(await stored(study)).toBe(false);
    const basic = await call(ON, "/dicomweb/studies", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    expect([basic.status, challenge(basic)]).toEqual([401, 'Bearer realm="dicom-edge"']);
  });

  it("a malformed Authorization header: invalid_request", async () => {
    for (const header of ["Bearer", "Bearer two tokens", 'Bearer "quoted"']) {
      const res = await call(ON, "/dicomweb/studies", { method: "POST", headers: { Authorization: header, "Content-Type": STOW_TYPE() }, body: multipart([instance({ study: "6.0", sop: "6.0.1.1" })]) });
      expect(res.status, header).toBe(401);
      expect(challenge(res), header).toMatch(/^Bearer realm="dicom-edge", error="invalid_request", error_description="[^"]+"$/);
    }
    expect(await stored("6.0")).toBe(false);
  });

  const invalid: [name: string, token: () => Promise<string>, description: string][] = [
    ["expired", async () => (await edgeToken(["write"], { now: Date.now() - 3_600_000, expiresInSeconds: 600 })).token, "the token expired"],
    ["wrongly signed", async () => (await edgeToken(["write"], { key: FORGED_KEY.privateJwk })).token, "the token's signature does not verify"],
    ["for another audience", () => customEdgeToken({ aud: "another-service" }), "the token is for another audience"],
    ["from another issuer", () => customEdgeToken({ iss: "another-edge" }), "the token is from an issuer this edge does not trust"],
    ["alg none", async () => unsecuredToken({ scope: "write" }), "the token's algorithm is not accepted (ES256 only)"],
    ["signed with an unknown kid", async () => (await edgeToken(["write"], { key: UNKNOWN_KID_KEY.privateJwk })).token, "the token is signed with an unknown key"],
    [
      "whose row holds another token's hash",
      async () => {
        const { record: other } = await edgeToken(["write"]);
        const mine = await mintEdgeToken({ privateJwk: EDGE_KEY.privateJwk, name: "swapped", scopes: ["write"], expiresInSeconds: 300 });
        await storeRecord({ ...mine.record, tokenSha256: other.tokenSha256 });
        return mine.token;
      },
      "the token does not match its record",
    ],
  ];
  for (const [name, make, description] of invalid) {
    it(`a token ${name}: invalid_token`, async () => {
      const { res, study } = await stow(ON, await make());
      expect(res.status).toBe(401);
      expect(challenge(res)).toBe(`Bearer realm="dicom-edge", error="invalid_token", error_description="${description}"`);
      expect(await errorComment(res)).toBe(description);
      expect(await stored(study)).toBe(false);
    });
  }

  it("a token revoked through the admin route stops working at once", async () => {
    const { token, record } = await edgeToken(["read", "write"]);
    expect((await call(ON, "/dicomweb/studies", {}, token)).status).toBe(200);
    const { token: admin } = await edgeToken(["admin"]);
    const revoke = await call(ON, `/admin/tokens/${record.id}/revoke`, { method: "POST" }, admin);
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toMatchObject({ id: record.id, revoked: expect.stringMatching(/^\d{4}-/) });
    const { res, study } = await stow(ON, token);
    expect(res.status).toBe(401);
    expect(challenge(res)).toBe('Bearer realm="dicom-edge", error="invalid_token", error_description="the token was revoked"');
    expect(await stored(study)).toBe(false);
    expect((await call(ON, "/dicomweb/studies", {}, token)).status).toBe(401);
  });

  it("a token whose row was deleted stops working", async () => {
    const { token, record } = await edgeToken(["read", "write"]);
    expect((await call(ON, "/dicomweb/studies", {}, token)).status).toBe(200);
    await env.DB.prepare("DELETE FROM api_tokens WHERE id = ?1").bind(record.id).run();
    const { res, study } = await stow(ON, token);
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/error_description="the token is not known to this edge"/);
    expect(await stored(study)).toBe(false);
  });
});

describe("scopes: each route needs its own", () => {
  const tokens = {} as Record<Scope, string>;
  let study: string;
  beforeAll(async () => {
    for (const scope of ["read", "write", "delete", "admin"] as const) tokens[scope] = (await edgeToken([scope])).token;
    study = await existingStudy();
  });

  const insufficient = (res: Response, scope: Scope) => {
    expect(res.status).toBe(403);
    expect(challenge(res)).toBe(`Bearer realm="dicom-edge", error="insufficient_scope", error_description="needs the ${scope} scope", scope="${scope}"`);
  };

  it("read: QIDO-RS and WADO-RS, GET and HEAD; not STOW-RS, DELETE nor admin", async () => {
    expect((await call(ON, `/dicomweb/studies?StudyInstanceUID=${study}`, {}, tokens.read)).status).toBe(200);
    expect((await call(ON, `/dicomweb/studies/${study}/metadata`, {}, tokens.read)).status).toBe(200);
    expect((await call(ON, `/dicomweb/studies/${study}/metadata`, { method: "HEAD" }, tokens.read)).status).toBe(200);
    const { res, study: refused } = await stow(ON, tokens.read);
    insufficient(res, "write");
    expect(await stored(refused)).toBe(false);
    insufficient(await call(ON, `/dicomweb/studies/${study}`, { method: "DELETE" }, tokens.read), "delete");
    expect(await stored(study)).toBe(true);
    insufficient(await call(ON, "/admin/tokens", {}, tokens.read), "admin");
  });

  it("write: STOW-RS only", async () => {
    const { res, study: written } = await stow(ON, tokens.write);
    expect(res.status).toBe(200);
    expect(await stored(written)).toBe(true);
    insufficient(await call(ON, `/dicomweb/studies/${written}/metadata`, {}, tokens.write), "read");
    insufficient(await call(ON, `/dicomweb/studies/${written}/metadata`, { method: "HEAD" }, tokens.write), "read");
    insufficient(await call(ON, `/dicomweb/studies/${written}`, { method: "DELETE" }, tokens.write), "delete");
    expect(await stored(written)).toBe(true);
  });

  it("delete: DELETE only", async () => {
    const doomed = await existingStudy();
    insufficient(await call(ON, `/dicomweb/studies/${doomed}`, {}, tokens.delete), "read");
    const { res, study: refused } = await stow(ON, tokens.delete);
    insufficient(res, "write");
    expect(await stored(refused)).toBe(false);
    expect((await call(ON, `/dicomweb/studies/${doomed}`, { method: "DELETE" }, tokens.delete)).status).toBe(204);
    expect(await stored(doomed)).toBe(false);
  });

  it("admin: /admin only; it is not read", async () => {
    expect((await call(ON, "/admin/tokens", {}, tokens.admin)).status).toBe(200);
    expect((await call(ON, "/admin/agents", {}, tokens.admin)).status).toBe(200);
    insufficient(await call(ON, "/dicomweb/studies", {}, tokens.admin), "read");
    insufficient(await call(ON, "/admin/agents/site-a/revoke", { method: "POST" }, tokens.read), "admin");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM agent_revocations").first()).toEqual({ n: 0 });
  });

  it("send: POST /agents/{id}/send is a retrieve, it needs read", async () => {
    const body = JSON.stringify({ destination: "PACS", studyInstanceUID: study });
    const init = { method: "POST", headers: { "Content-Type": "application/json" }, body };
    insufficient(await call(ON, "/agents/site-b/send", init, tokens.write), "read");
    expect((await call(ON, "/agents/site-b/send", init)).status).toBe(401);
    // Past authorisation: the agent is simply not connected.
    const res = await call(ON, "/agents/site-b/send", init, tokens.read);
    expect(res.status).toBe(503);
    expect(await errorComment(res)).toBe("agent site-b is not connected");
  });

  it("FHIR reads need read; unknown routes need a token, then 404", async () => {
    expect((await call(ON, "/fhir/ImagingStudy")).status).toBe(401);
    insufficient(await call(ON, "/fhir/ImagingStudy", {}, tokens.write), "read");
    expect((await call(ON, "/fhir/ImagingStudy", {}, tokens.read)).status).toBe(200);
    expect((await call(ON, "/fhir/Nothing/here", {}, tokens.read)).status).toBe(404);
    expect((await call(ON, "/no/such/thing")).status).toBe(401);
    expect((await call(ON, "/no/such/thing", {}, tokens.delete)).status).toBe(404);
  });

  it("answers FHIR's refusals as OperationOutcomes, with the same challenges", async () => {
    const outcome = async (res: Response) => {
      expect(res.headers.get("content-type")).toMatch(/^application\/fhir\+json/);
      return ((await res.json()) as { resourceType: string; issue: { code: string }[] });
    };
    const missing = await call(ON, "/fhir/Patient");
    expect(missing.status).toBe(401);
    expect(challenge(missing)).toMatch(/^Bearer realm="dicom-edge"/);
    expect(await outcome(missing)).toMatchObject({ resourceType: "OperationOutcome", issue: [{ code: "login" }] });
    const scope = await call(ON, "/fhir/Patient", {}, tokens.write);
    expect(scope.status).toBe(403);
    expect(await outcome(scope)).toMatchObject({ issue: [{ code: "forbidden" }] });
    const none = await call(ON, "/fhir/Nothing/here", {}, tokens.read);
    expect(none.status).toBe(404);
    expect(await outcome(none)).toMatchObject({ issue: [{ code: "not-supported" }] });
    // DICOMweb keeps its DICOM JSON error body.
    expect((await call(ON, "/dicomweb/studies")).headers.get("content-type")).toBe("application/dicom+json");
  });
});

describe("fail closed, CORS and /health", () => {
  it("503 on every protected route when no issuer is configured, saying what to set", async () => {
    for (const variant of [authEnv({ edge: false }), { ...authEnv({ edge: false }), AUTH_DISABLED: "true" }]) {
      const read = await call(variant, "/dicomweb/studies");
      expect(read.status).toBe(503);
      expect(await errorComment(read)).toMatch(/^authentication is not configured: set TOKEN_PUBLIC_KEYS .* OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL/);
      const { res, study } = await stow(variant);
      expect(res.status).toBe(503);
      expect(await stored(study)).toBe(false);
      expect((await call(variant, "/admin/tokens")).status).toBe(503);
      expect((await call(variant, "/health")).status).toBe(200);
    }
    const half = await call({ ...ON, OIDC_ISSUER: "https://idp.example" }, "/dicomweb/studies", {}, (await edgeToken(["read"])).token);
    expect(half.status).toBe(503);
    expect(await errorComment(half)).toBe("OpenID Connect is half configured: set OIDC_AUDIENCE and OIDC_JWKS_URL too");
  });

  it("a CORS preflight needs no token; refusals carry CORS headers and expose the challenge", async () => {
    const preflight = await call(ON, "/dicomweb/studies", {
      method: "OPTIONS",
      headers: { Origin: "https://viewer.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    const refused = await call(ON, "/dicomweb/studies", { headers: { Origin: "https://viewer.example" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    expect(refused.headers.get("access-control-expose-headers")).toMatch(/WWW-Authenticate/);
  });

  it("/health is public; agent ids only for an admin's token", async () => {
    await env.DB.prepare("INSERT INTO agent_connections (agent_id, connected_at) VALUES ('site-x', 1)").run();
    try {
      const anonymous = await call(ON, "/health");
      expect(anonymous.status).toBe(200);
      expect(await anonymous.json()).toMatchObject({ status: "ok", agents: { connected: 1 } });
      expect(await (await call(ON, "/health", {}, "not-a-jwt")).json()).toEqual(expect.objectContaining({ agents: { connected: 1 } }));
      expect(await (await call(ON, "/health", {}, (await edgeToken(["read"])).token)).json()).toEqual(expect.objectContaining({ agents: { connected: 1 } }));
      expect(await (await call(ON, "/health", {}, (await edgeToken(["admin"])).token)).json()).toEqual(expect.objectContaining({ agents: { connected: 1, ids: ["site-x"] } }));
      expect(await (await call(env as unknown as Env, "/health")).json()).toEqual(expect.objectContaining({ agents: { connected: 1, ids: ["site-x"] } }));
    } finally {
      await env.DB.prepare("DELETE FROM agent_connections WHERE agent_id = 'site-x'").run();
    }
  });
});

describe("no token is stored or logged", () => {
  it("api_tokens holds hashes, the admin list not even those, and refusals log no token", async () => {
    vi.restoreAllMocks();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { token: good, record } = await edgeToken(["read"], { name: "auditor" });
    const { token: admin } = await edgeToken(["admin"]);
    const revoked = await edgeToken(["write"]);
    await env.DB.prepare("UPDATE api_tokens SET revoked_at = 1 WHERE id = ?1").bind(revoked.record.id).run();
    const forged = (await edgeToken(["write"], { key: FORGED_KEY.privateJwk })).token;
    const tokens = [good, admin, revoked.token, forged];

    await stow(ON, good);
    await stow(ON, revoked.token);
    await stow(ON, forged);
    await call(ON, "/dicomweb/studies", { headers: { Authorization: `Bearer ${forged} extra` } });
    const list = await call(ON, "/admin/tokens", {}, admin);
    const listed = await list.text();

    expect(warn.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(warn.mock.calls.map((args) => args.join(" ")).join("\n")).toMatch(/POST \/dicomweb\/studies refused 403 insufficient_scope: needs the write scope subject="auditor"/);
    for (const args of warn.mock.calls) {
      const line = args.map(String).join(" ");
      for (const token of tokens) {
        expect(line).not.toContain(token);
        // Not even one of its parts: a signature alone is a secret's half.
        for (const part of token.split(".").filter((p) => p.length > 16)) expect(line).not.toContain(part);
      }
    }
    const rows = (await env.DB.prepare("SELECT * FROM api_tokens").all<Record<string, unknown>>()).results;
    const dump = JSON.stringify(rows);
    for (const token of tokens) for (const part of token.split(".")) if (part.length > 16) expect(dump).not.toContain(part);
    expect(rows.find((row) => row.id === record.id)).toMatchObject({ token_sha256: record.tokenSha256 });
    expect(record.tokenSha256).toMatch(/^[0-9a-f]{64}$/);

    expect(list.status).toBe(200);
    expect(listed).not.toContain(record.tokenSha256);
    expect(JSON.parse(listed)).toContainEqual({ id: record.id, name: "auditor", scopes: ["read"], created: expect.any(String), expires: expect.any(String), revoked: null });
    for (const token of tokens) expect(listed).not.toContain(token);
  });
});

describe("an OpenID Connect issuer over HTTP (its JWKS from edge/test/jwks-server.ts)", () => {
  it("takes its tokens, scopes by prefix, and fetches its keys once for many requests", async () => {
    const key = await oidcKey("kc-1");
    await publishJwks("http-basic", [key]);
    const OIDC = authEnv({ jwks: "http-basic", scopePrefix: "dicom-edge.", edge: false });
    const reader = await oidcToken(key, { scope: "openid dicom-edge.read" });
    for (let i = 0; i < 3; i++) expect((await call(OIDC, "/dicomweb/studies", {}, reader)).status).toBe(200);
    const { res: refused, study } = await stow(OIDC, reader);
    expect(refused.status).toBe(403);
    expect(await stored(study)).toBe(false);
    const writer = await oidcToken(key, { scp: ["dicom-edge.write"] });
    const { res: written, study: writtenStudy } = await stow(OIDC, writer);
    expect(written.status).toBe(200);
    expect(await stored(writtenStudy)).toBe(true);
    expect((await call(OIDC, "/admin/tokens", {}, await oidcToken(key, { roles: ["dicom-edge.admin"] }))).status).toBe(200);
    // Without the prefix, a bare "read" is another application's.
    expect((await call(OIDC, "/dicomweb/studies", {}, await oidcToken(key, { scope: "read" }))).status).toBe(403);
    expect((await call(OIDC, "/dicomweb/studies", {}, await oidcToken(key, { scope: "dicom-edge.read", aud: "other-api" }))).status).toBe(401);
    expect(await jwksFetches("http-basic")).toBe(1);
  });

  it("follows a key rotation: a new kid verifies once the JWKS has it (refetched on the unknown kid)", async () => {
    const old = await oidcKey("kc-old");
    const next = await oidcKey("kc-new");
    await publishJwks("http-rotation", [old]);
    const OIDC = authEnv({ jwks: "http-rotation", edge: false });
    expect((await call(OIDC, "/dicomweb/studies", {}, await oidcToken(old, { scope: "read" }))).status).toBe(200);
    expect(await jwksFetches("http-rotation")).toBe(1);

    // The issuer rotates: the old key is retired, the new one signs.
    await publishJwks("http-rotation", [next]);
    const fresh = await oidcToken(next, { scope: "read" });
    // jose refetches for an unknown kid at most once per 30 s cooldown; within it, the kid is unknown.
    const early = await call(OIDC, "/dicomweb/studies", {}, fresh);
    expect(early.status).toBe(401);
    expect(challenge(early)).toMatch(/the token is signed with an unknown key/);
    expect(await jwksFetches("http-rotation")).toBe(1);
    // Past the cooldown (the JWKS cache's clock only: jose reads Date.now() for it), the unknown kid triggers a refetch.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => realNow() + 31_000);
    expect((await call(OIDC, "/dicomweb/studies", {}, fresh)).status).toBe(200);
    expect(await jwksFetches("http-rotation")).toBe(2);
    // The retired key no longer verifies.
    expect((await call(OIDC, "/dicomweb/studies", {}, await oidcToken(old, { scope: "read" }))).status).toBe(401);
  });

  it("both issuers at once, chosen by iss; 503 with Retry-After when the issuer's keys cannot be fetched", async () => {
    const key = await oidcKey("kc-both");
    await publishJwks("http-both", [key]);
    const BOTH = authEnv({ jwks: "http-both" });
    expect((await call(BOTH, "/dicomweb/studies", {}, await oidcToken(key, { scope: "read" }))).status).toBe(200);
    expect((await call(BOTH, "/dicomweb/studies", {}, (await edgeToken(["read"])).token)).status).toBe(200);
    expect((await call(BOTH, "/dicomweb/studies", {}, await oidcToken(key, { scope: "read", iss: "https://elsewhere.example" }))).status).toBe(401);

    vi.spyOn(console, "error").mockImplementation(() => {});
    const down = await call(authEnv({ jwks: "http-never-published" }), "/dicomweb/studies", {}, await oidcToken(key, { scope: "read" }));
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("30");
    expect(await errorComment(down)).toBe("the identity provider's keys could not be fetched; try again");
  });
});
