// The edge as a broker in front of an existing DICOMweb server
// (BACKEND=dicomweb): Orthanc from Debian with its DICOMweb plugin is the
// upstream. DICOMweb and the agent's DIMSE both end up there; the edge keeps
// nothing. Failures of the upstream come back in each frontend's own form.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../agent/src/testing/ports";
import { startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { ctInstance, randomUid } from "./data/instances";
import { dcmtk } from "./dcmtk";
import { first, get, parts, stow } from "./dicomweb";
import { notificationOfStore } from "./notifications";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

let orthanc: Orthanc;
let stack: Stack;
let agent: Agent;
let ct: ManifestEntry[];

beforeAll(async () => {
  orthanc = await startOrthanc();
  stack = await startStack({ vars: { BACKEND: "dicomweb", DICOMWEB_UPSTREAM_URL: orthanc.dicomweb, BACKEND_TIMEOUT_SECONDS: "5" } });
  agent = await startAgent({ base: stack.base, id: "e2e-broker" });
  ct = (await corpus()).files.filter((f) => f.group === "ct").slice(0, 3);
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await orthanc?.stop();
});

type Dataset = Record<string, { vr?: string; Value?: unknown[]; BulkDataURI?: string }>;

async function json(url: string): Promise<Dataset[]> {
  const response = await get(url, { headers: { Accept: "application/dicom+json" } });
  expect(response.status).toBe(200);
  return (await response.json()) as Dataset[];
}

/** The SOP Instance UIDs Orthanc itself holds for a study, asked of Orthanc directly. */
async function inOrthanc(study: string): Promise<string[]> {
  const response = await fetch(`${orthanc.dicomweb}/studies/${study}/instances`, { headers: { Accept: "application/dicom+json" } });
  if (response.status === 204 || response.status === 404) return [];
  return ((await response.json()) as Dataset[]).map((d) => String(first(d, "00080018"))).sort();
}

describe("BACKEND=dicomweb with Orthanc upstream", () => {
  it("STOW-RS stores in Orthanc, and QIDO-RS finds there what Orthanc finds, with RetrieveURLs of the edge", async () => {
    const stored = await stow(stack.base, ct.map((f) => f.absPath));
    expect(stored.status).toBe(200);
    const body = (await stored.json()) as Dataset;
    expect((body["00081199"]!.Value as Dataset[]).map((item) => first(item, "00081155")).sort()).toEqual(ct.map((f) => f.sopInstanceUid).sort());
    const study = ct[0]!.studyInstanceUid;
    expect(await inOrthanc(study)).toEqual(ct.map((f) => f.sopInstanceUid).sort());

    const [found] = await json(`${stack.base}/dicomweb/studies?StudyInstanceUID=${study}&includefield=00081030`);
    expect(first(found!, "0020000D")).toBe(study);
    expect(first(found!, "00081190")).toBe(`${stack.base}/dicomweb/studies/${study}`);
    const direct = (await (await fetch(`${orthanc.dicomweb}/studies?StudyInstanceUID=${study}&includefield=00081030`, { headers: { Accept: "application/dicom+json" } })).json()) as Dataset[];
    expect(first(found!, "00081030")).toBe(first(direct[0]!, "00081030"));
    // The same keys and matching upstream: a wildcard on the patient's name, a date range, a UID list.
    const name = String((first(found!, "00100010") as { Alphabetic: string }).Alphabetic);
    expect((await json(`${stack.base}/dicomweb/studies?PatientName=${encodeURIComponent(`${name.slice(0, 3)}*`)}&StudyDate=19000101-20991231`)).map((d) => first(d, "0020000D"))).toContain(study);
    const instances = await json(`${stack.base}/dicomweb/studies/${study}/instances?SOPInstanceUID=${ct[0]!.sopInstanceUid},${ct[1]!.sopInstanceUid}`);
    expect(instances.map((d) => first(d, "00080018")).sort()).toEqual([ct[0]!.sopInstanceUid, ct[1]!.sopInstanceUid].sort());
    expect(await json(`${stack.base}/dicomweb/studies?PatientID=no-such-patient-${randomUid()}`)).toEqual([]);
  });

  it("relays WADO-RS: the instance's bytes as stored upstream, metadata with the edge's BulkDataURIs", async () => {
    const f = ct[0]!;
    const path = `/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}`;
    const response = await get(`${stack.base}${path}`, { headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    expect(response.status).toBe(200);
    const [part] = await parts(response);
    // Byte for byte what the upstream serves for it (the relay changes nothing).
    const direct = await parts(await fetch(`${orthanc.dicomweb}${path.slice("/dicomweb".length)}`, { headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } }));
    expect(part!.bytes.byteLength).toBeGreaterThan(0);
    expect(Buffer.from(part!.bytes).equals(Buffer.from(direct[0]!.bytes))).toBe(true);

    const [metadata] = await json(`${stack.base}${path}/metadata`);
    expect(first(metadata!, "00080018")).toBe(f.sopInstanceUid);
    const uris = Object.values(metadata!).flatMap((a) => (a.BulkDataURI ? [a.BulkDataURI] : []));
    expect(uris.length).toBeGreaterThan(0);
    for (const uri of uris) expect(uri.startsWith(`${stack.base}/dicomweb/studies/${f.studyInstanceUid}/`), uri).toBe(true);

    const frame = await get(`${stack.base}${path}/frames/1`, { headers: { Accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
    expect(frame.status).toBe(200);
    expect((await parts(frame))[0]!.bytes.byteLength).toBe(f.frameSize);
    const missing = await get(`${stack.base}/dicomweb/studies/${randomUid()}/metadata`, { headers: { Accept: "application/dicom+json" } });
    expect(missing.status).toBe(404);
    expect(first(((await missing.json()) as Dataset[])[0]!, "00000902")).toMatch(/upstream DICOMweb server answered 404/);
  });

  it("carries the agent's C-ECHO, C-STORE and C-FIND to Orthanc", async () => {
    const echo = await dcmtk("echoscu", ["-aec", agent.aeTitle, "127.0.0.1", String(agent.port)]);
    expect(echo.code).toBe(0);
    const study = randomUid();
    const patientId = `BROKER-${randomUid().slice(-8)}`;
    const files = [1, 2].map((n) => ({ sop: randomUid(), n }));
    const dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-"));
    const paths: string[] = [];
    for (const { sop, n } of files) {
      const path = join(dir, `${n}.dcm`);
      await writeFile(path, ctInstance({ patientId, patientName: "Broker^Test", study, series: `${study}.1`, sop, number: n }));
      paths.push(path);
    }
    const stored = await dcmtk("storescu", ["-aec", agent.aeTitle, "127.0.0.1", String(agent.port), ...paths]);
    expect(stored.code, stored.output).toBe(0);
    expect(await inOrthanc(study)).toEqual(files.map((f) => f.sop).sort());

    const found = await dcmtk("findscu", ["-v", "-aec", agent.aeTitle, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `PatientID=${patientId}`, "-k", "StudyInstanceUID", "-k", "NumberOfStudyRelatedInstances", "127.0.0.1", String(agent.port)]);
    expect(found.code, found.output).toBe(0);
    expect(found.output).toContain(study);
    expect(found.output.match(/\(Pending\)/g)).toHaveLength(1);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("BACKEND=dicomweb when the upstream fails", () => {
  let failing: Server;
  let failingStack: Stack;
  let failingAgent: Agent;
  let mode: "503" | "hang" = "503";

  beforeAll(async () => {
    const port = await freePort();
    failing = createServer((request, response) => {
      // A 503 with a reason, or headers that never come (the timeout).
      if (mode === "503") response.writeHead(503, { "Content-Type": "text/plain" }).end("maintenance window");
    });
    await new Promise<void>((resolve) => failing.listen(port, "127.0.0.1", resolve));
    failingStack = await startStack({ vars: { BACKEND: "dicomweb", DICOMWEB_UPSTREAM_URL: `http://127.0.0.1:${port}/dicom-web`, BACKEND_TIMEOUT_SECONDS: "1" } });
    failingAgent = await startAgent({ base: failingStack.base, id: "e2e-broker" });
  });

  afterAll(async () => {
    await failingAgent?.stop();
    await failingStack?.stop();
    failing?.closeAllConnections();
    await new Promise((resolve) => failing?.close(resolve));
  });

  it("notifies a FHIR Subscription of a study stored through the edge (STOW-RS, the study as the upstream has it)", async () => {
    const patientId = `HOOK-${randomUid().slice(-8)}`;
    const study = randomUid();
    const resource = await notificationOfStore(stack.base, patientId, async () => {
      const stored = await stow(stack.base, [0, 1].map((n) => ctInstance({ patientId, patientName: "Hook^Broker", study, series: `${study}.1`, sop: `${study}.1.${n + 1}`, number: n + 1 })));
      expect(stored.status).toBe(200);
    });
    expect(resource).toMatchObject({ resourceType: "ImagingStudy", id: study, numberOfInstances: 2 });
  });

  it("answers 502 with the upstream's reason for its 5xx, and 504 when it does not answer in time", async () => {
    mode = "503";
    const bad = await get(`${failingStack.base}/dicomweb/studies`, { headers: { Accept: "application/dicom+json" } });
    expect(bad.status).toBe(502);
    expect(first(((await bad.json()) as Dataset[])[0]!, "00000902")).toMatch(/answered .* with 503: maintenance window/);
    mode = "hang";
    const slow = await fetch(`${failingStack.base}/dicomweb/studies?PatientID=x`, { headers: { Accept: "application/dicom+json" } });
    expect(slow.status).toBe(504);
    const stored = await stow(failingStack.base, [ctInstance({ patientId: "P", patientName: "Fail^Test", study: randomUid(), series: randomUid(), sop: randomUid() })]);
    expect(stored.status).toBe(504);
  });

  it("answers C-ECHO and C-STORE with a failure the modality can retry (A700) when the upstream is down", async () => {
    mode = "503";
    const echo = await dcmtk("echoscu", ["-v", "-aec", failingAgent.aeTitle, "127.0.0.1", String(failingAgent.port)]);
    // 0110 Processing Failure (PS3.7 C.4): the upstream is not healthy.
    expect(echo.output).toMatch(/Status: 0x110\b|Processing Failure/i);
    const dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-"));
    const path = join(dir, "1.dcm");
    await writeFile(path, ctInstance({ patientId: "P", patientName: "Fail^Test", study: randomUid(), series: randomUid(), sop: randomUid() }));
    const stored = await dcmtk("storescu", ["-v", "-aec", failingAgent.aeTitle, "127.0.0.1", String(failingAgent.port), path]);
    expect(stored.output, stored.output).toMatch(/Refused: OutOfResources/);
    await rm(dir, { recursive: true, force: true });
  });
});
