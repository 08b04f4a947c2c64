import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DatasetCodecError, readDataset, writeDataset } from "./dataset-codec.ts";
import type { DicomJson } from "./json.ts";
import { Part10Error } from "./part10-reader.ts";
import { encodeDataset } from "./testing/encode.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "./transfer-syntax.ts";

const SYNTAXES = [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN] as const;

const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

/**
 * One attribute of every VR (the Selector Attribute Value attributes of
 * PS3.3 C.7.6.X cover them all), in the form the reader gives back, so each
 * write/read round trip must return it unchanged.
 */
const EVERY_VR: DicomJson = {
  "00080005": { vr: "CS", Value: ["ISO_IR 192"] },
  "00080008": { vr: "CS", Value: ["ORIGINAL", "PRIMARY", "AXIAL"] },
  "00080020": { vr: "DA", Value: ["20240115"] },
  "00080054": { vr: "AE", Value: ["ARCHIVE"] },
  "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans", Ideographic: "山田^太郎", Phonetic: "やまだ^たろう" }] },
  "00101010": { vr: "AS", Value: ["042Y"] },
  "00280030": { vr: "DS", Value: [0.5, 0.25] },
  "00720060": { vr: "AT", Value: ["00100010", "7FE00010"] },
  "00720062": { vr: "CS", Value: ["A"] },
  "00720063": { vr: "DT", Value: ["20240115093000.123456+0100"] },
  "00720064": { vr: "IS", Value: [-12, 7] },
  "00720065": { vr: "OB", InlineBinary: b64([1, 2, 3, 4]) },
  "00720066": { vr: "LO", Value: ["Long string", null, "third"] },
  "00720067": { vr: "OF", InlineBinary: b64([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]) },
  "00720068": { vr: "LT", Value: ["Line one\\with a backslash\r\nline two"] },
  "00720069": { vr: "OW", InlineBinary: b64([1, 2, 3, 4]) },
  "0072006B": { vr: "TM", Value: ["093000.5"] },
  "0072006C": { vr: "SH", Value: ["short"] },
  "0072006E": { vr: "ST", Value: ["Short text"] },
  "0072006F": { vr: "UC", Value: ["unlimited characters"] },
  "00720070": { vr: "UT", Value: ["Unlimited text é"] },
  "00720071": { vr: "UR", Value: ["http://example.com/a b"] },
  "00720073": { vr: "OD", InlineBinary: b64([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]) },
  "00720074": { vr: "FD", Value: [1.5, -2.25, "NaN"] },
  "00720075": { vr: "OL", InlineBinary: b64([1, 0, 0, 0]) },
  "00720076": { vr: "FL", Value: [0.5, "-Infinity"] },
  "00720078": { vr: "UL", Value: [4294967295, 0] },
  "0072007A": { vr: "US", Value: [65535, 1] },
  "0072007C": { vr: "SL", Value: [-2147483648, 5] },
  "0072007E": { vr: "SS", Value: [-32768, 32767] },
  "0072007F": { vr: "UI", Value: ["1.2.840.10008.1.2.1", "1.23"] },
  "00720080": {
    vr: "SQ",
    Value: [
      { "00080100": { vr: "SH", Value: ["121322"] }, "00080102": { vr: "SH", Value: ["DCM"] }, "00080104": { vr: "LO", Value: ["Source image"] } },
      {},
      { "00080100": { vr: "SH", Value: ["T-04000"] }, "00081199": { vr: "SQ", Value: [{ "00081155": { vr: "UI", Value: ["1.2.3"] } }] } },
    ],
  },
  "00720081": { vr: "OV", InlineBinary: b64([1, 2, 3, 4, 5, 6, 7, 8]) },
  "00720082": { vr: "SV", Value: [-5, "-9223372036854775808"] },
  "00720083": { vr: "UV", Value: [7, "18446744073709551615"] },
  "00720072": { vr: "DS", Value: [12345.5] },
  "00720061": { vr: "DA" },
};

describe("writeDataset / readDataset", () => {
  for (const ts of SYNTAXES) {
    it(`round-trips every VR in ${ts}`, () => {
      expect(readDataset(writeDataset(EVERY_VR, ts), ts)).toEqual(EVERY_VR);
    });
  }

  it("round-trips a deflated syntax", () => {
    expect(readDataset(writeDataset(EVERY_VR, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)).toEqual(EVERY_VR);
  });

  it("writes the bytes the reference encoder writes, tags ascending, padded per VR", () => {
    const ds: DicomJson = {
      "00100020": { vr: "LO", Value: ["PID-1"] },
      "00080018": { vr: "UI", Value: ["1.2.3"] },
      "00080052": { vr: "CS", Value: ["STUDY"] },
      "00280010": { vr: "US", Value: [512] },
    };
    const reference = encodeDataset(
      [
        { tag: 0x00080018, vr: "UI", value: "1.2.3" },
        { tag: 0x00080052, vr: "CS", value: "STUDY" },
        { tag: 0x00100020, vr: "LO", value: "PID-1" },
        { tag: 0x00280010, vr: "US", value: 512 },
      ],
      { explicitVR: true, littleEndian: true },
    );
    const bytes = writeDataset(ds, EXPLICIT_VR_LITTLE_ENDIAN);
    expect(Buffer.from(bytes).toString("hex")).toBe(Buffer.from(reference).toString("hex"));
    // UI "1.2.3" is padded with NUL, CS "STUDY" and LO "PID-1" with a space (PS3.5 6.2).
    expect(bytes.subarray(8, 14)).toEqual(new Uint8Array([0x31, 0x2e, 0x32, 0x2e, 0x33, 0x00]));
    expect(new TextDecoder().decode(bytes.subarray(22, 28))).toBe("STUDY ");
  });

  it("writes Implicit VR Little Endian as tag and 32-bit length (PS3.5 7.1.3)", () => {
    const bytes = writeDataset({ "00080052": { vr: "CS", Value: ["IMAGE"] } }, IMPLICIT_VR_LITTLE_ENDIAN);
    expect(Buffer.from(bytes).toString("hex")).toBe("0800520006000000494d41474520");
  });

  it("writes Explicit VR Big Endian with big-endian tags, lengths and numbers (PS3.5 7.3)", () => {
    const bytes = writeDataset({ "00280010": { vr: "US", Value: [0x0102] } }, EXPLICIT_VR_BIG_ENDIAN);
    expect(Buffer.from(bytes).toString("hex")).toBe("002800105553000201" + "02");
  });

  it("leaves out group lengths and writes a BulkDataURI value empty", () => {
    const ds: DicomJson = {
      "00080000": { vr: "UL", Value: [10] },
      "00420011": { vr: "OB", BulkDataURI: "bulkdata/00420011" },
    };
    expect(readDataset(writeDataset(ds, EXPLICIT_VR_LITTLE_ENDIAN), EXPLICIT_VR_LITTLE_ENDIAN)).toEqual({ "00420011": { vr: "OB" } });
  });

  it("keeps ASCII and Latin-1 text in the declared character set, else switches to ISO_IR 192", () => {
    const latin1: DicomJson = { "00080005": { vr: "CS", Value: ["ISO_IR 100"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "Dupont^Élodie" }] } };
    const bytes = writeDataset(latin1, EXPLICIT_VR_LITTLE_ENDIAN);
    expect(Array.from(bytes)).toContain(0xc9); // É in ISO 8859-1
    expect(readDataset(bytes, EXPLICIT_VR_LITTLE_ENDIAN)).toEqual(latin1);

    const undeclared: DicomJson = { "00100010": { vr: "PN", Value: [{ Alphabetic: "Ωmega" }] } };
    expect(readDataset(writeDataset(undeclared, IMPLICIT_VR_LITTLE_ENDIAN), IMPLICIT_VR_LITTLE_ENDIAN)).toEqual({
      "00080005": { vr: "CS", Value: ["ISO_IR 192"] },
      ...undeclared,
    });

    const ascii: DicomJson = { "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^Jane" }] } };
    expect(readDataset(writeDataset(ascii, EXPLICIT_VR_LITTLE_ENDIAN), EXPLICIT_VR_LITTLE_ENDIAN)).toEqual(ascii);
  });

  it("fits DS values into 16 bytes and writes IS as integers", () => {
    const ds: DicomJson = { "00280030": { vr: "DS", Value: [1 / 3, 123456789.123456789] }, "00200013": { vr: "IS", Value: [42] } };
    const back = readDataset(writeDataset(ds, EXPLICIT_VR_LITTLE_ENDIAN), EXPLICIT_VR_LITTLE_ENDIAN);
    const [third, big] = back["00280030"]!.Value as number[];
    expect(third).toBeCloseTo(1 / 3, 10);
    expect(big).toBeCloseTo(123456789.123456789, 4);
    expect(back["00200013"]).toEqual({ vr: "IS", Value: [42] });
  });

  it("reads an identifier whatever the chunking of the reader's input", () => {
    const bytes = writeDataset(EVERY_VR, EXPLICIT_VR_BIG_ENDIAN);
    expect(readDataset(bytes.slice(), EXPLICIT_VR_BIG_ENDIAN)).toEqual(EVERY_VR);
    expect(readDataset(new Uint8Array(0), EXPLICIT_VR_LITTLE_ENDIAN)).toEqual({});
  });

  it("refuses what it cannot encode", () => {
    expect(() => writeDataset({}, "1.2.3.4")).toThrow(DatasetCodecError);
    expect(() => writeDataset({ "00280010": { vr: "US", Value: ["many"] } }, EXPLICIT_VR_LITTLE_ENDIAN)).toThrow(DatasetCodecError);
    expect(() => writeDataset({ "0010": { vr: "LO", Value: ["x"] } }, EXPLICIT_VR_LITTLE_ENDIAN)).toThrow(DatasetCodecError);
    expect(() => writeDataset({ "00104000": { vr: "LT", Value: ["x".repeat(70000)] } }, EXPLICIT_VR_LITTLE_ENDIAN)).toThrow(/16-bit length/);
    expect(() => readDataset(new Uint8Array([8, 0, 0x52, 0]), EXPLICIT_VR_LITTLE_ENDIAN)).toThrow();
  });
});

/** Text the reader gives back unchanged: no backslash, no padding characters at the ends. */
const text = (alphabet: string, max: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: max }).filter((s) => s.trim() === s && s !== "");
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzéüßΩ山 -^.";

/** Random datasets over the VRs a C-FIND identifier uses, each attribute with 0 to 3 values. */
const datasets = fc.record(
  {
    "00080020": fc.array(fc.constantFrom("20240115", "19991231"), { maxLength: 3 }).map((v) => ({ vr: "DA", Value: v })),
    "00080060": fc.array(text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", 16), { maxLength: 3 }).map((v) => ({ vr: "CS", Value: v })),
    "00100010": fc.array(fc.record({ Alphabetic: text(LETTERS, 20) }), { maxLength: 2 }).map((v) => ({ vr: "PN", Value: v })),
    "00100020": fc.array(text(LETTERS, 30), { maxLength: 3 }).map((v) => ({ vr: "LO", Value: v })),
    "00200013": fc.array(fc.integer({ min: -99999999, max: 999999999 }), { maxLength: 3 }).map((v) => ({ vr: "IS", Value: v })),
    "00280030": fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((n) => Math.round(n * 1000) / 1000 + 0), { maxLength: 3 }).map((v) => ({ vr: "DS", Value: v })),
    "0072007A": fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 3 }).map((v) => ({ vr: "US", Value: v })),
    "0072007C": fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 3 }).map((v) => ({ vr: "SL", Value: v })),
    "00720074": fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 3 }).map((v) => ({ vr: "FD", Value: v.map((n) => (Object.is(n, -0) ? 0 : n)) })),
    "0072007F": fc.array(fc.constantFrom("1.2.3", "1.2.840.10008.5.1.4.1.2.2.1", "2.25.1"), { maxLength: 3 }).map((v) => ({ vr: "UI", Value: v })),
  },
  { requiredKeys: [] },
).map((ds) => Object.fromEntries(Object.entries(ds).map(([tag, a]) => [tag, a.Value.length === 0 ? { vr: a.vr } : a])) as DicomJson);

describe("codec properties", () => {
  for (const ts of [...SYNTAXES, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]) {
    it(`read(write(ds)) is ds, in ${ts}`, () => {
      fc.assert(
        fc.property(datasets, (ds) => {
          const back = readDataset(writeDataset(ds, ts), ts);
          // writeDataset adds ISO_IR 192 when the text needs it (PS3.3 C.12.1.1.2).
          const { ["00080005"]: charset, ...rest } = back;
          if (charset) expect(charset).toEqual({ vr: "CS", Value: ["ISO_IR 192"] });
          expect(rest).toEqual(ds);
        }),
        { numRuns: 200 },
      );
    });
  }

  it("bytes that are not a dataset fail with Part10Error, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...SYNTAXES), (bytes, ts) => {
        try {
          readDataset(bytes, ts);
        } catch (error) {
          expect(error).toBeInstanceOf(Part10Error);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
