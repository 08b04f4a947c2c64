import { describe, expect, it } from "vitest";
import { numberValue, personName, sequenceItems, stringValue, tagKey, type DicomJson } from "./json.ts";

const ds: DicomJson = {
  "0020000D": { vr: "UI", Value: ["1.2.3"] },
  "00280010": { vr: "US", Value: [512] },
  "00280008": { vr: "IS", Value: [3] },
  "00281050": { vr: "DS", Value: [40, null, -10.5] },
  "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^John", Ideographic: "ドウ^ジョン" }] },
  "00100020": { vr: "LO" },
  "00540016": { vr: "SQ", Value: [{ "00181072": { vr: "TM", Value: ["120000"] } }] },
};

describe("json accessors", () => {
  it("reads strings, numbers and names", () => {
    expect(stringValue(ds, "0020000D")).toBe("1.2.3");
    expect(stringValue(ds, 0x0020000d)).toBe("1.2.3");
    expect(stringValue(ds, "00280010")).toBe("512");
    expect(stringValue(ds, "00100010")).toBe("Doe^John");
    expect(stringValue(ds, "00100020")).toBeUndefined();
    expect(numberValue(ds, "00280010")).toBe(512);
    expect(numberValue(ds, "00281050", 1)).toBeUndefined();
    expect(numberValue(ds, "00281050", 2)).toBe(-10.5);
    expect(numberValue(ds, "0020000D")).toBeUndefined();
    expect(personName(ds, "00100010")).toEqual({ Alphabetic: "Doe^John", Ideographic: "ドウ^ジョン" });
    expect(personName(ds, "00100020")).toBeUndefined();
    expect(sequenceItems(ds, "00540016")).toHaveLength(1);
    expect(sequenceItems(ds, "00100020")).toEqual([]);
    expect(tagKey(0x7fe00010)).toBe("7FE00010");
  });
});
