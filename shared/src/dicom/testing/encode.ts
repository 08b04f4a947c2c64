/**
 * A small Part-10 encoder for tests: builds files in any of the native
 * transfer syntaxes (and encapsulated Pixel Data for the others) from a
 * list of elements. Not for production: it trusts its input.
 */
import { deflateSync } from "fflate";
import { concat } from "../../bytes.ts";
import { transferSyntax } from "../transfer-syntax.ts";

export { concat };

export interface Fragments {
  fragments: Uint8Array[];
  /** Basic Offset Table entries; omitted means an empty BOT item. */
  bot?: number[];
}

export type ElementValue = string | number | number[] | Uint8Array | Element[][] | Fragments;

export interface Element {
  tag: number;
  vr: string;
  value: ElementValue;
  /** Sequences: encode with undefined length and a Sequence Delimitation Item. */
  undefinedLength?: boolean;
  /** Sequences: encode each item with undefined length and an Item Delimitation Item. */
  undefinedLengthItems?: boolean;
}

export interface Part10Input {
  transferSyntaxUID: string;
  sopClassUID: string;
  sopInstanceUID: string;
  elements: Element[];
  /** Group length to write in (0002,0000): "correct" (default), "absent", or a (wrong) number. */
  metaGroupLength?: "correct" | "absent" | number;
}

export interface Syntax {
  explicitVR: boolean;
  littleEndian: boolean;
}

const EXPLICIT_LE: Syntax = { explicitVR: true, littleEndian: true };
const IMPLICIT_LE: Syntax = { explicitVR: false, littleEndian: true };
const UNDEFINED = 0xffffffff;
const SHORT_LENGTH_VRS = new Set([
  "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US",
]);

/** The bytes of a Part-10 file: preamble, "DICM", File Meta, dataset. */
export function encodePart10(input: Part10Input): Uint8Array {
  const ts = transferSyntax(input.transferSyntaxUID);
  const syntax: Syntax = ts ?? EXPLICIT_LE;
  const metaElements: Element[] = [
    { tag: 0x00020001, vr: "OB", value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: "UI", value: input.sopClassUID },
    { tag: 0x00020003, vr: "UI", value: input.sopInstanceUID },
    { tag: 0x00020010, vr: "UI", value: input.transferSyntaxUID },
    { tag: 0x00020012, vr: "UI", value: "1.2.3.4.5.6.7" },
    { tag: 0x00020013, vr: "SH", value: "DICOM_EDGE_TEST" },
  ];
  const metaBody = encodeDataset(metaElements, EXPLICIT_LE);
  const groupLength = input.metaGroupLength ?? "correct";
  const meta =
    groupLength === "absent"
      ? metaBody
      : concat([
          encodeDataset([{ tag: 0x00020000, vr: "UL", value: groupLength === "correct" ? metaBody.length : groupLength }], EXPLICIT_LE),
          metaBody,
        ]);
  let dataset = encodeDataset(input.elements, syntax);
  if (ts?.deflated) dataset = deflateSync(dataset);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, meta, dataset]);
}

/** Encodes elements (in the order given) with a syntax. */
export function encodeDataset(elements: Element[], syntax: Syntax): Uint8Array {
  return concat(elements.map((e) => encodeElement(e, syntax)));
}

function encodeElement(element: Element, syntax: Syntax): Uint8Array {
  const { tag, vr, value } = element;
  if (isFragments(value)) return concat([header(tag, vr, UNDEFINED, syntax), encodeFragments(value)]);
  if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    return encodeSequence(element, value as Element[][], syntax);
  }
  if (vr === "SQ") return encodeSequence(element, value as Element[][], syntax);
  const bytes = encodeValue(vr, value as Exclude<ElementValue, Element[][] | Fragments>, syntax.littleEndian);
  return concat([header(tag, vr, bytes.length, syntax), bytes]);
}

function encodeSequence(element: Element, items: Element[][], syntax: Syntax): Uint8Array {
  // PS3.5 6.2.2: the items of an undefined-length UN are Implicit VR Little Endian.
  const itemSyntax = element.vr === "UN" ? IMPLICIT_LE : syntax;
  const body = concat(
    items.map((item) => {
      const content = encodeDataset(item, itemSyntax);
      if (element.undefinedLengthItems) {
        return concat([tagAndLength(0xfffee000, UNDEFINED, itemSyntax), content, tagAndLength(0xfffee00d, 0, itemSyntax)]);
      }
      return concat([tagAndLength(0xfffee000, content.length, itemSyntax), content]);
    }),
  );
  if (element.undefinedLength || element.vr === "UN") {
    return concat([header(element.tag, element.vr, UNDEFINED, syntax), body, tagAndLength(0xfffee0dd, 0, itemSyntax)]);
  }
  return concat([header(element.tag, element.vr, body.length, syntax), body]);
}

function encodeFragments({ fragments, bot = [] }: Fragments): Uint8Array {
  const table = new Uint8Array(bot.length * 4);
  const view = new DataView(table.buffer);
  bot.forEach((offset, i) => view.setUint32(i * 4, offset, true));
  const parts = [tagAndLength(0xfffee000, table.length, EXPLICIT_LE), table];
  for (const fragment of fragments) parts.push(tagAndLength(0xfffee000, fragment.length, EXPLICIT_LE), fragment);
  parts.push(tagAndLength(0xfffee0dd, 0, EXPLICIT_LE));
  return concat(parts);
}

function encodeValue(vr: string, value: string | number | number[] | Uint8Array, le: boolean): Uint8Array {
  if (value instanceof Uint8Array) return pad(value, 0);
  if (typeof value === "string") return pad(new TextEncoder().encode(value), vr === "UI" ? 0 : 0x20);
  const numbers = typeof value === "number" ? [value] : value;
  const sizes: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8, AT: 4, OW: 2, OL: 4, OF: 4, OD: 8, OV: 8 };
  const size = sizes[vr];
  if (size === undefined) return pad(new TextEncoder().encode(numbers.join("\\")), 0x20);
  const out = new Uint8Array(numbers.length * size);
  const view = new DataView(out.buffer);
  numbers.forEach((n, i) => {
    const o = i * size;
    switch (vr) {
      case "US": case "OW": view.setUint16(o, n, le); break;
      case "SS": view.setInt16(o, n, le); break;
      case "UL": case "OL": view.setUint32(o, n, le); break;
      case "SL": view.setInt32(o, n, le); break;
      case "FL": case "OF": view.setFloat32(o, n, le); break;
      case "FD": case "OD": view.setFloat64(o, n, le); break;
      case "SV": view.setBigInt64(o, BigInt(n), le); break;
      case "UV": case "OV": view.setBigUint64(o, BigInt(n), le); break;
      case "AT":
        view.setUint16(o, n >>> 16, le);
        view.setUint16(o + 2, n & 0xffff, le);
        break;
    }
  });
  return out;
}

function header(tag: number, vr: string, length: number, syntax: Syntax): Uint8Array {
  const le = syntax.littleEndian;
  let bytes: Uint8Array;
  if (!syntax.explicitVR) {
    bytes = tagAndLength(tag, length, syntax);
  } else if (SHORT_LENGTH_VRS.has(vr)) {
    bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    writeTag(view, tag, le);
    bytes[4] = vr.charCodeAt(0);
    bytes[5] = vr.charCodeAt(1);
    view.setUint16(6, length, le);
  } else {
    bytes = new Uint8Array(12);
    const view = new DataView(bytes.buffer);
    writeTag(view, tag, le);
    bytes[4] = vr.charCodeAt(0);
    bytes[5] = vr.charCodeAt(1);
    view.setUint32(8, length, le);
  }
  return bytes;
}

function tagAndLength(tag: number, length: number, syntax: Syntax): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  writeTag(view, tag, syntax.littleEndian);
  view.setUint32(4, length, syntax.littleEndian);
  return bytes;
}

function writeTag(view: DataView, tag: number, le: boolean): void {
  view.setUint16(0, tag >>> 16, le);
  view.setUint16(2, tag & 0xffff, le);
}

function pad(bytes: Uint8Array, fill: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = fill;
  return out;
}

function isFragments(value: ElementValue): value is Fragments {
  return typeof value === "object" && !(value instanceof Uint8Array) && !Array.isArray(value);
}

