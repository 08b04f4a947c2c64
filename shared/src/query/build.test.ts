import { describe, expect, it } from "vitest";
import type { DicomJson } from "../dicom/json.ts";
import { buildQuery, exactKey, fuzzyNameKey, oneOfKey, rangeKey } from "./build.ts";
import { matches } from "./match.ts";
import { compileQuery } from "./sql.ts";
import { isQueryError } from "./model.ts";

const study: DicomJson = {
  "00080020": { vr: "DA", Value: ["20240115"] },
  "00080050": { vr: "SH", Value: ["ACC*1"] },
  "00080061": { vr: "CS", Value: ["CT", "SR"] },
  "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans Peter" }] },
  "00100020": { vr: "LO", Value: ["PAT-1"] },
  "0020000D": { vr: "UI", Value: ["1.2.3"] },
};

describe("query builders", () => {
  it("take the VR from the dictionary and the value literally", () => {
    expect(exactKey("00080050", "ACC*1")).toEqual({ kind: "single", tag: "00080050", vr: "SH", value: "ACC*1" });
    expect(matches(buildQuery("study", [exactKey("00080050", "ACC*1")]), study)).toBe(true);
    expect(matches(buildQuery("study", [exactKey("00080050", "ACC*")]), study)).toBe(false);
  });

  it("make UID lists for UIDs and any-of lists otherwise, a single value for one", () => {
    expect(oneOfKey("0020000D", ["1.2.3", "1.2.4"])).toEqual({ kind: "uid-list", tag: "0020000D", vr: "UI", uids: ["1.2.3", "1.2.4"] });
    expect(oneOfKey("00080061", ["MR", "SR"])).toEqual({ kind: "any-of", tag: "00080061", vr: "CS", values: ["MR", "SR"] });
    expect(oneOfKey("00100020", ["PAT-1"])).toEqual({ kind: "single", tag: "00100020", vr: "LO", value: "PAT-1" });
    expect(matches(buildQuery("study", [oneOfKey("00080061", ["MR", "SR"])]), study)).toBe(true);
  });

  it("make open and closed ranges", () => {
    expect(rangeKey("00080020", { from: "20240101" })).toEqual({ kind: "range", tag: "00080020", vr: "DA", from: "20240101" });
    expect(matches(buildQuery("study", [rangeKey("00080020", { from: "20240101", to: "20240131" })]), study)).toBe(true);
    expect(matches(buildQuery("study", [rangeKey("00080020", { to: "20240114" })]), study)).toBe(false);
  });

  it("make fuzzy name keys and mark the query fuzzy", () => {
    const q = buildQuery("patient", [fuzzyNameKey("00100010", "mul")], { limit: 5, offset: 10 });
    expect(q).toMatchObject({ level: "patient", fuzzy: true, limit: 5, offset: 10, includeFields: [], warnings: [] });
    expect(matches(q, study)).toBe(true);
    expect(matches(buildQuery("patient", [fuzzyNameKey("00100010", "pet")]), study)).toBe(true);
    expect(matches(buildQuery("patient", [fuzzyNameKey("00100010", "ans")]), study)).toBe(false);
    expect(buildQuery("study", []).fuzzy).toBe(false);
  });

  it("compile like any other query", () => {
    const sql = compileQuery(buildQuery("study", [oneOfKey("0020000D", ["1.2.3", "1.2.4"]), rangeKey("00080020", { from: "20240101" })], { limit: 20 }));
    expect(isQueryError(sql)).toBe(false);
  });

  it("refuse a tag the dictionary does not know", () => {
    expect(() => exactKey("0009ABCD", "x")).toThrow(/not a PS3.6 tag/);
  });
});
