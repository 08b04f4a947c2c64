// QIDO-RS search latency on a loaded archive: stores N small instances
// (a deterministic mix of patients, studies, series and modalities) through
// STOW-RS into a fresh local stack, then times study, series and instance
// searches. Usage: tsx bench/qido.ts [--sizes 10000,100000] [--runs 50]
import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { encodePart10, type Element } from "../shared/src/dicom/testing/encode";
import { startStack } from "../e2e/stack";
import { percentile, printTable, ROOT } from "./report";

const args = new Map(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1] ?? ""]] : [])));
const SIZES = (args.get("sizes") ?? "10000,100000").split(",").map(Number);
const RUNS = Number(args.get("runs") ?? 50);
const PER_STUDY = 10; // 2 series of 5
const BATCH = 500;

const MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "PT", "NM"];
const SURNAMES = ["Smith", "Müller", "Dupont", "Rossi", "García", "Kowalski", "Nguyen", "Okafor", "Sato", "Larsen"];
const GIVEN = ["Anna", "Hans", "Élodie", "Marco", "Lucía", "Piotr", "Linh", "Chidi", "Yuki", "Freja"];

/** Instance k of the synthetic archive: study k/10, series by parity, patient study/3. */
function instance(k: number): Uint8Array {
  const study = Math.floor(k / PER_STUDY);
  const seriesNo = (k % PER_STUDY) < PER_STUDY / 2 ? 1 : 2;
  const patient = Math.floor(study / 3);
  const uid = (s: string) => `1.2.826.0.1.3680043.8.498.9.${s}`;
  const day = new Date(Date.UTC(2015, 0, 1) + (study * 7919 % 3650) * 86400000).toISOString().slice(0, 10).replaceAll("-", "");
  const elements: Element[] = [
    { tag: 0x00080016, vr: "UI", value: "1.2.840.10008.5.1.4.1.1.7" },
    { tag: 0x00080018, vr: "UI", value: uid(`3.${k}`) },
    { tag: 0x00080020, vr: "DA", value: day },
    { tag: 0x00080030, vr: "TM", value: String(80000 + (study % 10) * 1000).padStart(6, "0") },
    { tag: 0x00080050, vr: "SH", value: `ACC${study}` },
    { tag: 0x00080060, vr: "CS", value: MODALITIES[(study + seriesNo) % MODALITIES.length]! },
    { tag: 0x00100010, vr: "PN", value: `${SURNAMES[patient % 10]}${Math.floor(patient / 10)}^${GIVEN[(patient * 7) % 10]}` },
    { tag: 0x00100020, vr: "LO", value: `PID${patient}` },
    { tag: 0x0020000d, vr: "UI", value: uid(`1.${study}`) },
    { tag: 0x0020000e, vr: "UI", value: uid(`2.${study}.${seriesNo}`) },
    { tag: 0x00200011, vr: "IS", value: String(seriesNo) },
    { tag: 0x00200013, vr: "IS", value: String(k % PER_STUDY) },
  ];
  return encodePart10({ transferSyntaxUID: "1.2.840.10008.1.2.1", sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: uid(`3.${k}`), elements });
}

async function load(base: string, from: number, to: number): Promise<void> {
  const encoder = new TextEncoder();
  const batches: [number, number][] = [];
  for (let k = from; k < to; k += BATCH) batches.push([k, Math.min(to, k + BATCH)]);
  // Two requests at a time, as a client with a small connection pool would.
  const worker = async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      const parts: Uint8Array[] = [];
      for (let k = batch[0]; k < batch[1]; k++) parts.push(encoder.encode("--b\r\nContent-Type: application/dicom\r\n\r\n"), instance(k), encoder.encode("\r\n"));
      parts.push(encoder.encode("--b--\r\n"));
      const body = Buffer.concat(parts);
      // wrangler dev's proxy now and then answers 503 "worker restarted" on a
      // POST after a pause; STOW-RS is idempotent, so the batch is sent again.
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${base}/dicomweb/studies`, { method: "POST", headers: { "Content-Type": 'multipart/related; type="application/dicom"; boundary=b' }, body });
        const text = await res.text();
        if (res.status === 200) break;
        if (res.status !== 503 || attempt === 3) throw new Error(`STOW-RS answered ${res.status}: ${text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
}

async function time(url: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers: { Accept: "application/dicom+json" } });
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    await res.arrayBuffer();
    times.push(performance.now() - t);
  }
  return times;
}

const stack = await startStack();
const rows: Record<string, string | number>[] = [];
try {
  let loaded = 0;
  for (const size of SIZES) {
    const t = performance.now();
    await load(stack.base, loaded, size);
    const loadSeconds = (performance.now() - t) / 1000;
    console.log(`loaded ${size - loaded} instances in ${loadSeconds.toFixed(1)} s (${((size - loaded) / loadSeconds).toFixed(0)}/s)`);
    loaded = size;
    const study = Math.floor(size / PER_STUDY / 2);
    const uid = (s: string) => `1.2.826.0.1.3680043.8.498.9.${s}`;
    const cases: [string, string][] = [
      ["study: PatientID", `/studies?PatientID=PID${Math.floor(study / 3)}`],
      ["study: PatientName wildcard", `/studies?PatientName=Rossi1*&limit=101&offset=0`],
      ["study: fuzzy PatientName", `/studies?PatientName=muller2&fuzzymatching=true&limit=101`],
      ["study: StudyDate month, limit 101", `/studies?StudyDate=20200101-20200131&limit=101&offset=0`],
      ["study: ModalitiesInStudy=CT, limit 101", `/studies?ModalitiesInStudy=CT&limit=101&offset=0`],
      ["study: OHIF list (no keys)", `/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030,00080060`],
      ["series of a study", `/studies/${uid(`1.${study}`)}/series`],
      ["instances of a series", `/studies/${uid(`1.${study}`)}/series/${uid(`2.${study}.1`)}/instances`],
      ["instance: SOPInstanceUID", `/instances?SOPInstanceUID=${uid(`3.${study * PER_STUDY}`)}`],
    ];
    for (const [name, path] of cases) {
      const times = await time(`${stack.base}/dicomweb${path}`);
      rows.push({ instances: size, search: name, "p50 ms": percentile(times, 50), "p95 ms": percentile(times, 95) });
    }
  }
} finally {
  await stack.stop();
}
printTable(rows);
await mkdir(join(ROOT, ".tmp", "bench"), { recursive: true });
await writeFile(join(ROOT, ".tmp", "bench", "qido.json"), JSON.stringify(rows, null, 2));
