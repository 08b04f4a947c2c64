/**
 * The `token` CLI end to end: the real tsx entry point and wrangler's local
 * D1 in a temporary --persist-to folder, from migrations to revoke.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { importJWK, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EDGE_AUDIENCE, EDGE_ISSUER, tokenSha256 } from "../src/auth/edge-tokens";
import { DEFAULT_CONFIG, WRANGLER, executeSql, type D1Target } from "./d1";
import { repoRoot } from "./repo";

const TSX = path.join(repoRoot, "node_modules", ".bin", "tsx");
const ENTRY = path.join(repoRoot, "edge", "cli", "token.ts");
const QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" };

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...QUIET } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
let state: string;
let keyFile: string;
const cli = (...args: string[]) => run(TSX, [ENTRY, ...args]);
const d1 = () => ["--persist-to", state];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "dicom-edge-token-cli-"));
  state = path.join(dir, "state");
  keyFile = path.join(dir, "signing-key.json");
  const migrated = await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "--config", DEFAULT_CONFIG]);
  expect(migrated.code, migrated.stderr).toBe(0);
}, 30_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("token CLI", () => {
  it("inits a key, creates, lists and revokes a token in D1", async () => {
    const init = await cli("init", "--key", keyFile);
    expect(init.code, init.stderr).toBe(0);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const publicKeys = JSON.parse(init.stdout) as { keys: Record<string, unknown>[] };
    expect(publicKeys.keys).toHaveLength(1);
    expect(publicKeys.keys[0]).not.toHaveProperty("d");
    expect((await cli("init", "--key", keyFile)).code).toBe(1);

    const created = await cli("create", "--name", "it's a test", "--scope", "read,write", "--expires", "1h", "--key", keyFile, "--json", ...d1());
    expect(created.code, created.stderr).toBe(0);
    const { id, token, expiresAt } = JSON.parse(created.stdout) as { id: string; token: string; expiresAt: string };

    // The token verifies against the printed public key and says what was asked.
    const { payload } = await jwtVerify(token, await importJWK(publicKeys.keys[0]!, "ES256"), { issuer: EDGE_ISSUER, audience: EDGE_AUDIENCE });
    expect(payload).toMatchObject({ sub: "it's a test", jti: id, scope: "read write" });
    expect(new Date(payload.exp! * 1000).toISOString().replace(".000", "")).toBe(expiresAt);

    // D1 holds the token's hash and nothing of the token itself.
    const target: D1Target = { remote: false, persistTo: state, config: DEFAULT_CONFIG };
    const [rows = []] = await executeSql(target, "SELECT * FROM api_tokens");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, name: "it's a test", scopes: "read write", token_sha256: await tokenSha256(token), revoked_at: null });
    const signature = token.split(".")[2]!;
    expect(JSON.stringify(rows)).not.toContain(signature);

    const listed = await cli("list", "--json", ...d1());
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id, name: "it's a test", scopes: ["read", "write"], expiresAt, status: "active", revokedAt: null })]);
    expect(listed.stdout).not.toContain(rows[0]!.token_sha256 as string);

    const revoked = await cli("revoke", id, ...d1());
    expect(revoked.code, revoked.stderr).toBe(0);
    const unknown = await cli("revoke", "00000000-0000-4000-8000-000000000000", ...d1());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no token with id/);

    const table = await cli("list", ...d1());
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+it's a test\\s+read,write\\s.*\\srevoked$`, "m"));
  }, 60_000);
});
