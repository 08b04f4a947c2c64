import { describe, expect, it } from "vitest";
import { DICTIONARY, keywordToTag, lookup } from "./dictionary.ts";

describe("dictionary", () => {
  it("maps public tags to VR and keyword", () => {
    expect(DICTIONARY.size).toBeGreaterThan(4000);
    expect(DICTIONARY.get(0x00100010)).toEqual(["PN", "PatientName"]);
    expect(lookup(0x0020000d)).toEqual({ vr: "UI", keyword: "StudyInstanceUID" });
    expect(lookup(0x00540016)).toEqual({ vr: "SQ", keyword: "RadiopharmaceuticalInformationSequence" });
  });

  it("chooses the first of several VRs, but OW for Pixel Data (PS3.5 A.1)", () => {
    expect(lookup(0x00280106)?.vr).toBe("US");
    expect(lookup(0x7fe00010)).toEqual({ vr: "OW", keyword: "PixelData" });
  });

  it("falls back to repeating groups for even groups only", () => {
    expect(lookup(0x60003000)).toEqual({ vr: "OW", keyword: "OverlayData" });
    expect(lookup(0x601e3000)).toEqual({ vr: "OW", keyword: "OverlayData" });
    expect(lookup(0x60020010)?.keyword).toBe("OverlayRows");
    expect(lookup(0x60013000)).toBeUndefined();
    expect(lookup(0x00091001)).toBeUndefined();
  });

  it("finds tags by keyword, retired ones without a prefix", () => {
    expect(keywordToTag("PixelData")).toBe(0x7fe00010);
    expect(keywordToTag("OverlayData")).toBe(0x60003000);
    expect(keywordToTag("CurveData")).toBe(0x50003000);
    expect(keywordToTag("NoSuchKeyword")).toBeUndefined();
  });
});
