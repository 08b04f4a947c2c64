// Authentication end to end: an edge of its own with its token keys (the
// shared stack runs with auth off), tokens minted into its D1 by the token
// CLI's code, the real agent requiring a DIMSE identity, dcmtk's storescu
// with --jwt and --user/--password. Every refusal is checked for what it
// did not change.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../agent/src/identity/password";
import { executeSql } from "../edge/cli/d1";
import { generateSigningKey, tokenSha256 } from "../edge/src/auth/edge-tokens";
import { connectedAgents, startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { dcmtk } from "./dcmtk";
import { stow } from "./dicomweb";
import { startStack, type Stack, type StackTokens } from "./stack";

let stack: Stack;
let tokens: StackTokens;
let agent: Agent;
let dir: string;
let ct: ManifestEntry[];

beforeAll(async () => {
  stack = await startStack({ auth: await generateSigningKey("e2e-key") });
  tokens = stack.tokens!;
  dir = await mkdtemp(join(tmpdir(), "dicom-edge-auth-"));
  ct = (await corpus()).files.filter((f) => f.group === "ct").slice(0, 3);
  agent = await startAgent({
    base: stack.base,
    id: "e2e-auth",
    adminToken: tokens.admin,
    env: {
      DICOMEDGE_IDENTITY_REQUIRED: "true",
      DICOMEDGE_IDENTITY_USERS: JSON.stringify([{ username: "viewer", password_hash: await hashPassword("look only"), scopes: ["read"] }]),
    },
  });
});
afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
/** QIDO-RS for one instance: what the archive holds of it. */
const instances = async (token: string, f: ManifestEntry) =>
  (await (await fetch(`${stack.base}/dicomweb/instances?SOPInstanceUID=${f.sopInstanceUid}`, { headers: { ...bearer(token), Accept: "application/dicom+json" } })).json()) as unknown[];

describe("DICOMweb with bearer tokens", () => {
  it("refuses a request without a token with 401 and a Bearer challenge, and answers a CORS preflight without one", async () => {
    const response = await fetch(`${stack.base}/dicomweb/studies`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="dicom-edge"/);
    const preflight = await fetch(`${stack.base}/dicomweb/studies`, {
      method: "OPTIONS",
      headers: { Origin: "https://viewer.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("refuses a garbage token with invalid_token", async () => {
    const response = await fetch(`${stack.base}/dicomweb/studies`, { headers: bearer("not.a.jwt") });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("stores only with the write scope, deletes only with the delete scope", async () => {
    const f = ct[0]!;
    const readOnly = await stow(stack.base, [f.absPath], { headers: bearer(tokens.read) });
    expect(readOnly.status).toBe(403);
    expect(readOnly.headers.get("www-authenticate")).toMatch(/error="insufficient_scope".*scope="write"/);
    expect(await instances(tokens.read, f)).toEqual([]);

    expect((await stow(stack.base, [f.absPath], { headers: bearer(tokens.write) })).status).toBe(200);
    expect(await instances(tokens.read, f)).toHaveLength(1);

    const url = `${stack.base}/dicomweb/studies/${f.studyInstanceUid}`;
    expect((await fetch(url, { method: "DELETE", headers: bearer(tokens.write) })).status).toBe(403);
    expect(await instances(tokens.read, f)).toHaveLength(1);
    expect((await fetch(url, { method: "DELETE", headers: bearer(tokens.delete) })).status).toBe(204);
    expect(await instances(tokens.read, f)).toEqual([]);
  });
});

describe("DIMSE identity through the agent (storescu)", () => {
  const jwtFile = async (name: string, token: string) => {
    const path = join(dir, `${name}.jwt`);
    await writeFile(path, token);
    return path;
  };
  const storescu = (file: ManifestEntry, identity: string[]) => dcmtk("storescu", ["-v", "-aec", agent.aeTitle, ...identity, "127.0.0.1", String(agent.port), file.absPath]);

  it("stores with a JWT that has the write scope, verified by the edge", async () => {
    const f = ct[1]!;
    const { code, output } = await storescu(f, ["--jwt", await jwtFile("write", tokens.write), "--pos-response"]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/Received Store Response \(Success\)/);
    expect(await instances(tokens.read, f)).toHaveLength(1);
  });

  it("refuses a JWT without the write scope (0124), a username without it, and no identity at all", async () => {
    const f = ct[2]!;
    expect((await storescu(f, ["--jwt", await jwtFile("read", tokens.read)])).output).toMatch(/Received Store Response \(Unknown Status: 0x124\)/);
    expect((await storescu(f, ["--user", "viewer", "--password", "look only"])).output).toMatch(/Received Store Response \(Unknown Status: 0x124\)/);
    expect((await storescu(f, [])).output).toMatch(/Association Rejected/);
    expect((await storescu(f, ["--user", "viewer", "--password", "wrong"])).output).toMatch(/Association Rejected/);
    expect(await instances(tokens.read, f)).toEqual([]);
  });

  it("refuses a token once it is revoked, on DICOMweb and on DIMSE alike", async () => {
    const f = ct[2]!;
    const rows = (await (await fetch(`${stack.base}/admin/tokens`, { headers: bearer(tokens.admin) })).json()) as { id: string; name: string }[];
    const write = rows.find((t) => t.name === "e2e-write")!;
    const revoked = await fetch(`${stack.base}/admin/tokens/${write.id}/revoke`, { method: "POST", headers: bearer(tokens.admin) });
    expect(revoked.status).toBe(200);
    expect((await stow(stack.base, [f.absPath], { headers: bearer(tokens.write) })).status).toBe(401);
    expect((await storescu(f, ["--jwt", await jwtFile("revoked", tokens.write)])).output).toMatch(/Association Rejected/);
    expect(await instances(tokens.read, f)).toEqual([]);
  });
});

describe("the agent's tunnel", () => {
  it("refuses an agent signing with another agent's key", async () => {
    const impostor = await startAgent({ base: stack.base, id: "e2e-auth", agentKey: "e2e-agent-key-0123456789abcdef", connected: false });
    try {
      for (let i = 0; i < 100 && !impostor.log().includes("HTTP 401"); i++) await new Promise((r) => setTimeout(r, 50));
      expect(impostor.log()).toMatch(/edge refused the tunnel: HTTP 401/);
    } finally {
      await impostor.stop();
    }
  });

  it("cuts a revoked agent off and lets it back in once reinstated", async () => {
    const revoke = await fetch(`${stack.base}/admin/agents/e2e-auth/revoke`, { method: "POST", headers: bearer(tokens.admin) });
    expect(revoke.status).toBe(200);
    for (let i = 0; i < 100 && !agent.log().includes("HTTP 403"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(agent.log()).toMatch(/edge refused the tunnel: HTTP 403/);
    expect(await connectedAgents(stack.base, tokens.admin)).not.toContain("e2e-auth");
    // While revoked nothing goes through it.
    expect((await dcmtk("echoscu", ["-aec", agent.aeTitle, "127.0.0.1", String(agent.port)])).code).not.toBe(0);

    expect((await fetch(`${stack.base}/admin/agents/e2e-auth/reinstate`, { method: "POST", headers: bearer(tokens.admin) })).status).toBe(200);
    for (let i = 0; i < 150 && !(await connectedAgents(stack.base, tokens.admin)).includes("e2e-auth"); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await connectedAgents(stack.base, tokens.admin)).toContain("e2e-auth");
  });
});

describe("secrets at rest and in logs", () => {
  it("keeps only the SHA-256 of each token in D1, and no token in the edge's or the agent's log", async () => {
    const [rows = []] = await executeSql({ remote: false, persistTo: stack.data, config: stack.config }, "SELECT * FROM api_tokens");
    expect(rows).toHaveLength(Object.keys(tokens).length);
    const stored = JSON.stringify(rows);
    for (const token of Object.values(tokens)) {
      expect(stored).not.toContain(token);
      // Not even the signature part of it.
      expect(stored).not.toContain(token.split(".")[2]!);
      expect(rows.map((r) => r.token_sha256)).toContain(await tokenSha256(token));
    }
    for (const log of [stack.log(), agent.log()]) for (const token of Object.values(tokens)) expect(log).not.toContain(token.split(".")[2]!);
  });
});
