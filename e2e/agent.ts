// Starts the agent process the way systemd would (configuration from the
// environment), on a free loopback port, and stops it.
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_KEYS } from "./stack";
import type { AeTableEntry } from "../agent/src/config/config";
import { freePort } from "../agent/src/testing/ports";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");

export interface Agent {
  port: number;
  aeTitle: string;
  /** pid and process group id of the agent (tsx and its node child). */
  pid: number;
  log(): string;
  /** SIGKILL: the crash case. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

export interface AgentOptions {
  base: string;
  id: keyof typeof AGENT_KEYS;
  ackMode?: "edge" | "spool";
  spoolDir?: string;
  port?: number;
  /** C-MOVE and SEND destinations. */
  aeTable?: AeTableEntry[];
  /** The key the agent signs its tunnel tokens with; AGENT_KEYS[id] by default. */
  agentKey?: string;
  /** More DICOMEDGE_* settings (identity, ...). */
  env?: Record<string, string>;
  /** An admin token, when the edge checks tokens: /health lists agent ids only to admins. */
  adminToken?: string;
  /** Return once the process runs, without waiting for the tunnel (an agent the edge will refuse). */
  connected?: boolean;
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(join(ROOT, "node_modules", ".bin", "tsx"), ["agent/src/main.ts"], {
    cwd: ROOT,
    // Its own process group: tsx runs the agent in a child node process, and both go together.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      DICOMEDGE_DIMSE_PORT: String(port),
      DICOMEDGE_EDGE_URL: options.base,
      DICOMEDGE_AGENT_ID: options.id,
      DICOMEDGE_AGENT_KEY: options.agentKey ?? AGENT_KEYS[options.id],
      DICOMEDGE_ACK_MODE: options.ackMode ?? "edge",
      ...(options.spoolDir ? { DICOMEDGE_SPOOL_DIR: options.spoolDir } : {}),
      ...(options.aeTable ? { DICOMEDGE_AE_TABLE: JSON.stringify(options.aeTable) } : {}),
      ...options.env,
    },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const agent: Agent = {
    port,
    aeTitle: "DICOMEDGE",
    pid: child.pid!,
    log: () => output,
    async kill() {
      signalGroup(child, "SIGKILL");
      await exited;
    },
    async stop() {
      signalGroup(child, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      signalGroup(child, "SIGKILL");
      await exited;
    },
  };
  // Up when the edge lists the agent as connected.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (options.connected === false && output.includes("agent ")) return agent;
    if (options.connected !== false && (await connectedAgents(options.base, options.adminToken)).includes(options.id) && output.includes("agent ")) return agent;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await agent.stop();
      throw new Error(`agent did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** The agent ids the edge lists as connected (GET /health; with auth on, only an admin sees them). */
export async function connectedAgents(base: string, adminToken?: string): Promise<string[]> {
  const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000), ...(adminToken ? { headers: { Authorization: `Bearer ${adminToken}` } } : {}) });
  const health = (await response.json()) as { agents: { ids?: string[] } };
  return health.agents.ids ?? [];
}

/** The edge's answer to a SEND (edge/src/agents/send.ts): the final C-MOVE status, its counts and each instance's status. */
export interface SendReport {
  status: number;
  completed: number;
  failed: number;
  instances: { sopInstanceUID: string; status: number }[];
}

/** POST /agents/{id}/send at `base`: the HTTP status and, with 200, the report. */
export async function sendThroughAgent(base: string, agentId: string, request: object): Promise<{ status: number; report?: SendReport }> {
  const response = await fetch(`${base}/agents/${agentId}/send`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status };
  }
  return { status: 200, report: (await response.json()) as SendReport };
}
