import { describe, expect, it } from "vitest";
import { resolvePath, type AttributeRef } from "./keys.ts";
import { isQueryError, REQUIRED_MATCHING_KEYS, type Level, type Match, type Query, type QueryError } from "./model.ts";
import { parseQido, type QidoLevel, type QidoScope } from "./qido.ts";
import {
  compileQuery,
  compileQueryParts,
  countStatement,
  D1_MAX_BOUND_PARAMETERS,
  globPattern,
  likePattern,
  selectStatement,
  type SqlParts,
  type SqlStatement,
} from "./sql.ts";

function query(qs: string, level: QidoLevel = "study", scope: QidoScope = {}): Query {
  const q = parseQido(new URLSearchParams(qs), level, scope);
  if (isQueryError(q)) throw new Error(q.reason);
  return q;
}

function sql(qs: string, level: QidoLevel = "study", scope: QidoScope = {}): SqlStatement {
  const s = compileQuery(query(qs, level, scope));
  if (isQueryError(s)) throw new Error(s.reason);
  return s;
}

function refused(q: Query): string {
  const s = compileQuery(q);
  expect(isQueryError(s)).toBe(true);
  return (s as QueryError).reason;
}

function bare(level: Level, matches: Match[]): Query {
  return { level, matches, includeFields: [], fuzzy: false, offset: 0, warnings: [] };
}

describe("compileQuery: shape", () => {
  it("joins each level as the index does and orders and pages from the query", () => {
    expect(sql("limit=10&offset=20")).toEqual({
      sql:
        "SELECT st.id FROM studies st JOIN patients p ON p.id = st.patient_pk " +
        "ORDER BY st.study_date DESC, st.study_time_norm DESC, st.id DESC LIMIT ? OFFSET ?",
      params: [10, 20],
    });
    expect(sql("", "series").sql).toBe(
      "SELECT se.id FROM series se JOIN studies st ON st.id = se.study_pk JOIN patients p ON p.id = st.patient_pk " +
        "ORDER BY se.series_number, se.id LIMIT ? OFFSET ?",
    );
    expect(sql("", "instance").sql).toBe(
      "SELECT i.id FROM instances i JOIN series se ON se.id = i.series_pk JOIN studies st ON st.id = i.study_pk " +
        "JOIN patients p ON p.id = st.patient_pk ORDER BY i.instance_number, i.id LIMIT ? OFFSET ?",
    );
    expect(compileQuery(bare("patient", []))).toEqual({ sql: "SELECT p.id FROM patients p ORDER BY p.patient_name, p.id", params: [] });
    expect(compileQuery({ ...bare("patient", []), offset: 5 })).toMatchObject({ sql: expect.stringMatching(/ LIMIT -1 OFFSET \?$/), params: [5] });
  });

  it("takes the caller's select list, and gives parts for a COUNT", () => {
    const parts = compileQueryParts(query("PatientID=X&limit=5"), { select: "st.id, st.study_uid, st.attributes" }) as SqlParts;
    expect(selectStatement(parts).sql).toMatch(/^SELECT st\.id, st\.study_uid, st\.attributes FROM studies st /);
    expect(countStatement(parts)).toEqual({
      sql: "SELECT COUNT(*) AS count FROM studies st JOIN patients p ON p.id = st.patient_pk WHERE p.patient_id = ?",
      params: ["X"],
    });
  });

  it("never reads instances for a study search", () => {
    const s = sql("PatientName=D*&StudyDate=2024-&ModalitiesInStudy=CT&StudyInstanceUID=1.2&AccessionNumber=A".replace("2024-", "20240101-"));
    expect(s.sql).not.toMatch(/instances/);
  });
});

describe("compileQuery: matching", () => {
  it("single values: = on the column, NOCASE for PN, numbers bound as numbers", () => {
    expect(sql("PatientID=X&StudyInstanceUID=1.2.3")).toMatchObject({
      sql: expect.stringContaining("WHERE p.patient_id = ? AND st.study_uid = ?"),
      params: ["X", "1.2.3", 1000, 0],
    });
    expect(sql("PatientName=Doe^John=ドウ")).toMatchObject({ sql: expect.stringContaining("p.patient_name = ? COLLATE NOCASE"), params: ["Doe^John", 1000, 0] });
    expect(sql("SeriesNumber=3", "series").params).toEqual([3, 1000, 0]);
  });

  it("universal keys add no condition", () => {
    expect(sql("PatientName=&StudyDescription=*&RequestAttributesSequence=", "series").sql).not.toMatch(/WHERE/);
  });

  it("wild cards: GLOB (case-sensitive) in general, LIKE with escapes for PN", () => {
    expect(sql("00100020=*PID*")).toMatchObject({ sql: expect.stringContaining("p.patient_id GLOB ?"), params: ["*PID*", 1000, 0] });
    expect(sql("AccessionNumber=[A]%25_*")).toMatchObject({ sql: expect.stringContaining("st.accession_number GLOB ?"), params: ["[[]A]%_*", 1000, 0] });
    expect(sql("PatientName=O_Br%25?n*")).toMatchObject({
      sql: expect.stringContaining("p.patient_name LIKE ? ESCAPE '\\'"),
      params: ["O\\_Br\\%_n%", 1000, 0],
    });
    expect(likePattern("a\\b")).toBe("a\\\\b");
    expect(globPattern("a[b]*?")).toBe("a[[]b]*?");
  });

  it("date ranges: closed and open at both ends; an open start still excludes empty values", () => {
    expect(sql("StudyDate=20240101-20241231")).toMatchObject({ sql: expect.stringContaining("st.study_date >= ? AND st.study_date <= ?"), params: ["20240101", "20241231", 1000, 0] });
    expect(sql("StudyDate=20240101-")).toMatchObject({ sql: expect.stringContaining("WHERE st.study_date >= ? ORDER"), params: ["20240101", 1000, 0] });
    expect(sql("StudyDate=-20241231")).toMatchObject({ sql: expect.stringContaining("st.study_date > '' AND st.study_date <= ?"), params: ["20241231", 1000, 0] });
  });

  it("time ranges compare the normalized column with normalized bounds", () => {
    expect(sql("StudyTime=08-1030")).toMatchObject({
      sql: expect.stringContaining("st.study_time_norm >= ? AND st.study_time_norm <= ?"),
      params: ["080000.000000", "103059.999999", 1000, 0],
    });
    expect(sql("PerformedProcedureStepStartTime=1030", "series")).toMatchObject({
      sql: expect.stringContaining("se.performed_start_time_norm = ?"),
      params: ["103000.000000", 1000, 0],
    });
  });

  it("lists are one JSON parameter, however long (D1 allows 100)", () => {
    const uids = Array.from({ length: 5000 }, (_, i) => `1.2.826.0.1.3680043.8.498.${i + 1}`);
    const s = sql(`StudyInstanceUID=${uids.join(",")}`);
    expect(s.sql).toContain("st.study_uid IN (SELECT k.value FROM json_each(?) k)");
    expect(s.params).toHaveLength(3);
    expect(s.params.length).toBeLessThanOrEqual(D1_MAX_BOUND_PARAMETERS);
    expect(JSON.parse(s.params[0] as string)).toEqual(uids);
  });

  it("ModalitiesInStudy is an EXISTS over the study's series", () => {
    expect(sql("ModalitiesInStudy=CT%5CMR")).toMatchObject({
      sql: expect.stringContaining(
        "EXISTS (SELECT 1 FROM series se2 WHERE se2.study_pk = st.id AND se2.modality IN (SELECT k.value FROM json_each(?) k))",
      ),
      params: ['["CT","MR"]', 1000, 0],
    });
    expect(sql("ModalitiesInStudy=CT", "series").sql).toContain("se2.study_pk = st.id AND se2.modality = ?");
  });

  it("fuzzy PN: every part of the key begins a part of the folded name", () => {
    expect(sql("fuzzymatching=true&PatientName=M%C3%BCl^h*s")).toMatchObject({
      sql: expect.stringContaining("p.patient_name_fuzzy LIKE ? ESCAPE '\\' AND p.patient_name_fuzzy LIKE ? ESCAPE '\\'"),
      params: ["% MUL%", "% H%S%", 1000, 0],
    });
    expect(sql("fuzzymatching=true&ReferringPhysicianName=who").sql).toContain("st.referring_physician_fuzzy LIKE ?");
  });

  it("scope UIDs become conditions", () => {
    expect(sql("", "instance", { study: "1.2", series: "1.2.3" })).toMatchObject({
      sql: expect.stringContaining("WHERE st.study_uid = ? AND se.series_uid = ?"),
      params: ["1.2", "1.2.3", 1000, 0],
    });
  });
});

describe("compileQuery: attributes kept as DICOM JSON", () => {
  it("matches any value through json_each", () => {
    const s = sql("BodyPartExamined=CHEST", "series");
    expect(s.sql).toContain(`EXISTS (SELECT 1 FROM json_each(se.attributes, '$."00180015".Value') j1 WHERE j1.value = ?)`);
    expect(sql("OtherPatientIDs=A%5CB").sql).toContain(
      `EXISTS (SELECT 1 FROM json_each(p.attributes, '$."00101000".Value') j1 WHERE j1.value IN (SELECT k.value FROM json_each(?) k))`,
    );
  });

  it("reads PN's Alphabetic group, and normalizes TM in SQL", () => {
    expect(sql("NameOfPhysiciansReadingStudy=smith*").sql).toContain(`json_extract(j1.value, '$.Alphabetic') LIKE ? ESCAPE '\\'`);
    const tm = sql("PatientBirthTime=0800-0900");
    expect(tm.sql).toContain(`json_each(p.attributes, '$."00100032".Value') j1`);
    expect(tm.sql).toMatch(/CASE WHEN instr\(replace\(j1\.value, ':', ''\), '\.'\) > 0/);
    expect(tm.params).toEqual(["080000.000000", "090059.999999", 1000, 0]);
  });

  it("falls back to ASCII-case-insensitive part matching for fuzzy PN without a folded column", () => {
    expect(sql("fuzzymatching=true&NameOfPhysiciansReadingStudy=smi").sql).toMatch(
      /replace\(.*coalesce\(json_extract\(j1\.value, '\$\.Alphabetic'\), ''\).* LIKE \? ESCAPE/,
    );
  });

  it("matches a sequence item by item, all item keys in one item (C.2.2.2.6)", () => {
    const s = sql("00400275.00400009=SPS1&RequestAttributesSequence.RequestedProcedureID=RP*", "series");
    expect(s.sql).toContain(
      `EXISTS (SELECT 1 FROM json_each(se.attributes, '$."00400275".Value') j1 WHERE ` +
        `EXISTS (SELECT 1 FROM json_each(j1.value, '$."00400009".Value') j2 WHERE j2.value = ?) AND ` +
        `EXISTS (SELECT 1 FROM json_each(j1.value, '$."00401001".Value') j3 WHERE j3.value GLOB ?))`,
    );
    expect(s.params).toEqual(["SPS1", "RP*", 1000, 0]);
  });
});

describe("compileQuery: refusals (PS3.18 10.6.1.2)", () => {
  it("refuses attributes the index does not keep, or not at this level", () => {
    expect(refused(query("InstitutionName=X"))).toBe("matching on InstitutionName (00080080) is not supported");
    expect(refused(query("SOPClassUID=1.2"))).toBe("matching on SOPClassUID (00080016) is not supported at study level");
    expect(refused(query("Modality=CT"))).toBe("matching on Modality (00080060) is not supported at study level");
    expect(refused(bare("patient", [{ kind: "single", tag: "00080061", vr: "CS", value: "CT" }]))).toMatch(/at patient level/);
    expect(refused(query("TimezoneOffsetFromUTC=%2B0100"))).toMatch(/TimezoneOffsetFromUTC \(00080201\) is not supported/);
  });

  it("accepts universal keys on anything: they only ask for the value", () => {
    expect(isQueryError(compileQuery(query("InstitutionName=&SOPClassUID=")))).toBe(false);
  });

  it("refuses a query over D1's bound parameter limit, and tags that are not 8 hex digits", () => {
    const many = Array.from({ length: 99 }, (): Match => ({ kind: "single", tag: "00100020", vr: "LO", value: "x" }));
    expect(refused({ ...bare("study", many), limit: 10 })).toMatch(/needs 101 bound parameters/);
    expect(refused(bare("study", [{ kind: "single", tag: "0010002' OR 1", vr: "LO", value: "x" }]))).toMatch(/not a tag/);
  });
});

const SAMPLES: Record<string, string> = { DA: "20240101", TM: "1030", UI: "1.2.3", IS: "1" };

describe("compileQuery: PS3.18 Table 10.6.1-5", () => {
  it("supports every required matching attribute at its level", () => {
    for (const level of ["study", "series", "instance"] as const) {
      for (const key of REQUIRED_MATCHING_KEYS[level]) {
        const path = resolvePath(key) as AttributeRef[];
        const sample = SAMPLES[path[path.length - 1]!.vr] ?? "X";
        const s = compileQuery(query(`${key}=${sample}`, level));
        expect(isQueryError(s) ? s.reason : "", `${level} ${key}`).toBe("");
      }
    }
  });
});
