// FHIR R4 at /fhir against the real stack: the corpus studies go in with
// STOW-RS, then every kind of resource the edge answers with (the
// CapabilityStatement, Patient, ImagingStudy, Endpoint, searchset Bundles,
// OperationOutcomes) is validated against the R4 definitions with the
// `fhir` package. Errors fail; warnings and information (value sets the
// package cannot expand) do not, unknown elements do. The package checks
// structure and cardinality but not primitive formats, so those (date,
// dateTime, unsignedInt, id, no empty values) are checked here with R4's
// own regular expressions.
import { Fhir } from "fhir";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { corpus, type ManifestEntry } from "./data/corpus";
import { get, stow } from "./dicomweb";

const base = inject("base");
const fhirBase = `${base}/fhir`;
const validator = new Fhir();
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
// R4 datatypes.html: the regexes of date and dateTime.
const YEAR = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)";
const DATE = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`);
const DATE_TIME = new RegExp(
  `^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`,
);
const PRIMITIVES: Record<string, (v: unknown) => boolean> = {
  started: (v) => typeof v === "string" && DATE_TIME.test(v),
  birthDate: (v) => typeof v === "string" && DATE.test(v),
  date: (v) => typeof v === "string" && DATE_TIME.test(v),
  number: (v) => Number.isInteger(v) && (v as number) >= 0,
  numberOfSeries: (v) => Number.isInteger(v) && (v as number) >= 0,
  numberOfInstances: (v) => Number.isInteger(v) && (v as number) >= 0,
  total: (v) => Number.isInteger(v) && (v as number) >= 0,
  id: (v) => typeof v === "string" && FHIR_ID.test(v),
};

/** R4 json.html: no empty arrays, objects or strings; the primitives above in their formats. */
function primitiveProblems(value: unknown, path: string, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push(`${path}: empty array`);
    value.forEach((v, i) => primitiveProblems(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === "object") {
    if (Object.keys(value).length === 0) out.push(`${path}: empty object`);
    for (const [key, v] of Object.entries(value)) {
      const check = PRIMITIVES[key];
      if (check && !check(v)) out.push(`${path}.${key}: ${JSON.stringify(v)}`);
      primitiveProblems(v, `${path}.${key}`, out);
    }
  } else if (value === "" || value === null) {
    out.push(`${path}: empty value`);
  }
  return out;
}

type Json = Record<string, any>;

let studies: string[];

beforeAll(async () => {
  const { files } = await corpus();
  const group = (name: string) => files.filter((f) => f.group === name);
  // The generated studies in one request each; pydicom's samples one at a time (some share a SOP Instance UID).
  const batches: ManifestEntry[][] = [group("ct"), group("mr"), ...[...group("compressed"), ...group("multiframe")].map((f) => [f])];
  for (const batch of batches) {
    const res = await stow(base, batch.map((f) => f.absPath));
    // 202: a coercion warning, or the corpus already stored by another file of the suite.
    expect([200, 202], batch[0]!.path).toContain(res.status);
    await res.arrayBuffer();
  }
  studies = [...new Set(files.map((f) => f.studyInstanceUid))];
});

/** R4 validation: no error or fatal message, and no element R4 does not define. */
function expectValid(resource: Json, what: string): void {
  const result = validator.validate(resource, { errorOnUnexpected: true });
  const errors = result.messages.filter((m) => m.severity === "error" || m.severity === "fatal");
  expect(errors, `${what}: ${JSON.stringify(errors, null, 1)}`).toEqual([]);
  expect(primitiveProblems(resource, resource.resourceType), what).toEqual([]);
}

async function fetchJson(path: string, init: RequestInit = {}): Promise<{ status: number; body: Json; type: string | null }> {
  const res = init.method && init.method !== "GET" ? await fetch(`${fhirBase}${path}`, init) : await get(`${fhirBase}${path}`, init);
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as Json };
}

async function valid(path: string, status = 200, init: RequestInit = {}): Promise<Json> {
  const res = await fetchJson(path, init);
  expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(status);
  expect(res.type).toMatch(/^application\/fhir\+json/);
  expectValid(res.body, path);
  return res.body;
}

describe("every FHIR resource the edge serves is valid R4", () => {
  it("the CapabilityStatement", async () => {
    const statement = await valid("/metadata");
    expect(statement.fhirVersion).toBe("4.0.1");
    expect(statement.implementation.url).toBe(fhirBase);
  });

  it("the Endpoint, pointing at this edge's DICOMweb", async () => {
    const endpoint = await valid("/Endpoint/dicomweb");
    expect(endpoint.address).toBe(`${base}/dicomweb`);
  });

  it("each corpus study as ImagingStudy, read and in a Bundle with its Patient included", async () => {
    for (const uid of studies) {
      const study = await valid(`/ImagingStudy/${uid}`);
      expect(study.identifier[0]).toEqual({ use: "official", system: "urn:dicom:uid", value: `urn:oid:${uid}` });
      expect(study.series.length).toBeGreaterThan(0);
      const listed = study.series.reduce((n: number, s: Json) => n + (s.instance?.length ?? 0), 0);
      expect(listed).toBe(study.numberOfInstances);
    }
    const bundle = await valid(`/ImagingStudy?_id=${studies.join(",")}&_include=ImagingStudy:patient&_count=100`);
    expect(bundle.total).toBe(studies.length);
    expect(bundle.entry.filter((e: Json) => e.search.mode === "match")).toHaveLength(studies.length);
  });

  it("each corpus patient as Patient, read and in Bundles", async () => {
    const bundle = await valid(`/ImagingStudy?_id=${studies.join(",")}&_include=ImagingStudy:patient&_count=100`);
    const patients = bundle.entry.filter((e: Json) => e.search.mode === "include").map((e: Json) => e.resource);
    expect(patients.length).toBeGreaterThan(0);
    for (const patient of patients) {
      const read = await valid(`/Patient/${patient.id}`);
      expect(read).toEqual(patient);
      const byIdentifier = await valid(`/Patient?identifier=${encodeURIComponent(`${patient.identifier[0].system}|${patient.identifier[0].value}`)}`);
      expect(byIdentifier.entry.map((e: Json) => e.resource.id)).toEqual([patient.id]);
      const studiesOf = await valid(`/ImagingStudy?patient=Patient/${patient.id}&_count=2`);
      expect(studiesOf.total).toBeGreaterThan(0);
    }
  });

  it("searchset Bundles: paged, empty, and with a lenient outcome", async () => {
    const first = await valid(`/ImagingStudy?_id=${studies.join(",")}&_count=2`);
    expect(first.link.map((l: Json) => l.relation)).toContain("next");
    const next = first.link.find((l: Json) => l.relation === "next").url as string;
    expect(next.startsWith(fhirBase)).toBe(true);
    await valid(next.slice(fhirBase.length));
    const empty = await valid("/Patient?name=zzzznobody");
    expect(empty.total).toBe(0);
    const lenient = await valid("/Patient?name=zzzznobody&unknown=1", 200, { headers: { Prefer: "handling=lenient" } });
    expect(lenient.entry[0].search.mode).toBe("outcome");
  });

  it("OperationOutcomes: 400, 404, 405, 406", async () => {
    expect((await valid("/Patient?unknown=1", 400)).issue[0].code).toBe("not-supported");
    expect((await valid("/Patient?birthdate=notadate", 400)).issue[0].code).toBe("invalid");
    expect((await valid("/Patient/nobody-at-all", 404)).issue[0].code).toBe("not-found");
    expect((await valid("/ImagingStudy/9.9.9.9", 404)).issue[0].code).toBe("not-found");
    expect((await valid("/Observation", 404)).issue[0].code).toBe("not-supported");
    expect((await valid("/Patient", 405, { method: "POST", headers: { "Content-Type": "application/fhir+json" }, body: "{}" })).issue[0].code).toBe("not-supported");
    expect((await valid("/Patient/x", 406, { headers: { Accept: "application/fhir+xml" } })).issue[0].code).toBe("not-supported");
  });
});
