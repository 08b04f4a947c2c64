// C-STORE ingest through the agent: storescu (one association, TCP_NODELAY=1)
// sends N CT instances of 512x512x16 bit into the agent, in edge ack mode
// and in spool mode. Usage: tsx bench/agent.ts [--count 1000]
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent } from "../e2e/agent";
import { corpus } from "../e2e/data/corpus";
import { startStack } from "../e2e/stack";
import { printTable } from "./report";

const args = new Map(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1] ?? ""]] : [])));
const COUNT = Number(args.get("count") ?? 1000);

const ct = (await corpus({ ct: COUNT, mr: 0 })).files.filter((f) => f.group === "ct");
const megabytes = ct.reduce((n, f) => n + f.size, 0) / 1e6;
const rows: Record<string, string | number>[] = [];
for (const ackMode of ["edge", "spool"] as const) {
  const stack = await startStack();
  const spoolDir = await mkdtemp(join(tmpdir(), "dicom-edge-bench-spool-"));
  const agent = await startAgent({ base: stack.base, id: ackMode === "edge" ? "e2e" : "e2e-spool", ackMode, spoolDir });
  try {
    const t = performance.now();
    const run = spawnSync("storescu", ["-aec", "DICOMEDGE", "127.0.0.1", String(agent.port), ...ct.map((f) => f.absPath)], {
      env: { ...process.env, TCP_NODELAY: "1" },
      maxBuffer: 64 * 1024 * 1024,
    });
    const seconds = (performance.now() - t) / 1000;
    if (run.status !== 0) throw new Error(`storescu failed: ${run.stderr}`);
    rows.push({ "ack mode": ackMode, instances: ct.length, MB: Math.round(megabytes), seconds: seconds.toFixed(1), "instances/s": (ct.length / seconds).toFixed(1), "MB/s": (megabytes / seconds).toFixed(1) });
  } finally {
    await agent.stop();
    await stack.stop();
    await rm(spoolDir, { recursive: true, force: true });
  }
}
printTable(rows);
