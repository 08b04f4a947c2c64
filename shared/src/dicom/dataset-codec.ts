/**
 * Raw datasets (no preamble, no File Meta; PS3.5 7) to DICOM JSON and back,
 * for the small datasets DIMSE carries itself: C-FIND request and response
 * identifiers (PS3.4 C.4.1.1.3, PS3.7 9.1.2). Stored instances are never
 * re-encoded: they travel as the bytes received.
 *
 * Reading goes through the Part-10 reader (one parser); writing follows
 * PS3.5 7.1 (element encoding), 6.2 (VRs and padding), 7.5 (items, here of
 * defined length) and 7.3 (byte order).
 */
import { deflateSync } from "fflate";
import { concat } from "../bytes.ts";
import { swapWords } from "./json-value.ts";
import { type DicomJson, type DicomJsonAttribute, type PersonName } from "./json.ts";
import { Part10Reader } from "./part10-reader.ts";
import { transferSyntax } from "./transfer-syntax.ts";

export type DatasetCodecErrorCode = "unknown-transfer-syntax" | "unencodable";

export class DatasetCodecError extends Error {
  readonly code: DatasetCodecErrorCode;

  constructor(code: DatasetCodecErrorCode, message: string) {
    super(message);
    this.name = "DatasetCodecError";
    this.code = code;
  }
}

/**
 * Parses a raw dataset in `transferSyntaxUID` into DICOM JSON. Every value
 * is inline (no BulkDataURI): these datasets are small. Throws Part10Error
 * ("truncated", "malformed") for bytes that are not a dataset.
 */
export function readDataset(bytes: Uint8Array, transferSyntaxUID: string): DicomJson {
  if (!transferSyntax(transferSyntaxUID)) {
    throw new DatasetCodecError("unknown-transfer-syntax", `transfer syntax ${transferSyntaxUID} is not known`);
  }
  if (bytes.length === 0) return {};
  const limit = Math.max(bytes.length, 1);
  const reader = new Part10Reader({ datasetOnly: { transferSyntaxUID }, inlineBinaryMax: limit, maxElementBytes: limit });
  reader.write(bytes);
  return reader.end().dataset;
}

interface Encoding {
  explicitVR: boolean;
  littleEndian: boolean;
}

const SPECIFIC_CHARACTER_SET = "00080005";
const UNDEFINED_PAD = 0x20;
const ITEM = 0xfffee000;

// PS3.5 7.1.2, Table 7.1-2: VRs with a 16-bit length in Explicit VR.
const SHORT_LENGTH_VRS = new Set([
  "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US",
]);
const TEXT_VRS = new Set(["AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"]);
// PS3.5 6.1.2.3: the VRs whose text the Specific Character Set governs.
const CHARSET_VRS = new Set(["SH", "LO", "UC", "ST", "LT", "UT", "PN"]);
// PS3.5 6.2: single-valued text, a backslash is an ordinary character.
const UNSPLIT_VRS = new Set(["LT", "ST", "UT", "UR"]);
const NUMBER_SIZE: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8 };
// Word size of the binary VRs, swapped in Big Endian (PS3.5 7.3); OB and UN are bytes.
const WORD_SIZE: Record<string, number> = { OB: 1, UN: 1, OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };
const DS_MAX = 16; // PS3.5 Table 6.2-1: a DS value is at most 16 bytes.

/**
 * Encodes DICOM JSON as a raw dataset in `transferSyntaxUID` (any known
 * syntax: its dataset encoding is Implicit LE, Explicit LE, Explicit BE or
 * deflated Explicit LE). Attributes go in ascending tag order (PS3.5 7.1),
 * group lengths are left out, sequences and items get defined lengths, a
 * BulkDataURI value is written empty (its bytes are not here).
 *
 * Text is written in the dataset's Specific Character Set when this codec
 * can encode it and the text fits (default repertoire, ISO_IR 100,
 * ISO_IR 192); otherwise (0008,0005) becomes "ISO_IR 192" and the text
 * UTF-8. Throws DatasetCodecError for an unknown syntax or a value its VR
 * cannot hold.
 */
export function writeDataset(ds: DicomJson, transferSyntaxUID: string): Uint8Array {
  const ts = transferSyntax(transferSyntaxUID);
  if (!ts) throw new DatasetCodecError("unknown-transfer-syntax", `transfer syntax ${transferSyntaxUID} is not known`);
  const { dataset, encode } = withCharacterSet(ds);
  const bytes = encodeItem(dataset, { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian }, encode, true);
  // PS3.5 A.5: a deflated dataset is a raw deflate stream (RFC 1951).
  return ts.deflated ? deflateSync(bytes) : bytes;
}

type TextEncode = (s: string) => Uint8Array;

const utf8 = new TextEncoder();
const encodeUtf8: TextEncode = (s) => utf8.encode(s);
const encodeLatin1: TextEncode = (s) => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};

/** The text the Specific Character Set governs, everywhere in the dataset. */
function* charsetText(ds: DicomJson): Generator<string> {
  for (const attribute of Object.values(ds)) {
    if (attribute.vr === "SQ") {
      for (const item of (attribute.Value ?? []) as DicomJson[]) if (item) yield* charsetText(item);
    } else if (CHARSET_VRS.has(attribute.vr)) {
      for (const value of attribute.Value ?? []) {
        if (typeof value === "string") yield value;
        else if (value && typeof value === "object") yield* Object.values(value as PersonName).filter((v): v is string => typeof v === "string");
      }
    }
  }
}

/** PS3.3 C.12.1.1.2: picks the character set the text is written in. */
function withCharacterSet(ds: DicomJson): { dataset: DicomJson; encode: TextEncode } {
  let max = 0;
  for (const text of charsetText(ds)) for (let i = 0; i < text.length; i++) max = Math.max(max, text.charCodeAt(i));
  const declared = ((ds[SPECIFIC_CHARACTER_SET]?.Value ?? []) as unknown[]).map((t) => (typeof t === "string" ? t.trim().replace(/[ _]+/g, "_") : ""));
  // ASCII is the same bytes in every character set DICOM allows.
  if (max < 0x80) return { dataset: ds, encode: encodeLatin1 };
  if (declared.length === 1 && declared[0] === "ISO_IR_192") return { dataset: ds, encode: encodeUtf8 };
  if (declared.length === 1 && declared[0] === "ISO_IR_100" && max <= 0xff) return { dataset: ds, encode: encodeLatin1 };
  return { dataset: { ...ds, [SPECIFIC_CHARACTER_SET]: { vr: "CS", Value: ["ISO_IR 192"] } }, encode: encodeUtf8 };
}

function encodeItem(ds: DicomJson, enc: Encoding, text: TextEncode, top: boolean): Uint8Array {
  const tags = Object.keys(ds)
    .map((key) => ({ key, tag: parseTag(key) }))
    // Group lengths are optional and would be wrong after re-encoding (PS3.5 7.2);
    // an item inherits the Specific Character Set chosen for the whole dataset.
    .filter(({ key, tag }) => (tag & 0xffff) !== 0 && (top || key.toUpperCase() !== SPECIFIC_CHARACTER_SET))
    .sort((a, b) => a.tag - b.tag);
  return concat(tags.map(({ key, tag }) => encodeElement(tag, ds[key]!, enc, text)));
}

function parseTag(key: string): number {
  if (!/^[0-9A-Fa-f]{8}$/.test(key)) throw new DatasetCodecError("unencodable", `"${key}" is not a tag of 8 hex digits (PS3.18 F.2.1)`);
  return parseInt(key, 16) >>> 0;
}

function encodeElement(tag: number, attribute: DicomJsonAttribute, enc: Encoding, text: TextEncode): Uint8Array {
  const vr = attribute.vr;
  if (!/^[A-Z]{2}$/.test(vr)) throw new DatasetCodecError("unencodable", `(${hex(tag)}) has no valid VR`);
  const value = vr === "SQ" ? encodeSequence(attribute, enc, text) : encodeValue(tag, attribute, enc.littleEndian, text);
  if (enc.explicitVR && SHORT_LENGTH_VRS.has(vr) && value.length > 0xffff) {
    throw new DatasetCodecError("unencodable", `(${hex(tag)}) ${vr} of ${value.length} bytes exceeds its 16-bit length (PS3.5 7.1.2)`);
  }
  return concat([header(tag, vr, value.length, enc), value]);
}

function encodeSequence(attribute: DicomJsonAttribute, enc: Encoding, text: TextEncode): Uint8Array {
  // PS3.5 7.5.1: each item is (FFFE,E000), its length, then its elements.
  const items = ((attribute.Value ?? []) as (DicomJson | null)[]).map((item) => {
    const body = encodeItem(item ?? {}, enc, text, false);
    return concat([tagAndLength(ITEM, body.length, enc.littleEndian), body]);
  });
  return concat(items);
}

function encodeValue(tag: number, attribute: DicomJsonAttribute, le: boolean, text: TextEncode): Uint8Array {
  const { vr } = attribute;
  if (attribute.BulkDataURI !== undefined) return new Uint8Array(0);
  if (attribute.InlineBinary !== undefined) {
    const bytes = fromBase64(attribute.InlineBinary);
    // PS3.18 F.2.7: InlineBinary is Little Endian; the padding byte is 0x00 (PS3.5 6.2).
    return pad(le ? bytes : swapWords(bytes, WORD_SIZE[vr] ?? 1), 0x00);
  }
  const values = attribute.Value ?? [];
  if (values.length === 0) return new Uint8Array(0);
  const size = NUMBER_SIZE[vr];
  if (size !== undefined) return encodeNumbers(tag, vr, size, values, le);
  if (vr === "AT") return encodeTags(tag, values, le);
  if (TEXT_VRS.has(vr)) {
    const strings = values.map((v) => textValue(tag, vr, v));
    const joined = UNSPLIT_VRS.has(vr) ? strings[0]! : strings.join("\\");
    const bytes = CHARSET_VRS.has(vr) ? text(joined) : encodeLatin1(joined);
    // PS3.5 6.2: UI is padded with NUL, the other text VRs with a space.
    return pad(bytes, vr === "UI" ? 0x00 : UNDEFINED_PAD);
  }
  throw new DatasetCodecError("unencodable", `(${hex(tag)}) ${vr} carries Value, which PS3.18 F.2 does not allow for it`);
}

function textValue(tag: number, vr: string, value: unknown): string {
  if (value === null || value === undefined) return "";
  if (vr === "PN" && typeof value === "object") {
    // PS3.5 6.2.1: Alphabetic=Ideographic=Phonetic, trailing empty groups left out.
    const name = value as PersonName;
    return [name.Alphabetic ?? "", name.Ideographic ?? "", name.Phonetic ?? ""].join("=").replace(/=+$/, "");
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new DatasetCodecError("unencodable", `(${hex(tag)}) ${vr} cannot hold ${value}`);
    if (vr === "IS") return String(Math.trunc(value));
    if (vr === "DS") return decimalString(value);
    return String(value);
  }
  if (typeof value === "string") return value;
  throw new DatasetCodecError("unencodable", `(${hex(tag)}) ${vr} value ${JSON.stringify(value)} is not text`);
}

/** The shortest form of `n` that fits DS's 16 bytes (PS3.5 Table 6.2-1). */
function decimalString(n: number): string {
  const plain = String(n);
  if (plain.length <= DS_MAX) return plain;
  for (let digits = 16; digits >= 1; digits--) {
    const s = n.toPrecision(digits).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
    if (s.length <= DS_MAX) return s;
  }
  return n.toExponential(0);
}

function encodeNumbers(tag: number, vr: string, size: number, values: unknown[], le: boolean): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((raw, i) => {
    const o = i * size;
    if (vr === "SV" || vr === "UV") {
      // PS3.18 F.2.3.1: 64-bit integers come as numbers or, beyond 2^53, as strings.
      const big = BigInt(typeof raw === "number" || typeof raw === "string" ? raw : 0);
      if (vr === "SV") view.setBigInt64(o, big, le);
      else view.setBigUint64(o, big, le);
      return;
    }
    // FL/FD may carry "NaN" or "Infinity" as strings (JSON has no such numbers).
    const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
    if (Number.isNaN(n) && vr !== "FL" && vr !== "FD") throw new DatasetCodecError("unencodable", `(${hex(tag)}) ${vr} value ${JSON.stringify(raw)} is not a number`);
    switch (vr) {
      case "US": view.setUint16(o, n, le); break;
      case "SS": view.setInt16(o, n, le); break;
      case "UL": view.setUint32(o, n, le); break;
      case "SL": view.setInt32(o, n, le); break;
      case "FL": view.setFloat32(o, n, le); break;
      case "FD": view.setFloat64(o, n, le); break;
    }
  });
  return out;
}

function encodeTags(tag: number, values: unknown[], le: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((raw, i) => {
    // PS3.5 6.2: AT is group then element, two 16-bit words.
    const t = typeof raw === "string" ? parseTag(raw) : typeof raw === "number" ? raw >>> 0 : NaN;
    if (Number.isNaN(t)) throw new DatasetCodecError("unencodable", `(${hex(tag)}) AT value ${JSON.stringify(raw)} is not a tag`);
    view.setUint16(i * 4, t >>> 16, le);
    view.setUint16(i * 4 + 2, t & 0xffff, le);
  });
  return out;
}

function header(tag: number, vr: string, length: number, enc: Encoding): Uint8Array {
  const le = enc.littleEndian;
  // PS3.5 7.1.3: Implicit VR is tag and a 32-bit length.
  if (!enc.explicitVR) return tagAndLength(tag, length, le);
  const short = SHORT_LENGTH_VRS.has(vr);
  // PS3.5 7.1.2: short VRs have a 16-bit length, the others 2 reserved bytes and a 32-bit length.
  const out = new Uint8Array(short ? 8 : 12);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, le);
  view.setUint16(2, tag & 0xffff, le);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (short) view.setUint16(6, length, le);
  else view.setUint32(8, length, le);
  return out;
}

function tagAndLength(tag: number, length: number, le: boolean): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, le);
  view.setUint16(2, tag & 0xffff, le);
  view.setUint32(4, length, le);
  return out;
}

function pad(bytes: Uint8Array, fill: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = fill;
  return out;
}


function fromBase64(s: string): Uint8Array {
  const binary = atob(s);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function hex(tag: number): string {
  return (tag >>> 0).toString(16).toUpperCase().padStart(8, "0");
}
