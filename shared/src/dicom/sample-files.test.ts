/**
 * Real files from other projects' test data, read from disk when installed
 * (Node-only test: the reader itself uses Web APIs only). Skipped when the
 * directories are absent; nothing is downloaded.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { frameRanges } from "./frames.ts";
import { numberValue, stringValue } from "./json.ts";
import { Part10Error, Part10Reader, type Part10Header } from "./part10-reader.ts";

const PYDICOM = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
const DICOMWEB_CLIENT = new URL(
  "../../../node_modules/.pnpm/dicomweb-client@0.11.3/node_modules/dicomweb-client/testData",
  import.meta.url,
).pathname;

/** Reads a file in odd-sized chunks, so element boundaries fall mid-chunk. */
function readFile(path: string): { bytes: Uint8Array; header: Part10Header } {
  const bytes = new Uint8Array(readFileSync(path));
  const reader = new Part10Reader();
  for (let i = 0; i < bytes.length; i += 997) reader.write(bytes.subarray(i, i + 997));
  return { bytes, header: reader.end() };
}

interface Expected {
  transferSyntaxUID: string;
  study?: string;
  rows?: number;
  columns?: number;
  frames: number;
  patientName?: string;
}

function checkFile(path: string, expected: Expected): void {
  const { bytes, header } = readFile(path);
  expect(header.length).toBe(bytes.length);
  expect(header.transferSyntaxUID).toBe(expected.transferSyntaxUID);
  const ds = header.dataset;
  if (expected.study) expect(stringValue(ds, "0020000D")).toBe(expected.study);
  if (expected.rows) expect(numberValue(ds, "00280010")).toBe(expected.rows);
  if (expected.columns) expect(numberValue(ds, "00280011")).toBe(expected.columns);
  if (expected.patientName) expect(stringValue(ds, "00100010")).toBe(expected.patientName);
  const frames = numberValue(ds, "00280008") ?? 1;
  expect(frames).toBe(expected.frames);
  const ranges = frameRanges(header, frames);
  expect(ranges).toHaveLength(frames);
  for (const frame of ranges) {
    for (const range of frame) expect(range.offset + range.length).toBeLessThanOrEqual(header.deflated ? Infinity : bytes.length);
  }
}

describe.skipIf(!existsSync(PYDICOM))("pydicom test files", () => {
  const file = (name: string) => `${PYDICOM}/${name}`;

  it("CT_small.dcm (explicit VR little endian)", () => {
    checkFile(file("CT_small.dcm"), {
      transferSyntaxUID: "1.2.840.10008.1.2.1",
      study: "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
      rows: 128,
      columns: 128,
      frames: 1,
      patientName: "CompressedSamples^CT1",
    });
    const { header } = readFile(file("CT_small.dcm"));
    expect(header.pixelData?.valueLength).toBe(128 * 128 * 2);
  });

  it("MR_small_bigendian.dcm (explicit VR big endian)", () => {
    checkFile(file("MR_small_bigendian.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.2", rows: 64, columns: 64, frames: 1 });
  });

  it("JPEG2000.dcm", () => {
    checkFile(file("JPEG2000.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.4.91", rows: 1024, columns: 256, frames: 1 });
  });

  it("SC_rgb_rle.dcm", () => {
    checkFile(file("SC_rgb_rle.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.5", rows: 100, columns: 100, frames: 1 });
  });

  it("image_dfl.dcm (deflated)", () => {
    const { header } = readFile(file("image_dfl.dcm"));
    expect(header.deflated).toBe(true);
    expect(header.transferSyntaxUID).toBe("1.2.840.10008.1.2.1.99");
    expect(stringValue(header.dataset, "00080018")).toMatch(/^[0-9.]+$/);
    expect(numberValue(header.dataset, "00280010")).toBe(512);
    expect(frameRanges(header, 1)[0]![0]!.length).toBe(header.pixelData!.valueLength);
  });

  it("MR_small_jpeg_ls_lossless.dcm", () => {
    checkFile(file("MR_small_jpeg_ls_lossless.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.4.80", rows: 64, columns: 64, frames: 1 });
  });

  it("SC_rgb_jpeg_dcmtk.dcm", () => {
    checkFile(file("SC_rgb_jpeg_dcmtk.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.4.50", rows: 100, columns: 100, frames: 1 });
  });

  it("reads every file or rejects it with a Part10Error code", () => {
    const codes: Record<string, string> = {};
    for (const name of readdirSync(PYDICOM).filter((n) => n.endsWith(".dcm"))) {
      try {
        const { header } = readFile(file(name));
        expect(Object.keys(header.dataset).length).toBeGreaterThan(0);
      } catch (error) {
        expect(error).toBeInstanceOf(Part10Error);
        codes[name] = (error as Part10Error).code;
      }
    }
    // Files pydicom ships as deliberately broken or without a File Meta.
    expect(codes["no_meta.dcm"]).toBe("not-dicom");
    expect(codes["MR_truncated.dcm"]).toBe("truncated");
    expect(codes["CT_small.dcm"]).toBeUndefined();
    expect(codes["SC_rgb_jpeg.dcm"]).toBeUndefined();
  });

  it("native multi-frame and RLE multi-frame", () => {
    checkFile(file("rtdose.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2", rows: 10, columns: 10, frames: 15 });
    checkFile(file("rtdose_rle.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.5", rows: 10, columns: 10, frames: 15 });
    checkFile(file("SC_ybr_full_422_uncompressed.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.1", rows: 100, frames: 1 });
  });
});

describe.skipIf(!existsSync(DICOMWEB_CLIENT))("dicomweb-client test files", () => {
  const file = (name: string) => `${DICOMWEB_CLIENT}/${name}`;

  it("sample.dcm (implicit VR, native)", () => {
    checkFile(file("sample.dcm"), {
      transferSyntaxUID: "1.2.840.10008.1.2",
      study: "1.3.6.1.4.1.14519.5.2.1.2744.7002.271803936741289691489150315969",
      rows: 128,
      frames: 1,
    });
    const { header } = readFile(file("sample.dcm"));
    expect(header.pixelData?.valueLength).toBe(128 * 128 * 2);
  });

  it("sample2.dcm (explicit VR, native 8-bit)", () => {
    checkFile(file("sample2.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.1", rows: 512, frames: 1, patientName: "VOI^LUT^Test" });
  });

  it("sample3.dcm (implicit VR with private bulk data)", () => {
    const { header } = readFile(file("sample3.dcm"));
    expect(stringValue(header.dataset, "00100010")).toBe("MISTER^MR");
    expect(header.pixelData?.valueLength).toBe(256 * 256 * 2);
  });

  it("US-PAL-8-10x-echo.dcm (RLE, 10 frames, one fragment each)", () => {
    checkFile(file("US-PAL-8-10x-echo.dcm"), { transferSyntaxUID: "1.2.840.10008.1.2.5", rows: 430, frames: 10 });
    const { bytes, header } = readFile(file("US-PAL-8-10x-echo.dcm"));
    // PS3.5 G.5: each RLE frame opens with a 64-byte header whose first word counts segments (1 for 8-bit palette).
    for (const [frame] of frameRanges(header, 10)) {
      expect(new DataView(bytes.buffer, bytes.byteOffset + frame!.offset, 4).getUint32(0, true)).toBe(1);
    }
  });
});
