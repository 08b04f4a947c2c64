/**
 * Shared fixtures for the dicom tests: a small dataset exercising every
 * branch of the reader, and helpers to feed it in pieces.
 */
import { inflateSync } from "fflate";
import { Part10Reader, type Part10Header, type Part10ReaderOptions } from "../part10-reader.ts";
import { concat, type Element } from "./encode.ts";

export const SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7";
export const SOP_INSTANCE = "1.2.3.4.5.6.7.8.9";
export const STUDY = "1.2.3.4.5.6.7";
export const SERIES = "1.2.3.4.5.6.7.8";

/** 2 frames of 2x2 16-bit pixels. */
export const PIXELS = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
/** Large enough to become bulk data with the default inlineBinaryMax. */
export const DOCUMENT = Uint8Array.from({ length: 2000 }, (_, i) => i & 0xff);

export function sampleElements(pixelData: Element = { tag: 0x7fe00010, vr: "OW", value: PIXELS }): Element[] {
  return [
    { tag: 0x00080005, vr: "CS", value: "ISO_IR 192" },
    { tag: 0x00080016, vr: "UI", value: SOP_CLASS },
    { tag: 0x00080018, vr: "UI", value: SOP_INSTANCE },
    { tag: 0x00080060, vr: "CS", value: "OT" },
    { tag: 0x00090010, vr: "LO", value: "ACME 1.0" },
    { tag: 0x00091001, vr: "LO", value: "private" },
    { tag: 0x00100010, vr: "PN", value: "Müller^Hans=ミュラー^ハンス=myura^hansu" },
    { tag: 0x00100020, vr: "LO", value: "PID-1" },
    { tag: 0x0020000d, vr: "UI", value: STUDY },
    { tag: 0x0020000e, vr: "UI", value: SERIES },
    { tag: 0x00200013, vr: "IS", value: "7" },
    {
      tag: 0x00540016,
      vr: "SQ",
      undefinedLength: true,
      undefinedLengthItems: true,
      value: [
        [
          { tag: 0x00181072, vr: "TM", value: "120000" },
          {
            tag: 0x00540300,
            vr: "SQ",
            value: [[{ tag: 0x00080100, vr: "SH", value: "C-111A1" }], []],
          },
          { tag: 0x00420011, vr: "OB", value: DOCUMENT },
        ],
        [{ tag: 0x00181074, vr: "DS", value: "370.5" }],
      ],
    },
    { tag: 0x00280002, vr: "US", value: 1 },
    { tag: 0x00280008, vr: "IS", value: "2" },
    { tag: 0x00280010, vr: "US", value: 2 },
    { tag: 0x00280011, vr: "US", value: 2 },
    { tag: 0x00280100, vr: "US", value: 16 },
    { tag: 0x00281050, vr: "DS", value: "40\\\\-10.5" },
    pixelData,
  ];
}

/** Reads `bytes` written in chunks cut at `cuts` (sorted offsets). */
export function readInPieces(bytes: Uint8Array, cuts: number[], options?: Part10ReaderOptions): Part10Header {
  const reader = new Part10Reader(options);
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.write(bytes.subarray(from, cut));
    from = cut;
  }
  return reader.end();
}

export function read(bytes: Uint8Array, options?: Part10ReaderOptions): Part10Header {
  return readInPieces(bytes, [], options);
}

/** The Part-10 bytes as offsets in the header see them: the dataset inflated when deflated. */
export function logicalBytes(bytes: Uint8Array, header: Part10Header): Uint8Array {
  if (!header.deflated) return bytes;
  return concat([bytes.subarray(0, header.datasetOffset), inflateSync(bytes.subarray(header.datasetOffset))]);
}
