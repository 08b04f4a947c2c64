/**
 * Native (uncompressed) frame bytes to sample values, per the Image Pixel
 * Module (PS3.3 C.7.6.3) and the native encoding rules of PS3.5 8.1.1.
 */
import { RenderError } from "./render-error.ts";

/** The Image Pixel Module attributes the renderer reads (first values only). */
export interface ImagePixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
  planarConfiguration: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  voiLutFunction?: string;
}

/** An 8-bit image: 1 channel (gray) or 3 interleaved channels (R, G, B). */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export type ColorModel = "MONOCHROME1" | "MONOCHROME2" | "RGB" | "YBR_FULL" | "YBR_FULL_422";

/** Checks the attributes this renderer depends on and names the color model. */
export function colorModel(p: ImagePixelModule): ColorModel {
  const pi = p.photometricInterpretation.trim().toUpperCase();
  const dims = Number.isInteger(p.rows) && Number.isInteger(p.columns) && p.rows > 0 && p.columns > 0;
  if (!dims) throw new RenderError("unsupported-image", `bad image size ${p.columns}x${p.rows}`);
  // PS3.3 C.7.6.3.1.1: Bits Stored ≤ Bits Allocated, High Bit within the cell.
  const bits =
    (p.bitsAllocated === 8 || p.bitsAllocated === 16) &&
    p.bitsStored >= 1 &&
    p.bitsStored <= p.bitsAllocated &&
    p.highBit >= p.bitsStored - 1 &&
    p.highBit < p.bitsAllocated;
  if (!bits) {
    throw new RenderError(
      "unsupported-image",
      `unsupported bits allocated/stored/high bit ${p.bitsAllocated}/${p.bitsStored}/${p.highBit}`,
    );
  }
  switch (pi) {
    case "MONOCHROME1":
    case "MONOCHROME2":
      if (p.samplesPerPixel !== 1) break;
      return pi;
    case "RGB":
    case "YBR_FULL":
    case "YBR_FULL_422":
      // Color is rendered at 8 bits per sample only; deeper color is rare
      // outside compressed syntaxes this server does not decode anyway.
      if (p.samplesPerPixel !== 3 || p.bitsAllocated !== 8) break;
      return pi;
    default:
      // PALETTE COLOR needs the LUT Data attributes, which the module
      // summary does not carry; YBR_ICT/RCT/PARTIAL only occur compressed.
      throw new RenderError("unsupported-image", `photometric interpretation ${pi} is not rendered`);
  }
  throw new RenderError(
    "unsupported-image",
    `${pi} with ${p.samplesPerPixel} samples of ${p.bitsAllocated} bits is not rendered`,
  );
}

function requireLength(frame: Uint8Array, needed: number): void {
  if (frame.length < needed) {
    throw new RenderError("unsupported-image", `frame has ${frame.length} bytes, needs ${needed}`);
  }
}

/**
 * Grayscale stored values, masked to Bits Stored below High Bit and sign
 * extended when Pixel Representation is 1 (PS3.5 8.1.1, PS3.3 C.7.6.3.1).
 * 16-bit samples are big endian only in Explicit VR Big Endian; 8-bit
 * samples are taken in byte order (OB).
 */
export function storedValues(frame: Uint8Array, p: ImagePixelModule, bigEndian: boolean): Int32Array {
  const count = p.rows * p.columns;
  const bytes = p.bitsAllocated / 8;
  requireLength(frame, count * bytes);
  const shift = p.highBit + 1 - p.bitsStored;
  const mask = (1 << p.bitsStored) - 1;
  const signBit = 1 << (p.bitsStored - 1);
  const signed = p.pixelRepresentation === 1;
  const out = new Int32Array(count);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  for (let i = 0; i < count; i++) {
    const cell = bytes === 1 ? frame[i]! : view.getUint16(i * 2, !bigEndian);
    let v = (cell >>> shift) & mask;
    // Two's complement within Bits Stored (PS3.5 8.1.1: bits above High Bit are not part of the value).
    if (signed && v & signBit) v -= signBit * 2;
    out[i] = v;
  }
  return out;
}

/**
 * 8-bit color samples to interleaved RGB. Planar Configuration 0 is
 * R1G1B1R2…, 1 is R1R2…G1G2…B1B2… (PS3.3 C.7.6.3.1.3); YBR_FULL_422 holds
 * Y1 Y2 Cb Cr per horizontal pixel pair (PS3.3 C.7.6.3.1.2).
 */
export function colorRaster(frame: Uint8Array, p: ImagePixelModule, model: "RGB" | "YBR_FULL" | "YBR_FULL_422"): Raster {
  const count = p.rows * p.columns;
  const out = new Uint8Array(count * 3);
  if (model === "YBR_FULL_422") {
    if (p.columns % 2 !== 0) throw new RenderError("unsupported-image", "YBR_FULL_422 needs an even number of columns");
    requireLength(frame, count * 2);
    for (let i = 0, s = 0; i < count; i += 2, s += 4) {
      const cb = frame[s + 2]!;
      const cr = frame[s + 3]!;
      ybrToRgb(frame[s]!, cb, cr, out, i * 3);
      ybrToRgb(frame[s + 1]!, cb, cr, out, i * 3 + 3);
    }
    return { width: p.columns, height: p.rows, channels: 3, data: out };
  }
  requireLength(frame, count * 3);
  const planar = p.planarConfiguration === 1;
  for (let i = 0; i < count; i++) {
    const a = planar ? frame[i]! : frame[i * 3]!;
    const b = planar ? frame[count + i]! : frame[i * 3 + 1]!;
    const c = planar ? frame[2 * count + i]! : frame[i * 3 + 2]!;
    if (model === "RGB") {
      out[i * 3] = a;
      out[i * 3 + 1] = b;
      out[i * 3 + 2] = c;
    } else {
      ybrToRgb(a, b, c, out, i * 3);
    }
  }
  return { width: p.columns, height: p.rows, channels: 3, data: out };
}

/** Inverse of the YBR_FULL equations in PS3.3 C.7.6.3.1.2 (ITU-R BT.601 full range). */
function ybrToRgb(y: number, cb: number, cr: number, out: Uint8Array, at: number): void {
  out[at] = clampByte(y + 1.402 * (cr - 128));
  out[at + 1] = clampByte(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[at + 2] = clampByte(y + 1.772 * (cb - 128));
}

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
