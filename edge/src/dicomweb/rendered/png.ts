/**
 * Minimal PNG encoder (ISO/IEC 15948): 8-bit gray (color type 0) or RGB
 * (color type 2), one IDAT compressed with the runtime's zlib stream.
 */
import { concat } from "@dicom-edge/shared/bytes";

const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  // CRC-32 of ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320.
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 over `bytes`, as PNG computes it over a chunk's type and data. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Scanlines with the Paeth filter (type 4) on every row: for the smooth
 * gradients of medical images it compresses far better than no filter.
 */
function filterPaeth(pixels: Uint8Array, width: number, height: number, bpp: number): Uint8Array<ArrayBuffer> {
  const stride = width * bpp;
  const out = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const at = y * (stride + 1);
    out[at] = 4;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? pixels[row + x - bpp]! : 0;
      const b = y > 0 ? pixels[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? pixels[row - stride + x - bpp]! : 0;
      out[at + 1 + x] = (pixels[row + x]! - paeth(a, b, c)) & 0xff;
    }
  }
  return out;
}

/** The Paeth predictor of the PNG specification, filter type 4. */
export function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

async function zlib(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  // CompressionStream "deflate" is the zlib format (RFC 1950) that IDAT requires.
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Encodes 8-bit samples, 1 (gray) or 3 (RGB) interleaved channels per pixel. */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Uint8Array> {
  if (pixels.length !== width * height * channels) {
    throw new Error(`PNG: ${pixels.length} bytes for ${width}x${height}x${channels}`);
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // color type: grayscale or truecolor
  // compression method 0, filter method 0, interlace 0 (none)
  const idat = await zlib(filterPaeth(pixels, width, height, channels));
  return concat([SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))]);
}
