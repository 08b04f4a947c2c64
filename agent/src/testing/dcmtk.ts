// dcmtk's command-line tools as the DIMSE peer in tests, on loopback only,
// with TCP_NODELAY=1 (Debian's dcmtk leaves Nagle on otherwise).
import { spawn } from "node:child_process";
import net from "node:net";
import { freePort } from "./ports.ts";

export interface ToolResult {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  out: string;
}

export function dcmtk(tool: string, args: string[], timeoutMs = 20_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { env: { ...process.env, TCP_NODELAY: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

export interface Storescp {
  port: number;
  aeTitle: string;
  /** Where it writes what it receives, byte for byte (+B). */
  dir: string;
  /** Everything it printed. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * dcmtk's storescp as a C-MOVE destination, bit-preserving (+B) so the
 * files it writes are the data sets as they arrived. It binds every
 * interface (it has no option to bind one); tests only send to 127.0.0.1.
 */
export async function startStorescp(aeTitle: string, dir: string): Promise<Storescp> {
  const port = await freePort();
  const child = spawn("storescp", ["-aet", aeTitle, "+B", "-od", dir, "--acse-timeout", "10", String(port)], {
    env: { ...process.env, TCP_NODELAY: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Ready once it accepts a connection.
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`storescp did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    aeTitle,
    dir,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
