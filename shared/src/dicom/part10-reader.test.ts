import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Part10Error, Part10Reader, type Part10Header } from "./part10-reader.ts";
import { concat, encodeDataset, encodePart10, type Element } from "./testing/encode.ts";
import {
  DOCUMENT,
  PIXELS,
  SERIES,
  SOP_CLASS,
  SOP_INSTANCE,
  STUDY,
  logicalBytes,
  read,
  readInPieces,
  sampleElements,
} from "./testing/fixtures.ts";

const SYNTAXES = {
  implicit: "1.2.840.10008.1.2",
  explicitLE: "1.2.840.10008.1.2.1",
  deflated: "1.2.840.10008.1.2.1.99",
  explicitBE: "1.2.840.10008.1.2.2",
};

function sample(transferSyntaxUID: string, elements = sampleElements()): Uint8Array {
  return encodePart10({ transferSyntaxUID, sopClassUID: SOP_CLASS, sopInstanceUID: SOP_INSTANCE, elements });
}

function expectError(fn: () => unknown, code: Part10Error["code"]): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Part10Error);
    expect((error as Part10Error).code).toBe(code);
    return;
  }
  throw new Error(`expected Part10Error ${code}`);
}

function slice(bytes: Uint8Array, range: { offset: number; length: number }): Uint8Array {
  return bytes.subarray(range.offset, range.offset + range.length);
}

describe.each(Object.entries(SYNTAXES))("%s", (name, uid) => {
  const bytes = sample(uid);
  const header = read(bytes);

  it("reads the File Meta and dataset", () => {
    expect(header.transferSyntaxUID).toBe(uid);
    expect(header.deflated).toBe(name === "deflated");
    expect(header.length).toBe(bytes.length);
    expect(header.meta["00020010"]).toEqual({ vr: "UI", Value: [uid] });
    expect(header.meta["00020000"]).toBeUndefined();
    const ds = header.dataset;
    expect(ds["0020000D"]).toEqual({ vr: "UI", Value: [STUDY] });
    expect(ds["0020000E"]).toEqual({ vr: "UI", Value: [SERIES] });
    expect(ds["00080018"]).toEqual({ vr: "UI", Value: [SOP_INSTANCE] });
    expect(ds["00280010"]).toEqual({ vr: "US", Value: [2] });
    expect(ds["00200013"]).toEqual({ vr: "IS", Value: [7] });
    expect(ds["00281050"]).toEqual({ vr: "DS", Value: [40, null, -10.5] });
    expect(ds["00100010"]).toEqual({
      vr: "PN",
      Value: [{ Alphabetic: "Müller^Hans", Ideographic: "ミュラー^ハンス", Phonetic: "myura^hansu" }],
    });
    expect(ds["00090010"]).toEqual({ vr: "LO", Value: ["ACME 1.0"] });
  });

  it("reads nested sequences of undefined and defined length", () => {
    const seq = header.dataset["00540016"]!;
    expect(seq.vr).toBe("SQ");
    const [first, second] = seq.Value as Record<string, { vr: string; Value?: unknown[] }>[];
    expect(first!["00181072"]).toEqual({ vr: "TM", Value: ["120000"] });
    expect(first!["00540300"]).toEqual({ vr: "SQ", Value: [{ "00080100": { vr: "SH", Value: ["C-111A1"] } }, {}] });
    expect(second!["00181074"]).toEqual({ vr: "DS", Value: [370.5] });
  });

  it("records bulk data with byte ranges into the file", () => {
    const logical = logicalBytes(bytes, header);
    expect(header.dataset["7FE00010"]).toEqual({ vr: "OW", BulkDataURI: "bulkdata/7FE00010" });
    expect(slice(logical, header.bulkData["7FE00010"]!)).toEqual(PIXELS);
    const nested = "00540016/0/00420011";
    expect(header.bulkData[nested]).toBeDefined();
    expect(slice(logical, header.bulkData[nested]!)).toEqual(DOCUMENT);
    const item = (header.dataset["00540016"]!.Value as Record<string, unknown>[])[0]!;
    expect(item["00420011"]).toEqual({ vr: "OB", BulkDataURI: `bulkdata/${nested}` });
    expect(header.pixelData).toEqual({
      tag: 0x7fe00010,
      vr: "OW",
      valueOffset: header.bulkData["7FE00010"]!.offset,
      valueLength: PIXELS.length,
      encapsulated: false,
      fragments: [],
      basicOffsetTable: [],
    });
  });

  it("gives the same header whatever the split", () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(readInPieces(bytes, [cut])).toEqual(header);
    }
    expect(readInPieces(bytes, Array.from({ length: bytes.length }, (_, i) => i))).toEqual(header);
  });

  it("gives the same header for random splits", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), (cuts) => {
        expect(readInPieces(bytes, cuts.sort((a, b) => a - b))).toEqual(header);
      }),
      { numRuns: 200 },
    );
  });

  it("reports truncation at every cut that is not between top-level elements", () => {
    const boundaries = topLevelBoundaries(header, uid);
    for (let cut = 0; cut < bytes.length; cut++) {
      const reader = new Part10Reader();
      reader.write(bytes.subarray(0, cut));
      if (cut < header.datasetOffset) {
        // Inside the File Meta: complete only at an element boundary after (0002,0010).
        try {
          reader.end();
        } catch (error) {
          expect((error as Part10Error).code).toBe(cut === 0 ? "not-dicom" : "truncated");
        }
      } else if (boundaries.has(cut)) {
        expect(reader.end().length).toBe(cut);
      } else {
        expectError(() => reader.end(), "truncated");
      }
    }
  });
});

/** Offsets at which a prefix of the file is complete: after each top-level element. */
function topLevelBoundaries(header: Part10Header, uid: string): Set<number> {
  const out = new Set<number>([header.datasetOffset]);
  // A deflate stream is only complete at its end.
  if (uid === SYNTAXES.deflated) return out;
  const syntax = { explicitVR: uid !== SYNTAXES.implicit, littleEndian: uid !== SYNTAXES.explicitBE };
  let offset = header.datasetOffset;
  for (const element of sampleElements()) {
    offset += encodeDataset([element], syntax).length;
    out.add(offset);
  }
  return out;
}

describe("Part10Reader", () => {
  it("rejects non-DICOM input as soon as the magic is wrong", () => {
    const reader = new Part10Reader();
    reader.write(new Uint8Array(128));
    expectError(() => reader.write(new Uint8Array([0x44, 0x49, 0x58])), "not-dicom");
    // The failure is sticky.
    expectError(() => reader.end(), "not-dicom");
    expectError(() => read(new Uint8Array(0)), "not-dicom");
    expectError(() => read(new TextEncoder().encode("%PDF-1.7 ".repeat(20))), "not-dicom");
  });

  it("reports a stream cut inside the preamble, tag, length, value or item as truncated", () => {
    const bytes = sample(SYNTAXES.explicitLE);
    const header = read(bytes);
    const pixel = header.bulkData["7FE00010"]!.offset;
    expectError(() => read(bytes.subarray(0, 100)), "truncated");
    expectError(() => read(bytes.subarray(0, pixel - 12 + 2)), "truncated"); // inside the tag
    expectError(() => read(bytes.subarray(0, pixel - 2)), "truncated"); // inside the length
    expectError(() => read(bytes.subarray(0, pixel + 3)), "truncated"); // inside the value
    const item = header.bulkData["00540016/0/00420011"]!.offset;
    expectError(() => read(bytes.subarray(0, item + DOCUMENT.length)), "truncated"); // inside the item
  });

  it("reads the File Meta when (0002,0000) is absent or wrong", () => {
    for (const metaGroupLength of ["absent", 4, 100000] as const) {
      const bytes = encodePart10({
        transferSyntaxUID: SYNTAXES.explicitLE,
        sopClassUID: SOP_CLASS,
        sopInstanceUID: SOP_INSTANCE,
        elements: sampleElements(),
        metaGroupLength,
      });
      const header = read(bytes);
      expect(header.meta["00020003"]).toEqual({ vr: "UI", Value: [SOP_INSTANCE] });
      expect(header.dataset["0020000D"]).toEqual({ vr: "UI", Value: [STUDY] });
    }
  });

  it("reads File Meta followed by an empty dataset", () => {
    const header = read(sample(SYNTAXES.explicitLE, []));
    expect(header.dataset).toEqual({});
    expect(header.datasetOffset).toBe(header.length);
  });

  it("reads private tags and undefined-length UN as an implicit VR sequence (PS3.5 6.2.2)", () => {
    const elements: Element[] = [
      { tag: 0x00090010, vr: "LO", value: "ACME" },
      { tag: 0x00091002, vr: "UN", value: new Uint8Array([1, 2, 3, 4]) },
      {
        tag: 0x00091003,
        vr: "UN",
        undefinedLengthItems: true,
        value: [[{ tag: 0x00100020, vr: "LO", value: "inner" }, { tag: 0x00091010, vr: "LO", value: "x" }]],
      },
    ];
    const header = read(sample(SYNTAXES.explicitLE, elements));
    expect(header.dataset["00091002"]).toEqual({ vr: "UN", InlineBinary: "AQIDBA==" });
    expect(header.dataset["00091003"]).toEqual({
      vr: "SQ",
      Value: [{ "00100020": { vr: "LO", Value: ["inner"] }, "00091010": { vr: "UN", InlineBinary: btoa("x ") } }],
    });
    // In implicit VR the creator is LO and the private data UN.
    const implicit = read(sample(SYNTAXES.implicit, elements.slice(0, 2)));
    expect(implicit.dataset["00090010"]).toEqual({ vr: "LO", Value: ["ACME"] });
    expect(implicit.dataset["00091002"]).toEqual({ vr: "UN", InlineBinary: "AQIDBA==" });
  });

  it("decodes every value representation of the JSON model", () => {
    const elements: Element[] = [
      { tag: 0x00080005, vr: "CS", value: "ISO_IR 100" },
      { tag: 0x00081160, vr: "IS", value: "1\\2\\3" },
      { tag: 0x00100010, vr: "PN", value: new Uint8Array([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x5e, 0x41]) },
      { tag: 0x00100030, vr: "DA", value: "" },
      { tag: 0x00181310, vr: "US", value: [0, 256, 256, 0] },
      { tag: 0x00209057, vr: "UL", value: 4000000000 },
      { tag: 0x00209165, vr: "AT", value: [0x00100020, 0x7fe00010] },
      { tag: 0x00280106, vr: "SS", value: -5 },
      { tag: 0x00189219, vr: "FD", value: [1.5, -2.25] },
      { tag: 0x00186028, vr: "FL", value: 0.5 },
      { tag: 0x00186020, vr: "SL", value: -70000 },
      { tag: 0x00720082, vr: "SV", value: -3 },
      { tag: 0x0072007e, vr: "UV", value: Number.MAX_SAFE_INTEGER },
      { tag: 0x00081190, vr: "UR", value: "https://example.org/a\\b " },
      { tag: 0x00284000, vr: "LT", value: " line one\\two" },
      { tag: 0x00080008, vr: "CS", value: "ORIGINAL\\PRIMARY\\\\AXIAL" },
    ];
    const ds = read(sample(SYNTAXES.explicitBE, elements)).dataset;
    expect(ds["00081160"]).toEqual({ vr: "IS", Value: [1, 2, 3] });
    expect(ds["00100010"]).toEqual({ vr: "PN", Value: [{ Alphabetic: "Müller^A" }] });
    expect(ds["00100030"]).toEqual({ vr: "DA" });
    expect(ds["00181310"]).toEqual({ vr: "US", Value: [0, 256, 256, 0] });
    expect(ds["00209057"]).toEqual({ vr: "UL", Value: [4000000000] });
    expect(ds["00209165"]).toEqual({ vr: "AT", Value: ["00100020", "7FE00010"] });
    expect(ds["00280106"]).toEqual({ vr: "SS", Value: [-5] });
    expect(ds["00189219"]).toEqual({ vr: "FD", Value: [1.5, -2.25] });
    expect(ds["00186028"]).toEqual({ vr: "FL", Value: [0.5] });
    expect(ds["00186020"]).toEqual({ vr: "SL", Value: [-70000] });
    expect(ds["00720082"]).toEqual({ vr: "SV", Value: [-3] });
    expect(ds["0072007E"]).toEqual({ vr: "UV", Value: [Number.MAX_SAFE_INTEGER] });
    expect(ds["00081190"]).toEqual({ vr: "UR", Value: ["https://example.org/a\\b"] });
    expect(ds["00284000"]).toEqual({ vr: "LT", Value: [" line one\\two"] });
    expect(ds["00080008"]).toEqual({ vr: "CS", Value: ["ORIGINAL", "PRIMARY", null, "AXIAL"] });
  });

  it("gives SV/UV beyond 2^53 as strings and swaps big endian InlineBinary to little endian", () => {
    const big = encodeDataset([{ tag: 0x0072007e, vr: "OW", value: new Uint8Array([1, 2, 3, 4]) }], {
      explicitVR: true,
      littleEndian: false,
    });
    expect(big.length).toBe(16);
    const elements: Element[] = [
      { tag: 0x00720082, vr: "UV", value: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) },
      { tag: 0x60003000, vr: "OW", value: new Uint8Array([1, 2, 3, 4]) },
    ];
    const ds = read(sample(SYNTAXES.explicitBE, elements)).dataset;
    expect(ds["00720082"]).toEqual({ vr: "UV", Value: ["18446744073709551615"] });
    expect(ds["60003000"]).toEqual({ vr: "OW", InlineBinary: btoa(String.fromCharCode(2, 1, 4, 3)) });
  });

  it("walks encapsulated Pixel Data without buffering fragments", () => {
    const fragments = [
      new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2]),
      new Uint8Array([3, 4, 0xff, 0xd9]),
      new Uint8Array([0xff, 0xd8, 0xff, 0xdb, 5, 6, 0xff, 0xd9]),
    ];
    const bytes = sample("1.2.840.10008.1.2.4.50", [
      { tag: 0x0020000d, vr: "UI", value: STUDY },
      { tag: 0x7fe00010, vr: "OB", value: { fragments, bot: [0, 26] } },
      { tag: 0xfffcfffc, vr: "OB", value: new Uint8Array(4) },
    ]);
    const header = read(bytes);
    const info = header.pixelData!;
    expect(info.encapsulated).toBe(true);
    expect(info.basicOffsetTable).toEqual([0, 26]);
    expect(info.fragments.map((f) => slice(bytes, f))).toEqual(fragments);
    expect(info.codestreamStarts).toEqual([0, 2]);
    const value = slice(bytes, { offset: info.valueOffset, length: info.valueLength });
    expect(Array.from(value.subarray(0, 4))).toEqual([0xfe, 0xff, 0x00, 0xe0]);
    expect(Array.from(value.subarray(-8))).toEqual([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    expect(header.bulkData["7FE00010"]).toEqual({ offset: info.valueOffset, length: info.valueLength });
    expect(header.dataset["7FE00010"]).toEqual({ vr: "OB", BulkDataURI: "bulkdata/7FE00010" });
    expect(header.dataset["FFFCFFFC"]).toEqual({ vr: "OB", InlineBinary: "AAAAAA==" });
    for (let cut = 0; cut <= bytes.length; cut++) expect(readInPieces(bytes, [cut])).toEqual(header);
  });

  it("reads the Extended Offset Table", () => {
    const offsets = new Uint8Array(16);
    const lengths = new Uint8Array(16);
    new DataView(offsets.buffer).setBigUint64(8, 14n, true);
    new DataView(lengths.buffer).setBigUint64(0, 5n, true);
    new DataView(lengths.buffer).setBigUint64(8, 6n, true);
    const header = read(
      sample("1.2.840.10008.1.2.4.90", [
        { tag: 0x7fe00001, vr: "OV", value: offsets },
        { tag: 0x7fe00002, vr: "OV", value: lengths },
        { tag: 0x7fe00010, vr: "OB", value: { fragments: [new Uint8Array(6), new Uint8Array(6)] } },
      ]),
      { inlineBinaryMax: 8 },
    );
    expect(header.extendedOffsetTable).toEqual({ offsets: [0, 14], lengths: [5, 6] });
    expect(header.dataset["7FE00001"]).toEqual({ vr: "OV", BulkDataURI: "bulkdata/7FE00001" });
  });

  it("turns values over maxElementBytes into bulk data", () => {
    const text = "x".repeat(100);
    const bytes = sample(SYNTAXES.explicitLE, [{ tag: 0x00204000, vr: "LT", value: text }]);
    const header = read(bytes, { maxElementBytes: 64 });
    expect(header.dataset["00204000"]).toEqual({ vr: "LT", BulkDataURI: "bulkdata/00204000" });
    expect(new TextDecoder().decode(slice(bytes, header.bulkData["00204000"]!))).toBe(text);
  });

  it("fails with header-too-large past maxHeaderBytes", () => {
    const bytes = sample(SYNTAXES.explicitLE);
    expectError(() => read(bytes, { maxHeaderBytes: 200 }), "header-too-large");
  });

  it("reports malformed structure", () => {
    const first = sample(SYNTAXES.explicitLE, [{ tag: 0x00080060, vr: "CS", value: "OT" }]);
    const bad = concat([first, new Uint8Array([0x10, 0, 0x10, 0, 0x31, 0x32, 0, 0])]);
    expectError(() => read(bad), "malformed");
    // File Meta without (0002,0010), then a dataset element.
    const noSyntax = new Uint8Array(132 + 24);
    noSyntax.set([0x44, 0x49, 0x43, 0x4d], 128);
    noSyntax.set([2, 0, 2, 0, 0x55, 0x49, 4, 0, 0x31, 0x2e, 0x32, 0], 132);
    noSyntax.set([8, 0, 0x60, 0, 0x43, 0x53, 4, 0, 0x4f, 0x54, 0x20, 0x20], 144);
    expectError(() => read(noSyntax), "malformed");
    const strayDelimiter = concat([sample(SYNTAXES.explicitLE, []), new Uint8Array([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])]);
    expectError(() => read(strayDelimiter), "malformed");
  });

  it("reads an Implicit VR dataset mislabelled with an explicit syntax", () => {
    const meta = sample(SYNTAXES.explicitLE, []);
    const bytes = concat([meta, encodeDataset(sampleElements(), { explicitVR: false, littleEndian: true })]);
    const header = read(bytes);
    expect(header.dataset["0020000D"]).toEqual({ vr: "UI", Value: [STUDY] });
    expect(header.dataset["00280010"]).toEqual({ vr: "US", Value: [2] });
  });

  it("knows the header is complete when Pixel Data starts", () => {
    const bytes = sample(SYNTAXES.explicitLE);
    const full = read(bytes);
    const reader = new Part10Reader();
    reader.write(bytes.subarray(0, full.bulkData["7FE00010"]!.offset - 13));
    expect(reader.headerComplete).toBe(false);
    expect(reader.header.dataset?.["0020000D"]).toEqual({ vr: "UI", Value: [STUDY] });
    reader.write(bytes.subarray(full.bulkData["7FE00010"]!.offset - 13, full.bulkData["7FE00010"]!.offset));
    expect(reader.headerComplete).toBe(true);
    expect(reader.header.pixelData?.valueLength).toBe(PIXELS.length);
  });

  it("skips a 256 MiB Pixel Data streamed through one reused buffer", () => {
    const size = 256 * 1024 * 1024;
    const head = sample(SYNTAXES.explicitLE, [{ tag: 0x0020000d, vr: "UI", value: STUDY }]);
    const pixelHeader = new Uint8Array([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0, 0, 0, 0]);
    new DataView(pixelHeader.buffer).setUint32(8, size, true);
    const reader = new Part10Reader();
    const buffer = new Uint8Array(1024 * 1024 + 7);
    reader.write(concat([head, pixelHeader]));
    for (let sent = 0; sent < size; sent += buffer.length) {
      buffer.fill(sent & 0xff);
      reader.write(buffer.subarray(0, Math.min(buffer.length, size - sent)));
    }
    const header = reader.end();
    expect(header.pixelData).toMatchObject({ valueOffset: head.length + 12, valueLength: size });
    expect(header.length).toBe(head.length + 12 + size);
  });

  it("copies what it keeps of a chunk, so callers may reuse their buffer", () => {
    const bytes = sample(SYNTAXES.implicit);
    const reader = new Part10Reader();
    const buffer = new Uint8Array(5);
    for (let i = 0; i < bytes.length; i += 5) {
      const piece = bytes.subarray(i, i + 5);
      buffer.set(piece);
      reader.write(buffer.subarray(0, piece.length));
      buffer.fill(0xaa);
    }
    expect(reader.end()).toEqual(read(bytes));
  });

  it("rejects a corrupt or truncated deflate stream", () => {
    const bytes = sample(SYNTAXES.deflated);
    const full = read(bytes);
    expectError(() => read(bytes.subarray(0, bytes.length - 3)), "truncated");
    const corrupt = bytes.slice();
    corrupt.fill(0xff, full.datasetOffset, full.datasetOffset + 4);
    expectError(() => read(corrupt), "malformed");
  });
});
