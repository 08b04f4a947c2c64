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
import { first, get, parts, sha256 } from "./dicomweb";
import { startOrthanc, type Orthanc } from "./orthanc";
import { startStack, type Stack } from "./stack";

const AGENT_ID = "e2e-broker-wado";
const DICOM = 'multipart/related; type="application/dicom"';
const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";
const JSON_TYPE = "application/dicom+json";

type Dataset = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string }>;

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

/** WADO-RS Retrieve Metadata at the edge (PS3.18 10.4.1.1.2). */
async function metadata(path: string): Promise<Dataset[]> {
  const response = await get(`${stack.base}/dicomweb${path}/metadata`, { headers: { Accept: JSON_TYPE } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe(JSON_TYPE);
  return (await response.json()) as Dataset[];
}

/**
 * Each instance's standard attributes that Orthanc's own metadata holds as
 * values are the edge's too. Private ones are left out: DCMTK in Orthanc
 * reads a private UN element as a sequence where it can (PS3.5 6.2.2), the
 * edge keeps its bytes, as the archive does.
 */
async function expectOrthancs(path: string, received: Dataset[]): Promise<void> {
  const response = await fetch(`${orthanc.http}/dicom-web${path}/metadata`, { headers: { Accept: JSON_TYPE } });
  expect(response.status).toBe(200);
  const theirs = new Map(((await response.json()) as Dataset[]).map((ds) => [first(ds, "00080018"), ds]));
  expect(theirs.size).toBe(received.length);
  for (const ours of received) {
    const orthancs = theirs.get(first(ours, "00080018"))!;
    expect(orthancs).toBeDefined();
    const valued = Object.entries(orthancs).filter(([tag, a]) => a.Value !== undefined && !isPrivate(tag));
    expect(valued.map(([tag]) => tag)).toEqual(expect.arrayContaining(["00100020", "0020000D", "0020000E"]));
    for (const [tag, attribute] of valued) expect({ tag, ...ours[tag] }).toEqual({ tag, ...attribute });
  }
}

/** PS3.5 7.8: an odd group is private. */
function isPrivate(tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1;
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

  it("answers 404 for a study the PACS does not have, 406 for a syntax it does not store", async () => {
    expect((await get(`${stack.base}/dicomweb/studies/${randomUid()}`, { headers: { Accept: DICOM } })).status).toBe(404);
    const jpeg = await get(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: `${DICOM}; transfer-syntax=1.2.840.10008.1.2.4.50` } });
    expect(jpeg.status).toBe(406);
  });

  it("retrieves study metadata: one object per instance, its attributes Orthanc's own metadata's", async () => {
    const received = await metadata(`/studies/${study}`);
    expect(received.map((ds) => first(ds, "00080018")).sort()).toEqual([...sops].sort());
    await expectOrthancs(`/studies/${study}`, received);
  });

  it("retrieves series and instance metadata", async () => {
    const bySeries = await metadata(`/studies/${study}/series/${series}`);
    expect(bySeries.map((ds) => first(ds, "00080018")).sort()).toEqual([...sops].sort());
    const path = `/studies/${study}/series/${series}/instances/${sops[1]}`;
    const one = await metadata(path);
    expect(one.map((ds) => first(ds, "00080018"))).toEqual([sops[1]]);
    await expectOrthancs(path, one);
  });

  it("retrieves the metadata of Implicit VR instances (the corpus's MR study), Pixel Data as a BulkDataURI of the edge", async () => {
    const mrStudy = mr.find((f) => f.transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN)!.studyInstanceUid;
    const stored = mr.filter((f) => f.studyInstanceUid === mrStudy);
    const received = await metadata(`/studies/${mrStudy}`);
    expect(received.map((ds) => first(ds, "00080018")).sort()).toEqual(stored.map((f) => f.sopInstanceUid).sort());
    await expectOrthancs(`/studies/${mrStudy}`, received);
    for (const ds of received) {
      expect(first(ds, "00280010")).toBe(stored.find((f) => f.sopInstanceUid === first(ds, "00080018"))!.rows);
      // PS3.18 F.2.6: a large value is a BulkDataURI (here at the edge, under the instance), never inline.
      expect(ds["7FE00010"]?.InlineBinary).toBeUndefined();
      const instance = `/dicomweb/studies/${mrStudy}/series/${first(ds, "0020000E")}/instances/${first(ds, "00080018")}`;
      expect(ds["7FE00010"]?.BulkDataURI).toBe(`${stack.base}${instance}/bulkdata/7FE00010`);
    }
  });

  it("answers 404 for the metadata of a study, series or instance the PACS does not have", async () => {
    for (const path of [`/studies/${randomUid()}`, `/studies/${study}/series/${randomUid()}`, `/studies/${study}/series/${series}/instances/${randomUid()}`]) {
      const missing = await get(`${stack.base}/dicomweb${path}/metadata`, { headers: { Accept: JSON_TYPE } });
      expect(missing.status).toBe(404);
    }
  });

  it("answers 502 when the PACS is down", async () => {
    await orthanc.stop();
    const down = await fetch(`${stack.base}/dicomweb/studies/${study}`, { headers: { Accept: DICOM } });
    expect(down.status).toBe(502);
    expect(await down.text()).toMatch(/ORTHANC/);
  });
});
