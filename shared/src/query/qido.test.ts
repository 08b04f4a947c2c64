import { describe, expect, it } from "vitest";
import { isQueryError, type Query, type QueryError } from "./model.ts";
import { parseQido, type QidoLevel, type QidoOptions, type QidoScope } from "./qido.ts";

function parse(qs: string, level: QidoLevel = "study", scope: QidoScope = {}, options?: QidoOptions): Query {
  const q = parseQido(new URLSearchParams(qs), level, scope, options);
  if (isQueryError(q)) throw new Error(q.reason);
  return q;
}

function fail(qs: string, level: QidoLevel = "study", scope: QidoScope = {}): string {
  const q = parseQido(new URLSearchParams(qs), level, scope);
  expect(isQueryError(q)).toBe(true);
  expect((q as QueryError).status).toBe(400);
  return (q as QueryError).reason;
}

describe("parseQido: what viewers send", () => {
  it("reads OHIF's study list query", () => {
    const q = parse(
      "limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060&StudyDate=20240101-20241231&00100020=*PID*",
    );
    expect(q).toEqual({
      level: "study",
      matches: [
        { kind: "range", tag: "00080020", vr: "DA", from: "20240101", to: "20241231" },
        { kind: "wildcard", tag: "00100020", vr: "LO", pattern: "*PID*" },
      ],
      includeFields: ["00081030", "00080060"],
      fuzzy: false,
      limit: 101,
      offset: 0,
      warnings: [],
    });
  });

  it("decodes Orthanc's percent-encoded *, ^ and , (UID list per PS3.18 8.3.4.1)", () => {
    const q = parse("PatientName=DOE%5EJ%2A&StudyInstanceUID=1.2.3%2C1.2.4&AccessionNumber=A%3F1");
    expect(q.matches).toEqual([
      { kind: "wildcard", tag: "00100010", vr: "PN", pattern: "DOE^J*" },
      { kind: "uid-list", tag: "0020000D", vr: "UI", uids: ["1.2.3", "1.2.4"] },
      { kind: "wildcard", tag: "00080050", vr: "SH", pattern: "A?1" },
    ]);
  });

  it("joins repeated and backslash-separated values into one list", () => {
    const q = parse("StudyInstanceUID=1.2.3&0020000D=1.2.4%5C1.2.5&ModalitiesInStudy=CT%5CMR&ModalitiesInStudy=PT");
    expect(q.matches).toEqual([
      { kind: "uid-list", tag: "0020000D", vr: "UI", uids: ["1.2.3", "1.2.4", "1.2.5"] },
      { kind: "any-of", tag: "00080061", vr: "CS", values: ["CT", "MR", "PT"] },
    ]);
  });

  it("reads single values by VR, numbers as numbers", () => {
    const q = parse("SeriesNumber=3&Modality=CT&SeriesInstanceUID=1.2.840.1&PerformedProcedureStepStartTime=1030", "series");
    expect(q.matches).toEqual([
      { kind: "single", tag: "00200011", vr: "IS", value: 3 },
      { kind: "single", tag: "00080060", vr: "CS", value: "CT" },
      { kind: "single", tag: "0020000E", vr: "UI", value: "1.2.840.1" },
      { kind: "single", tag: "00400245", vr: "TM", value: "1030" },
    ]);
  });

  it("makes empty values and a lone * universal (return keys), and never matches SpecificCharacterSet", () => {
    const q = parse("PatientName=&StudyDescription=*&SpecificCharacterSet=ISO_IR%20192");
    expect(q.matches).toEqual([
      { kind: "universal", tag: "00100010", vr: "PN" },
      { kind: "universal", tag: "00081030", vr: "LO" },
    ]);
  });
});

describe("parseQido: ranges", () => {
  it("reads closed and open date ranges", () => {
    const [closed, from, to] = ["20240101-20241231", "20240101-", "-20241231"].map((r) => parse(`StudyDate=${r}`).matches[0]);
    expect(closed).toEqual({ kind: "range", tag: "00080020", vr: "DA", from: "20240101", to: "20241231" });
    expect(from).toEqual({ kind: "range", tag: "00080020", vr: "DA", from: "20240101" });
    expect(to).toEqual({ kind: "range", tag: "00080020", vr: "DA", to: "20241231" });
  });

  it("reads time ranges, including an upper bound of lower precision", () => {
    expect(parse("StudyTime=0800-1030").matches[0]).toEqual({ kind: "range", tag: "00080030", vr: "TM", from: "0800", to: "1030" });
    expect(parse("StudyTime=1030-10").matches[0]).toMatchObject({ kind: "range", from: "1030", to: "10" });
  });

  it("tells a DT range from a DT with a negative offset", () => {
    expect(parse("AcquisitionDateTime=20240101120000-0500", "instance").matches[0]).toEqual({
      kind: "single", tag: "0008002A", vr: "DT", value: "20240101120000-0500",
    });
    expect(parse("AcquisitionDateTime=2024-20240201120000-0500", "instance").matches[0]).toEqual({
      kind: "range", tag: "0008002A", vr: "DT", from: "2024", to: "20240201120000-0500",
    });
  });

  it("refuses malformed dates, times and ranges", () => {
    expect(fail("StudyDate=2024-01-01")).toMatch(/StudyDate \(00080020\).*not a range/);
    expect(fail("StudyDate=20241301")).toMatch(/not a date YYYYMMDD/);
    expect(fail("StudyDate=-")).toMatch(/"-" alone is not a range/);
    expect(fail("StudyDate=20241231-20240101")).toMatch(/starts after it ends/);
    expect(fail("StudyTime=2500")).toMatch(/not a time/);
    expect(fail("StudyTime=2300-0100")).toMatch(/starts after it ends/);
    expect(fail("StudyDate=20240101-20240102%5C20240105")).toMatch(/cannot hold ranges/);
  });
});

describe("parseQido: fuzzy matching", () => {
  it("marks PN keys fuzzy, and only those", () => {
    const q = parse("fuzzymatching=true&PatientName=mul&ReferringPhysicianName=dr*&StudyDescription=Chest");
    expect(q.fuzzy).toBe(true);
    expect(q.matches).toEqual([
      { kind: "single", tag: "00100010", vr: "PN", value: "mul", fuzzy: true },
      { kind: "wildcard", tag: "00080090", vr: "PN", pattern: "dr*", fuzzy: true },
      { kind: "single", tag: "00081030", vr: "LO", value: "Chest" },
    ]);
  });

  it("refuses anything but true and false", () => {
    expect(fail("fuzzymatching=yes")).toMatch(/fuzzymatching must be "true" or "false"/);
  });
});

describe("parseQido: sequences", () => {
  it("puts dotted paths on one sequence into one item (PS3.4 C.2.2.2.6)", () => {
    const q = parse("00400275.00400009=SPS1&RequestAttributesSequence.RequestedProcedureID=RP*", "series");
    expect(q.matches).toEqual([
      {
        kind: "sequence", tag: "00400275", vr: "SQ",
        items: [
          { kind: "single", tag: "00400009", vr: "SH", value: "SPS1" },
          { kind: "wildcard", tag: "00401001", vr: "SH", pattern: "RP*" },
        ],
      },
    ]);
  });

  it("takes an empty sequence key as universal, and refuses a value on it", () => {
    expect(parse("RequestAttributesSequence=", "series").matches).toEqual([{ kind: "universal", tag: "00400275", vr: "SQ" }]);
    expect(fail("RequestAttributesSequence=x", "series")).toMatch(/is a sequence/);
    expect(fail("PatientID.PatientName=x")).toMatch(/"PatientID" in "PatientID.PatientName" is not a sequence/);
  });
});

describe("parseQido: includefield, limit, offset", () => {
  it("accepts repeated and comma-separated fields, keywords, tags and paths", () => {
    const q = parse("includefield=StudyDescription&includefield=00080060,0008103e&includefield=00400275.00400009");
    expect(q.includeFields).toEqual(["00081030", "00080060", "0008103E", "00400275"]);
    expect(parse("includefield=00081030&includefield=all").includeFields).toBe("all");
    expect(fail("includefield=NoSuchKeyword")).toMatch(/includefield: unknown attribute "NoSuchKeyword"/);
  });

  it("caps limit at the maximum, which is also the default", () => {
    expect(parse("limit=5000").limit).toBe(1000);
    expect(parse("").limit).toBe(1000);
    expect(parse("limit=20", "study", {}, { maxLimit: 10 }).limit).toBe(10);
    expect(parse("offset=40").offset).toBe(40);
  });

  it("refuses limits and offsets that are not counts", () => {
    expect(fail("limit=0")).toMatch(/limit must be an integer of at least 1/);
    expect(fail("limit=ten")).toMatch(/limit must be an integer/);
    expect(fail("offset=-1")).toMatch(/offset must be an integer of at least 0/);
  });

  it("warns about empty and multiple value matching instead of performing them (PS3.18 8.3.4.5-6)", () => {
    const q = parse("emptyvaluematching=true&multiplevaluematching=false");
    expect(q.warnings).toEqual(["The emptyvaluematching parameter is not supported. Empty Value Matching has not been performed."]);
  });
});

describe("parseQido: errors", () => {
  it("refuses unknown attributes and parameters", () => {
    expect(fail("PatientNam=DOE")).toMatch(/unknown query parameter "PatientNam"/);
    expect(fail("00091001=x")).toMatch(/unknown query parameter "00091001"/);
    expect(fail("_=1700000000")).toMatch(/unknown query parameter "_"/);
  });

  it("can ignore unknown parameters instead, with a warning", () => {
    const q = parse("_=1700000000&PatientID=1", "study", {}, { unknownParameters: "ignore" });
    expect(q.matches).toHaveLength(1);
    expect(q.warnings).toEqual(["The _ parameter is not supported and has been ignored."]);
  });

  it("refuses values that do not fit the VR", () => {
    expect(fail("SeriesNumber=three", "series")).toMatch(/SeriesNumber \(00200011\): "three" is not an integer/);
    expect(fail("Rows=-1", "instance")).toMatch(/not an integer \(VR US\)/);
    expect(fail("StudyInstanceUID=1.02.3")).toMatch(/not a valid UID/);
    expect(fail("StudyInstanceUID=1.2.*")).toMatch(/wild cards are not defined for VR UI/);
    expect(fail("ModalitiesInStudy=CT%5CM*")).toMatch(/cannot hold wild cards/);
    expect(fail("PixelData=1", "instance")).toMatch(/PixelData \(7FE00010\) \(VR OW\) is not defined/);
  });
});

describe("parseQido: scope", () => {
  it("turns the resource path into UID matches", () => {
    const q = parse("SeriesNumber=1", "instance", { study: "1.2.3", series: "1.2.3.4" });
    expect(q.level).toBe("instance");
    expect(q.matches).toEqual([
      { kind: "single", tag: "00200011", vr: "IS", value: 1 },
      { kind: "single", tag: "0020000D", vr: "UI", value: "1.2.3" },
      { kind: "single", tag: "0020000E", vr: "UI", value: "1.2.3.4" },
    ]);
    expect(fail("", "series", { study: "not-a-uid" })).toMatch(/in the resource path is not a valid UID/);
  });
});
