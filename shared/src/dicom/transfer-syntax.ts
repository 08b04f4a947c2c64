/**
 * Transfer syntaxes (PS3.5 10, PS3.6 Table A-1) and how each encodes a
 * dataset and its pixel data.
 */

export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  /** Explicit VR (PS3.5 7.1.2) or implicit VR (PS3.5 7.1.3). */
  readonly explicitVR: boolean;
  readonly littleEndian: boolean;
  /** The dataset after the File Meta group is a raw deflate stream (PS3.5 A.5). */
  readonly deflated: boolean;
  /** Pixel Data is a sequence of fragments (PS3.5 A.4). */
  readonly encapsulated: boolean;
  /**
   * Media type of a frame or of bulk pixel data retrieved with this syntax
   * (PS3.18 Tables 8.7.3-2 and 8.7.3-3).
   */
  readonly frameMediaType: string;
}

const OCTET_STREAM = "application/octet-stream";

type Encoding = Pick<TransferSyntax, "explicitVR" | "littleEndian" | "deflated" | "encapsulated">;

const NATIVE_EXPLICIT: Encoding = { explicitVR: true, littleEndian: true, deflated: false, encapsulated: false };
const ENCAPSULATED: Encoding = { explicitVR: true, littleEndian: true, deflated: false, encapsulated: true };

function entry(uid: string, name: string, encoding: Encoding, frameMediaType: string): TransferSyntax {
  return Object.freeze({ uid, name, ...encoding, frameMediaType });
}

const JPEG = "image/jpeg";
const JPEG_RETIRED = "1.2.840.10008.1.2.4.";

/** Retired JPEG processes still found in archives (PS3.6 Table A-1, PS3.5 A.4.1). */
const RETIRED_JPEG: readonly [suffix: number, name: string][] = [
  [52, "JPEG Extended (Process 3 & 5)"],
  [53, "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)"],
  [54, "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)"],
  [55, "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)"],
  [56, "JPEG Full Progression, Non-Hierarchical (Process 11 & 13)"],
  [58, "JPEG Lossless, Non-Hierarchical (Process 15)"],
  [59, "JPEG Extended, Hierarchical (Process 16 & 18)"],
  [60, "JPEG Extended, Hierarchical (Process 17 & 19)"],
  [61, "JPEG Spectral Selection, Hierarchical (Process 20 & 22)"],
  [62, "JPEG Spectral Selection, Hierarchical (Process 21 & 23)"],
  [63, "JPEG Full Progression, Hierarchical (Process 24 & 26)"],
  [64, "JPEG Full Progression, Hierarchical (Process 25 & 27)"],
  [65, "JPEG Lossless, Hierarchical (Process 28)"],
  [66, "JPEG Lossless, Hierarchical (Process 29)"],
];

/** MPEG family (PS3.5 A.4.5-A.4.7); the ".1" twins are the fragmentable variants. */
const VIDEO: readonly [suffix: string, name: string, mediaType: string][] = [
  ["100", "MPEG2 Main Profile / Main Level", "video/mpeg"],
  ["100.1", "Fragmentable MPEG2 Main Profile / Main Level", "video/mpeg"],
  ["101", "MPEG2 Main Profile / High Level", "video/mpeg"],
  ["101.1", "Fragmentable MPEG2 Main Profile / High Level", "video/mpeg"],
  ["102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", "video/mp4"],
  ["102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1", "video/mp4"],
  ["103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", "video/mp4"],
  ["103.1", "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", "video/mp4"],
  ["104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", "video/mp4"],
  ["104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", "video/mp4"],
  ["105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", "video/mp4"],
  ["105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", "video/mp4"],
  ["106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", "video/mp4"],
  ["106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", "video/mp4"],
  ["107", "HEVC/H.265 Main Profile / Level 5.1", "video/H265"],
  ["108", "HEVC/H.265 Main 10 Profile / Level 5.1", "video/H265"],
];

const TABLE: readonly TransferSyntax[] = [
  entry(
    "1.2.840.10008.1.2",
    "Implicit VR Little Endian",
    { explicitVR: false, littleEndian: true, deflated: false, encapsulated: false },
    OCTET_STREAM,
  ),
  entry("1.2.840.10008.1.2.1", "Explicit VR Little Endian", NATIVE_EXPLICIT, OCTET_STREAM),
  entry("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", ENCAPSULATED, OCTET_STREAM),
  entry(
    "1.2.840.10008.1.2.1.99",
    "Deflated Explicit VR Little Endian",
    { ...NATIVE_EXPLICIT, deflated: true },
    OCTET_STREAM,
  ),
  entry(
    "1.2.840.10008.1.2.2",
    "Explicit VR Big Endian",
    { explicitVR: true, littleEndian: false, deflated: false, encapsulated: false },
    OCTET_STREAM,
  ),
  entry("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", ENCAPSULATED, JPEG),
  entry("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", ENCAPSULATED, JPEG),
  ...RETIRED_JPEG.map(([suffix, name]) => entry(JPEG_RETIRED + suffix, name, ENCAPSULATED, JPEG)),
  entry("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", ENCAPSULATED, JPEG),
  entry(
    "1.2.840.10008.1.2.4.70",
    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
    ENCAPSULATED,
    JPEG,
  ),
  entry("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", ENCAPSULATED, "image/jls"),
  entry("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", ENCAPSULATED, "image/jls"),
  entry("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", ENCAPSULATED, "image/jp2"),
  entry("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", ENCAPSULATED, "image/jp2"),
  entry(
    "1.2.840.10008.1.2.4.92",
    "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
    ENCAPSULATED,
    "image/jpx",
  ),
  entry("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression", ENCAPSULATED, "image/jpx"),
  // JPIP Referenced syntaxes carry no Pixel Data: frames are fetched from the
  // Pixel Data Provider URL (0028,7FE0) (PS3.5 A.6, A.7), so there is no
  // frame media type of their own; octet-stream marks "not encapsulated here".
  entry("1.2.840.10008.1.2.4.94", "JPIP Referenced", NATIVE_EXPLICIT, OCTET_STREAM),
  entry("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", { ...NATIVE_EXPLICIT, deflated: true }, OCTET_STREAM),
  ...VIDEO.map(([suffix, name, mediaType]) => entry(`1.2.840.10008.1.2.4.${suffix}`, name, ENCAPSULATED, mediaType)),
  entry("1.2.840.10008.1.2.4.110", "JPEG XL Lossless", ENCAPSULATED, "image/jxl"),
  entry("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", ENCAPSULATED, "image/jxl"),
  entry("1.2.840.10008.1.2.4.112", "JPEG XL", ENCAPSULATED, "image/jxl"),
  entry("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", ENCAPSULATED, "image/jphc"),
  entry(
    "1.2.840.10008.1.2.4.202",
    "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
    ENCAPSULATED,
    "image/jphc",
  ),
  entry("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", ENCAPSULATED, "image/jphc"),
  entry("1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced", NATIVE_EXPLICIT, OCTET_STREAM),
  entry("1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate", { ...NATIVE_EXPLICIT, deflated: true }, OCTET_STREAM),
  entry("1.2.840.10008.1.2.5", "RLE Lossless", ENCAPSULATED, "image/dicom-rle"),
];

const BY_UID: ReadonlyMap<string, TransferSyntax> = new Map(TABLE.map((ts) => [ts.uid, ts]));

export const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";
export const EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99";
export const EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2";

/**
 * The syntaxes a relay offers for instances it passes on unchanged, where
 * only the sender knows which one an instance is in (a PACS's C-GET
 * sub-operations): one presentation context each, so the sender finds the
 * one its instance is stored in and need not transcode (PS3.4 C.4.3.1.3).
 * The uncompressed ones first: when contexts run short (PS3.8 9.3.2.2:
 * 128), every SOP Class keeps those.
 */
export const PASS_THROUGH_SYNTAXES: readonly string[] = [
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN, // retired, still sent by old modalities
  "1.2.840.10008.1.2.4.70", // JPEG Lossless SV1
  "1.2.840.10008.1.2.4.50", // JPEG Baseline
  "1.2.840.10008.1.2.4.51", // JPEG Extended
  "1.2.840.10008.1.2.4.57", // JPEG Lossless
  "1.2.840.10008.1.2.4.90", // JPEG 2000 Lossless
  "1.2.840.10008.1.2.4.91", // JPEG 2000
  "1.2.840.10008.1.2.4.80", // JPEG-LS Lossless
  "1.2.840.10008.1.2.4.81", // JPEG-LS Near-Lossless
  "1.2.840.10008.1.2.5", // RLE Lossless
  "1.2.840.10008.1.2.4.201", // HTJ2K Lossless
  "1.2.840.10008.1.2.4.203", // HTJ2K
];

/** The transfer syntax with this UID, or undefined for an unknown (e.g. private) one. */
export function transferSyntax(uid: string): TransferSyntax | undefined {
  return BY_UID.get(uid);
}

/** Every transfer syntax this module knows. */
export function transferSyntaxes(): readonly TransferSyntax[] {
  return TABLE;
}
