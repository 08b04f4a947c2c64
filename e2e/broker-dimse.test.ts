// The edge as a broker in front of a hospital PACS reached through a
// connected agent (BACKEND=dimse): Orthanc is the PACS, in the agent's AE
// table as ORTHANC. QIDO-RS, STOW-RS and the agent's own C-ECHO, C-STORE
// and C-FIND all end up as DIMSE at Orthanc, sent by the agent; the edge
// keeps nothing. Failures of the PACS or the agent come back in each
// frontend's own form.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "./agent";
import { corpus } from "./data/corpus";
import { ctInstance, randomUid } from "./data/instances";
import { asDcmtkSends, datasetOf, dcmtk } from "./dcmtk";
import { first, get, stow } from "./dicomweb";
import { notificationOfStore } from "./notifications";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT_ID = "e2e-broker-pacs";

let orthanc: Orthanc;
let stack: Stack;
let agent: Agent;

beforeAll(async () => {
  orthanc = await startOrthanc();
  stack = await startStack({ vars: { BACKEND: "dimse", DIMSE_AGENT: AGENT_ID, DIMSE_PACS: "ORTHANC", BACKEND_TIMEOUT_SECONDS: "5" } });
  agent = await startAgent({ base: stack.base, id: AGENT_ID, aeTable: [{ title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }] });
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await orthanc?.stop();
});

type Dataset = Record<string, { vr?: string; Value?: unknown[] }>;

async function qido(path: string): Promise<{ status: number; headers: Headers; body: Dataset[] }> {
  const response = await get(`${stack.base}/dicomweb${path}`, { headers: { Accept: "application/dicom+json" } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Dataset[] };
}

/** The SOP Instance UIDs Orthanc itself holds for a study, asked of its own REST API. */
async function inOrthanc(study: string): Promise<string[]> {
  const ids = (await (await fetch(`${orthanc.http}/tools/find`, { method: "POST", body: JSON.stringify({ Level: "Instance", Query: { StudyInstanceUID: study } }) })).json()) as string[];
  const sops: string[] = [];
  for (const id of ids) sops.push(((await (await fetch(`${orthanc.http}/instances/${id}`)).json()) as { MainDicomTags: { SOPInstanceUID: string } }).MainDicomTags.SOPInstanceUID);
  return sops.sort();
}

function instances(patientId: string, study: string, count: number): { sop: string; bytes: Uint8Array }[] {
  return Array.from({ length: count }, (_, n) => {
    const sop = randomUid();
    return { sop, bytes: ctInstance({ patientId, patientName: "Dimse^Broker", study, series: `${study}.1`, sop, number: n + 1 }) };
  });
}

/** storescu of `files` to the agent, every one answered with success. */
async function storescu(files: { bytes: Uint8Array }[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-dimse-"));
  try {
    const paths: string[] = [];
    for (const [n, f] of files.entries()) {
      paths.push(join(dir, `${n}.dcm`));
      await writeFile(paths[n]!, f.bytes);
    }
    const sent = await dcmtk("storescu", ["-aec", agent.aeTitle, "127.0.0.1", String(agent.port), ...paths]);
    expect(sent.code, sent.output).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("BACKEND=dimse with Orthanc as the PACS", () => {
  it("C-ECHO: /health and the agent's C-ECHO are the PACS's C-ECHO through the agent", async () => {
    const health = await fetch(`${stack.base}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { pacs: { ok: boolean } }).pacs).toEqual({ ok: true });
    const echo = await dcmtk("echoscu", ["-v", "-aec", agent.aeTitle, "127.0.0.1", String(agent.port)]);
    expect(echo.code, echo.output).toBe(0);
  });

  it("STOW-RS stores in Orthanc by C-STORE; QIDO-RS finds it there by C-FIND, with limits", async () => {
    const study = randomUid();
    const patientId = `DIMSE-${randomUid().slice(-8)}`;
    const files = instances(patientId, study, 3);
    const stored = await stow(stack.base, files.map((f) => f.bytes));
    expect(stored.status).toBe(200);
    const body = (await stored.json()) as Dataset;
    expect((body["00081199"]!.Value as Dataset[]).map((item) => first(item, "00081155")).sort()).toEqual(files.map((f) => f.sop).sort());
    expect(await inOrthanc(study)).toEqual(files.map((f) => f.sop).sort());

    const studies = await qido(`/studies?PatientID=${patientId}`);
    expect(studies.status).toBe(200);
    expect(studies.body.map((d) => first(d, "0020000D"))).toEqual([study]);
    expect(first(studies.body[0]!, "00081190")).toBe(`${stack.base}/dicomweb/studies/${study}`);
    expect((first(studies.body[0]!, "00100010") as { Alphabetic: string }).Alphabetic).toBe("Dimse^Broker");
    const series = await qido(`/studies/${study}/series`);
    expect(series.body.map((d) => first(d, "0020000E"))).toEqual([`${study}.1`]);
    const all = await qido(`/studies/${study}/series/${study}.1/instances`);
    expect(all.body.map((d) => first(d, "00080018")).sort()).toEqual(files.map((f) => f.sop).sort());
    // PS3.18 10.6.3.2: cut at the limit, with the Warning that more exist.
    const page = await qido(`/studies/${study}/series/${study}.1/instances?limit=2`);
    expect(page.body).toHaveLength(2);
    expect(page.headers.get("Warning")).toMatch(/additional results/);
    const rest = await qido(`/studies/${study}/series/${study}.1/instances?limit=2&offset=2`);
    expect(rest.body).toHaveLength(1);
    expect(rest.headers.get("Warning")).toBeNull();
    expect((await qido(`/studies?PatientID=no-such-patient-${randomUid().slice(-8)}`)).body).toEqual([]);
  });

  it("stores each instance in its own transfer syntax, its data set as sent: no transcoding on the way", async () => {
    // The sample files share some SOP Instance UIDs (MR_small_* are one instance in several syntaxes): one of each here, as a PACS keeps one.
    const compressed = (await corpus()).files.filter((f, i, all) => f.group === "compressed" && all.findIndex((g) => g.sopInstanceUid === f.sopInstanceUid) === i);
    const dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-dimse-"));
    expect(compressed.length).toBeGreaterThan(0);
    const stored = await stow(stack.base, compressed.map((f) => f.absPath));
    expect(stored.status, await stored.clone().text()).toBe(200);
    for (const f of compressed) {
      const [id] = (await (await fetch(`${orthanc.http}/tools/find`, { method: "POST", body: JSON.stringify({ Level: "Instance", Query: { SOPInstanceUID: f.sopInstanceUid } }) })).json()) as string[];
      const header = (await (await fetch(`${orthanc.http}/instances/${id}/header?simplify`)).json()) as { TransferSyntaxUID: string };
      expect(header.TransferSyntaxUID, f.path).toBe(f.transferSyntaxUid);
      // A deflated data set is inflated and deflated again by Orthanc's writer: its bytes say nothing of ours.
      if (f.transferSyntaxUid === "1.2.840.10008.1.2.1.99") continue;
      // Orthanc keeps the data set it received, or what DCMTK's reader and writer make of it (UN sequences re-encoded).
      const kept = Buffer.from(datasetOf(new Uint8Array(await (await fetch(`${orthanc.http}/instances/${id}/file`)).arrayBuffer())));
      const sent = Buffer.from(datasetOf(new Uint8Array(await readFile(f.absPath))));
      const rewritten = Buffer.from(datasetOf(new Uint8Array(await readFile(asDcmtkSends(f, dir)))));
      expect(kept.equals(sent) || kept.equals(rewritten), f.path).toBe(true);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("carries the agent's C-STORE and C-FIND to Orthanc: storescu and findscu through the agent", async () => {
    const study = randomUid();
    const patientId = `DIMSE-${randomUid().slice(-8)}`;
    const files = instances(patientId, study, 2);
    await storescu(files);
    expect(await inOrthanc(study)).toEqual(files.map((f) => f.sop).sort());

    const found = await dcmtk("findscu", ["-v", "-aec", agent.aeTitle, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `PatientID=${patientId}`, "-k", "StudyInstanceUID", "-k", "PatientName", "127.0.0.1", String(agent.port)]);
    expect(found.code, found.output).toBe(0);
    expect(found.output).toContain(study);
    expect(found.output.match(/\(Pending\)/g)).toHaveLength(1);
  });

  it("notifies a FHIR Subscription of a study stored through the edge (the agent's C-STORE, the study as the PACS has it)", async () => {
    const patientId = `HOOK-${randomUid().slice(-8)}`;
    const study = randomUid();
    const resource = await notificationOfStore(stack.base, patientId, async () => {
      await storescu(instances(patientId, study, 2));
    });
    expect(resource).toMatchObject({ resourceType: "ImagingStudy", id: study, numberOfInstances: 2 });
  });

  it("answers 504 when the PACS does not answer within BACKEND_TIMEOUT_SECONDS, and works again once it does", async () => {
    // Stopped, Orthanc's socket still accepts connections (the kernel's backlog), but nothing answers the A-ASSOCIATE-RQ.
    process.kill(orthanc.pid, "SIGSTOP");
    try {
      const started = Date.now();
      const slow = await qido(`/studies?PatientID=x`);
      expect(slow.status).toBe(504);
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
      const stored = await stow(stack.base, [instances("P", randomUid(), 1)[0]!.bytes]);
      expect(stored.status).toBe(504);
      const found = await dcmtk("findscu", ["-v", "-aec", agent.aeTitle, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=x", "127.0.0.1", String(agent.port)]);
      expect(found.output).toMatch(/Out ?of ?Resources|0xa700/i);
    } finally {
      process.kill(orthanc.pid, "SIGCONT");
    }
    expect((await qido(`/studies?PatientID=x`)).status).toBe(200);
  }, 60_000);

  it("answers 502 with the reject reason when the PACS rejects the association", async () => {
    // A PACS that knows no such called AE title: A-ASSOCIATE-RJ, permanent, service user, reason 7 (PS3.8 9.3.4).
    const rejecting = createServer((socket) => {
      socket.once("data", () => socket.end(Buffer.from([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7])));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => rejecting.listen(0, "127.0.0.1", resolve));
    const port = (rejecting.address() as AddressInfo).port;
    await agent.stop();
    agent = await startAgent({ base: stack.base, id: AGENT_ID, aeTable: [{ title: "ORTHANC", host: "127.0.0.1", port, tls: false }] });
    try {
      const refused = await qido(`/studies?PatientID=x`);
      expect(refused.status).toBe(502);
      expect(first(refused.body[0]!, "00000902")).toMatch(/ORTHANC rejected the association: called AE title not recognized/);
    } finally {
      await agent.stop();
      await new Promise((resolve) => rejecting.close(resolve));
      agent = await startAgent({ base: stack.base, id: AGENT_ID, aeTable: [{ title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }] });
    }
  }, 60_000);

  it("answers 502 and failure statuses when the PACS is down, 503 when the agent is not connected", async () => {
    await orthanc.stop();
    const down = await qido(`/studies?PatientID=x`);
    expect(down.status).toBe(502);
    expect(first(down.body[0]!, "00000902")).toMatch(/ORTHANC at 127\.0\.0\.1/);
    const health = await fetch(`${stack.base}/health`);
    expect(health.status).toBe(503);
    const echo = await dcmtk("echoscu", ["-v", "-aec", agent.aeTitle, "127.0.0.1", String(agent.port)]);
    expect(echo.output).toMatch(/Received Echo Response \(.*0x0?110\)|Status: Processing Failure/i);
    const dir = await mkdtemp(join(tmpdir(), "dicom-edge-broker-dimse-"));
    const path = join(dir, "1.dcm");
    await writeFile(path, instances("P", randomUid(), 1)[0]!.bytes);
    const stored = await dcmtk("storescu", ["-v", "-aec", agent.aeTitle, "127.0.0.1", String(agent.port), path]);
    expect(stored.output).toMatch(/Out ?of ?Resources|0xa700/i);
    const found = await dcmtk("findscu", ["-v", "-aec", agent.aeTitle, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=x", "127.0.0.1", String(agent.port)]);
    expect(found.output).toMatch(/Out ?of ?Resources|0xa700/i);
    await rm(dir, { recursive: true, force: true });

    await agent.stop();
    const gone = await qido(`/studies?PatientID=x`);
    expect(gone.status).toBe(503);
    expect(first(gone.body[0]!, "00000902")).toMatch(new RegExp(`agent ${AGENT_ID} is not connected`));
  });
});
