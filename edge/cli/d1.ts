/**
 * The edge's D1 as the CLI reaches it: `wrangler d1 execute DB --json`,
 * against the local database (`.wrangler/state`, or `--persist-to`) or
 * the deployed one (`--remote`).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { CliError } from "./errors";
import { repoRoot } from "./repo";

/** Which D1 to use; the binding is `DB` in the config. */
export interface D1Target {
  remote: boolean;
  /** Local only: wrangler's state folder (`--persist-to`); wrangler's default when absent. */
  persistTo?: string | undefined;
  /** wrangler.toml; the repository's by default. */
  config: string;
}

export const WRANGLER = path.join(repoRoot, "node_modules", ".bin", "wrangler");
export const DEFAULT_CONFIG = path.join(repoRoot, "wrangler.toml");

/** No telemetry, no banner, no remote lookups (scripts/toolchain.mjs does the same). */
const QUIET_WRANGLER = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" };

/** The wrangler arguments that pick the database, for `d1 execute` and `d1 migrations apply`. */
export function targetArgs(target: D1Target): string[] {
  return ["--config", target.config, ...placeArgs(target)];
}

/** How to apply the migrations to this database, for error messages. */
export function migrateHint(target: D1Target): string {
  const config = target.config === DEFAULT_CONFIG ? [] : ["--config", target.config];
  return ["npx wrangler d1 migrations apply DB", ...config, ...placeArgs(target)].join(" ");
}

function placeArgs(target: D1Target): string[] {
  if (target.remote) return ["--remote"];
  return target.persistTo ? ["--local", "--persist-to", target.persistTo] : ["--local"];
}

/**
 * Runs `sql` (one or more statements) and returns the rows of each. A D1
 * error becomes a CliError with D1's own text; a missing `api_tokens`
 * table says how to apply the migrations.
 */
export async function executeSql(target: D1Target, sql: string): Promise<Record<string, unknown>[][]> {
  const { code, stdout, stderr } = await wrangler(["d1", "execute", "DB", "--json", ...targetArgs(target), "--command", sql]);
  let output: unknown;
  try {
    output = JSON.parse(stdout);
  } catch {
    throw new CliError(`wrangler d1 execute failed (exit ${code}):\n${(stderr || stdout).trim()}`);
  }
  if (code === 0 && Array.isArray(output)) {
    return output.map((result: { results?: Record<string, unknown>[] }) => result.results ?? []);
  }
  const text = (output as { error?: { text?: string } })?.error?.text ?? (stderr || stdout).trim();
  if (/no such table: api_tokens/.test(text)) {
    throw new CliError(`the database has no api_tokens table yet: apply the migrations first:\n  ${migrateHint(target)}`);
  }
  throw new CliError(`D1: ${text}`);
}

function wrangler(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...QUIET_WRANGLER },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (cause) => reject(new CliError(`cannot run ${WRANGLER} (is the workspace installed?)`, 1, { cause })));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
