// `npm start`: install, apply the local D1 migrations and run the whole stack
// on this machine: the edge on http://127.0.0.1:8787 (D1 and R2 on disk under
// .wrangler/state) and the agent (DIMSE on 127.0.0.1:11112, AE DICOMEDGE),
// joined by the agent's tunnel. Ctrl-C stops everything, workerd included.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { bin, install, root, run, startGroup } from "./toolchain.mjs";

const port = process.env.PORT ?? "8787";
const dimsePort = process.env.DICOMEDGE_DIMSE_PORT ?? "11112";

await install();
await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"]);

// The local agent's key, made once and kept with the local state: the edge
// learns it as AGENT_KEYS, the agent signs its tunnel tokens with it.
const keyFile = path.join(root, ".wrangler", "local-agent-key");
await mkdir(path.dirname(keyFile), { recursive: true });
if (!existsSync(keyFile)) await writeFile(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
const agentKey = (await readFile(keyFile, "utf8")).trim();

const edge = startGroup(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", port, "--var", `AGENT_KEYS:${JSON.stringify({ local: agentKey })}`]);
const agent = startGroup(bin("tsx"), ["agent/src/main.ts"], {
  env: {
    DICOMEDGE_EDGE_URL: `http://127.0.0.1:${port}`,
    DICOMEDGE_AGENT_ID: "local",
    DICOMEDGE_AGENT_KEY: agentKey,
    DICOMEDGE_DIMSE_PORT: dimsePort,
    DICOMEDGE_SPOOL_DIR: path.join(root, ".wrangler", "agent-spool"),
  },
});
console.log(`dicom-edge: DICOMweb at http://127.0.0.1:${port}/dicomweb, DIMSE at DICOMEDGE@127.0.0.1:${dimsePort} (Ctrl-C stops)`);

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  agent.stop("SIGTERM");
  edge.stop("SIGTERM");
  // workerd gets a moment to flush D1 and R2 to disk, then the groups go.
  setTimeout(() => {
    agent.stop("SIGKILL");
    edge.stop("SIGKILL");
    process.exit(0);
  }, 3000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
for (const { child } of [edge, agent]) {
  child.on("exit", (code) => {
    if (stopping) return;
    shutdown();
    process.exitCode = code ?? 1;
  });
}
