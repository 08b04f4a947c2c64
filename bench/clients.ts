// What the benchmark does to an archive, as its users' clients do it:
// dcmtk's tools for DIMSE (TCP_NODELAY=1) and plain HTTP for DICOMweb.
// Every call checks its answer, so a fast failure never counts as speed.
import { readdir, rm } from "node:fs/promises";
import { dcmtk } from "../agent/src/testing/dcmtk";
import { stowBody } from "../e2e/dicomweb";
import type { System } from "./systems";

const LONG = 30 * 60_000;
/** No single HTTP request of the benchmark takes this long unless something hangs. */
const REQUEST_TIMEOUT = 120_000;

async function tool(name: string, system: System, args: string[], files: string[] = []): Promise<string> {
  const { code, out } = await dcmtk(name, ["-aec", system.dimse.aeTitle, ...args, "127.0.0.1", String(system.dimse.port), ...files], LONG);
  if (code !== 0) throw new Error(`${name} against ${system.name} exited ${code}: ${out.slice(-2000)}`);
  return out;
}

/** storescu, one association, every file of `files` (or of the folder `dir`, scanned). */
export async function cStore(system: System, source: { files: string[] } | { dir: string }): Promise<void> {
  const out = "dir" in source ? await tool("storescu", system, ["+sd", "+r"], [source.dir]) : await tool("storescu", system, [], source.files);
  if (/^E: /m.test(out)) throw new Error(`storescu against ${system.name}: ${out.slice(-2000)}`);
}

/** findscu at IMAGE level within one series; returns the matches. */
export async function cFind(system: System, study: string, series: string): Promise<number> {
  const out = await tool("findscu", system, ["-v", "-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", `StudyInstanceUID=${study}`, "-k", `SeriesInstanceUID=${series}`, "-k", "SOPInstanceUID", "-k", "InstanceNumber"]);
  return (out.match(/\(Pending\)/g) ?? []).length;
}

/** getscu of a study into `dir` (+B: the data sets as they arrived); returns the files written. */
export async function cGet(system: System, study: string, dir: string): Promise<number> {
  await tool("getscu", system, ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${study}`, "+B", "-od", dir]);
  return (await readdir(dir)).length;
}

/** movescu of a study to `destination`. */
export async function cMove(system: System, study: string, destination: string): Promise<void> {
  await tool("movescu", system, ["-S", "-aem", destination, "-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${study}`]);
}

export async function emptyFolder(dir: string): Promise<number> {
  const files = await readdir(dir);
  await Promise.all(files.map((f) => rm(`${dir}/${f}`, { force: true })));
  return files.length;
}

/** One STOW-RS request of these files; fails unless every instance was stored. */
export async function stowRs(system: System, files: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const boundary = `bench-${crypto.randomUUID()}`;
    const res = await fetch(`${system.dicomweb}/studies`, {
      method: "POST",
      headers: { "Content-Type": `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: "application/dicom+json" },
      body: stowBody(files, boundary),
      duplex: "half",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT),
    } as RequestInit);
    const text = await res.text();
    if (res.status === 200) return;
    // wrangler dev's local proxy now and then drops a request ("worker
    // restarted mid-request") before the Worker sees it; STOW-RS is
    // idempotent, so it is sent again. Production has no such proxy.
    if (res.status !== 503 || attempt === 3) throw new Error(`STOW-RS to ${system.name}: ${res.status} ${text.slice(0, 500)}`);
  }
}

/** Loads files with STOW-RS, `batch` per request, two requests at a time (not timed: set-up). */
export async function load(system: System, files: string[], batch = 500): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += batch) batches.push(files.slice(i, i + batch));
  const worker = async () => {
    for (let next = batches.shift(); next; next = batches.shift()) await stowRs(system, next);
  };
  await Promise.all([worker(), worker()]);
}

/** A GET that must answer 200; returns the bytes received, read as a stream. */
export async function get(url: string, accept: string): Promise<number> {
  const res = await fetch(url, { headers: { Accept: accept }, signal: AbortSignal.timeout(REQUEST_TIMEOUT) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  const reader = res.body!.getReader();
  let bytes = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) bytes += read.value.byteLength;
  return bytes;
}

/** A QIDO-RS or metadata GET; returns the parsed DICOM JSON. */
export async function getJson(url: string): Promise<Record<string, { Value?: unknown[] }>[]> {
  const res = await fetch(url, { headers: { Accept: "application/dicom+json" }, signal: AbortSignal.timeout(REQUEST_TIMEOUT) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as Record<string, { Value?: unknown[] }>[];
}

/** Instances the archive holds: the sum of NumberOfStudyRelatedInstances over every study. */
export async function storedInstances(system: System): Promise<number> {
  let total = 0;
  for (let offset = 0; ; offset += 1000) {
    const page = await getJson(`${system.dicomweb}/studies?limit=1000&offset=${offset}&includefield=00201208`);
    for (const study of page) total += Number(study["00201208"]?.Value?.[0] ?? 0);
    if (page.length < 1000) return total;
  }
}
