/**
 * Grayscale rendering: Modality LUT (PS3.3 C.11.1) then VOI LUT (PS3.3 C.11.2)
 * to 8-bit output, in the order of the PS3.4 N.2 grayscale pipeline.
 */

/** VOI LUT Function (0028,1056) defined terms, PS3.3 C.11.2.1.3. */
export type VoiLutFunction = "LINEAR" | "LINEAR_EXACT" | "SIGMOID";

export interface VoiWindow {
  center: number;
  width: number;
  fn: VoiLutFunction;
}

const Y_MIN = 0;
const Y_MAX = 255;

/**
 * One VOI output value in [0, 255] for modality value `x`, unrounded.
 * LINEAR is PS3.3 C.11.2.1.2.1, LINEAR_EXACT C.11.2.1.3.2, SIGMOID C.11.2.1.3.1.
 */
export function applyWindow(x: number, w: VoiWindow): number {
  const { center: c, width } = w;
  switch (w.fn) {
    case "LINEAR": {
      // With width 1 both bounds equal c - 0.5, so the interpolation branch
      // (which would divide by zero) is never reached: a threshold (note 5).
      if (x <= c - 0.5 - (width - 1) / 2) return Y_MIN;
      if (x > c - 0.5 + (width - 1) / 2) return Y_MAX;
      return ((x - (c - 0.5)) / (width - 1) + 0.5) * (Y_MAX - Y_MIN) + Y_MIN;
    }
    case "LINEAR_EXACT": {
      if (x <= c - width / 2) return Y_MIN;
      if (x > c + width / 2) return Y_MAX;
      return ((x - c) / width + 0.5) * (Y_MAX - Y_MIN) + Y_MIN;
    }
    case "SIGMOID":
      return (Y_MAX - Y_MIN) / (1 + Math.exp((-4 * (x - c)) / width)) + Y_MIN;
    default: {
      const never: never = w.fn;
      throw new Error(`unknown VOI LUT function ${String(never)}`);
    }
  }
}

/** Dataset VOI LUT Function to the renderer's terms; absent or unknown is LINEAR (C.11.2.1.3). */
export function voiLutFunction(value: string | undefined): VoiLutFunction {
  const v = value?.trim().toUpperCase();
  return v === "LINEAR_EXACT" || v === "SIGMOID" ? v : "LINEAR";
}

/**
 * The window that selects exactly the range [x1, x2] of values present:
 * center (x1+x2+1)/2, width x2-x1+1 (PS3.3 C.11.2.1.2.1 note 4).
 */
export function fullRangeWindow(x1: number, x2: number): VoiWindow {
  return { center: (x1 + x2 + 1) / 2, width: x2 - x1 + 1, fn: "LINEAR" };
}

export interface GrayscaleTransform {
  slope: number;
  intercept: number;
  /** Window to use; undefined means the full range of the frame's modality values. */
  window: VoiWindow | undefined;
  /** MONOCHROME1: minimum value is white (PS3.3 C.7.6.3.1.2), so the output is inverted. */
  invert: boolean;
}

/**
 * Stored values to 8-bit display values. A lookup table over the stored range
 * actually present keeps the per-pixel work to one index (at most 2^16 entries
 * because Bits Stored is at most 16 here).
 */
export function renderGrayscale(stored: Int32Array, t: GrayscaleTransform): Uint8Array {
  const out = new Uint8Array(stored.length);
  if (stored.length === 0) return out;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Modality LUT, PS3.3 C.11.1.1.2: output = m * SV + b. A negative slope
  // swaps which stored extreme gives the lowest modality value.
  const m0 = t.slope * min + t.intercept;
  const m1 = t.slope * max + t.intercept;
  const window = t.window ?? fullRangeWindow(Math.min(m0, m1), Math.max(m0, m1));
  const lut = new Uint8Array(max - min + 1);
  for (let sv = min; sv <= max; sv++) {
    const y = Math.round(applyWindow(t.slope * sv + t.intercept, window));
    lut[sv - min] = t.invert ? Y_MAX - y : y;
  }
  for (let i = 0; i < stored.length; i++) out[i] = lut[stored[i]! - min]!;
  return out;
}
