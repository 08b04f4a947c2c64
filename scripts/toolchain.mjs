// What `npm start`, `npm test` and the benchmark share: the pinned package
// manager, offline-friendly wrangler settings, and child processes that are
// stopped with everything they started.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const bin = (name) => path.join(root, "node_modules", ".bin", name);

/** pnpm pinned in package.json, fetched by npx (corepack cannot verify it here). */
export const PNPM = ["npx", "-y", "pnpm@12.4.2"];

/** No telemetry, no banner, no remote lookups: the stack runs offline. */
export const quietWrangler = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};

/** Runs a command to completion, output inherited; rejects on a non-zero exit. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: options.stdio ?? ["ignore", "inherit", "inherit"],
      env: { ...process.env, ...quietWrangler, ...options.env },
    });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${signal ?? code}`)),
    );
  });
}

/** Installs the workspace exactly as locked. */
export function install() {
  return run(PNPM[0], [...PNPM.slice(1), "install", "--frozen-lockfile"]);
}

/**
 * Starts a long-running process in its own process group, so that stopping
 * it also stops what it spawned (wrangler leaves workerd behind otherwise).
 */
export function startGroup(command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: root,
    detached: true,
    stdio: options.stdio ?? ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...quietWrangler, ...options.env },
  });
  const stop = (signal = "SIGTERM") => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return { child, stop };
}
