// FHIR R4 read and search at /fhir over studies stored with STOW-RS: every
// search parameter against the index, paging, _include, the errors.
import { SELF } from "cloudflare:test";
import { encodePart10, type Element } from "@dicom-edge/shared/dicom/testing/encode";
import { beforeAll, describe, expect, it } from "vitest";
import { multipart, STOW_TYPE } from "./instances";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const MR = "1.2.840.10008.5.1.4.1.1.4";
const SR = "1.2.840.10008.5.1.4.1.1.88.11";
const ORIGIN = "http://edge.test";
const FHIR = `${ORIGIN}/fhir`;
const DCM = "http://dicom.nema.org/resources/ontology/DCM";

interface PatientSpec {
  id?: string;
  issuer?: string;
  name: string;
  birth: string;
  sex: string;
}

interface StudySpec {
  study: string;
  date: string;
  time?: string;
  timezone?: string;
  accession?: string;
  description?: string;
  patient: PatientSpec;
  series: { uid: string; modality: string; number: number; bodyPart?: string; description?: string; instances: { sop: string; sopClass: string; number: number }[] }[];
}

const HANS: PatientSpec = { id: "PAT-1", name: "Müller^Hans", birth: "19700101", sex: "M" };
// The same Patient ID from another issuer: another patient.
const JOHN: PatientSpec = { id: "PAT-1", issuer: "HOSP B", name: "Smith^John", birth: "19650505", sex: "O" };
const JANE: PatientSpec = { id: "PAT-2", name: "Doe^Jane", birth: "19800202", sex: "F" };
const ELODIE: PatientSpec = { id: "PAT-3", name: "Dupont^Élodie", birth: "19900303", sex: "F" };
const WEIRD: PatientSpec = { id: "pat_7/x", name: "Weird^Id", birth: "20000229", sex: "M" };
const LONG: PatientSpec = { id: "L_".repeat(30), name: "Long^Identifier", birth: "19750615", sex: "F" };
const ANONYMOUS: PatientSpec = { name: "Anon^Ymous", birth: "19500101", sex: "" };

const one = (uid: string, modality: string, sopClass: string, number = 1) => ({ uid, modality, number, instances: [{ sop: `${uid}.1`, sopClass, number: 1 }] });

const STUDIES: StudySpec[] = [
  {
    study: "3.1", date: "20240115", time: "093000.25", timezone: "+0100", accession: "ACC-100", description: "CT CHEST", patient: HANS,
    series: [
      { uid: "3.1.1", modality: "CT", number: 1, bodyPart: "CHEST", description: "AXIAL", instances: [{ sop: "3.1.1.2", sopClass: CT, number: 2 }, { sop: "3.1.1.1", sopClass: CT, number: 1 }] },
      { uid: "3.1.2", modality: "SR", number: 2, bodyPart: "BRAINSTEM?", instances: [{ sop: "3.1.2.1", sopClass: SR, number: 1 }] },
    ],
  },
  { study: "3.2", date: "20231201", time: "153000", accession: "ACC-200", description: "MR BRAIN", patient: JANE, series: [one("3.2.1", "MR", MR)] },
  { study: "3.3", date: "20240301", accession: "ACC-300", patient: ELODIE, series: [one("3.3.1", "CT", CT, 4)] },
  { study: "3.4", date: "20220505", patient: HANS, series: [one("3.4.1", "MR", MR)] },
  { study: "3.5", date: "20210101", patient: JOHN, series: [one("3.5.1", "CT", CT)] },
  { study: "3.6", date: "20200202", patient: WEIRD, series: [one("3.6.1", "CT", CT)] },
  { study: "3.7", date: "20190303", patient: LONG, series: [one("3.7.1", "CT", CT)] },
  { study: "3.8", date: "20180404", patient: ANONYMOUS, series: [one("3.8.1", "CT", CT)] },
];

function encode(s: StudySpec): Uint8Array[] {
  return s.series.flatMap((series) =>
    series.instances.map((i) => {
      const elements: Element[] = [
        { tag: 0x00080005, vr: "CS", value: "ISO_IR 192" },
        { tag: 0x00080016, vr: "UI", value: i.sopClass },
        { tag: 0x00080018, vr: "UI", value: i.sop },
        { tag: 0x00080020, vr: "DA", value: s.date },
        ...(s.time ? [{ tag: 0x00080030, vr: "TM", value: s.time }] : []),
        ...(s.accession ? [{ tag: 0x00080050, vr: "SH", value: s.accession }] : []),
        { tag: 0x00080060, vr: "CS", value: series.modality },
        ...(s.timezone ? [{ tag: 0x00080201, vr: "SH", value: s.timezone }] : []),
        ...(s.description ? [{ tag: 0x00081030, vr: "LO", value: s.description }] : []),
        ...(series.description ? [{ tag: 0x0008103e, vr: "LO", value: series.description }] : []),
        { tag: 0x00100010, vr: "PN", value: s.patient.name },
        ...(s.patient.id ? [{ tag: 0x00100020, vr: "LO", value: s.patient.id }] : []),
        ...(s.patient.issuer ? [{ tag: 0x00100021, vr: "LO", value: s.patient.issuer }] : []),
        { tag: 0x00100030, vr: "DA", value: s.patient.birth },
        ...(s.patient.sex ? [{ tag: 0x00100040, vr: "CS", value: s.patient.sex }] : []),
        ...(series.bodyPart ? [{ tag: 0x00180015, vr: "CS", value: series.bodyPart }] : []),
        { tag: 0x0020000d, vr: "UI", value: s.study },
        { tag: 0x0020000e, vr: "UI", value: series.uid },
        { tag: 0x00200011, vr: "IS", value: String(series.number) },
        { tag: 0x00200013, vr: "IS", value: String(i.number) },
      ];
      return encodePart10({ transferSyntaxUID: "1.2.840.10008.1.2.1", sopClassUID: i.sopClass, sopInstanceUID: i.sop, elements });
    }),
  );
}

type Json = Record<string, any>;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await SELF.fetch(path.startsWith("http") ? path : `${FHIR}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

async function search(path: string): Promise<Json> {
  const { status, body } = await get(path);
  expect(status, `${path}: ${JSON.stringify(body)}`).toBe(200);
  expect(body.resourceType).toBe("Bundle");
  return body;
}

/** The ids of a searchset's matches, in order. */
async function ids(path: string): Promise<string[]> {
  const bundle = await search(path);
  return (bundle.entry ?? []).filter((e: Json) => e.search.mode === "match").map((e: Json) => e.resource.id);
}

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

function expectOutcome(res: { status: number; body: Json }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.resourceType).toBe("OperationOutcome");
  expect(res.body.issue[0]).toMatchObject({ severity: "error", code });
  expect(res.body.issue[0].diagnostics).toBeTruthy();
}

beforeAll(async () => {
  const res = await SELF.fetch(`${ORIGIN}/dicomweb/studies`, { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart(STUDIES.flatMap(encode)) });
  expect(res.status).toBe(200);
});

describe("FHIR formats", () => {
  it("answers application/fhir+json, application/json when asked, and honours _format", async () => {
    const plain = await SELF.fetch(`${FHIR}/metadata`);
    expect(plain.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    const json = await SELF.fetch(`${FHIR}/metadata`, { headers: { Accept: "application/json" } });
    expect(json.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const browser = await SELF.fetch(`${FHIR}/Patient/PAT-1`, { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(browser.status).toBe(200);
    const format = await SELF.fetch(`${FHIR}/Patient/PAT-1?_format=json`, { headers: { Accept: "application/xml" } });
    expect(format.status).toBe(200);
    expect(format.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    const r4 = await SELF.fetch(`${FHIR}/metadata`, { headers: { Accept: "application/fhir+json; fhirVersion=4.0" } });
    expect(r4.status).toBe(200);
  });

  it("refuses XML and other FHIR versions with 406 and an OperationOutcome", async () => {
    expectOutcome(await get("/Patient/PAT-1", { Accept: "application/fhir+xml" }), 406, "not-supported");
    expectOutcome(await get("/Patient?_format=xml"), 406, "not-supported");
    expectOutcome(await get("/metadata", { Accept: "application/fhir+json; fhirVersion=3.0" }), 406, "not-supported");
  });
});

describe("CapabilityStatement", () => {
  it("lists exactly the resources, interactions, parameters and includes served", async () => {
    const { status, body } = await get("/metadata");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      resourceType: "CapabilityStatement",
      status: "active",
      kind: "instance",
      fhirVersion: "4.0.1",
      software: { name: "dicom-edge", version: "0.1.0" },
      implementation: { url: FHIR },
      format: ["application/fhir+json", "json"],
    });
    expect(body.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const resources = Object.fromEntries(body.rest[0].resource.map((r: Json) => [r.type, r]));
    expect(Object.keys(resources)).toEqual(["Patient", "ImagingStudy", "Subscription", "Endpoint"]);
    expect(resources.Patient.interaction).toEqual([{ code: "read" }, { code: "search-type" }]);
    expect(resources.Endpoint.interaction).toEqual([{ code: "read" }]);
    expect(resources.Subscription.interaction).toEqual([{ code: "create" }, { code: "read" }, { code: "search-type" }, { code: "delete" }]);
    const params = (type: string) => resources[type].searchParam.map((p: Json) => `${p.name}:${p.type}`);
    expect(params("Patient")).toEqual(["_id:token", "identifier:token", "name:string", "family:string", "given:string", "birthdate:date", "gender:token"]);
    expect(params("ImagingStudy")).toEqual(["_id:token", "identifier:token", "patient:reference", "subject:reference", "started:date", "modality:token", "status:token"]);
    expect(resources.ImagingStudy.searchInclude).toEqual(["ImagingStudy:patient", "ImagingStudy:subject"]);
    expect(resources.Patient.searchInclude).toBeUndefined();
  });
});

describe("read", () => {
  it("Patient: identifier, name, gender, birth date", async () => {
    const { status, body } = await get("/Patient/PAT-1");
    expect(status).toBe(200);
    expect(body).toEqual({
      resourceType: "Patient",
      id: "PAT-1",
      identifier: [{ use: "usual", system: "urn:dicom-edge:patient-id", value: "PAT-1" }],
      name: [{ family: "Müller", given: ["Hans"] }],
      gender: "male",
      birthDate: "1970-01-01",
    });
  });

  it("Patient with an issuer, and with characters an id cannot hold", async () => {
    const john = await get("/Patient/PAT-1.-HOSP.20B");
    expect(john.body).toMatchObject({ id: "PAT-1.-HOSP.20B", gender: "other", identifier: [{ system: "urn:dicom-edge:issuer:HOSP%20B", value: "PAT-1" }] });
    const weird = await get("/Patient/pat.5F7.2Fx");
    expect(weird.body).toMatchObject({ id: "pat.5F7.2Fx", identifier: [{ value: "pat_7/x" }], birthDate: "2000-02-29" });
  });

  it("Patient whose id is too long to spell out: found by its hashed id", async () => {
    const bundle = await search(`/Patient?${q({ identifier: LONG.id! })}`);
    const id = bundle.entry[0].resource.id as string;
    expect(id).toMatch(/^(L\.5F)+L?\.h[0-9a-f]{16}$/);
    expect(id.length).toBeLessThanOrEqual(64);
    const { status, body } = await get(`/Patient/${id}`);
    expect(status).toBe(200);
    expect(body.identifier[0].value).toBe(LONG.id);
    const otherHash = `${id.slice(0, -1)}${id.endsWith("0") ? "1" : "0"}`;
    expectOutcome(await get(`/Patient/${otherHash}`), 404, "not-found");
  });

  it("Patient: 404 for unknown and malformed ids, and none for a study without a Patient ID", async () => {
    expectOutcome(await get("/Patient/NOBODY"), 404, "not-found");
    expectOutcome(await get("/Patient/PAT-1.-NOPE"), 404, "not-found");
    expectOutcome(await get("/Patient/PAT.2D1"), 404, "not-found"); // "-" escaped: not the canonical id
    expectOutcome(await get("/Patient/a_b"), 404, "not-found");
    const anonymous = await get("/ImagingStudy/3.8");
    expect(anonymous.body.subject).toEqual({ display: "patient without a Patient ID" });
  });

  it("ImagingStudy: identifiers, subject, started, modalities, counts, series with body site and instances", async () => {
    const { status, body } = await get("/ImagingStudy/3.1");
    expect(status).toBe(200);
    expect(body).toEqual({
      resourceType: "ImagingStudy",
      id: "3.1",
      identifier: [
        { use: "official", system: "urn:dicom:uid", value: "urn:oid:3.1" },
        { use: "usual", type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "ACSN", display: "Accession ID" }] }, system: "urn:dicom-edge:accession-number", value: "ACC-100" },
      ],
      status: "available",
      modality: [{ system: DCM, code: "CT" }, { system: DCM, code: "SR" }],
      subject: { reference: "Patient/PAT-1" },
      started: "2024-01-15T09:30:00.25+01:00",
      endpoint: [{ reference: "Endpoint/dicomweb" }],
      numberOfSeries: 2,
      numberOfInstances: 3,
      description: "CT CHEST",
      series: [
        {
          uid: "3.1.1",
          number: 1,
          modality: { system: DCM, code: "CT" },
          description: "AXIAL",
          numberOfInstances: 2,
          bodySite: { system: "http://snomed.info/sct", code: "816094009", display: "Chest" },
          instance: [
            { uid: "3.1.1.1", sopClass: { system: "urn:ietf:rfc:3986", code: `urn:oid:${CT}` }, number: 1 },
            { uid: "3.1.1.2", sopClass: { system: "urn:ietf:rfc:3986", code: `urn:oid:${CT}` }, number: 2 },
          ],
        },
        {
          // An unmapped Body Part Examined: no bodySite.
          uid: "3.1.2",
          number: 2,
          modality: { system: DCM, code: "SR" },
          numberOfInstances: 1,
          instance: [{ uid: "3.1.2.1", sopClass: { system: "urn:ietf:rfc:3986", code: `urn:oid:${SR}` }, number: 1 }],
        },
      ],
    });
  });

  it("ImagingStudy: the date alone when the time zone is unknown, none without an accession number", async () => {
    const { body } = await get("/ImagingStudy/3.2");
    expect(body.started).toBe("2023-12-01");
    const four = await get("/ImagingStudy/3.4");
    expect(four.body.identifier).toEqual([{ use: "official", system: "urn:dicom:uid", value: "urn:oid:3.4" }]);
    expect(four.body.subject).toEqual({ reference: "Patient/PAT-1" });
  });

  it("ImagingStudy: 404 for an unknown UID and for an id that is no UID", async () => {
    expectOutcome(await get("/ImagingStudy/9.9.9"), 404, "not-found");
    expectOutcome(await get("/ImagingStudy/abc"), 404, "not-found");
  });

  it("Endpoint: the DICOMweb base URL of the request's origin", async () => {
    const { status, body } = await get("/Endpoint/dicomweb");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      resourceType: "Endpoint",
      id: "dicomweb",
      status: "active",
      connectionType: { system: "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", code: "dicom-wado-rs" },
      address: `${ORIGIN}/dicomweb`,
    });
    expect(body.payloadType.length).toBeGreaterThan(0);
    expectOutcome(await get("/Endpoint/other"), 404, "not-found");
  });
});

describe("Patient search", () => {
  it("everyone with a Patient ID, by name, as a searchset with total and fullUrls", async () => {
    const bundle = await search("/Patient");
    expect(bundle.type).toBe("searchset");
    expect(bundle.total).toBe(6);
    expect(bundle.entry.map((e: Json) => e.resource.name[0].family)).toEqual(["Doe", "Dupont", "Long", "Müller", "Smith", "Weird"]);
    expect(bundle.entry[0]).toMatchObject({ fullUrl: `${FHIR}/Patient/PAT-2`, search: { mode: "match" } });
  });

  it("name, family, given: prefix of a part, case and accents folded", async () => {
    expect(await ids("/Patient?name=mul")).toEqual(["PAT-1"]);
    expect(await ids("/Patient?name=MÜLLER")).toEqual(["PAT-1"]);
    expect(await ids("/Patient?name=elodie")).toEqual(["PAT-3"]);
    expect(await ids("/Patient?family=DOE")).toEqual(["PAT-2"]);
    expect(await ids("/Patient?given=han")).toEqual(["PAT-1"]);
    expect(await ids("/Patient?name=du&name=elo")).toEqual(["PAT-3"]);
    expect(await ids("/Patient?name=ans")).toEqual([]); // a prefix, not a substring
    expect((await search("/Patient?name=nobody")).total).toBe(0);
  });

  it("identifier: value, system|value (the issuer or none), system alone for an issuer", async () => {
    expect(await ids("/Patient?identifier=PAT-1")).toEqual(["PAT-1", "PAT-1.-HOSP.20B"]);
    expect(await ids(`/Patient?${q({ identifier: "urn:dicom-edge:patient-id|PAT-1" })}`)).toEqual(["PAT-1"]);
    expect(await ids(`/Patient?${q({ identifier: "urn:dicom-edge:issuer:HOSP%20B|PAT-1" })}`)).toEqual(["PAT-1.-HOSP.20B"]);
    expect(await ids(`/Patient?${q({ identifier: "urn:dicom-edge:issuer:HOSP%20B|" })}`)).toEqual(["PAT-1.-HOSP.20B"]);
    expect(await ids(`/Patient?${q({ identifier: "PAT-2,urn:dicom-edge:patient-id|PAT-3" })}`)).toEqual(["PAT-2", "PAT-3"]);
    expect(await ids(`/Patient?${q({ identifier: "urn:other|PAT-2" })}`)).toEqual([]);
    expect(await ids(`/Patient?${q({ identifier: "|PAT-2" })}`)).toEqual([]);
    expectOutcome(await get(`/Patient?${q({ identifier: "urn:dicom-edge:patient-id|" })}`), 400, "not-supported");
  });

  it("_id: one or several, combined with other parameters", async () => {
    expect(await ids("/Patient?_id=PAT-1")).toEqual(["PAT-1"]);
    expect(await ids("/Patient?_id=PAT-1,PAT-1.-HOSP.20B,PAT-2")).toEqual(["PAT-2", "PAT-1", "PAT-1.-HOSP.20B"]);
    expect(await ids("/Patient?_id=PAT-1,PAT-2&gender=female")).toEqual(["PAT-2"]);
    expect(await ids("/Patient?_id=nobody,a_b")).toEqual([]);
  });

  it("birthdate with prefixes, repeated to AND", async () => {
    expect(await ids("/Patient?birthdate=1980")).toEqual(["PAT-2"]);
    expect(await ids("/Patient?birthdate=1980-02-02")).toEqual(["PAT-2"]);
    expect(await ids("/Patient?birthdate=lt1970")).toEqual(["PAT-1.-HOSP.20B"]);
    expect(await ids("/Patient?birthdate=le1970-01-01&birthdate=gt1965-05-05")).toEqual(["PAT-1"]);
    expect(await ids("/Patient?birthdate=sa1989&birthdate=eb2000-03")).toEqual(["PAT-3", "pat.5F7.2Fx"]);
    expect(await ids("/Patient?birthdate=ge1990-03-03")).toEqual(["PAT-3", "pat.5F7.2Fx"]);
  });

  it("gender: codes, lists, the system; unknown cannot be searched", async () => {
    expect(await ids("/Patient?gender=other")).toEqual(["PAT-1.-HOSP.20B"]);
    expect(await ids(`/Patient?${q({ gender: "http://hl7.org/fhir/administrative-gender|male,other", name: "s" })}`)).toEqual(["PAT-1.-HOSP.20B"]);
    expect((await search("/Patient?gender=female")).total).toBe(3);
    expectOutcome(await get("/Patient?gender=unknown"), 400, "not-supported");
    expectOutcome(await get("/Patient?gender=femme"), 400, "invalid");
  });

  it("pages with _count and _offset, with links that repeat the search", async () => {
    const first = await search("/Patient?gender=female,male&_count=2");
    expect(first.total).toBe(5);
    expect(first.entry).toHaveLength(2);
    const link = (b: Json, rel: string) => b.link.find((l: Json) => l.relation === rel)?.url;
    expect(link(first, "self")).toBe(`${FHIR}/Patient?gender=female%2Cmale&_count=2&_offset=0`);
    expect(link(first, "previous")).toBeUndefined();
    expect(link(first, "last")).toBe(`${FHIR}/Patient?gender=female%2Cmale&_count=2&_offset=4`);
    const second = await search(link(first, "next"));
    expect(second.entry.map((e: Json) => e.resource.name[0].family)).toEqual(["Long", "Müller"]);
    expect(link(second, "previous")).toBe(`${FHIR}/Patient?gender=female%2Cmale&_count=2&_offset=0`);
    const last = await search(link(second, "next"));
    expect(last.entry.map((e: Json) => e.resource.id)).toEqual(["pat.5F7.2Fx"]);
    expect(link(last, "next")).toBeUndefined();
    const past = await search("/Patient?_offset=50");
    expect(past.total).toBe(6);
    expect(past.entry).toBeUndefined();
    const counted = await search("/Patient?_count=0");
    expect(counted.total).toBe(6);
    expect(counted.entry).toBeUndefined();
    expect((await search("/Patient?_count=1000")).link[0].url).toContain("_count=100");
    expectOutcome(await get("/Patient?_count=-1"), 400, "invalid");
  });

  it("refuses unknown parameters and modifiers, or with handling=lenient ignores them and says so", async () => {
    expectOutcome(await get("/Patient?nmae=x"), 400, "not-supported");
    expectOutcome(await get("/Patient?name:exact=Doe"), 400, "not-supported");
    expectOutcome(await get("/Patient?_include=Patient:organization"), 400, "not-supported");
    expectOutcome(await get("/Patient?birthdate=ne1980"), 400, "not-supported");
    expectOutcome(await get("/Patient?birthdate=1980-02-02T10:00:00Z"), 400, "not-supported");
    expectOutcome(await get("/Patient?birthdate=02-02-1980"), 400, "invalid");
    expectOutcome(await get("/Patient?name=Doe,Dupont"), 400, "not-supported");
    const res = await SELF.fetch(`${FHIR}/Patient?family=doe&nmae=x&_sort=name`, { headers: { Prefer: "handling=lenient" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("handling=lenient");
    const bundle = (await res.json()) as Json;
    expect(bundle.total).toBe(1);
    const outcome = bundle.entry.find((e: Json) => e.search.mode === "outcome");
    expect(outcome.resource.issue[0]).toMatchObject({ severity: "warning", code: "not-supported" });
    expect(outcome.resource.issue[0].diagnostics).toContain("nmae=x");
    expect(outcome.resource.issue[0].diagnostics).toContain("_sort=name");
    expect(bundle.link[0].url).toBe(`${FHIR}/Patient?family=doe&_count=20&_offset=0`);
  });
});

describe("ImagingStudy search", () => {
  it("every study, newest first", async () => {
    const bundle = await search("/ImagingStudy");
    expect(bundle.total).toBe(8);
    expect(bundle.entry.map((e: Json) => e.resource.id)).toEqual(["3.3", "3.1", "3.2", "3.4", "3.5", "3.6", "3.7", "3.8"]);
    expect(bundle.entry[1].resource.series[0].instance).toHaveLength(2);
  });

  it("patient and subject: references in every form, the issuer kept apart", async () => {
    expect(await ids("/ImagingStudy?patient=PAT-1")).toEqual(["3.1", "3.4"]);
    expect(await ids("/ImagingStudy?patient=Patient/PAT-1")).toEqual(["3.1", "3.4"]);
    expect(await ids("/ImagingStudy?subject=Patient/PAT-1.-HOSP.20B")).toEqual(["3.5"]);
    expect(await ids(`/ImagingStudy?${q({ subject: `${FHIR}/Patient/PAT-2` })}`)).toEqual(["3.2"]);
    expect(await ids("/ImagingStudy?patient=PAT-2,PAT-3")).toEqual(["3.3", "3.2"]);
    expect(await ids("/ImagingStudy?patient=PAT-1&patient=PAT-2")).toEqual([]);
    expect(await ids("/ImagingStudy?patient=Patient/NOBODY")).toEqual([]);
    expect(await ids(`/ImagingStudy?${q({ subject: "https://elsewhere.test/fhir/Patient/PAT-2" })}`)).toEqual([]);
    expect(await ids("/ImagingStudy?subject=Group/1")).toEqual([]);
    expectOutcome(await get("/ImagingStudy?patient=Group/1"), 400, "invalid");
    const hashed = (await get(`/ImagingStudy/3.7`)).body.subject.reference as string;
    expect(await ids(`/ImagingStudy?patient=${hashed}`)).toEqual(["3.7"]);
  });

  it("identifier: Study Instance UID and Accession Number, with or without system", async () => {
    expect(await ids(`/ImagingStudy?${q({ identifier: "urn:dicom:uid|urn:oid:3.2" })}`)).toEqual(["3.2"]);
    expect(await ids("/ImagingStudy?identifier=urn:oid:3.3")).toEqual(["3.3"]);
    expect(await ids("/ImagingStudy?identifier=urn:oid:3.3,urn:oid:3.4")).toEqual(["3.3", "3.4"]);
    expect(await ids("/ImagingStudy?identifier=ACC-100")).toEqual(["3.1"]);
    expect(await ids(`/ImagingStudy?${q({ identifier: "urn:dicom-edge:accession-number|ACC-200" })}`)).toEqual(["3.2"]);
    expect(await ids(`/ImagingStudy?${q({ identifier: "urn:other|ACC-200" })}`)).toEqual([]);
    expectOutcome(await get("/ImagingStudy?identifier=urn:oid:3.3,ACC-100"), 400, "not-supported");
  });

  it("_id, one or several", async () => {
    expect(await ids("/ImagingStudy?_id=3.1,3.3")).toEqual(["3.3", "3.1"]);
    expect(await ids("/ImagingStudy?_id=abc")).toEqual([]);
  });

  it("started: the study date, with prefixes", async () => {
    expect(await ids("/ImagingStudy?started=2024")).toEqual(["3.3", "3.1"]);
    expect(await ids("/ImagingStudy?started=2024-01-15")).toEqual(["3.1"]);
    expect(await ids("/ImagingStudy?started=ge2024-02")).toEqual(["3.3"]);
    expect(await ids("/ImagingStudy?started=gt2024-01-15")).toEqual(["3.3"]);
    expect(await ids("/ImagingStudy?started=lt2023-12-01&started=ge2021")).toEqual(["3.4", "3.5"]);
    expect(await ids("/ImagingStudy?started=le2023-12-01&started=sa2021")).toEqual(["3.2", "3.4"]);
    expect(await ids("/ImagingStudy?started=eb2020")).toEqual(["3.7", "3.8"]);
    expect(await ids("/ImagingStudy?started=sa2023-12")).toEqual(["3.3", "3.1"]);
    expectOutcome(await get("/ImagingStudy?started=ap2024"), 400, "not-supported");
    expectOutcome(await get("/ImagingStudy?started=ge2024-01-15T09:00:00Z"), 400, "not-supported");
  });

  it("modality: DCM codes of the study's series", async () => {
    expect(await ids("/ImagingStudy?modality=MR")).toEqual(["3.2", "3.4"]);
    expect(await ids(`/ImagingStudy?${q({ modality: `${DCM}|SR` })}`)).toEqual(["3.1"]);
    expect(await ids("/ImagingStudy?modality=SR,MR")).toEqual(["3.1", "3.2", "3.4"]);
    expect(await ids("/ImagingStudy?modality=CT&modality=SR")).toEqual(["3.1"]);
    expect(await ids(`/ImagingStudy?${q({ modality: "http://other.test|CT" })}`)).toEqual([]);
  });

  it("status: every stored study is available", async () => {
    expect((await search("/ImagingStudy?status=available")).total).toBe(8);
    expect(await ids("/ImagingStudy?status=cancelled,registered")).toEqual([]);
    expectOutcome(await get("/ImagingStudy?status=lost"), 400, "invalid");
  });

  it("_include=ImagingStudy:patient adds each Patient once, in include mode", async () => {
    const bundle = await search("/ImagingStudy?patient=PAT-1&_include=ImagingStudy:patient");
    expect(bundle.total).toBe(2);
    const modes = bundle.entry.map((e: Json) => `${e.search.mode}:${e.resource.resourceType}/${e.resource.id}`);
    expect(modes).toEqual(["match:ImagingStudy/3.1", "match:ImagingStudy/3.4", "include:Patient/PAT-1"]);
    expect(bundle.entry[2].fullUrl).toBe(`${FHIR}/Patient/PAT-1`);
    const all = await search("/ImagingStudy?_include=ImagingStudy:subject&_count=100");
    const included = all.entry.filter((e: Json) => e.search.mode === "include").map((e: Json) => e.resource.id);
    expect(included).toHaveLength(6); // 3.8 has no Patient ID
    expect(all.link[0].url).toContain("_include=ImagingStudy%3Asubject");
  });

  it("pages, and combines parameters", async () => {
    const page = await search("/ImagingStudy?modality=CT&_count=2&_offset=2");
    expect(page.total).toBe(6);
    expect(page.entry.map((e: Json) => e.resource.id)).toEqual(["3.5", "3.6"]);
    expect(await ids("/ImagingStudy?modality=CT&started=ge2024&patient=PAT-1")).toEqual(["3.1"]);
    expectOutcome(await get("/ImagingStudy?_sort=-started"), 400, "not-supported");
  });
});

describe("interactions that are not served", () => {
  it("405 for writes on the served types, with Allow", async () => {
    for (const [method, path] of [["PUT", "/Patient/PAT-1"], ["POST", "/Patient"], ["DELETE", "/ImagingStudy/3.1"], ["POST", "/ImagingStudy/_search"], ["PATCH", "/Endpoint/dicomweb"]] as const) {
      const res = await SELF.fetch(`${FHIR}${path}`, { method, headers: { "Content-Type": "application/fhir+json" }, body: method === "DELETE" ? null : "{}" });
      const body = (await res.json()) as Json;
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      expect(body.issue[0].code).toBe("not-supported");
    }
    expectOutcome(await get("/Endpoint"), 405, "not-supported");
  });

  it("404 for other resource types and paths", async () => {
    expectOutcome(await get("/Observation"), 404, "not-supported");
    expectOutcome(await get("/Observation/1"), 404, "not-supported");
    expectOutcome(await get("/Patient/PAT-1/_history"), 404, "not-supported");
    expectOutcome(await get("/"), 404, "not-found");
    expectOutcome(await get(""), 404, "not-found");
  });
});
