// C-GET, C-MOVE and SEND through the agent with the edge as a broker in
// front of a hospital PACS (BACKEND=dimse), Orthanc as the PACS: the plan
// from a C-FIND at Orthanc, each instance by a C-GET of it alone, both sent
// by the agent. Each instance must arrive as Orthanc's own C-GET or C-MOVE
// sends it to a dcmtk peer directly, byte for byte, in the syntax Orthanc
// chose; the edge and the agent never transcode.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Part10Reader } from "../shared/src/dicom/part10-reader";
import { startStorescp, type Storescp } from "../agent/src/testing/dcmtk";
import { sendThroughAgent, startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { dcmtk, expectDatasetsIn, getscu, movescu, seriesKeys, studyKeys, writtenDatasets } from "./dcmtk";
import { get as httpGet, parts } from "./dicomweb";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT = "e2e-broker-dimse-get";
const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";

let orthanc: Orthanc;
let stack: Stack;
let agent: Agent;
let destination: Storescp;
let destinationDir: string;
let getDir: string;
/** Two CT series of one study (Explicit VR Little Endian) and an MR series with Implicit VR Little Endian files. */
let ct: ManifestEntry[];
let mr: ManifestEntry[];
/** A native multi-frame instance of 30 frames, for WADO-RS frames and bulk data. */
let multiframe: ManifestEntry;
/** What Orthanc itself sends for each SOP Instance, to getscu (CT) or to storescp by its own C-MOVE (MR): the data set. */
const reference = new Map<string, Uint8Array>();

beforeAll(async () => {
  destinationDir = await mkdtemp(join(tmpdir(), "dicom-edge-dimse-move-"));
  getDir = await mkdtemp(join(tmpdir(), "dicom-edge-dimse-get-"));
  destination = await startStorescp("STORESCP", destinationDir);
  orthanc = await startOrthanc({ modalities: { STORESCP: ["127.0.0.1", destination.port] } });
  stack = await startStack({ vars: { BACKEND: "dimse", DIMSE_AGENT: AGENT, DIMSE_PACS: "ORTHANC", BACKEND_TIMEOUT_SECONDS: "10" } });
  agent = await startAgent({
    base: stack.base,
    id: AGENT,
    aeTable: [
      { title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false },
      { title: "STORESCP", host: "127.0.0.1", port: destination.port, tls: false },
    ],
  });

  const { files } = await corpus();
  const all = files.filter((f) => f.group === "ct");
  const seriesUids = [...new Set(all.map((f) => f.seriesInstanceUid))].slice(0, 2);
  ct = seriesUids.flatMap((series) => all.filter((f) => f.seriesInstanceUid === series).slice(0, 3));
  const implicit = files.find((f) => f.group === "mr" && f.transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN)!;
  mr = files.filter((f) => f.seriesInstanceUid === implicit.seriesInstanceUid);
  multiframe = files.find((f) => f.group === "multiframe" && f.numberOfFrames === 30)!;
  const upload = await dcmtk("storescu", ["-aec", "ORTHANC", "127.0.0.1", String(orthanc.dicomPort), ...[...ct, ...mr, multiframe].map((f) => f.absPath)]);
  expect(upload.code, upload.output).toBe(0);

  // Orthanc's own answers, straight to the dcmtk peers.
  const direct = await dcmtk("getscu", ["-aec", "ORTHANC", "+B", "-od", getDir, ...studyKeys(ct[0]!), "127.0.0.1", String(orthanc.dicomPort)]);
  expect(direct.code, direct.output).toBe(0);
  const moved = await dcmtk("movescu", ["-aec", "ORTHANC", "-aem", "STORESCP", ...seriesKeys(mr[0]!), "127.0.0.1", String(orthanc.dicomPort)]);
  expect(moved.code, moved.output).toBe(0);
  for (const dir of [getDir, destinationDir]) for (const [sop, bytes] of await writtenDatasets(dir)) reference.set(sop, bytes);
  expect(reference.size).toBe(ct.length + mr.length);
  await emptyDirs();
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await destination?.stop();
  await stack?.stop();
  await orthanc?.stop();
  for (const dir of [destinationDir, getDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(emptyDirs);

async function emptyDirs(): Promise<void> {
  for (const dir of [destinationDir, getDir]) for (const f of await readdir(dir)) await rm(join(dir, f), { force: true });
}

/** Every received data set is the one Orthanc sends for that instance, byte for byte. */
const expectOrthancsBytes = (dir: string, expected: ManifestEntry[]) => expectDatasetsIn(dir, expected, reference);

const get = (keys: string[]) => getscu(agent, getDir, keys);
const move = (keys: string[]) => movescu(agent, "STORESCP", keys);

describe("C-GET, C-MOVE and SEND through the agent, BACKEND=dimse with Orthanc as the PACS", () => {
  it("C-GET of a study: every instance as Orthanc's own C-GET sends it, byte for byte", async () => {
    const { output } = await get(studyKeys(ct[0]!));
    expect(output).toMatch(/Received C-GET Response \(Success\)/);
    expect(output).toMatch(new RegExp(`Completed Suboperations\\s*:\\s*${ct.length}\\b`));
    expect(output).toMatch(/Failed Suboperations\s*:\s*0/);
    await expectOrthancsBytes(getDir, ct);
  });

  it("C-GET of one instance (IMAGE level)", async () => {
    const one = ct[4]!;
    const { output } = await get(["-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", `StudyInstanceUID=${one.studyInstanceUid}`, "-k", `SeriesInstanceUID=${one.seriesInstanceUid}`, "-k", `SOPInstanceUID=${one.sopInstanceUid}`]);
    expect(output).toMatch(/Received C-GET Response \(Success\)/);
    await expectOrthancsBytes(getDir, [one]);
  });

  it("C-MOVE of a CT series and of the Implicit VR MR series to a storescp of the AE table, each in the syntax Orthanc sends", async () => {
    const series = ct.filter((f) => f.seriesInstanceUid === ct[0]!.seriesInstanceUid);
    const first = await move(seriesKeys(series[0]!));
    expect(first.output).toMatch(/Received Final Move Response \(Success\)/);
    expect(first.output.match(/Received Move Response \d+ \(Pending\)/g)).toHaveLength(series.length);
    const second = await move(seriesKeys(mr[0]!));
    expect(second.output).toMatch(/Received Final Move Response \(Success\)/);
    await expectOrthancsBytes(destinationDir, [...series, ...mr]);
    // The Implicit VR files went on in Implicit VR: a context of the plan's pass-through syntaxes (PS3.8 9.3.2.2).
    const syntaxes = new Set<string>();
    for (const name of await readdir(destinationDir)) {
      const reader = new Part10Reader();
      reader.write(new Uint8Array(await readFile(join(destinationDir, name))));
      syntaxes.add(reader.header.transferSyntaxUID ?? "none");
    }
    expect(syntaxes).toContain(IMPLICIT_VR_LITTLE_ENDIAN);
  });

  it("SEND from the edge (POST /agents/{id}/send) reports each instance; a study the PACS does not have is 404", async () => {
    const { status, report } = await sendThroughAgent(stack.base, AGENT, { destination: "STORESCP", studyInstanceUID: mr[0]!.studyInstanceUid, seriesInstanceUID: mr[0]!.seriesInstanceUid });
    expect(status).toBe(200);
    expect(report).toMatchObject({ status: 0, completed: mr.length, failed: 0 });
    expect(report!.instances.map((i) => i.sopInstanceUID).sort()).toEqual(mr.map((f) => f.sopInstanceUid).sort());
    await expectOrthancsBytes(destinationDir, mr);

    expect((await sendThroughAgent(stack.base, AGENT, { destination: "STORESCP", studyInstanceUID: "1.2.3.4.5.6.7.8.9" })).status).toBe(404);
  });

  it("a retrieve of nothing the PACS has is Success with no sub-operations", async () => {
    const { output } = await get(["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3.4.5.6.7.8.9"]);
    expect(output).toMatch(/Received C-GET Response \(Success\)/);
    expect(await readdir(getDir)).toEqual([]);
  });

  it("WADO-RS frames and bulk data of an instance at the PACS: its layout read through once, the bytes by a second C-GET", async () => {
    const f = multiframe;
    const file = await readFile(f.absPath);
    const url = `${stack.base}/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}`;
    const framed = await httpGet(`${url}/frames/1,7,30`, { headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" } });
    expect(framed.status).toBe(200);
    const got = await parts(framed);
    expect(got).toHaveLength(3);
    [1, 7, 30].forEach((n, i) => {
      const start = f.pixelDataOffset! + (n - 1) * f.frameSize!;
      expect(Buffer.compare(Buffer.from(got[i]!.bytes), file.subarray(start, start + f.frameSize!)), `frame ${n}`).toBe(0);
    });
    expect((await httpGet(`${url}/frames/31`)).status).toBe(404);

    const bulk = await httpGet(`${url}/bulkdata/7FE00010`, { headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" } });
    expect(bulk.status).toBe(200);
    const [pixels] = await parts(bulk);
    const all = file.subarray(f.pixelDataOffset!, f.pixelDataOffset! + 30 * f.frameSize!);
    expect(Buffer.compare(Buffer.from(pixels!.bytes), all)).toBe(0);
  });

  // Last: it stops the PACS.
  it("the PACS down: C-GET and C-MOVE are refused (A700, Out of Resources), nothing sent", async () => {
    await orthanc.stop();
    const got = await get(studyKeys(ct[0]!));
    expect(got.output).toMatch(/Received C-GET Response \(.*(0xa700|Out ?Of ?Resources)/i);
    const moved = await move(seriesKeys(mr[0]!));
    expect(moved.output).toMatch(/Received Final Move Response \(.*(0xa700|Out ?Of ?Resources)/i);
    expect(await readdir(getDir)).toEqual([]);
    expect(await readdir(destinationDir)).toEqual([]);
  });
});
