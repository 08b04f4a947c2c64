// WADO-RS through BACKEND=dimse from a PACS the agent retrieves from by
// C-MOVE (its AE table entry says retrieve = "move"): Orthanc knows the
// agent's AE title as a modality and sends the instances to the agent's
// DIMSE listener, which passes them to the edge's retrieve instead of
// storing them. Each part's data set is compared with Orthanc's own
// WADO-RS of the same instance.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../agent/src/testing/ports";
import { startAgent, type Agent } from "./agent";
import { ctInstance, randomUid } from "./data/instances";
import { dcmtk } from "./dcmtk";
import { datasetDigests, get, parts } from "./dicomweb";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT_ID = "e2e-broker-dimse-move";
const DICOM = 'multipart/related; type="application/dicom"';

let orthanc: Orthanc;
let stack: Stack;
let agent: Agent;
let dir: string;
const study = randomUid();
const series = `${study}.1`;
const sops = [randomUid(), randomUid(), randomUid()];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-dimse-move-"));
  // Orthanc's modalities are fixed when it starts: the agent's port is chosen first.
  const agentPort = await freePort();
  orthanc = await startOrthanc({ modalities: { DICOMEDGE: ["127.0.0.1", agentPort] } });
  stack = await startStack({ vars: { BACKEND: "dimse", DIMSE_AGENT: AGENT_ID, DIMSE_PACS: "ORTHANC", BACKEND_TIMEOUT_SECONDS: "5" } });
  agent = await startAgent({ base: stack.base, id: AGENT_ID, port: agentPort, aeTable: [{ title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false, retrieve: "move" }] });
  for (const [n, sop] of sops.entries()) {
    const bytes = ctInstance({ patientId: "MOVE-1", patientName: "Dimse^Move", study, series, sop, number: n + 1 });
    expect((await fetch(`${orthanc.http}/instances`, { method: "POST", body: Buffer.from(bytes) })).status).toBe(200);
  }
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await orthanc?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The data set digests of a WADO-RS response, sorted: the order of the sub-operations is the PACS's. */
async function digests(response: Response): Promise<string[]> {
  return (await datasetDigests(response)).map((d) => d.sha256).sort();
}

async function fromOrthanc(path: string): Promise<string[]> {
  const response = await fetch(`${orthanc.http}/dicom-web${path}`, { headers: { Accept: `${DICOM}; transfer-syntax=*` } });
  expect(response.status).toBe(200);
  return digests(response);
}

/** The SOP Instance UIDs Orthanc holds in a study (its REST API). */
async function inOrthanc(studyUid: string): Promise<string[]> {
  const ids = (await (await fetch(`${orthanc.http}/tools/find`, { method: "POST", body: JSON.stringify({ Level: "Instance", Query: { StudyInstanceUID: studyUid } }) })).json()) as string[];
  const found: string[] = [];
  for (const id of ids) found.push(((await (await fetch(`${orthanc.http}/instances/${id}`)).json()) as { MainDicomTags: { SOPInstanceUID: string } }).MainDicomTags.SOPInstanceUID);
  return found.sort();
}

describe("WADO-RS through BACKEND=dimse (C-MOVE from Orthanc to the agent)", () => {
  it("retrieves a study and an instance: each part's data set is Orthanc's", async () => {
    const whole = await get(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: DICOM } });
    expect(whole.status).toBe(200);
    const received = await parts(whole.clone());
    expect(received).toHaveLength(3);
    for (const part of received) expect(part.headers.get("content-type")).toBe("application/dicom; transfer-syntax=1.2.840.10008.1.2.1");
    expect(await digests(whole)).toEqual(await fromOrthanc(`/studies/${study}`));

    const path = `/studies/${study}/series/${series}/instances/${sops[1]}`;
    const one = await get(`${stack.base}/dicomweb${path}`, { headers: { Accept: `${DICOM}; transfer-syntax=*` } });
    expect(one.status).toBe(200);
    expect(await digests(one)).toEqual(await fromOrthanc(path));
    // Nothing was moved back into the PACS as a modality's store.
    expect(await inOrthanc(study)).toEqual([...sops].sort());
  });

  it("stores a modality's C-STORE to the agent as before while a move is under way", async () => {
    const other = randomUid();
    const sop = randomUid();
    const file = join(dir, "modality.dcm");
    await writeFile(file, ctInstance({ patientId: "MOVE-2", patientName: "Dimse^Store", study: other, series: `${other}.1`, sop }));
    const [retrieved, stored] = await Promise.all([
      get(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: DICOM } }).then(async (r) => ({ status: r.status, parts: (await parts(r)).length })),
      dcmtk("storescu", ["-aet", "CT1", "-aec", agent.aeTitle, "127.0.0.1", String(agent.port), file]),
    ]);
    expect(stored.code, stored.output).toBe(0);
    expect(retrieved).toEqual({ status: 200, parts: 3 });
    expect(await inOrthanc(other)).toEqual([sop]);
  });

  it("answers 404 for a study the PACS does not have", async () => {
    expect((await get(`${stack.base}/dicomweb/studies/${randomUid()}`, { headers: { Accept: DICOM } })).status).toBe(404);
  });
});
