// C-GET, C-MOVE and SEND through the agent with the edge as a broker in
// front of a DICOMweb server (BACKEND=dicomweb), Orthanc upstream: the plan
// from QIDO-RS and each instance's own File Meta group, the bytes from
// WADO-RS. What arrives is compared with what Orthanc serves for each
// instance. A pass-through proxy between the edge and Orthanc lets a test
// delete an instance between the plan and its fetch, or cut its bytes off.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startStorescp, type Storescp } from "../agent/src/testing/dcmtk";
import { freePort } from "../agent/src/testing/ports";
import { sendThroughAgent, startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { datasetOf, expectDatasetsIn, getscu, movescu, seriesKeys, studyKeys } from "./dcmtk";
import { parts, stow } from "./dicomweb";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT = "e2e-broker-get";
const AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*';

let orthanc: Orthanc;
let proxy: Server;
let proxyPort: number;
let stack: Stack;
let agent: Agent;
let destination: Storescp;
let destinationDir: string;
let getDir: string;
/** Two CT series of one study (Explicit VR Little Endian) and an MR series (Implicit VR Little Endian). */
let ct: ManifestEntry[];
let mr: ManifestEntry[];
/** What Orthanc serves for each SOP Instance: the data set of its WADO-RS part. */
const served = new Map<string, Uint8Array>();

/** What the proxy does to the `nth` GET of one instance (the plan reads its header first, and SEND's check before that). */
let sabotage: { sop: string; how: "delete" | "cut"; nth: number } | undefined;
const gets = new Map<string, number>();

beforeAll(async () => {
  orthanc = await startOrthanc();
  proxyPort = await freePort();
  proxy = createServer((incoming, outgoing) => void forward(incoming, outgoing));
  await new Promise<void>((resolve) => proxy.listen(proxyPort, "127.0.0.1", resolve));
  stack = await startStack({ vars: { BACKEND: "dicomweb", DICOMWEB_UPSTREAM_URL: `http://127.0.0.1:${proxyPort}/dicom-web`, BACKEND_TIMEOUT_SECONDS: "10" } });
  destinationDir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-move-"));
  getDir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-get-"));
  destination = await startStorescp("STORESCP", destinationDir);
  agent = await startAgent({ base: stack.base, id: AGENT, aeTable: [{ title: "STORESCP", host: "127.0.0.1", port: destination.port, tls: false }] });

  const { files } = await corpus();
  const all = files.filter((f) => f.group === "ct");
  const seriesUids = [...new Set(all.map((f) => f.seriesInstanceUid))].slice(0, 2);
  ct = seriesUids.flatMap((series) => all.filter((f) => f.seriesInstanceUid === series).slice(0, 5));
  mr = files.filter((f) => f.group === "mr").slice(0, 3);
  const stored = await stow(stack.base, [...ct, ...mr].map((f) => f.absPath));
  expect(stored.status).toBe(200);
  for (const f of [...ct, ...mr]) served.set(f.sopInstanceUid, await servedDataset(f));
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await destination?.stop();
  await stack?.stop();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await orthanc?.stop();
  for (const dir of [destinationDir, getDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  sabotage = undefined;
  for (const dir of [destinationDir, getDir]) for (const f of await readdir(dir)) await rm(join(dir, f), { force: true });
});

/** Passes a request on to Orthanc as it is, streaming both ways, but for the armed sabotage. */
async function forward(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
  const path = incoming.url ?? "/";
  const sop = /\/instances\/([0-9.]+)$/.exec(path.split("?")[0]!)?.[1];
  const nth = sop && incoming.method === "GET" ? (gets.get(sop) ?? 0) + 1 : 0;
  if (sop && nth) gets.set(sop, nth);
  const armed = sabotage && sabotage.sop === sop && nth === sabotage.nth ? sabotage.how : undefined;
  if (armed === "delete") await deleteInOrthanc(sop!);
  const upstream = httpRequest(`${orthanc.http}${path}`, { method: incoming.method, headers: incoming.headers }, (answer) => {
    outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
    if (armed !== "cut") {
      answer.pipe(outgoing);
      return;
    }
    // A few KiB past the File Meta group, then the connection drops.
    let sent = 0;
    answer.on("data", (chunk: Buffer) => {
      if (sent > 8192) return;
      outgoing.write(chunk.subarray(0, 8192));
      sent += chunk.length;
      if (sent > 8192) outgoing.destroy();
    });
  });
  upstream.on("error", () => outgoing.destroy());
  incoming.pipe(upstream);
}

async function deleteInOrthanc(sop: string): Promise<void> {
  const [found] = (await (await fetch(`${orthanc.http}/tools/lookup`, { method: "POST", body: sop })).json()) as { ID: string }[];
  const deleted = await fetch(`${orthanc.http}/instances/${found!.ID}`, { method: "DELETE" });
  expect(deleted.status).toBe(200);
}

async function servedDataset(f: ManifestEntry): Promise<Uint8Array> {
  const response = await fetch(`${orthanc.dicomweb}/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}`, { headers: { Accept: AS_STORED } });
  expect(response.status).toBe(200);
  const [part] = await parts(response);
  return datasetOf(part!.bytes);
}

/** Every received data set is the one Orthanc serves for that instance, byte for byte. */
const expectServedBytes = (dir: string, expected: ManifestEntry[]) => expectDatasetsIn(dir, expected, served);

const get = (keys: string[]) => getscu(agent, getDir, keys);
const move = (keys: string[]) => movescu(agent, "STORESCP", keys);

describe("C-GET and C-MOVE through the agent, BACKEND=dicomweb with Orthanc upstream", () => {
  it("C-GET of a study: every instance as Orthanc serves it, byte for byte", async () => {
    const { output } = await get(studyKeys(ct[0]!));
    expect(output).toMatch(/Received C-GET Response \(Success\)/);
    expect(output).toMatch(new RegExp(`Completed Suboperations\\s*:\\s*${ct.length}\\b`));
    expect(output).toMatch(/Failed Suboperations\s*:\s*0/);
    await expectServedBytes(getDir, ct);
  });

  it("C-MOVE of a series and of an Implicit VR Little Endian series to a storescp of the AE table, in their stored syntaxes", async () => {
    const series = ct.filter((f) => f.seriesInstanceUid === ct[0]!.seriesInstanceUid);
    const first = await move(seriesKeys(series[0]!));
    expect(first.output).toMatch(/Received Final Move Response \(Success\)/);
    expect(first.output.match(/Received Move Response \d+ \(Pending\)/g)).toHaveLength(series.length);
    const second = await move(seriesKeys(mr[0]!));
    expect(second.output).toMatch(/Received Final Move Response \(Success\)/);
    await expectServedBytes(destinationDir, [...series, ...mr]);
  });

  it("SEND from the edge (POST /agents/{id}/send) reports each instance", async () => {
    const { status, report } = await sendThroughAgent(stack.base, AGENT, { destination: "STORESCP", studyInstanceUID: mr[0]!.studyInstanceUid, seriesInstanceUID: mr[0]!.seriesInstanceUid });
    expect(status).toBe(200);
    expect(report).toMatchObject({ status: 0, completed: mr.length, failed: 0 });
    expect(report!.instances.map((i) => i.sopInstanceUID).sort()).toEqual(mr.map((f) => f.sopInstanceUid).sort());
    await expectServedBytes(destinationDir, mr);
  });

  it("counts an instance deleted upstream between the plan and its fetch as failed: B000, the others sent", async () => {
    const series = ct.filter((f) => f.seriesInstanceUid === ct[ct.length - 1]!.seriesInstanceUid);
    const deleted = series[1]!;
    gets.clear();
    sabotage = { sop: deleted.sopInstanceUid, how: "delete", nth: 2 };
    const { output } = await move(seriesKeys(deleted));
    // PS3.4 C.4.2.1.5: Warning B000, sub-operations complete with one or more failures.
    expect(output).toMatch(/Received Final Move Response \(Warning: SubOperationsCompleteOneOrMoreFailures\)/);
    expect(output.match(/Received Move Response \d+ \(Pending\)/g)).toHaveLength(series.length);
    await expectServedBytes(destinationDir, series.filter((f) => f !== deleted));
  });

  it("fails the sub-operation of an instance whose bytes break off upstream, never sending it short", async () => {
    const series = ct.filter((f) => f.seriesInstanceUid === ct[0]!.seriesInstanceUid);
    const cut = series[2]!;
    gets.clear();
    // SEND's check of the scope, the plan, then the fetch.
    sabotage = { sop: cut.sopInstanceUid, how: "cut", nth: 3 };
    const { status, report } = await sendThroughAgent(stack.base, AGENT, { destination: "STORESCP", studyInstanceUID: cut.studyInstanceUid, seriesInstanceUID: cut.seriesInstanceUid });
    expect(status).toBe(200);
    expect(report).toMatchObject({ status: 0xb000, completed: series.length - 1, failed: 1 });
    expect(report!.instances.find((i) => i.sopInstanceUID === cut.sopInstanceUid)!.status).not.toBe(0);
    await expectServedBytes(destinationDir, series.filter((f) => f !== cut));
  });
});

describe("PROXY_CACHE=r2", () => {
  let cached: Stack;
  let cachedAgent: Agent;

  beforeAll(async () => {
    cached = await startStack({ vars: { BACKEND: "dicomweb", DICOMWEB_UPSTREAM_URL: `http://127.0.0.1:${proxyPort}/dicom-web`, BACKEND_TIMEOUT_SECONDS: "10", PROXY_CACHE: "r2" } });
    cachedAgent = await startAgent({ base: cached.base, id: "e2e-broker-cache" });
  }, 180_000);

  afterAll(async () => {
    await cachedAgent?.stop();
    await cached?.stop();
  });

  it("a second C-GET of a series reads its instances from R2, not from the upstream, byte for byte the same", async () => {
    // The first CT series: getscu takes Explicit VR Little Endian (the agent never transcodes), and no test deletes from it.
    const series = ct.filter((f) => f.seriesInstanceUid === ct[0]!.seriesInstanceUid);
    const getCached = () => getscu(cachedAgent, getDir, seriesKeys(series[0]!));
    const instanceGets = () => series.reduce((n, f) => n + (gets.get(f.sopInstanceUid) ?? 0), 0);
    gets.clear();
    const first = await getCached();
    expect(first.output).toMatch(/Received C-GET Response \(Success\)/);
    await expectServedBytes(getDir, series);
    // The plan reads each instance's header, the fetch its bytes (and keeps a copy).
    expect(instanceGets()).toBe(2 * series.length);

    for (const f of await readdir(getDir)) await rm(join(getDir, f), { force: true });
    gets.clear();
    const second = await getCached();
    expect(second.output).toMatch(/Received C-GET Response \(Success\)/);
    await expectServedBytes(getDir, series);
    expect(instanceGets()).toBe(0);
  });
});
