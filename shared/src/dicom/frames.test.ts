import { describe, expect, it } from "vitest";
import { frameRanges } from "./frames.ts";
import { Part10Error, type ByteRange } from "./part10-reader.ts";
import { encodePart10, type Element } from "./testing/encode.ts";
import { PIXELS, SOP_CLASS, SOP_INSTANCE, read, sampleElements } from "./testing/fixtures.ts";

const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";

function file(transferSyntaxUID: string, elements: Element[]): Uint8Array {
  return encodePart10({ transferSyntaxUID, sopClassUID: SOP_CLASS, sopInstanceUID: SOP_INSTANCE, elements });
}

function bytesOf(bytes: Uint8Array, ranges: ByteRange[]): number[] {
  return ranges.flatMap((r) => Array.from(bytes.subarray(r.offset, r.offset + r.length)));
}

const jpeg = (n: number, size = 6): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i === 0 ? 0xff : i === 1 ? 0xd8 : n));
const tail = (n: number, size = 4): Uint8Array => new Uint8Array(size).fill(n);

function encapsulated(fragments: Uint8Array[], bot?: number[], extra: Element[] = []): Element[] {
  return [
    { tag: 0x00280010, vr: "US", value: 2 },
    { tag: 0x00280011, vr: "US", value: 2 },
    ...extra,
    { tag: 0x7fe00010, vr: "OB", value: bot ? { fragments, bot } : { fragments } },
  ];
}

describe("frameRanges", () => {
  it("splits native Pixel Data into contiguous frames", () => {
    for (const uid of ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"]) {
      const bytes = file(uid, sampleElements());
      const header = read(bytes);
      const frames = frameRanges(header, 2);
      const start = header.pixelData!.valueOffset;
      expect(frames).toEqual([[{ offset: start, length: 8 }], [{ offset: start + 8, length: 8 }]]);
      if (!header.deflated) expect(bytesOf(bytes, frames[1]!)).toEqual(Array.from(PIXELS.subarray(8)));
    }
  });

  it("packs 1-bit frames by bits, widening each to whole bytes", () => {
    const header = read(
      file("1.2.840.10008.1.2.1", [
        { tag: 0x00280010, vr: "US", value: 3 },
        { tag: 0x00280011, vr: "US", value: 3 },
        { tag: 0x00280100, vr: "US", value: 1 },
        { tag: 0x7fe00010, vr: "OB", value: new Uint8Array(4) },
      ]),
    );
    const o = header.pixelData!.valueOffset;
    // 9 bits per frame: frame 2 spans bits 9-17, bytes 1-2; frame 3 bits 18-26, bytes 2-3.
    expect(frameRanges(header, 3)).toEqual([
      [{ offset: o, length: 2 }],
      [{ offset: o + 1, length: 2 }],
      [{ offset: o + 2, length: 2 }],
    ]);
    expect(() => frameRanges(header, 4)).toThrow(Part10Error);
  });

  it("sizes native YBR_FULL_422 frames at two samples per pixel", () => {
    const header = read(
      file("1.2.840.10008.1.2.1", [
        { tag: 0x00280002, vr: "US", value: 3 },
        { tag: 0x00280004, vr: "CS", value: "YBR_FULL_422" },
        { tag: 0x00280010, vr: "US", value: 2 },
        { tag: 0x00280011, vr: "US", value: 2 },
        { tag: 0x00280100, vr: "US", value: 8 },
        { tag: 0x7fe00010, vr: "OB", value: new Uint8Array(16) },
      ]),
    );
    expect(frameRanges(header, 2).map(([r]) => r!.length)).toEqual([8, 8]);
  });

  it("maps one fragment per frame", () => {
    const fragments = [jpeg(1), jpeg(2), jpeg(3)];
    const bytes = file(JPEG_BASELINE, encapsulated(fragments));
    const frames = frameRanges(read(bytes), 3);
    expect(frames.map((f) => bytesOf(bytes, f))).toEqual(fragments.map((f) => Array.from(f)));
  });

  it("groups fragments by the Basic Offset Table", () => {
    // Fragment items are 8 + 6, 8 + 4, 8 + 6, 8 + 4 bytes long.
    const fragments = [jpeg(1), tail(1), jpeg(2), tail(2)];
    const bytes = file(JPEG_BASELINE, encapsulated(fragments, [0, 26]));
    const frames = frameRanges(read(bytes), 2);
    expect(frames.map((f) => f.length)).toEqual([2, 2]);
    expect(bytesOf(bytes, frames[1]!)).toEqual([...jpeg(2), ...tail(2)]);
    expect(() => frameRanges(read(file(JPEG_BASELINE, encapsulated(fragments, [0, 20]))), 2)).toThrow(/not the start/);
  });

  it("uses the Extended Offset Table and its lengths", () => {
    const fragments = [jpeg(1, 8), jpeg(2, 8)];
    const offsets = new Uint8Array(16);
    const lengths = new Uint8Array(16);
    new DataView(offsets.buffer).setBigUint64(8, 16n, true);
    new DataView(lengths.buffer).setBigUint64(0, 7n, true);
    new DataView(lengths.buffer).setBigUint64(8, 8n, true);
    const bytes = file(
      JPEG_BASELINE,
      encapsulated(fragments, undefined, [
        { tag: 0x7fe00001, vr: "OV", value: offsets },
        { tag: 0x7fe00002, vr: "OV", value: lengths },
      ]),
    );
    const header = read(bytes);
    const frames = frameRanges(header, 2);
    expect(frames[0]).toEqual([{ offset: header.pixelData!.fragments[0]!.offset, length: 7 }]);
    expect(bytesOf(bytes, frames[1]!)).toEqual(Array.from(fragments[1]!));
  });

  it("puts every fragment in a single frame", () => {
    const fragments = [jpeg(1), tail(1), tail(2)];
    const bytes = file(JPEG_BASELINE, encapsulated(fragments));
    expect(frameRanges(read(bytes), 1)).toEqual([read(bytes).pixelData!.fragments]);
  });

  it("splits at codestream starts when there is no offset table", () => {
    const fragments = [jpeg(1), tail(1), tail(2), jpeg(2), tail(3)];
    const bytes = file(JPEG_BASELINE, encapsulated(fragments));
    const frames = frameRanges(read(bytes), 2);
    expect(frames.map((f) => f.length)).toEqual([3, 2]);
    expect(bytesOf(bytes, frames[1]!)).toEqual([...jpeg(2), ...tail(3)]);
  });

  it("fails when frames cannot be delimited", () => {
    const undelimited = read(file(JPEG_BASELINE, encapsulated([tail(1), tail(2), tail(3)])));
    expect(() => frameRanges(undelimited, 2)).toThrow(Part10Error);
    const noPixels = read(file("1.2.840.10008.1.2.1", [{ tag: 0x00280010, vr: "US", value: 2 }]));
    expect(() => frameRanges(noPixels, 1)).toThrow(/no Pixel Data/);
    try {
      frameRanges(undelimited, 2);
    } catch (error) {
      expect((error as Part10Error).code).toBe("malformed");
    }
  });
});
