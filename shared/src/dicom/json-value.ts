/**
 * Converts one element value to its DICOM JSON form (PS3.18 F.2).
 */
import type { TextDecode } from "./charset.ts";
import { decodeLatin1 } from "./charset.ts";
import { tagKey, type DicomJsonAttribute, type PersonName } from "./json.ts";

/** VRs whose value is bytes, not text or numbers (PS3.5 6.2). */
export const BINARY_VRS: ReadonlySet<string> = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "UN"]);

// Text VRs affected by Specific Character Set (PS3.5 6.1.2.3); the others
// are restricted to the default repertoire.
const CHARSET_VRS = new Set(["SH", "LO", "UC", "ST", "LT", "UT", "PN"]);

// Single-valued text: backslash is an ordinary character (PS3.5 6.2).
const UNSPLIT_VRS = new Set(["LT", "ST", "UT", "UR"]);

// Leading spaces are insignificant too for these (PS3.5 Table 6.2-1).
const TRIM_BOTH_VRS = new Set(["AE", "CS", "DS", "IS", "LO", "SH"]);

// Byte width of a binary value's words, for swapping Big Endian values to the
// Little Endian order of InlineBinary (PS3.18 F.2.7, PS3.5 7.3).
const WORD_SIZE: Record<string, number> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

export interface ValueContext {
  littleEndian: boolean;
  /** Decoder for VRs that use the Specific Character Set. */
  decode: TextDecode;
}

export function toJsonAttribute(vr: string, bytes: Uint8Array, ctx: ValueContext): DicomJsonAttribute {
  // PS3.18 F.2.5: a zero-length value has neither Value nor InlineBinary.
  if (bytes.length === 0) return { vr };
  if (BINARY_VRS.has(vr)) return { vr, InlineBinary: base64(ctx.littleEndian ? bytes : swapWords(bytes, WORD_SIZE[vr] ?? 1)) };
  const numbers = binaryNumbers(vr, bytes, ctx.littleEndian);
  if (numbers) return { vr, Value: numbers };
  if (vr === "AT") return { vr, Value: attributeTags(bytes, ctx.littleEndian) };

  const text = (CHARSET_VRS.has(vr) ? ctx.decode : decodeLatin1)(bytes);
  if (UNSPLIT_VRS.has(vr)) {
    const value = trimEnd(text);
    return value === "" ? { vr } : { vr, Value: [value] };
  }
  const values = text.split("\\").map((s) => textValue(vr, s));
  if (values.every((v) => v === null)) return { vr };
  return { vr, Value: values };
}

function textValue(vr: string, raw: string): unknown {
  const s = vr === "UI" ? raw.replace(/[\0 ]+$/, "") : TRIM_BOTH_VRS.has(vr) ? raw.trim() : trimEnd(raw);
  // PS3.18 F.2.5: an empty value among several is null.
  if (s === "") return null;
  switch (vr) {
    case "DS":
    case "IS": {
      // PS3.18 F.2.3: DS and IS are JSON numbers; keep an unparsable value as text.
      const n = Number(s);
      return Number.isFinite(n) ? n : s;
    }
    case "PN":
      return personName(s);
    default:
      return s;
  }
}

function trimEnd(s: string): string {
  return s.replace(/[\0 ]+$/, "");
}

/** PS3.5 6.2.1: component groups separated by "=", in this order. */
function personName(s: string): PersonName | null {
  const [alphabetic, ideographic, phonetic] = s.split("=").map(trimEnd);
  const name: PersonName = {};
  if (alphabetic) name.Alphabetic = alphabetic;
  if (ideographic) name.Ideographic = ideographic;
  if (phonetic) name.Phonetic = phonetic;
  return Object.keys(name).length > 0 ? name : null;
}

function binaryNumbers(vr: string, bytes: Uint8Array, le: boolean): unknown[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (size: number, get: (offset: number) => unknown): unknown[] => {
    // A trailing partial word violates PS3.5 but is ignored rather than fatal.
    const out: unknown[] = [];
    for (let o = 0; o + size <= bytes.length; o += size) out.push(get(o));
    return out;
  };
  switch (vr) {
    case "US":
      return read(2, (o) => view.getUint16(o, le));
    case "SS":
      return read(2, (o) => view.getInt16(o, le));
    case "UL":
      return read(4, (o) => view.getUint32(o, le));
    case "SL":
      return read(4, (o) => view.getInt32(o, le));
    case "FL":
      return read(4, (o) => jsonFloat(view.getFloat32(o, le)));
    case "FD":
      return read(8, (o) => jsonFloat(view.getFloat64(o, le)));
    case "SV":
      return read(8, (o) => bigintValue(view.getBigInt64(o, le)));
    case "UV":
      return read(8, (o) => bigintValue(view.getBigUint64(o, le)));
    default:
      return undefined;
  }
}

/** JSON cannot carry NaN or infinities, so those are given as strings ("NaN", "Infinity"). */
function jsonFloat(n: number): number | string {
  return Number.isFinite(n) ? n : String(n);
}

/** PS3.18 F.2.3.1: SV/UV as numbers when exact, else as decimal strings. */
function bigintValue(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function attributeTags(bytes: Uint8Array, le: boolean): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  // PS3.5 6.2: AT is a pair of 16-bit words, group then element.
  for (let o = 0; o + 4 <= bytes.length; o += 4) {
    out.push(tagKey((view.getUint16(o, le) << 16) | view.getUint16(o + 2, le)));
  }
  return out;
}

/** Reverses the bytes of each `size`-byte word: big endian to little endian and back. */
export function swapWords(bytes: Uint8Array, size: number): Uint8Array {
  if (size === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let o = 0; o + size <= bytes.length; o += size) {
    for (let i = 0; i < size; i++) out[o + i] = bytes[o + size - 1 - i]!;
  }
  return out;
}

/** Base64 with Web APIs only (no Buffer in workerd). */
export function base64(bytes: Uint8Array): string {
  return btoa(decodeLatin1(bytes));
}
