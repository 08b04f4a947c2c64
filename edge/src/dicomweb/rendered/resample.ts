/**
 * Viewport scaling (PS3.18 8.3.5.1.3): the rendered image is scaled to fit
 * inside vw × vh keeping its aspect ratio, after all other transformations.
 */
import type { Raster } from "./pixels.ts";

/**
 * Output size that fits inside the viewport with the image's aspect ratio.
 * The viewport bounds the result, as WADO-URI's rows/columns do ("interpreted
 * as a maximum", PS3.18 8.2.2); an image already inside it is left at its own
 * size, since enlarging adds no information and costs Worker CPU and memory.
 */
export function fitInside(width: number, height: number, vw: number, vh: number): { width: number; height: number } {
  const scale = Math.min(vw / width, vh / height, 1);
  if (scale === 1) return { width, height };
  return {
    width: Math.max(1, Math.min(vw, Math.round(width * scale))),
    height: Math.max(1, Math.min(vh, Math.round(height * scale))),
  };
}

/** Per output index along one axis: first source index and the weights of the source cells it covers. */
interface Taps {
  first: Int32Array;
  weights: Float64Array[];
}

/**
 * Area averaging: output cell i covers source interval [i·s, (i+1)·s) with
 * s = src/dst; each source cell counts by the length it overlaps.
 */
function taps(src: number, dst: number): Taps {
  const s = src / dst;
  const first = new Int32Array(dst);
  const weights: Float64Array[] = [];
  for (let i = 0; i < dst; i++) {
    const lo = i * s;
    const hi = Math.min(src, (i + 1) * s);
    const start = Math.floor(lo);
    const end = Math.min(src, Math.ceil(hi));
    const w = new Float64Array(end - start);
    for (let j = start; j < end; j++) w[j - start] = (Math.min(hi, j + 1) - Math.max(lo, j)) / s;
    first[i] = start;
    weights.push(w);
  }
  return { first, weights };
}

/** Box-filter resample to width × height (separable: rows, then columns). */
export function resampleBox(img: Raster, width: number, height: number): Raster {
  if (width === img.width && height === img.height) return img;
  const ch = img.channels;
  const tx = taps(img.width, width);
  const ty = taps(img.height, height);
  const mid = new Float32Array(width * img.height * ch);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width * ch;
    for (let x = 0; x < width; x++) {
      const w = tx.weights[x]!;
      const f = tx.first[x]!;
      for (let c = 0; c < ch; c++) {
        let sum = 0;
        for (let k = 0; k < w.length; k++) sum += w[k]! * img.data[row + (f + k) * ch + c]!;
        mid[(y * width + x) * ch + c] = sum;
      }
    }
  }
  const out = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const w = ty.weights[y]!;
    const f = ty.first[y]!;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < ch; c++) {
        let sum = 0;
        for (let k = 0; k < w.length; k++) sum += w[k]! * mid[((f + k) * width + x) * ch + c]!;
        out[(y * width + x) * ch + c] = Math.min(255, Math.round(sum));
      }
    }
  }
  return { width, height, channels: ch, data: out };
}
