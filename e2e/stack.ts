// Starts the local stack the way `npm start` does (wrangler dev with D1 and R2
// on disk), but on a free loopback port and a fresh state folder, and stops
// it with every process it spawned.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../agent/src/testing/ports";
import { createToken } from "../edge/cli/tokens";
import type { MintOptions, Scope } from "../edge/src/auth/edge-tokens";

/** A JSON Web Key, as the token code takes it (jose's type, which only edge/ resolves). */
type JWK = MintOptions["privateJwk"];

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" };

/** The agent keys the e2e edge knows: agents "e2e", "e2e-spool" and "e2e-find" (the tests' agents). */
export const AGENT_KEYS = {
  e2e: "e2e-agent-key-0123456789abcdef",
  "e2e-spool": "e2e-spool-key-0123456789abcdef",
  "e2e-find": "e2e-find-key-0123456789abcdef0",
  "e2e-retrieve": "e2e-retrieve-key-0123456789abcd",
  "e2e-auth": "e2e-auth-key-0123456789abcdef01",
  "e2e-broker": "e2e-broker-key-0123456789abcdef",
  "e2e-broker-pacs": "e2e-broker-pacs-key-0123456789",
  "e2e-broker-get": "e2e-broker-get-key-0123456789a",
  "e2e-broker-cache": "e2e-broker-cache-key-012345678",
  "e2e-broker-wado": "e2e-broker-wado-key-0123456789",
  "e2e-broker-dimse-get": "e2e-broker-dimse-get-key-012345",
  "e2e-broker-dimse-move": "e2e-broker-dimse-move-key-01234",
  "e2e-broker-dimse-cache": "e2e-broker-dimse-cache-key-0123",
};

/** Tokens a stack started with `auth` holds, by what they may do. */
export type StackTokens = Record<"all" | "read" | "write" | "delete" | "admin", string>;

export interface Stack {
  base: string;
  /** With `auth`: bearer tokens minted into this stack's D1 before it started. */
  tokens?: StackTokens;
  /** Where its D1 and R2 live, and the config that serves them (for `wrangler d1 execute`). */
  data: string;
  config: string;
  /** What wrangler and the Worker printed. */
  log(): string;
  /** pid of the process group (wrangler and its workerd). */
  pgid: number;
  /** Removes the state folder too. */
  stop(): Promise<void>;
  /** SIGKILL, the state folder kept (a crash). */
  kill(): Promise<void>;
  /** Kills it and starts it again on the same port and state. */
  restart(): Promise<Stack>;
}


function run(args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...QUIET } });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`wrangler ${args.join(" ")}: ${code}\n${err}`))));
  });
}

/**
 * The Worker bundled once into `dir`, with a wrangler.toml that
 * serves that bundle: `wrangler dev` reloads the Worker whenever a source
 * file changes, which would cut a long test or benchmark short while code is
 * being edited; a frozen bundle runs what was there when the stack started.
 */
async function freeze(dir: string): Promise<void> {
  await run(["deploy", "--dry-run", "--outdir", dir]);
  const toml = (await readFile(join(ROOT, "wrangler.toml"), "utf8"))
    .replace(/^main = .*$/m, 'main = "index.js"')
    .replace(/^migrations_dir = "(.*)"$/m, (_, dir: string) => `migrations_dir = ${JSON.stringify(join(ROOT, dir))}`);
  await writeFile(join(dir, "wrangler.toml"), toml);
}

/**
 * Starts wrangler dev on a fresh state folder. `options.base` reuses an
 * earlier stack's port and state (`restart` is the crash-and-come-back case).
 * Without `auth` the edge runs with authentication off (the explicit
 * local-development setting), as the feature tests need no tokens; with
 * it, the edge verifies its own tokens, minted here with the `token` CLI's
 * code into the stack's D1 before wrangler dev opens it.
 */
export async function startStack(
  options: {
    state?: string;
    port?: number;
    auth?: { privateJwk: JWK; publicJwk: JWK; tokens?: StackTokens };
    /** More Worker vars, each passed as `--var K:V` after the defaults (FHIR_PUSH_URL, ...). */
    vars?: Record<string, string>;
    /**
     * "wrangler" (default): `wrangler dev`, as `npm start` runs it.
     * "miniflare": the same runtime and local bindings without wrangler's
     * development proxy (e2e/miniflare-server.ts), for the benchmarks.
     */
    runtime?: "wrangler" | "miniflare";
  } = {},
): Promise<Stack> {
  const state = options.state ?? (await mkdtemp(join(tmpdir(), "dicom-edge-e2e-")));
  // The bundle and its config live apart from the persisted D1 and R2 data:
  // wrangler watches the config's folder, and every write there reloads the Worker.
  const config = join(state, "bundle", "wrangler.toml");
  const data = join(state, "data");
  if (!options.state) {
    await freeze(join(state, "bundle"));
    await run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", data, "--config", config]);
  }
  let tokens = options.auth?.tokens;
  if (options.auth && !tokens) {
    const target = { remote: false, persistTo: data, config };
    const mint = async (name: string, scopes: Scope[]) => (await createToken(target, options.auth!.privateJwk, { name, scopes, expiresInSeconds: 3600 })).token;
    tokens = {
      all: await mint("e2e-all", ["read", "write", "delete", "admin"]),
      read: await mint("e2e-read", ["read"]),
      write: await mint("e2e-write", ["write"]),
      delete: await mint("e2e-delete", ["delete"]),
      admin: await mint("e2e-admin", ["admin"]),
    };
  }
  const vars: Record<string, string> = {
    AGENT_KEYS: JSON.stringify(AGENT_KEYS),
    ...(options.auth ? { TOKEN_PUBLIC_KEYS: JSON.stringify({ keys: [options.auth.publicJwk] }) } : { AUTH_DISABLED: "local-development-only" }),
    // FHIR Subscription retries after 1, 2, 4, 8 s (not 10, 20, ...): a failing receiver turns its Subscription to error within a test.
    SUBSCRIPTION_RETRY_BASE_SECONDS: "1",
    ...options.vars,
  };
  const port = options.port ?? (await freePort());
  // Its own inspector port too: stacks that start together (several test
  // files, a benchmark) would otherwise race for wrangler's default one.
  const inspectorPort = await freePort();
  const child =
    options.runtime === "miniflare"
      ? spawn(TSX, [join(ROOT, "e2e", "miniflare-server.ts"), config, data, String(port)], {
          cwd: ROOT,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, DICOMEDGE_STACK_VARS: JSON.stringify(vars) },
        })
      : spawn(
          WRANGLER,
          [
            "dev", "--config", config, "--no-bundle", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", data, "--log-level", "warn",
            ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
          ],
          { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...QUIET } },
        );
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  // E2E_STACK_LOG=1 shows the Worker's own log while debugging a test.
  if (process.env.E2E_STACK_LOG) child.stderr!.pipe(process.stderr);
  const base = `http://127.0.0.1:${port}`;
  const kill = async () => {
    const exited = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)));
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
    await exited;
  };
  const stack: Stack = {
    base,
    ...(tokens ? { tokens } : {}),
    data,
    config,
    log: () => log,
    pgid: child.pid!,
    kill,
    async stop() {
      await kill();
      await rm(state, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      return startStack({ ...options, state, port, ...(options.auth ? { auth: { ...options.auth, ...(tokens ? { tokens } : {}) } } : {}) });
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      // Up once the Worker itself answers /health, healthy or not (a broker's upstream may be down on purpose).
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json().catch(() => undefined)) as { status?: string } | undefined;
      if (body?.status === "ok" || body?.status === "unavailable") break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stack.stop();
      throw new Error(`wrangler dev did not come up:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return stack;
}
