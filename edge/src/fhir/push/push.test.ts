// The push against a real FHIR server: Medplum's router and in-memory
// repository behind HTTP, with a client-credentials token endpoint, started
// in Node by edge/test/fhir-server.ts. It validates what it stores and
// refuses references to resources it does not hold.
import { env, SELF } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { instance, multipart, STOW_TYPE } from "../../../test/instances";
import type { Env } from "../../env";
import type { ImagingStudy, Patient } from "../r4";
import type { PushConfig } from "./config";
import { PushError } from "./errors";
import { send } from "./http";
import { pushStudy, pushStudyChange, pushStudyDeleted } from "./push";
import { accessToken, clearTokenCache } from "./token";

const FHIR = inject("fhirServer");
type Json = Record<string, any>;

const CLIENT: PushConfig = { base: FHIR.base, auth: { kind: "client-credentials", tokenUrl: FHIR.tokenUrl, clientId: FHIR.clientId, clientSecret: FHIR.clientSecret } };
const PUSH_ENV = { FHIR_PUSH_URL: FHIR.base, FHIR_PUSH_TOKEN_URL: FHIR.tokenUrl, FHIR_PUSH_CLIENT_ID: FHIR.clientId, FHIR_PUSH_CLIENT_SECRET: FHIR.clientSecret };

async function stats(): Promise<{ tokenRequests: number; tokensIssued: number; fhirRequests: number; refused: number }> {
  return (await fetch(`${FHIR.origin}/_test/stats`)).json();
}
/** A search on the server with the test's own token: the matching resources. */
async function find(type: string, query: string): Promise<any[]> {
  const res = await fetch(`${FHIR.base}/${type}?${query}`, { headers: { Authorization: `Bearer ${FHIR.token}` } });
  expect(res.status).toBe(200);
  return (((await res.json()) as Json).entry ?? []).map((e: Json) => e.resource);
}
const byStudy = (uid: string) => find("ImagingStudy", `identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${uid}`)}`);
const byPatientId = (id: string) => find("Patient", `identifier=${encodeURIComponent(`urn:dicom-edge:patient-id|${id}`)}`);

function patient(id: string): Patient {
  return { resourceType: "Patient", id, identifier: [{ use: "usual", system: "urn:dicom-edge:patient-id", value: id }], name: [{ family: "Doe", given: ["Jane"] }], gender: "female" };
}
function study(uid: string, pid: string, instances = 1): ImagingStudy {
  return {
    resourceType: "ImagingStudy",
    id: uid,
    identifier: [{ use: "official", system: "urn:dicom:uid", value: `urn:oid:${uid}` }],
    status: "available",
    subject: { reference: `Patient/${pid}` },
    endpoint: [{ reference: "Endpoint/dicomweb" }],
    numberOfSeries: 1,
    numberOfInstances: instances,
    series: [
      {
        uid: `${uid}.1`,
        modality: { system: "http://dicom.nema.org/resources/ontology/DCM", code: "CT" },
        numberOfInstances: instances,
        instance: Array.from({ length: instances }, (_, i) => ({ uid: `${uid}.1.${i + 1}`, sopClass: { system: "urn:ietf:rfc:3986", code: "urn:oid:1.2.840.10008.5.1.4.1.1.2" } })),
      },
    ],
  };
}
async function rejection(promise: Promise<unknown>): Promise<PushError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PushError);
  return error as PushError;
}

beforeEach(() => clearTokenCache());

describe("pushStudy with client credentials", () => {
  it("creates the Patient and the ImagingStudy, then updates the same ones, with one token", async () => {
    const before = await stats();
    const first = await pushStudy(CLIENT, { patient: patient("PUSH-1"), imagingStudy: study("2.25.9001", "PUSH-1") });
    const [p] = await byPatientId("PUSH-1");
    expect(p).toMatchObject({ resourceType: "Patient", id: first.patient, name: [{ family: "Doe", given: ["Jane"] }], gender: "female" });
    const [s] = await byStudy("2.25.9001");
    expect(s).toMatchObject({ id: first.imagingStudy, subject: { reference: `Patient/${first.patient}` }, numberOfInstances: 1 });
    expect(s.endpoint).toBeUndefined();

    const second = await pushStudy(CLIENT, { patient: patient("PUSH-1"), imagingStudy: study("2.25.9001", "PUSH-1", 3) });
    expect(second).toEqual(first);
    const studies = await byStudy("2.25.9001");
    expect(studies).toHaveLength(1);
    expect(studies[0]).toMatchObject({ id: first.imagingStudy, numberOfInstances: 3 });
    expect(studies[0].series[0].instance).toHaveLength(3);
    expect(await byPatientId("PUSH-1")).toHaveLength(1);

    const after = await stats();
    expect(after.tokenRequests - before.tokenRequests).toBe(1);
    expect(after.refused - before.refused).toBe(0);
  });

  it("shares one token request among concurrent pushes", async () => {
    const before = await stats();
    await Promise.all(["2.25.9011", "2.25.9012", "2.25.9013"].map((uid, i) => pushStudy(CLIENT, { patient: patient(`PUSH-C${i}`), imagingStudy: study(uid, `PUSH-C${i}`) })));
    expect((await stats()).tokenRequests - before.tokenRequests).toBe(1);
  });

  it("asks for a new token once when the server refuses the cached one", async () => {
    await pushStudy(CLIENT, { patient: patient("PUSH-2"), imagingStudy: study("2.25.9002", "PUSH-2") });
    const before = await stats();
    await fetch(`${FHIR.origin}/_test/revoke`, { method: "POST" });
    await pushStudy(CLIENT, { patient: patient("PUSH-2"), imagingStudy: study("2.25.9002", "PUSH-2", 2) });
    const after = await stats();
    expect(after.tokenRequests - before.tokenRequests).toBe(1);
    expect(after.refused - before.refused).toBe(1);
    expect((await byStudy("2.25.9002"))[0]).toMatchObject({ numberOfInstances: 2 });
  });

  it("asks for a new token shortly before the cached one expires", async () => {
    let now = Date.now();
    const clock = () => now;
    const before = await stats();
    const first = await accessToken(CLIENT.auth as Extract<PushConfig["auth"], { kind: "client-credentials" }>, clock);
    now += 3_500_000;
    expect(await accessToken(CLIENT.auth as Extract<PushConfig["auth"], { kind: "client-credentials" }>, clock)).toBe(first);
    now += 60_000;
    expect(await accessToken(CLIENT.auth as Extract<PushConfig["auth"], { kind: "client-credentials" }>, clock)).not.toBe(first);
    expect((await stats()).tokenRequests - before.tokenRequests).toBe(2);
  });

  it("fails with code token on a wrong secret, and nothing arrives", async () => {
    const wrong: PushConfig = { base: FHIR.base, auth: { ...(CLIENT.auth as Extract<PushConfig["auth"], { kind: "client-credentials" }>), clientSecret: "wrong" } };
    const error = await rejection(pushStudy(wrong, { patient: patient("PUSH-3"), imagingStudy: study("2.25.9003", "PUSH-3") }));
    expect(error.code).toBe("token");
    expect(error.message).toBe("the token endpoint answered HTTP 401 (invalid_client)");
    expect(error.message).not.toContain("wrong");
    expect(await byPatientId("PUSH-3")).toEqual([]);
    // Refusals are not cached: the next try asks again.
    const before = await stats();
    await rejection(pushStudy(wrong, { patient: patient("PUSH-3"), imagingStudy: study("2.25.9003", "PUSH-3") }));
    expect((await stats()).tokenRequests - before.tokenRequests).toBe(1);
  });
});

describe("pushStudy with other authentication", () => {
  it("sends a static bearer token as it is, and never asks for one", async () => {
    const before = await stats();
    const pushed = await pushStudy({ base: FHIR.base, auth: { kind: "bearer", token: FHIR.token } }, { patient: patient("PUSH-4"), imagingStudy: study("2.25.9004", "PUSH-4") });
    expect((await byStudy("2.25.9004"))[0]!.subject.reference).toBe(`Patient/${pushed.patient}`);
    expect((await stats()).tokenRequests - before.tokenRequests).toBe(0);
  });

  it("reports the server's 401 for a wrong static token or none, without retrying it", async () => {
    const before = await stats();
    for (const auth of [{ kind: "bearer", token: "not-a-token" }, { kind: "none" }] as const) {
      const error = await rejection(pushStudy({ base: FHIR.base, auth }, { patient: patient("PUSH-5"), imagingStudy: study("2.25.9005", "PUSH-5") }));
      expect(error.code).toBe("refused");
      expect(error.message).toMatch(/^conditional update of the Patient: HTTP 401 \(a valid bearer token is required\)$/);
    }
    expect((await stats()).refused - before.refused).toBe(2);
  });
});

describe("what the server refuses", () => {
  it("reports an invalid resource with the server's diagnostics", async () => {
    const bad = study("2.25.9006", "PUSH-6");
    delete (bad.series![0] as Partial<(typeof bad.series & {})[0]>).modality;
    const error = await rejection(pushStudy(CLIENT, { patient: patient("PUSH-6"), imagingStudy: bad }));
    expect(error.code).toBe("refused");
    expect(error.message).toMatch(/^conditional update of the ImagingStudy: HTTP 400 \(Missing required property\)/);
  });

  it("times out a server that does not answer", async () => {
    const error = await rejection(send(`${FHIR.origin}/_test/hang`, {}, "the test request", 300));
    expect(error).toMatchObject({ code: "timeout", message: "the test request: no answer within 0.3 s" });
  });

  // workerd logs the refused connection ("Network connection lost") even though the rejection is handled.
  it("reports an unreachable server", async () => {
    const error = await rejection(pushStudy({ base: "http://127.0.0.1:9/fhir", auth: { kind: "none" } }, { patient: patient("PUSH-7"), imagingStudy: study("2.25.9007", "PUSH-7") }));
    expect(error.code).toBe("unreachable");
  });
});

describe("a study without a Patient ID", () => {
  it("is pushed without a Patient, its subject a display only", async () => {
    const before = (await stats()).fhirRequests;
    const pushed = await pushStudy(CLIENT, { patient: undefined, imagingStudy: { ...study("2.25.9009", "x"), subject: { display: "patient without a Patient ID" } } });
    expect(pushed.patient).toBeUndefined();
    expect((await byStudy("2.25.9009"))[0]).toMatchObject({ id: pushed.imagingStudy, subject: { display: "patient without a Patient ID" } });
    expect((await stats()).fhirRequests - before).toBe(2);
  });
});

describe("pushStudyDeleted", () => {
  it("deletes the ImagingStudy, leaves the Patient, and takes nothing to delete as done", async () => {
    await pushStudy(CLIENT, { patient: patient("PUSH-8"), imagingStudy: study("2.25.9008", "PUSH-8") });
    await pushStudyDeleted(CLIENT, "2.25.9008");
    expect(await byStudy("2.25.9008")).toEqual([]);
    expect(await byPatientId("PUSH-8")).toHaveLength(1);
    await pushStudyDeleted(CLIENT, "2.25.9008");
  });
});

describe("pushStudyChange: the study as the index holds it", () => {
  const stow = async (...parts: Uint8Array[]) => {
    const res = await SELF.fetch("http://edge.test/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart(parts) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };
  const pushEnv = { ...env, ...PUSH_ENV } as Env;

  it("is off without FHIR_PUSH_URL, and a PushError with code config when half set", async () => {
    expect(await pushStudyChange(env as Env, { study: "2.25.9100", kind: "changed" })).toEqual({ kind: "off" });
    const error = await rejection(pushStudyChange({ ...env, FHIR_PUSH_URL: FHIR.base, FHIR_PUSH_CLIENT_ID: "x" } as Env, { study: "2.25.9100", kind: "changed" }));
    expect(error.code).toBe("config");
  });

  it("pushes a stored study, its additions, a series delete and the study delete", async () => {
    const uid = "2.25.9101";
    await stow(instance({ study: uid, sop: `${uid}.1.1`, patientId: "PUSH-IDX" }), instance({ study: uid, series: `${uid}.2`, sop: `${uid}.2.1`, patientId: "PUSH-IDX" }));
    const first = await pushStudyChange(pushEnv, { study: uid, kind: "changed" });
    expect(first.kind).toBe("upserted");
    const [p] = await byPatientId("PUSH-IDX");
    expect(p).toMatchObject({ name: [{ family: "Doe", given: ["Jane"] }], gender: "unknown" });
    let [s] = await byStudy(uid);
    expect(s).toMatchObject({ status: "available", subject: { reference: `Patient/${p!.id}` }, numberOfSeries: 2, numberOfInstances: 2 });
    expect(s.series.map((x: Json) => x.instance.length).sort()).toEqual([1, 1]);

    await stow(instance({ study: uid, sop: `${uid}.1.2`, patientId: "PUSH-IDX" }));
    await pushStudyChange(pushEnv, { study: uid, kind: "changed" });
    const studies = await byStudy(uid);
    expect(studies).toHaveLength(1);
    [s] = studies;
    expect(s).toMatchObject({ id: first.kind === "upserted" ? first.imagingStudy : "", numberOfSeries: 2, numberOfInstances: 3 });

    // A series deleted: the study is still there, so "deleted" updates it.
    expect((await SELF.fetch(`http://edge.test/dicomweb/studies/${uid}/series/${uid}.2`, { method: "DELETE" })).status).toBe(204);
    await pushStudyChange(pushEnv, { study: uid, kind: "deleted" });
    expect((await byStudy(uid))[0]).toMatchObject({ numberOfSeries: 1, numberOfInstances: 2 });

    expect((await SELF.fetch(`http://edge.test/dicomweb/studies/${uid}`, { method: "DELETE" })).status).toBe(204);
    expect(await pushStudyChange(pushEnv, { study: uid, kind: "deleted" })).toEqual({ kind: "deleted" });
    expect(await byStudy(uid)).toEqual([]);
    expect(await byPatientId("PUSH-IDX")).toHaveLength(1);
  });
});
