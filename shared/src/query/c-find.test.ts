import { describe, expect, it } from "vitest";
import type { DicomJson } from "../dicom/json.ts";
import { parseCFindIdentifier } from "./c-find.ts";
import { isQueryError, type Query } from "./model.ts";

function parse(identifier: DicomJson, fuzzy = false): Query {
  const q = parseCFindIdentifier(identifier, { fuzzy });
  if (isQueryError(q)) throw new Error(q.reason);
  return q;
}

describe("parseCFindIdentifier", () => {
  it("makes every attribute a key and every key a return key", () => {
    const q = parse({
      "00080005": { vr: "CS", Value: ["ISO_IR 192"] },
      "00080052": { vr: "CS", Value: ["STUDY"] },
      "00100010": { vr: "PN", Value: [{ Alphabetic: "DOE^*" }] },
      "00100020": { vr: "LO" },
      "00080020": { vr: "DA", Value: ["20240101-"] },
      "00080061": { vr: "CS", Value: ["CT", "MR"] },
      "0020000D": { vr: "UI", Value: ["1.2.3", "1.2.4"] },
      "00201206": { vr: "IS" },
    });
    expect(q.level).toBe("study");
    expect(q.matches).toEqual([
      { kind: "wildcard", tag: "00100010", vr: "PN", pattern: "DOE^*" },
      { kind: "universal", tag: "00100020", vr: "LO" },
      { kind: "range", tag: "00080020", vr: "DA", from: "20240101" },
      { kind: "any-of", tag: "00080061", vr: "CS", values: ["CT", "MR"] },
      { kind: "uid-list", tag: "0020000D", vr: "UI", uids: ["1.2.3", "1.2.4"] },
      { kind: "universal", tag: "00201206", vr: "IS" },
    ]);
    expect(q.includeFields).toEqual(["00080005", "00080052", "00100010", "00100020", "00080020", "00080061", "0020000D", "00201206"]);
    expect(q.offset).toBe(0);
    expect(q.limit).toBeUndefined();
  });

  it("maps IMAGE to instance and reads numbers and null values", () => {
    const q = parse({
      "00080052": { vr: "CS", Value: ["IMAGE"] },
      "00200013": { vr: "IS", Value: [5] },
      "00080018": { vr: "UI", Value: [null] },
    });
    expect(q.level).toBe("instance");
    expect(q.matches).toEqual([
      { kind: "single", tag: "00200013", vr: "IS", value: 5 },
      { kind: "universal", tag: "00080018", vr: "UI" },
    ]);
  });

  it("matches a sequence through its single item (PS3.4 C.2.2.2.6)", () => {
    const q = parse({
      "00080052": { vr: "CS", Value: ["SERIES"] },
      "00400275": { vr: "SQ", Value: [{ "00400009": { vr: "SH", Value: ["SPS1"] }, "00401001": { vr: "SH" } }] },
      "00081032": { vr: "SQ", Value: [{}] },
      "00081250": { vr: "SQ" },
    });
    expect(q.matches).toEqual([
      {
        kind: "sequence", tag: "00400275", vr: "SQ",
        items: [
          { kind: "single", tag: "00400009", vr: "SH", value: "SPS1" },
          { kind: "universal", tag: "00401001", vr: "SH" },
        ],
      },
      { kind: "universal", tag: "00081032", vr: "SQ" },
      { kind: "universal", tag: "00081250", vr: "SQ" },
    ]);
  });

  it("marks PN keys fuzzy when fuzzy semantic matching was negotiated", () => {
    const q = parse({ "00080052": { vr: "CS", Value: ["PATIENT"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "müller" }] } }, true);
    expect(q.level).toBe("patient");
    expect(q.fuzzy).toBe(true);
    expect(q.matches).toEqual([{ kind: "single", tag: "00100010", vr: "PN", value: "müller", fuzzy: true }]);
  });

  it("refuses a missing level, several sequence items and malformed values", () => {
    const reason = (identifier: DicomJson) => {
      const q = parseCFindIdentifier(identifier);
      return isQueryError(q) ? q.reason : "";
    };
    expect(reason({ "00100010": { vr: "PN" } })).toMatch(/Query\/Retrieve Level \(0008,0052\) must be/);
    expect(reason({ "00080052": { vr: "CS", Value: ["WORKLIST"] } })).toMatch(/not "WORKLIST"/);
    expect(
      reason({ "00080052": { vr: "CS", Value: ["SERIES"] }, "00400275": { vr: "SQ", Value: [{}, {}] } }),
    ).toMatch(/a sequence key holds a single item/);
    expect(reason({ "00080052": { vr: "CS", Value: ["STUDY"] }, "00080020": { vr: "DA", Value: ["2024"] } })).toMatch(/not a date/);
  });
});
