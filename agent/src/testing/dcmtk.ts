// dcmtk's command-line tools as the DIMSE peer in tests, on loopback only,
// with TCP_NODELAY=1 (Debian's dcmtk leaves Nagle on otherwise).
import { spawn } from "node:child_process";

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
