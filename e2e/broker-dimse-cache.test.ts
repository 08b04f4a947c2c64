// PROXY_CACHE=r2 with BACKEND=dimse: what a retrieve brought from the PACS
// (Orthanc) is copied to R2 as it passes, and a second retrieve of it reads
// the copies: Orthanc's own log shows no C-GET for it (a C-FIND still lists
// the scope).
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { datasetOf, dcmtk, getscu, seriesKeys, writtenDatasets } from "./dcmtk";
import { get, parts, sha256 } from "./dicomweb";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT = "e2e-broker-dimse-cache";
const DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*';

let getDir: string;
let orthanc: Orthanc;
let stack: Stack;
let agent: Agent;
let ct: ManifestEntry[];
let mr: ManifestEntry[];

beforeAll(async () => {
  getDir = await mkdtemp(join(tmpdir(), "dicom-edge-dimse-cache-get-"));
  orthanc = await startOrthanc();
  stack = await startStack({ vars: { BACKEND: "dimse", DIMSE_AGENT: AGENT, DIMSE_PACS: "ORTHANC", BACKEND_TIMEOUT_SECONDS: "10", PROXY_CACHE: "r2" } });
  agent = await startAgent({ base: stack.base, id: AGENT, aeTable: [{ title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }] });
  const { files } = await corpus();
  const all = files.filter((f) => f.group === "ct");
  ct = all.filter((f) => f.seriesInstanceUid === all[0]!.seriesInstanceUid).slice(0, 3);
  mr = files.filter((f) => f.group === "mr");
  mr = mr.filter((f) => f.seriesInstanceUid === mr[0]!.seriesInstanceUid);
  const upload = await dcmtk("storescu", ["-aec", "ORTHANC", "127.0.0.1", String(orthanc.dicomPort), ...[...ct, ...mr].map((f) => f.absPath)]);
  expect(upload.code, upload.output).toBe(0);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await orthanc?.stop();
  if (getDir) await rm(getDir, { recursive: true, force: true });
});

/** The data set digests of a WADO-RS response, sorted (a C-GET's order is the PACS's). */
async function wado(path: string): Promise<{ status: number; digests: string[] }> {
  const response = await get(`${stack.base}/dicomweb${path}`, { headers: { Accept: DICOM } });
  if (response.status !== 200) return { status: response.status, digests: [] };
  return { status: 200, digests: (await parts(response)).map((p) => sha256(datasetOf(p.bytes))).sort() };
}

async function getSeries(f: ManifestEntry): Promise<Map<string, Uint8Array>> {
  for (const name of await readdir(getDir)) await rm(join(getDir, name));
  const { output } = await getscu(agent, getDir, seriesKeys(f));
  expect(output).toMatch(/Received C-GET Response \(Success\)/);
  expect(output).toMatch(/Failed Suboperations\s*:\s*0/);
  return writtenDatasets(getDir);
}

describe("PROXY_CACHE=r2 with BACKEND=dimse", () => {
  it("a second WADO-RS retrieve, its metadata, a frame and a second agent C-GET read the copies: no C-GET at the PACS, the same bytes", async () => {
    // Orthanc logs each C-GET it is asked for.
    expect((await fetch(`${orthanc.http}/tools/log-level`, { method: "PUT", body: "verbose" })).status).toBe(200);
    const start = orthanc.log().length;
    // The MR study (Implicit VR files among it) by WADO-RS, the CT series by getscu, which takes Explicit VR only.
    const study = `/studies/${mr[0]!.studyInstanceUid}`;
    const first = await wado(study);
    expect(first.status).toBe(200);
    expect(first.digests).toHaveLength(mr.length);
    const firstGet = await getSeries(ct[0]!);
    expect(firstGet.size).toBe(ct.length);

    expect(orthanc.log().slice(start)).toMatch(/C-GET-SCU request received/);
    const logged = orthanc.log().length;

    expect(await wado(study)).toEqual(first);
    const metadata = await get(`${stack.base}/dicomweb${study}/metadata`, { headers: { Accept: "application/dicom+json" } });
    expect(metadata.status).toBe(200);
    expect(((await metadata.json()) as unknown[]).length).toBe(mr.length);
    const secondGet = await getSeries(ct[0]!);
    expect([...secondGet.keys()].sort()).toEqual([...firstGet.keys()].sort());
    for (const [sop, bytes] of secondGet) expect(Buffer.compare(bytes, firstGet.get(sop)!), sop).toBe(0);
    // A frame of a copied instance: its layout and its bytes from the copy.
    const f = mr[0]!;
    const framed = await get(`${stack.base}/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}/frames/1`, {
      headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" },
    });
    expect(framed.status).toBe(200);
    const [frame] = await parts(framed);
    const file = await readFile(f.absPath);
    expect(Buffer.compare(Buffer.from(frame!.bytes), file.subarray(f.pixelDataOffset!, f.pixelDataOffset! + f.frameSize!))).toBe(0);

    const since = orthanc.log().slice(logged);
    expect(since).toMatch(/Incoming Find request/);
    expect(since).not.toMatch(/C-GET-SCU request received/);

  });
});
