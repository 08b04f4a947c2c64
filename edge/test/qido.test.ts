import { env, SELF } from "cloudflare:test";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { encodePart10, type Element } from "@dicom-edge/shared/dicom/testing/encode";
import { matches } from "@dicom-edge/shared/query/match";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { parseQido, type QidoLevel } from "@dicom-edge/shared/query/qido";
import { compileQuery } from "@dicom-edge/shared/query/sql";
import { beforeAll, describe, expect, it } from "vitest";
import { multipartRelated } from "../src/dicomweb/multipart/content-type";
import { readMultipart } from "../src/dicomweb/multipart/reader";
import { multipart, STOW_TYPE } from "./instances";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const MR = "1.2.840.10008.5.1.4.1.1.4";
const SR = "1.2.840.10008.5.1.4.1.1.88.11";
const BASE = "http://edge.test/dicomweb";

interface Spec {
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  modality: string;
  seriesNumber: number;
  instanceNumber: number;
  patient: [name: string, id: string, birth: string, sex: string];
  date: string;
  time: string;
  accession: string;
  referring: string;
  studyId: string;
  description: string;
  performed?: string;
  request?: [sps: string, rp: string];
}

const STUDY_A = { study: "2.1", date: "20240115", time: "093000", accession: "ACC-100", referring: "Smith^John", studyId: "S1", description: "CT CHEST", patient: ["Müller^Hans", "PAT-1", "19700101", "M"] as Spec["patient"] };
const STUDY_B = { study: "2.2", date: "20231201", time: "153000", accession: "ACC-200", referring: "Jones^Amy", studyId: "S2", description: "MR BRAIN", patient: ["Doe^Jane", "PAT-2", "19800202", "F"] as Spec["patient"] };
const STUDY_C = { study: "2.3", date: "20240301", time: "080000", accession: "ACC-300", referring: "Smith^Anna", studyId: "S3", description: "CT ABDOMEN", patient: ["Dupont^Élodie", "PAT-3", "19900303", "F"] as Spec["patient"] };

const SPECS: Spec[] = [
  { ...STUDY_A, series: "2.1.1", sop: "2.1.1.1", sopClass: CT, modality: "CT", seriesNumber: 1, instanceNumber: 1, performed: "20240115" },
  { ...STUDY_A, series: "2.1.1", sop: "2.1.1.2", sopClass: CT, modality: "CT", seriesNumber: 1, instanceNumber: 2, performed: "20240115" },
  { ...STUDY_A, series: "2.1.2", sop: "2.1.2.1", sopClass: SR, modality: "SR", seriesNumber: 2, instanceNumber: 1 },
  { ...STUDY_B, series: "2.2.1", sop: "2.2.1.1", sopClass: MR, modality: "MR", seriesNumber: 1, instanceNumber: 3 },
  { ...STUDY_B, series: "2.2.1", sop: "2.2.1.2", sopClass: MR, modality: "MR", seriesNumber: 1, instanceNumber: 1 },
  { ...STUDY_B, series: "2.2.1", sop: "2.2.1.3", sopClass: MR, modality: "MR", seriesNumber: 1, instanceNumber: 2 },
  { ...STUDY_C, series: "2.3.1", sop: "2.3.1.1", sopClass: CT, modality: "CT", seriesNumber: 4, instanceNumber: 1, performed: "20240301", request: ["SPS-7", "RP-9"] },
];

function encode(s: Spec): Uint8Array {
  const elements: Element[] = [
    { tag: 0x00080005, vr: "CS", value: "ISO_IR 192" },
    { tag: 0x00080016, vr: "UI", value: s.sopClass },
    { tag: 0x00080018, vr: "UI", value: s.sop },
    { tag: 0x00080020, vr: "DA", value: s.date },
    { tag: 0x00080030, vr: "TM", value: s.time },
    { tag: 0x00080050, vr: "SH", value: s.accession },
    { tag: 0x00080060, vr: "CS", value: s.modality },
    { tag: 0x00080090, vr: "PN", value: s.referring },
    { tag: 0x00081030, vr: "LO", value: s.description },
    { tag: 0x00091010, vr: "LO", value: "EDGE" },
    { tag: 0x00100010, vr: "PN", value: s.patient[0] },
    { tag: 0x00100020, vr: "LO", value: s.patient[1] },
    { tag: 0x00100030, vr: "DA", value: s.patient[2] },
    { tag: 0x00100040, vr: "CS", value: s.patient[3] },
    { tag: 0x0020000d, vr: "UI", value: s.study },
    { tag: 0x0020000e, vr: "UI", value: s.series },
    { tag: 0x00200010, vr: "SH", value: s.studyId },
    { tag: 0x00200011, vr: "IS", value: String(s.seriesNumber) },
    { tag: 0x00200013, vr: "IS", value: String(s.instanceNumber) },
    ...(s.performed ? [{ tag: 0x00400244, vr: "DA", value: s.performed }] : []),
    ...(s.request
      ? [{ tag: 0x00400275, vr: "SQ", value: [[{ tag: 0x00400009, vr: "SH", value: s.request[0] }, { tag: 0x00401001, vr: "SH", value: s.request[1] }]] }]
      : []),
  ];
  return encodePart10({ transferSyntaxUID: "1.2.840.10008.1.2.1", sopClassUID: s.sopClass, sopInstanceUID: s.sop, elements });
}

type Result = Record<string, { vr: string; Value?: any[] }>;

async function qido(path: string, accept = "application/dicom+json"): Promise<{ status: number; results: Result[]; warning: string | null }> {
  const res = await SELF.fetch(`${BASE}${path}`, { headers: { Accept: accept } });
  const text = await res.text();
  return { status: res.status, results: res.status === 200 ? JSON.parse(text) : JSON.parse(text), warning: res.headers.get("warning") };
}

const uids = (results: Result[], tag: string) => results.map((r) => r[tag]?.Value?.[0]);
const studies = async (query: string) => uids((await qido(`/studies?${query}`)).results, "0020000D");
const series = async (path: string) => uids((await qido(path)).results, "0020000E");
const instances = async (path: string) => uids((await qido(path)).results, "00080018");

beforeAll(async () => {
  const res = await SELF.fetch(`${BASE}/studies`, { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart(SPECS.map(encode)) });
  expect(res.status).toBe(200);
});

describe("QIDO-RS study search: every matching type", () => {
  it("single value, by keyword and by tag", async () => {
    expect(await studies("PatientID=PAT-1")).toEqual(["2.1"]);
    expect(await studies("00100020=PAT-2")).toEqual(["2.2"]);
    expect(await studies("AccessionNumber=ACC-300")).toEqual(["2.3"]);
    expect(await studies("StudyID=S2")).toEqual(["2.2"]);
    expect(await studies("ReferringPhysicianName=Smith%5EJohn")).toEqual(["2.1"]);
    expect(await studies("PatientName=Doe%5EJane")).toEqual(["2.2"]);
  });

  it("wildcards * and ?, case-insensitive for person names", async () => {
    expect(await studies("AccessionNumber=ACC-%3F00")).toEqual(["2.3", "2.1", "2.2"]);
    expect(await studies("AccessionNumber=ACC-1*")).toEqual(["2.1"]);
    expect(await studies("00100020=*AT-3*")).toEqual(["2.3"]);
    expect(await studies("PatientName=doe*")).toEqual(["2.2"]);
    expect(await studies("ReferringPhysicianName=Smith*")).toEqual(["2.3", "2.1"]);
    expect(await studies("AccessionNumber=acc-1*")).toEqual([]); // SH is case-sensitive
  });

  it("date and time ranges, closed and open at either end", async () => {
    expect(await studies("StudyDate=20240101-20240331")).toEqual(["2.3", "2.1"]);
    expect(await studies("StudyDate=-20231231")).toEqual(["2.2"]);
    expect(await studies("StudyDate=20240201-")).toEqual(["2.3"]);
    expect(await studies("StudyDate=20231201")).toEqual(["2.2"]);
    expect(await studies("StudyTime=0900-1000")).toEqual(["2.1"]);
    expect(await studies("StudyTime=-0830")).toEqual(["2.3"]);
    expect(await studies("PatientBirthDate=19750101-19851231")).toEqual(["2.2"]);
  });

  it("lists of UIDs, comma or backslash separated, and repeated", async () => {
    expect(await studies("StudyInstanceUID=2.1,2.3")).toEqual(["2.3", "2.1"]);
    expect(await studies("StudyInstanceUID=2.1%5C2.2")).toEqual(["2.1", "2.2"]);
    expect(await studies("StudyInstanceUID=2.2&StudyInstanceUID=2.3")).toEqual(["2.3", "2.2"]);
  });

  it("fuzzy person names: any component, prefix, case and accents folded", async () => {
    expect(await studies("PatientName=mul&fuzzymatching=true")).toEqual(["2.1"]);
    expect(await studies("PatientName=hans&fuzzymatching=true")).toEqual(["2.1"]);
    expect(await studies("PatientName=ELO&fuzzymatching=true")).toEqual(["2.3"]);
    expect(await studies("ReferringPhysicianName=smi&fuzzymatching=true")).toEqual(["2.3", "2.1"]);
    expect(await studies("PatientName=mul&fuzzymatching=false")).toEqual([]);
  });

  it("multi-valued ModalitiesInStudy and universal matching", async () => {
    expect(await studies("ModalitiesInStudy=MR")).toEqual(["2.2"]);
    expect(await studies("ModalitiesInStudy=SR")).toEqual(["2.1"]);
    expect(await studies("ModalitiesInStudy=CT")).toEqual(["2.3", "2.1"]);
    const { results } = await qido("/studies?PatientSex=&StudyID=S1");
    expect(results[0]!["00100040"]).toEqual({ vr: "CS", Value: ["M"] });
  });

  it("returns the default attributes with counts, modalities and RetrieveURL", async () => {
    const [a] = (await qido("/studies?StudyInstanceUID=2.1")).results;
    expect(a!["00080061"]!.Value!.sort()).toEqual(["CT", "SR"]);
    expect(a!["00201206"]!.Value).toEqual([2]);
    expect(a!["00201208"]!.Value).toEqual([3]);
    expect(a!["00081190"]!.Value).toEqual([`${BASE}/studies/2.1`]);
    expect(a!["00100010"]!.Value).toEqual([{ Alphabetic: "Müller^Hans" }]);
    expect(a!["00080056"]!.Value).toEqual(["ONLINE"]);
    expect(a!["00081030"]).toBeUndefined();
    const [withDescription] = (await qido("/studies?StudyInstanceUID=2.1&includefield=StudyDescription")).results;
    expect(withDescription!["00081030"]!.Value).toEqual(["CT CHEST"]);
  });

  it("pages with limit and offset, and warns when results are cut", async () => {
    const first = await qido("/studies?limit=2");
    expect(uids(first.results, "0020000D")).toEqual(["2.3", "2.1"]);
    expect(first.warning).toMatch(/^299 .*additional results/);
    const rest = await qido("/studies?limit=2&offset=2");
    expect(uids(rest.results, "0020000D")).toEqual(["2.2"]);
    expect(rest.warning).toBeNull();
  });

  it("answers no match with 200 and an empty list, and 400 with a reason for bad keys", async () => {
    expect(await qido("/studies?PatientID=NOBODY")).toMatchObject({ status: 200, results: [] });
    for (const bad of ["PatientNme=x", "StudyDate=2024-01-01", "StudyInstanceUID=abc", "limit=-1", "99999999=1"]) {
      const res = await qido(`/studies?${bad}`);
      expect(res.status, bad).toBe(400);
      expect((res.results as unknown as Result[])[0]!["00000902"]!.Value![0], bad).toBeTruthy();
    }
  });

  it("serves multipart/related application/dicom+xml", async () => {
    const res = await SELF.fetch(`${BASE}/studies?PatientID=PAT-2`, { headers: { Accept: 'multipart/related; type="application/dicom+xml"' } });
    expect(res.status).toBe(200);
    const boundary = multipartRelated(res.headers.get("content-type"))!.boundary;
    const bodies: string[] = [];
    for await (const part of readMultipart(res.body!, boundary)) {
      let text = "";
      for await (const chunk of part.body) text += new TextDecoder().decode(chunk, { stream: true });
      bodies.push(text);
    }
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain('<DicomAttribute tag="00100010" vr="PN" keyword="PatientName"><PersonName number="1"><Alphabetic><FamilyName>Doe</FamilyName><GivenName>Jane</GivenName></Alphabetic></PersonName></DicomAttribute>');
    expect(bodies[0]).toContain('<DicomAttribute tag="0020000D" vr="UI" keyword="StudyInstanceUID"><Value number="1">2.2</Value></DicomAttribute>');
  });
});

describe("QIDO-RS series and instance search", () => {
  it("series across studies and within one, with study attributes when unscoped", async () => {
    expect(await series("/series?Modality=CT")).toEqual(["2.1.1", "2.3.1"]);
    expect(await series("/studies/2.1/series")).toEqual(["2.1.1", "2.1.2"]);
    expect(await series("/studies/2.1/series?SeriesNumber=2")).toEqual(["2.1.2"]);
    expect(await series("/series?PerformedProcedureStepStartDate=20240201-")).toEqual(["2.3.1"]);
    const [unscoped] = (await qido("/series?SeriesInstanceUID=2.2.1")).results;
    expect(unscoped!["00100020"]!.Value).toEqual(["PAT-2"]);
    expect(unscoped!["00201209"]!.Value).toEqual([3]);
    expect(unscoped!["00081190"]!.Value).toEqual([`${BASE}/studies/2.2/series/2.2.1`]);
    const [scoped] = (await qido("/studies/2.2/series")).results;
    expect(scoped!["00100020"]).toBeUndefined();
  });

  it("series: wildcard, UID list, date range and fuzzy names of the upper levels", async () => {
    expect(await series("/series?Modality=?R")).toEqual(["2.2.1", "2.1.2"]); // MR, SR by SeriesNumber
    expect(await series("/series?Modality=C*")).toEqual(["2.1.1", "2.3.1"]);
    expect(await series("/series?SeriesInstanceUID=2.1.2,2.3.1")).toEqual(["2.1.2", "2.3.1"]);
    expect(await series("/series?StudyDate=20240101-&Modality=CT")).toEqual(["2.1.1", "2.3.1"]);
    expect(await series("/series?PatientName=elodie&fuzzymatching=true")).toEqual(["2.3.1"]);
    expect(await series("/studies/2.1/series?Modality=")).toEqual(["2.1.1", "2.1.2"]);
  });

  it("sequence matching on RequestAttributesSequence items", async () => {
    expect(await series("/series?RequestAttributesSequence.ScheduledProcedureStepID=SPS-7")).toEqual(["2.3.1"]);
    expect(await series("/series?00400275.00401001=RP-9")).toEqual(["2.3.1"]);
    expect(await series("/series?00400275.00401001=RP-1")).toEqual([]);
  });

  it("instances across the archive, in a study and in a series", async () => {
    expect(await instances(`/instances?SOPClassUID=${SR}`)).toEqual(["2.1.2.1"]);
    expect(await instances("/studies/2.2/instances")).toEqual(["2.2.1.2", "2.2.1.3", "2.2.1.1"]);
    expect(await instances("/studies/2.1/series/2.1.1/instances")).toEqual(["2.1.1.1", "2.1.1.2"]);
    expect(await instances("/studies/2.2/instances?InstanceNumber=2")).toEqual(["2.2.1.3"]);
    expect(await instances("/instances?SOPInstanceUID=2.1.1.2,2.3.1.1")).toEqual(["2.3.1.1", "2.1.1.2"]); // by InstanceNumber
    expect(await instances("/instances?PatientName=dupont*")).toEqual(["2.3.1.1"]);
  });

  it("instances: date and time ranges, fuzzy names, wildcards on the upper levels", async () => {
    expect(await instances("/instances?StudyDate=-20231231")).toEqual(["2.2.1.2", "2.2.1.3", "2.2.1.1"]);
    expect(await instances("/instances?StudyTime=1500-1600&InstanceNumber=3")).toEqual(["2.2.1.1"]);
    expect(await instances("/instances?PatientName=HANS&fuzzymatching=true&Modality=SR")).toEqual(["2.1.2.1"]);
    expect(await instances("/instances?AccessionNumber=*300")).toEqual(["2.3.1.1"]);
    expect(await instances(`/instances?SOPClassUID=${CT}&StudyInstanceUID=2.1`)).toEqual(["2.1.1.1", "2.1.1.2"]);
  });

  it("includefield=all returns every stored attribute, private ones too", async () => {
    const [one] = (await qido("/studies/2.1/series/2.1.1/instances?SOPInstanceUID=2.1.1.1&includefield=all")).results;
    expect(one!["00091010"]!.Value).toEqual(["EDGE"]);
    expect(one!["00081190"]!.Value).toEqual([`${BASE}/studies/2.1/series/2.1.1/instances/2.1.1.1`]);
  });
});

describe("the engine against D1 agrees with in-memory matching", () => {
  const cases: [QidoLevel, string][] = [
    ["study", "PatientName=*an*"],
    ["study", "PatientName=j&fuzzymatching=true"],
    ["study", "StudyDate=20231115-20240120&ModalitiesInStudy=CT"],
    ["study", "AccessionNumber=ACC-%3F0%3F"],
    ["series", "Modality=MR"],
    ["series", "SeriesNumber=1&StudyDate=20240115"],
    ["instance", "InstanceNumber=1"],
    ["instance", `SOPClassUID=${CT}&PatientID=PAT-3`],
    ["instance", "StudyTime=0800-1000"],
  ];
  it.each(cases)("%s %s", async (level, q) => {
    const query = parseQido(new URLSearchParams(q), level);
    if (isQueryError(query)) throw new Error(query.reason);
    const statement = compileQuery(query, { select: "st.study_uid AS s" + (level === "study" ? "" : ", se.series_uid AS se") + (level === "instance" ? ", i.sop_uid AS i" : "") });
    if (isQueryError(statement)) throw new Error(statement.reason);
    const { results } = await env.DB.prepare(statement.sql).bind(...statement.params).all<{ s: string; se?: string; i?: string }>();
    const fromSql = new Set(results.map((r) => r.i ?? r.se ?? r.s));
    const metadata = await env.DB.prepare("SELECT json FROM instance_metadata").all<{ json: string }>();
    const fromMemory = new Set<string>();
    for (const row of metadata.results) {
      const ds = JSON.parse(row.json) as DicomJson;
      // The levels' derived attributes, as the index holds them.
      const study = SPECS.filter((s) => s.study === ds["0020000D"]!.Value![0]);
      ds["00080061"] = { vr: "CS", Value: [...new Set(study.map((s) => s.modality))] };
      if (matches(query, ds)) fromMemory.add(String(ds[level === "study" ? "0020000D" : level === "series" ? "0020000E" : "00080018"]!.Value![0]));
    }
    expect(fromSql).toEqual(fromMemory);
    expect(fromSql.size).toBeGreaterThan(0);
  });
});

describe("indexes", () => {
  it("a study search never reads the instances table", async () => {
    for (const q of ["PatientName=doe*", "StudyDate=20240101-", "ModalitiesInStudy=CT", "PatientID=PAT-1&limit=101&offset=0&fuzzymatching=false"]) {
      const query = parseQido(new URLSearchParams(q), "study");
      if (isQueryError(query)) throw new Error(query.reason);
      const statement = compileQuery(query, { select: "st.study_uid, p.attributes, st.attributes, st.modalities, st.series_count, st.instance_count" });
      if (isQueryError(statement)) throw new Error(statement.reason);
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).bind(...statement.params).all<{ detail: string }>();
      const details = plan.results.map((r) => r.detail).join("\n");
      expect(details, q).not.toMatch(/instances|SCAN i\b/);
    }
  });
});
