// Push to an external FHIR server, end to end: a real FHIR server
// (Medplum's router and in-memory repository, e2e/fhir-server.ts) with an
// OAuth 2.0 client-credentials token endpoint, and edges of their own
// (wrangler dev, its local queues) configured to push to it. STOW-RS and
// DELETE on the edge become a conditional create/update or a conditional
// delete there, with one token for the whole run. A second edge with a
// wrong client secret pushes nothing and says why in its log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CT_IMAGE_STORAGE as CT, ctInstance, randomUid } from "./data/instances";
import { stow } from "./dicomweb";
import { until } from "./notifications";
import { startFhirServer, type FhirServer } from "./fhir-server";
import { startStack, type Stack } from "./stack";

/** Study events wait up to 2 s for a batch, then the push is queued and sent within about a second more. */
const PUSHED_WITHIN_MS = 20_000;

let fhir: FhirServer;
let edge: Stack;
let refused: FhirServer;
let refusedEdge: Stack;

const pushVars = (server: FhirServer, secret = server.clientSecret) => ({
  FHIR_PUSH_URL: server.base,
  FHIR_PUSH_TOKEN_URL: server.tokenUrl,
  FHIR_PUSH_CLIENT_ID: server.clientId,
  FHIR_PUSH_CLIENT_SECRET: secret,
  FHIR_PUSH_SCOPE: "system/Patient.write system/ImagingStudy.write",
});

beforeAll(async () => {
  [fhir, refused] = await Promise.all([startFhirServer({ clientId: "edge-e2e" }), startFhirServer({ clientId: "edge-e2e" })]);
  [edge, refusedEdge] = await Promise.all([startStack({ vars: pushVars(fhir) }), startStack({ vars: pushVars(refused, "not the secret") })]);
});
afterAll(async () => {
  await Promise.all([edge?.stop(), refusedEdge?.stop()]);
  await Promise.all([fhir?.stop(), refused?.stop()]);
});

const uid = randomUid;

/** A CT instance of the push tests: with sex, birth date and body part, so the pushed Patient and bodySite have them. */
function ct(patientId: string, study: string, series: string, sop: string, number: number): Uint8Array {
  return ctInstance({
    patientId,
    patientName: "Push^Pat",
    study,
    series,
    sop,
    number,
    description: "push e2e",
    extra: [
      { tag: 0x00100030, vr: "DA", value: "19700102" },
      { tag: 0x00100040, vr: "CS", value: "F" },
      { tag: 0x00180015, vr: "CS", value: "CHEST" },
      { tag: 0x00200011, vr: "IS", value: series.endsWith(".2") ? "2" : "1" },
    ],
  });
}

async function store(base: string, ...instances: Uint8Array[]): Promise<void> {
  const res = await stow(base, instances);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

const studies = (server: FhirServer, study: string) => search(server, "ImagingStudy", `urn:dicom:uid|urn:oid:${study}`);
const patients = (server: FhirServer, patientId: string) => search(server, "Patient", `urn:dicom-edge:patient-id|${patientId}`);

async function search(server: FhirServer, type: string, identifier: string): Promise<any[]> {
  const { status, body } = await server.request("GET", `${type}?identifier=${encodeURIComponent(identifier)}`);
  expect(status).toBe(200);
  return (body.entry ?? []).map((e: { resource: unknown }) => e.resource);
}

describe("push to an external FHIR server with client credentials", () => {
  const patientId = `PUSH-${crypto.randomUUID().slice(0, 8)}`;
  const study = uid();
  let imagingStudyId: string;
  let patientServerId: string;

  it("creates the Patient and the ImagingStudy after a STOW-RS", async () => {
    await store(edge.base, ct(patientId, study, `${study}.1`, `${study}.1.1`, 1), ct(patientId, study, `${study}.1`, `${study}.1.2`, 2), ct(patientId, study, `${study}.2`, `${study}.2.1`, 1));
    const [pushed] = await until(() => studies(fhir, study), (found) => found.length > 0, PUSHED_WITHIN_MS);
    const [patient, ...others] = await patients(fhir, patientId);
    expect(others).toEqual([]);
    expect(patient).toMatchObject({
      resourceType: "Patient",
      identifier: [{ system: "urn:dicom-edge:patient-id", value: patientId }],
      name: [{ family: "Push", given: ["Pat"] }],
      gender: "female",
      birthDate: "1970-01-02",
    });
    // The server's own ids, not the edge's.
    expect(patient.id).not.toBe(patientId);
    expect(pushed.id).not.toBe(study);
    expect(pushed).toMatchObject({
      resourceType: "ImagingStudy",
      status: "available",
      identifier: expect.arrayContaining([{ use: "official", system: "urn:dicom:uid", value: `urn:oid:${study}` }]),
      subject: { reference: `Patient/${patient.id}` },
      description: "push e2e",
      numberOfSeries: 2,
      numberOfInstances: 3,
      modality: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "CT" }],
    });
    expect(pushed.endpoint).toBeUndefined();
    const series = Object.fromEntries(pushed.series.map((s: any) => [s.uid, s]));
    expect(series[`${study}.1`]).toMatchObject({ number: 1, numberOfInstances: 2, modality: { code: "CT" }, bodySite: { code: "816094009" } });
    expect(series[`${study}.1`].instance.map((i: any) => i.uid).sort()).toEqual([`${study}.1.1`, `${study}.1.2`]);
    expect(series[`${study}.2`]).toMatchObject({ number: 2, numberOfInstances: 1, instance: [{ uid: `${study}.2.1`, sopClass: { code: `urn:oid:${CT}` } }] });
    imagingStudyId = pushed.id;
    patientServerId = patient.id;
  });

  it("updates the same ImagingStudy when an instance is added, and the same Patient", async () => {
    await store(edge.base, ct(patientId, study, `${study}.2`, `${study}.2.2`, 2));
    const [updated] = await until(() => studies(fhir, study), (found) => found[0]?.numberOfInstances === 4, PUSHED_WITHIN_MS);
    expect(updated).toMatchObject({ id: imagingStudyId, numberOfSeries: 2, subject: { reference: `Patient/${patientServerId}` } });
    expect(await studies(fhir, study)).toHaveLength(1);
    expect((await patients(fhir, patientId)).map((p) => p.id)).toEqual([patientServerId]);
    expect(await fhir.all("ImagingStudy")).toHaveLength(1);
    expect(await fhir.all("Patient")).toHaveLength(1);
  });

  it("deletes the ImagingStudy when the study is deleted, and leaves the Patient", async () => {
    const res = await fetch(`${edge.base}/dicomweb/studies/${study}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    await until(() => studies(fhir, study), (found) => found.length === 0, PUSHED_WITHIN_MS);
    expect((await patients(fhir, patientId)).map((p) => p.id)).toEqual([patientServerId]);
  });

  it("asked the token endpoint once for all of it", () => {
    expect(fhir.stats()).toMatchObject({ tokenRequests: 1, tokensIssued: 1, refused: 0 });
  });
});

describe("push with a wrong client secret", () => {
  it("sends nothing and logs the token endpoint's refusal", async () => {
    const study = uid();
    await store(refusedEdge.base, ct("PUSH-REFUSED", study, `${study}.1`, `${study}.1.1`, 1));
    await until(async () => refusedEdge.log(), (log) => log.includes(`FHIR push of study ${study} failed`), PUSHED_WITHIN_MS);
    expect(refusedEdge.log()).toMatch(new RegExp(`FHIR push of study ${study.replaceAll(".", "\\.")} failed \\(attempt 1, next in \\d+ s\\): the token endpoint answered HTTP 401 \\(invalid_client\\)`));
    expect(refusedEdge.log()).not.toContain("not the secret");
    expect(refused.stats()).toMatchObject({ tokensIssued: 0, fhirRequests: 0, refused: 0 });
    expect(refused.stats().tokenRequests).toBeGreaterThanOrEqual(1);
    expect(await refused.all("ImagingStudy")).toEqual([]);
    expect(await refused.all("Patient")).toEqual([]);
  });
});
