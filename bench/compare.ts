// dicom-edge side by side with Orthanc 1.10 + its DICOMweb plugin (Debian),
// on the same files, in the same run: every case runs against both,
// interleaved (the order alternates per run), and the table gives both
// figures and their ratio against the target (issue 8). The figures are
// local ones: Miniflare serves the edge (workerd, with D1 and R2 on disk;
// e2e/miniflare-server.ts, without wrangler dev's reload proxy in front),
// two agents run beside it (one acknowledging C-STORE on the edge's commit,
// one on its spool's fsync), Orthanc stores to its own folder.
//
// Usage: npm run bench [-- --quick] [-- --runs N] [-- --out file.json]
//   --quick   small corpus (1,000 small, 100 CT, 50-instance study, 20 MB
//             instance), one run: a few minutes
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { benchCorpus } from "./corpus";
import { cFind, cGet, cMove, cStore, emptyFolder, get, getJson, load, storedInstances, stowRs } from "./clients";
import { sampleMemory } from "./memory";
import { compareRows, median, percentile, printTable, ROOT, type Comparison } from "./report";
import { DESTINATION, startSystems, type System } from "./systems";

const args = new Map(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1]?.startsWith("--") ? "" : (all[i + 1] ?? "")]] : [])));
const QUICK = args.has("quick");
const RUNS = Number(args.get("runs") || (QUICK ? 1 : 3));
const REQUESTS = QUICK ? 10 : 30; // latency samples per system and run
const OUT = args.get("out") || join(ROOT, ".tmp", "bench", "compare.json");
const SIZES = QUICK ? { ct: 100, study: 50, largeMb: 20, small: 1000 } : { ct: 1000, study: 200, largeMb: 100, small: 10000 };

type Unit = "instances/s" | "MB/s" | "ms";
type Key = "edge" | "orthanc";

interface Case {
  name: string;
  unit: Unit;
  /** Ratio bound, dicom-edge / Orthanc: at least this for rates, at most this for p50 latencies. */
  target?: number;
  /** Untimed, before every run. */
  prepare?: (system: System) => Promise<void>;
  /** One run: a rate, or one latency (ms) per request. */
  run: (system: System) => Promise<number[]>;
  /** Peak resident memory of each system's processes during the runs. */
  memory?: boolean;
}

const started = Date.now();
const data = await benchCorpus(SIZES);
const megabytes = (files: { size: number }[]) => files.reduce((n, f) => n + f.size, 0) / 1e6;
const scratch = await mkdtemp(join(tmpdir(), "dicom-edge-bench-"));
const systems = await startSystems();
const comparisons: Comparison[] = [];
const memory: Record<string, { startMB: number; peakMB: number }> = {};

/** Runs `c` against Orthanc and `edge` (the agent in edge-ack mode unless told otherwise). */
async function measure(c: Case, edge: System = systems.edge): Promise<void> {
  const samples: Record<Key, number[]> = { edge: [], orthanc: [] };
  for (let run = 0; run < RUNS; run++) {
    const order: Key[] = run % 2 === 0 ? ["edge", "orthanc"] : ["orthanc", "edge"];
    for (const key of order) {
      const system = key === "edge" ? edge : systems.orthanc;
      await c.prepare?.(system);
      const watch = c.memory ? sampleMemory(system.processes()) : undefined;
      samples[key].push(...(await c.run(system)));
      if (watch) {
        for (const [role, { start, peak }] of Object.entries(watch.stop())) {
          memory[role] = { startMB: memory[role]?.startMB ?? Math.round(start / 1e6), peakMB: Math.max(memory[role]?.peakMB ?? 0, Math.round(peak / 1e6)) };
        }
      }
    }
  }
  const name = edge === systems.edge ? c.name : `${c.name}, ${edge.name}`;
  if (c.unit === "ms") {
    comparisons.push({ case: `${name} p50`, unit: c.unit, edge: percentile(samples.edge, 50), orthanc: percentile(samples.orthanc, 50), target: c.target, better: "lower" });
    comparisons.push({ case: `${name} p95`, unit: c.unit, edge: percentile(samples.edge, 95), orthanc: percentile(samples.orthanc, 95), better: "lower" });
  } else {
    comparisons.push({ case: name, unit: c.unit, edge: median(samples.edge), orthanc: median(samples.orthanc), target: c.target, better: "higher" });
  }
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s  ${name}`);
}

/** A rate of `amount` per second over `work`. */
async function rate(amount: number, work: () => Promise<void>): Promise<number[]> {
  const t = performance.now();
  await work();
  return [amount / ((performance.now() - t) / 1000)];
}

async function latencies(work: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    await work();
    times.push(performance.now() - t);
  }
  return times;
}

/**
 * Ingest of `count` instances that must all be in the archive afterwards.
 * The rate is that of the acknowledgements; an agent in spool mode is then
 * waited for (untimed) until its spool has drained, so that its uploads do
 * not run into the next measurement.
 */
async function ingest(system: System, count: number, amount: number, work: () => Promise<void>): Promise<number[]> {
  const before = await storedInstances(system);
  const figure = await rate(amount, work);
  const deadline = Date.now() + 15 * 60_000;
  for (let stored = 0; stored !== count; ) {
    stored = (await storedInstances(system)) - before;
    if (stored > count || (stored < count && Date.now() > deadline)) throw new Error(`${system.name}: ${stored} of ${count} instances stored`);
    if (stored < count) await new Promise((r) => setTimeout(r, 500));
  }
  return figure;
}

function qidoCases(size: number): Case[] {
  const { uid, studyOf, patientOf } = data.small;
  const study = studyOf(Math.floor(size / 2));
  const label = size >= 1000 ? `${size / 1000}k` : String(size);
  const search = (path: string, expect: number) => async (system: System) =>
    latencies(async () => {
      const found = await getJson(`${system.dicomweb}${path}`);
      if (found.length !== expect) throw new Error(`${system.name} ${path}: ${found.length} matches, expected ${expect}`);
    });
  return [
    { name: `QIDO-RS studies by PatientID, ${label} instances`, unit: "ms", target: 1, run: search(`/studies?PatientID=PID${patientOf(study)}`, 3) },
    { name: `QIDO-RS series of a study, ${label}`, unit: "ms", target: 1, run: search(`/studies/${uid("study", study)}/series`, 2) },
    { name: `QIDO-RS instances of a series, ${label}`, unit: "ms", target: 1, run: search(`/studies/${uid("study", study)}/series/${uid("series", study, 1)}/instances`, 5) },
  ];
}

try {
  const small = data.small.files;
  // QIDO-RS over the first tenth of the small instances.
  const tenth = small.slice(0, small.length / 10);
  await Promise.all([load(systems.edge, tenth), load(systems.orthanc, tenth)]);
  for (const c of qidoCases(tenth.length)) await measure(c);

  // Ingest, each run into an empty archive; the last run's data stays for the searches after it.
  const smallIngest: Case = {
    name: `C-STORE ${small.length} small instances (storescu, 1 association)`,
    unit: "instances/s",
    target: 1,
    prepare: (system) => system.empty(),
    run: (system) => ingest(system, small.length, small.length, () => cStore(system, { dir: data.small.dir })),
  };
  await measure(smallIngest);
  await measure(smallIngest, systems.edgeSpool);
  for (const c of qidoCases(small.length)) await measure(c);

  const ctStudy = data.ct[0]!.studyInstanceUid;
  const ctIngest: Case = {
    name: `C-STORE ${data.ct.length} CT instances (storescu, 1 association)`,
    unit: "instances/s",
    target: 1,
    prepare: (system) => system.deleteStudy(ctStudy),
    run: (system) => ingest(system, data.ct.length, data.ct.length, () => cStore(system, { dir: data.ctDir })),
  };
  await measure(ctIngest);
  await measure(ctIngest, systems.edgeSpool);
  await measure({
    name: `STOW-RS ${data.ct.length} CT instances (50 per request)`,
    unit: "instances/s",
    target: 1,
    prepare: (system) => system.deleteStudy(ctStudy),
    run: (system) =>
      ingest(system, data.ct.length, data.ct.length, async () => {
        for (let i = 0; i < data.ct.length; i += 50) await stowRs(system, data.ct.slice(i, i + 50).map((f) => f.absPath));
      }),
  });

  // Retrieve of one study.
  const study = data.study;
  const studyUid = study[0]!.studyInstanceUid;
  const studyMB = megabytes(study);
  await Promise.all([load(systems.edge, study.map((f) => f.absPath), 50), load(systems.orthanc, study.map((f) => f.absPath), 50)]);
  const wadoStudy: Case = {
    name: `WADO-RS study of ${study.length} CT`,
    unit: "MB/s",
    target: 1,
    run: (system) =>
      rate(studyMB, async () => {
        const bytes = await get(`${system.dicomweb}/studies/${studyUid}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
        if (bytes < studyMB * 1e6) throw new Error(`${system.name}: WADO-RS study gave ${bytes} bytes`);
      }),
  };
  await measure(wadoStudy);
  const studyMetadata: Case = {
    name: `WADO-RS study /metadata (${study.length} instances)`,
    unit: "ms",
    target: 0.25,
    run: (system) =>
      latencies(async () => {
        const instances = await getJson(`${system.dicomweb}/studies/${studyUid}/metadata`);
        if (instances.length !== study.length) throw new Error(`${system.name}: metadata of ${instances.length} instances`);
      }),
  };
  await measure(studyMetadata);
  const seriesUids = [...new Set(study.map((f) => f.seriesInstanceUid))];
  await measure({
    name: `C-FIND IMAGE level, ${study.length} instances (one findscu per series)`,
    unit: "ms",
    run: async (system) => {
      const t = performance.now();
      let found = 0;
      for (const series of seriesUids) found += await cFind(system, studyUid, series);
      if (found !== study.length) throw new Error(`${system.name}: C-FIND found ${found}`);
      return [performance.now() - t];
    },
  });
  const getDir = join(scratch, "get");
  await mkdir(getDir);
  const cGetStudy: Case = {
    name: `C-GET study of ${study.length} CT (getscu)`,
    unit: "MB/s",
    target: 1,
    prepare: async () => void (await emptyFolder(getDir)),
    run: (system) =>
      rate(studyMB, async () => {
        const files = await cGet(system, studyUid, getDir);
        if (files !== study.length) throw new Error(`${system.name}: C-GET wrote ${files} files`);
      }),
  };
  await measure(cGetStudy);
  await measure({
    name: `C-MOVE study of ${study.length} CT (movescu -> storescp)`,
    unit: "MB/s",
    target: 1,
    prepare: async () => void (await emptyFolder(systems.destination.dir)),
    run: (system) =>
      rate(studyMB, async () => {
        await cMove(system, studyUid, DESTINATION);
        const files = await emptyFolder(systems.destination.dir);
        if (files !== study.length) throw new Error(`${system.name}: C-MOVE delivered ${files} files`);
      }),
  });

  // The edge as a broker in front of this same Orthanc: what the extra hop costs (no target: a proxy cannot beat its upstream).
  const [studiesByPatient] = qidoCases(small.length);
  const informational = (c: Case): Case => ({ ...c, target: undefined });
  for (const broker of [systems.brokers.dicomweb, systems.brokers.dimse]) {
    for (const c of [studiesByPatient!, wadoStudy, cGetStudy]) await measure(informational(c), broker);
  }
  await measure(informational(studyMetadata), systems.brokers.dimse);

  // The large multi-frame instance.
  const large = data.large;
  const largeMB = large.size / 1e6;
  const largeUrl = `/studies/${large.studyInstanceUid}/series/${large.seriesInstanceUid}/instances/${large.sopInstanceUid}`;
  await measure({
    name: `C-STORE one ${Math.round(largeMB)} MB instance`,
    unit: "MB/s",
    prepare: (system) => system.deleteStudy(large.studyInstanceUid),
    run: (system) => ingest(system, 1, largeMB, () => cStore(system, { files: [large.absPath] })),
    memory: true,
  });
  await measure({
    name: `WADO-RS the ${Math.round(largeMB)} MB instance`,
    unit: "MB/s",
    target: 1,
    run: (system) =>
      rate(largeMB, async () => {
        const bytes = await get(`${system.dicomweb}${largeUrl}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
        if (bytes < large.size) throw new Error(`${system.name}: ${bytes} bytes of the large instance`);
      }),
  });
  const frame = Math.ceil(large.numberOfFrames / 2);
  await measure({
    name: `WADO-RS frame ${frame} of ${large.numberOfFrames} of it`,
    unit: "ms",
    target: 0.05,
    run: (system) =>
      latencies(async () => {
        const bytes = await get(`${system.dicomweb}${largeUrl}/frames/${frame}`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
        if (bytes < large.frameSize!) throw new Error(`${system.name}: frame of ${bytes} bytes`);
      }),
  });
} finally {
  await systems.stop();
  await rm(scratch, { recursive: true, force: true });
}

const rows = compareRows(comparisons);
const rss = (role: string) => `${memory[role]?.startMB ?? 0} -> ${memory[role]?.peakMB ?? 0}`;
const peak = (role: string) => memory[role]?.peakMB ?? 0;
rows.push({
  case: `resident memory during the large C-STORE (at start -> peak): workerd, agent | Orthanc`,
  unit: "MB",
  "dicom-edge": `${rss("workerd")}, ${rss("agent")}`,
  Orthanc: rss("Orthanc"),
  ratio: `${((peak("workerd") + peak("agent")) / peak("Orthanc")).toFixed(2)}x`,
  target: "",
  met: "",
});
printTable(rows);
const minutes = (Date.now() - started) / 60_000;
console.log(`${QUICK ? "quick, " : ""}${RUNS} run(s), ${minutes.toFixed(1)} min, ${cpus().length} cores`);
await mkdir(dirname(OUT), { recursive: true });
await writeFile(OUT, JSON.stringify({ date: new Date().toISOString(), quick: QUICK, runs: RUNS, sizes: SIZES, cores: cpus().length, node: process.version, minutes, comparisons, memory, rows }, null, 2));
console.log(`written to ${OUT}`);
