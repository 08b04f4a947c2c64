// WADO-RS through BACKEND=dimse: the edge retrieves from Orthanc (the PACS,
// in the agent's AE table as ORTHANC) by a C-GET the agent sends, and
// answers with the instances as Orthanc sent them. Each part's data set is
// compared with Orthanc's own WADO-RS of the same instance.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { ctInstance, randomUid } from "./data/instances";
import { asDcmtkSends, datasetOf } from "./dcmtk";
import { get, parts, sha256 } from "./dicomweb";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT_ID = "e2e-broker-wado";
const DICOM = 'multipart/related; type="application/dicom"';
const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";

let orthanc: Orthanc;
let stack: Stack;
let agent: Agent;
/** The corpus's MR study, stored in Orthanc as it is: Implicit VR files among it. */
let mr: ManifestEntry[];
const study = randomUid();
const series = `${study}.1`;
const sops = [randomUid(), randomUid(), randomUid()];

beforeAll(async () => {
  orthanc = await startOrthanc();
  stack = await startStack({ vars: { BACKEND: "dimse", DIMSE_AGENT: AGENT_ID, DIMSE_PACS: "ORTHANC", BACKEND_TIMEOUT_SECONDS: "5" } });
  agent = await startAgent({ base: stack.base, id: AGENT_ID, aeTable: [{ title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }] });
  const files = sops.map((sop, n) => ctInstance({ patientId: "WADO-1", patientName: "Dimse^Wado", study, series, sop, number: n + 1 }));
  mr = (await corpus()).files.filter((f) => f.group === "mr");
  for (const f of mr) files.push(new Uint8Array(await readFile(f.absPath)));
  for (const bytes of files) expect((await fetch(`${orthanc.http}/instances`, { method: "POST", body: Buffer.from(bytes) })).status).toBe(200);
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await orthanc?.stop();
});

/**
 * The data set digests of a WADO-RS response, sorted: the order of a
 * C-GET's sub-operations is the PACS's. Whole parts (the responses are
 * small): the File Meta group differs by its writer and may span chunks.
 */
async function digests(response: Response): Promise<string[]> {
  return (await parts(response)).map((p) => sha256(datasetOf(p.bytes))).sort();
}

async function fromOrthanc(path: string): Promise<string[]> {
  const response = await fetch(`${orthanc.http}/dicom-web${path}`, { headers: { Accept: `${DICOM}; transfer-syntax=*` } });
  expect(response.status).toBe(200);
  return digests(response);
}

describe("WADO-RS through BACKEND=dimse (C-GET at Orthanc)", () => {
  it("retrieves a study, a series and an instance: each part's data set is Orthanc's, in its stored syntax", async () => {
    const whole = await get(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: DICOM } });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    const received = await parts(whole.clone());
    expect(received).toHaveLength(3);
    for (const part of received) expect(part.headers.get("content-type")).toBe("application/dicom; transfer-syntax=1.2.840.10008.1.2.1");
    expect(await digests(whole)).toEqual(await fromOrthanc(`/studies/${study}`));

    const one = await get(`${stack.base}/dicomweb/studies/${study}/series/${series}/instances/${sops[1]}`, { headers: { Accept: `${DICOM}; transfer-syntax=*` } });
    expect(one.status).toBe(200);
    expect(await digests(one)).toEqual(await fromOrthanc(`/studies/${study}/series/${series}/instances/${sops[1]}`));
    const bySeries = await get(`${stack.base}/dicomweb/studies/${study}/series/${series}`, { headers: { Accept: DICOM } });
    expect((await parts(bySeries)).length).toBe(3);
  });

  it("passes Implicit VR instances on unchanged (the corpus's MR study)", async () => {
    const implicit = mr.filter((f) => f.transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN);
    expect(implicit.length).toBeGreaterThan(0);
    const mrStudy = implicit[0]!.studyInstanceUid;
    const response = await get(`${stack.base}/dicomweb/studies/${mrStudy}`, { headers: { Accept: DICOM } });
    expect(response.status).toBe(200);
    const received = await parts(response.clone());
    const syntaxes = received.map((p) => /transfer-syntax=([0-9.]+)/.exec(p.headers.get("content-type") ?? "")?.[1]);
    expect(syntaxes).toContain(IMPLICIT_VR_LITTLE_ENDIAN);
    expect(received).toHaveLength(mr.filter((f) => f.studyInstanceUid === mrStudy).length);
    // Orthanc's C-STORE sub-operations carry what DCMTK's writer makes of the stored file (as storescu sends it: UN
    // sequences re-encoded, trailing padding dropped), its WADO-RS the file itself: each part is one of those, unchanged.
    const dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-wado-"));
    const sent = new Map<string, string>();
    for (const f of mr.filter((g) => g.studyInstanceUid === mrStudy)) {
      sent.set(sha256(datasetOf(new Uint8Array(await readFile(f.absPath)))), f.sopInstanceUid);
      sent.set(sha256(datasetOf(new Uint8Array(await readFile(asDcmtkSends(f, dir))))), f.sopInstanceUid);
    }
    await rm(dir, { recursive: true, force: true });
    const matched = received.map((p) => sent.get(sha256(datasetOf(p.bytes))));
    expect(matched.every((sop) => sop !== undefined)).toBe(true);
    expect(new Set(matched).size).toBe(received.length);
  });

  it("a client that goes away mid-retrieve cancels it (RESET, C-CANCEL); the next retrieve is whole", async () => {
    const mrStudy = mr[0]!.studyInstanceUid;
    const abort = new AbortController();
    const response = await fetch(`${stack.base}/dicomweb/studies/${mrStudy}`, { headers: { Accept: DICOM }, signal: abort.signal });
    expect(response.status).toBe(200);
    await response.body!.getReader().read();
    abort.abort();
    for (let waited = 0; !agent.log().includes("pacs-get ORTHANC: the edge went away, C-CANCEL") && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(agent.log()).toContain("pacs-get ORTHANC: the edge went away, C-CANCEL");
    const again = await get(`${stack.base}/dicomweb/studies/${mrStudy}`, { headers: { Accept: DICOM } });
    expect(again.status).toBe(200);
    expect(await parts(again)).toHaveLength(mr.filter((f) => f.studyInstanceUid === mrStudy).length);
  });

  it("answers 404 for a study the PACS does not have, 406 for a syntax it does not store, 503 for metadata", async () => {
    expect((await get(`${stack.base}/dicomweb/studies/${randomUid()}`, { headers: { Accept: DICOM } })).status).toBe(404);
    const jpeg = await get(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: `${DICOM}; transfer-syntax=1.2.840.10008.1.2.4.50` } });
    expect(jpeg.status).toBe(406);
    const metadata = await fetch(`${stack.base}/dicomweb/studies/${study}/metadata`, { headers: { Accept: "application/dicom+json" } });
    expect(metadata.status).toBe(503);
    expect(await metadata.text()).toMatch(/dimse backend/);
  });

  it("answers 502 when the PACS is down", async () => {
    await orthanc.stop();
    const down = await fetch(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: DICOM } });
    expect(down.status).toBe(502);
    expect(await down.text()).toMatch(/ORTHANC/);
  });
});
