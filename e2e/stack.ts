// Starts the local stack the way `npm start` does (wrangler dev with D1 and R2
// on disk), but on a free loopback port and a fresh state folder, and stops
// it with every process it spawned.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" };

export interface Stack {
  base: string;
  /** pid of the process group (wrangler and its workerd). */
  pgid: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

function run(args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...QUIET } });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`wrangler ${args.join(" ")}: ${code}\n${err}`))));
  });
}

export async function startStack(): Promise<Stack> {
  const state = await mkdtemp(join(tmpdir(), "dicom-edge-e2e-"));
  await run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
  const port = await freePort();
  const child = spawn(WRANGLER, ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "warn"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...QUIET },
  });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
    await rm(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not come up:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { base, pgid: child.pid!, stop };
}
