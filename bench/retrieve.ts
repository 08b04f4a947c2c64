// Retrieve through the agent: one study of N CT instances (512x512x16 bit,
// about 0.5 MB each) stored with STOW-RS, then C-GET (getscu, +B to disk),
// C-MOVE (movescu to a storescp of the agent's AE table, +B to disk) and
// the edge's SEND of the same study to that storescp. Every client runs
// with TCP_NODELAY=1. Median of --runs runs.
// Usage: tsx bench/retrieve.ts [--count 200] [--runs 3]
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dcmtk, startStorescp } from "../agent/src/testing/dcmtk";
import { startAgent } from "../e2e/agent";
import { corpus } from "../e2e/data/corpus";
import { stow } from "../e2e/dicomweb";
import { startStack } from "../e2e/stack";
import { percentile, printTable } from "./report";

const args = new Map(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1] ?? ""]] : [])));
const COUNT = Number(args.get("count") ?? 200);
const RUNS = Number(args.get("runs") ?? 3);

const ct = (await corpus({ ct: COUNT, mr: 0 })).files.filter((f) => f.group === "ct");
const study = ct[0]!.studyInstanceUid;
const megabytes = ct.reduce((n, f) => n + f.size, 0) / 1e6;
const stack = await startStack();
const received = await mkdtemp(join(tmpdir(), "dicom-edge-bench-retrieve-"));
const destination = await startStorescp("STORESCP", received);
const agent = await startAgent({ base: stack.base, id: "e2e", aeTable: [{ title: "STORESCP", host: "127.0.0.1", port: destination.port, tls: false }] });
const keys = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${study}`];

const cases: Record<string, () => Promise<void>> = {
  "C-GET (getscu)": async () => {
    const { code, out } = await dcmtk("getscu", ["-aec", agent.aeTitle, "+B", "-od", received, ...keys, "127.0.0.1", String(agent.port)], 600_000);
    if (code !== 0) throw new Error(`getscu: ${out}`);
  },
  "C-MOVE (movescu -> storescp)": async () => {
    const { code, out } = await dcmtk("movescu", ["-aec", agent.aeTitle, "-aem", "STORESCP", ...keys, "127.0.0.1", String(agent.port)], 600_000);
    if (code !== 0) throw new Error(`movescu: ${out}`);
  },
  "SEND (POST /agents/{id}/send -> storescp)": async () => {
    const response = await fetch(`${stack.base}/agents/e2e/send`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ destination: "STORESCP", studyInstanceUID: study }),
    });
    const report = (await response.json()) as { completed?: number };
    if (response.status !== 200 || report.completed !== ct.length) throw new Error(`send: ${response.status} ${JSON.stringify(report).slice(0, 300)}`);
  },
};

const rows: Record<string, string | number>[] = [];
try {
  const stored = await stow(stack.base, ct.map((f) => f.absPath));
  if (stored.status !== 200) throw new Error(`STOW-RS: ${stored.status}`);
  for (const [name, run] of Object.entries(cases)) {
    const seconds: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const f of await readdir(received)) await rm(join(received, f), { force: true });
      const t = performance.now();
      await run();
      seconds.push((performance.now() - t) / 1000);
      const files = (await readdir(received)).length;
      if (files !== ct.length) throw new Error(`${name}: ${files} of ${ct.length} instances arrived`);
    }
    const median = percentile(seconds, 50);
    rows.push({ case: name, instances: ct.length, MB: Math.round(megabytes), "median s": median.toFixed(2), "MB/s": (megabytes / median).toFixed(1), "instances/s": (ct.length / median).toFixed(1) });
  }
} finally {
  await agent.stop();
  await destination.stop();
  await stack.stop();
  await rm(received, { recursive: true, force: true });
}
printTable(rows);
