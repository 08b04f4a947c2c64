import jpeg from "jpeg-js";
import { describe, expect, it } from "vitest";
import { decodePng } from "./decode-png.testing.ts";
import { type ImagePixelModule, RenderError, type RenderRequest, renderFrame } from "./render.ts";

const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const IMPLICIT_LE = "1.2.840.10008.1.2";
const EXPLICIT_BE = "1.2.840.10008.1.2.2";
const DEFLATED = "1.2.840.10008.1.2.1.99";
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
const PNG: RenderRequest = { mediaType: "image/png" };

function module(over: Partial<ImagePixelModule>): ImagePixelModule {
  return {
    rows: 1,
    columns: 1,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 0,
    photometricInterpretation: "MONOCHROME2",
    planarConfiguration: 0,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    ...over,
  };
}

function words(values: number[], bigEndian = false): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(i * 2, v & 0xffff, !bigEndian));
  return out;
}

async function renderPng(frame: Uint8Array, ts: string, pixel: ImagePixelModule, request: Omit<RenderRequest, "mediaType"> = {}) {
  const { body, mediaType } = await renderFrame(frame, ts, pixel, { ...PNG, ...request });
  expect(mediaType).toBe("image/png");
  return decodePng(body);
}

async function renderError(promise: Promise<unknown>): Promise<RenderError> {
  const e = await promise.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(RenderError);
  return e as RenderError;
}

describe("grayscale CT: 16-bit signed, rescale, window", () => {
  // HU = SV - 1024. Window 40/400 LINEAR (PS3.3 C.11.2.1.2.1): ymin below
  // 39.5 - 199.5 = -160, ymax above 39.5 + 199.5 = 239,
  // else y = ((HU - 39.5) / 399 + 0.5) * 255:
  //   SV -2000 → HU -3024 → 0      SV 824 → HU -200 → 0
  //   SV 1024 → HU 0 → 102.26 → 102 SV 1064 → HU 40 → 127.82 → 128
  //   SV 1224 → HU 200 → 230.08 → 230 SV 1264 → HU 240 → 255
  const stored = [-2000, 824, 1024, 1064, 1224, 1264];
  const expected = [0, 0, 102, 128, 230, 255];
  const ct = module({ rows: 2, columns: 3, pixelRepresentation: 1, rescaleIntercept: -1024 });

  it("applies the requested window", async () => {
    const png = await renderPng(words(stored), EXPLICIT_LE, ct, { window: { center: 40, width: 400 } });
    expect(png).toMatchObject({ width: 3, height: 2, colorType: 0 });
    expect(Array.from(png.pixels)).toEqual(expected);
  });

  it("falls back to the dataset window", async () => {
    const png = await renderPng(words(stored), IMPLICIT_LE, { ...ct, windowCenter: 40, windowWidth: 400 });
    expect(Array.from(png.pixels)).toEqual(expected);
  });

  it("prefers the request's window over the dataset's", async () => {
    const png = await renderPng(words(stored), EXPLICIT_LE, { ...ct, windowCenter: 1000, windowWidth: 10 }, { window: { center: 40, width: 400 } });
    expect(Array.from(png.pixels)).toEqual(expected);
  });

  it("uses the full range of modality values when no window exists", async () => {
    // HU -3024..240: center (-3024 + 240 + 1) / 2 = -1391.5, width 3265 (C.11.2.1.2.1 note 4).
    const png = await renderPng(words(stored), EXPLICIT_LE, ct);
    expect(png.pixels[0]).toBe(0);
    expect(png.pixels[5]).toBe(255);
    // HU 0: ((0 + 1392) / 3264 + 0.5) * 255 = 236.25 → 236
    expect(png.pixels[2]).toBe(236);
  });

  it("applies a slope and the sigmoid function", async () => {
    // slope 2, intercept -1024: SV 532 → HU 40, at the center: 255 / (1 + e^0) = 127.5 → 128.
    const pixel = module({ rows: 1, columns: 2, rescaleSlope: 2, rescaleIntercept: -1024 });
    const png = await renderPng(words([532, 0]), EXPLICIT_LE, pixel, { window: { center: 40, width: 400, function: "sigmoid" } });
    // SV 0 → HU -1024: 255 / (1 + e^(4·1064/400)) = 255 / (1 + e^10.64) ≈ 0.006 → 0
    expect(Array.from(png.pixels)).toEqual([128, 0]);
  });

  it("uses the dataset's VOI LUT Function", async () => {
    // LINEAR_EXACT 1000/2000: y = ((x - 1000) / 2000 + 0.5) * 255; x = 500 → 63.75 → 64
    const pixel = module({ rows: 1, columns: 1, windowCenter: 1000, windowWidth: 2000, voiLutFunction: "LINEAR_EXACT" });
    expect(Array.from((await renderPng(words([500]), EXPLICIT_LE, pixel)).pixels)).toEqual([64]);
  });
});

describe("MONOCHROME1", () => {
  it("inverts so the minimum is white", async () => {
    // 8-bit, full range 0..255 → center 128, width 256: y = x, then 255 - y.
    const pixel = module({ rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, highBit: 7, photometricInterpretation: "MONOCHROME1" });
    const png = await renderPng(new Uint8Array([0, 255, 100, 200]), EXPLICIT_LE, pixel);
    expect(Array.from(png.pixels)).toEqual([255, 0, 155, 55]);
  });
});

describe("Bits Stored below Bits Allocated", () => {
  const exact = (center: number) => ({ window: { center, width: 4096, function: "linear-exact" as const } });

  it("masks unsigned 12-bit values to High Bit", async () => {
    // 0xF123 → 0x123 = 291: ((291 - 2048) / 4096 + 0.5) * 255 = 18.12 → 18
    // 0x0FFF → 4095 → 254.94 → 255; 0 → 0; 0x1800 → 0x800 = 2048 → 127.5 → 128
    const pixel = module({ rows: 1, columns: 4, bitsStored: 12, highBit: 11 });
    const png = await renderPng(words([0xf123, 0x0fff, 0x0000, 0x1800]), EXPLICIT_LE, pixel, exact(2048));
    expect(Array.from(png.pixels)).toEqual([18, 255, 0, 128]);
  });

  it("sign-extends signed 12-bit values", async () => {
    // 0x0FFF → -1 → 127.44 → 127; 0xF800 → 0x800 → -2048 → 0; 0x07FF → 2047 → 255; 1 → 127.56 → 128
    const pixel = module({ rows: 1, columns: 4, bitsStored: 12, highBit: 11, pixelRepresentation: 1 });
    const png = await renderPng(words([0x0fff, 0xf800, 0x07ff, 0x0001]), EXPLICIT_LE, pixel, exact(0));
    expect(Array.from(png.pixels)).toEqual([127, 0, 255, 128]);
  });

  it("shifts values whose High Bit is not Bits Stored - 1", async () => {
    // High Bit 15, 12 bits stored: 0x1234 → 0x123 = 291 → 18
    const pixel = module({ rows: 1, columns: 1, bitsStored: 12, highBit: 15 });
    expect(Array.from((await renderPng(words([0x1234]), EXPLICIT_LE, pixel, exact(2048))).pixels)).toEqual([18]);
  });
});

describe("big endian", () => {
  it("swaps 16-bit samples", async () => {
    const pixel = module({ rows: 1, columns: 3 });
    const request = { window: { center: 1000, width: 2000, function: "linear-exact" as const } };
    const be = await renderPng(words([0, 1000, 2000], true), EXPLICIT_BE, pixel, request);
    expect(Array.from(be.pixels)).toEqual([0, 128, 255]);
    const le = await renderPng(words([0, 1000, 2000]), DEFLATED, pixel, request);
    expect(le.pixels).toEqual(be.pixels);
  });
});

describe("color", () => {
  const rgb = module({ rows: 1, columns: 2, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, highBit: 7, photometricInterpretation: "RGB" });

  it("reads RGB with planar configuration 0", async () => {
    const png = await renderPng(new Uint8Array([255, 0, 0, 0, 128, 255]), EXPLICIT_LE, rgb);
    expect(png.colorType).toBe(2);
    expect(Array.from(png.pixels)).toEqual([255, 0, 0, 0, 128, 255]);
  });

  it("reads RGB with planar configuration 1", async () => {
    const png = await renderPng(new Uint8Array([255, 0, 0, 128, 0, 255]), EXPLICIT_LE, { ...rgb, planarConfiguration: 1 });
    expect(Array.from(png.pixels)).toEqual([255, 0, 0, 0, 128, 255]);
  });

  it("does not window color images", async () => {
    const png = await renderPng(new Uint8Array([255, 0, 0, 0, 128, 255]), EXPLICIT_LE, rgb, { window: { center: 10, width: 2 } });
    expect(Array.from(png.pixels)).toEqual([255, 0, 0, 0, 128, 255]);
  });

  it("converts YBR_FULL to RGB", async () => {
    // Neutral chroma is gray; Y 76, Cb 85, Cr 255 is close to pure red.
    const png = await renderPng(new Uint8Array([100, 128, 128, 76, 85, 255]), EXPLICIT_LE, { ...rgb, photometricInterpretation: "YBR_FULL" });
    expect(Array.from(png.pixels.subarray(0, 3))).toEqual([100, 100, 100]);
    const [r = 0, g = 0, b = 0] = png.pixels.subarray(3);
    expect(r).toBeGreaterThan(250);
    expect(g).toBeLessThan(5);
    expect(b).toBeLessThan(5);
  });

  it("converts YBR_FULL_422 pixel pairs", async () => {
    const png = await renderPng(new Uint8Array([50, 200, 128, 128]), EXPLICIT_LE, { ...rgb, photometricInterpretation: "YBR_FULL_422" });
    expect(Array.from(png.pixels)).toEqual([50, 50, 50, 200, 200, 200]);
  });

  it("refuses PALETTE COLOR", async () => {
    const pixel = module({ bitsAllocated: 8, bitsStored: 8, highBit: 7, photometricInterpretation: "PALETTE COLOR" });
    expect((await renderError(renderFrame(new Uint8Array(1), EXPLICIT_LE, pixel, PNG))).code).toBe("unsupported-image");
  });
});

describe("JPEG baseline", () => {
  function grayJpeg(width: number, height: number, value: (x: number) => number): Uint8Array {
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      const v = value(i % width);
      rgba.set([v, v, v, 255], i * 4);
    }
    const encoded = jpeg.encode({ width, height, data: rgba }, 100).data;
    return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  }

  it("decodes, applies the window and renders PNG", async () => {
    // Left 8 columns 64, right 8 columns 192: whole 8x8 blocks survive quality 100 nearly unchanged.
    const frame = grayJpeg(16, 16, (x) => (x < 8 ? 64 : 192));
    const pixel = module({ rows: 16, columns: 16, bitsAllocated: 8, bitsStored: 8, highBit: 7 });
    // LINEAR_EXACT 100/100: 64 → ((64 - 100) / 100 + 0.5) * 255 = 35.7; 192 → above 150 → 255.
    const png = await renderPng(frame, JPEG_BASELINE, pixel, { window: { center: 100, width: 100, function: "linear-exact" } });
    expect(png).toMatchObject({ width: 16, height: 16 });
    expect(Math.abs(png.pixels[16 * 5 + 2]! - 36)).toBeLessThanOrEqual(3);
    expect(png.pixels[16 * 5 + 12]).toBe(255);
  });

  it("re-encodes as JPEG at the requested quality (jpeg-js needs Buffer in workerd)", async () => {
    expect(typeof Buffer).toBe("function");
    const frame = grayJpeg(16, 8, () => 128);
    const pixel = module({ rows: 8, columns: 16, bitsAllocated: 8, bitsStored: 8, highBit: 7, windowCenter: 128, windowWidth: 256 });
    const { body, mediaType } = await renderFrame(frame, JPEG_BASELINE, pixel, { mediaType: "image/jpeg", quality: 80 });
    expect(mediaType).toBe("image/jpeg");
    expect(Array.from(body.subarray(0, 2))).toEqual([0xff, 0xd8]);
    const back = jpeg.decode(body, { useTArray: true });
    expect(back).toMatchObject({ width: 16, height: 8 });
    expect(Math.abs(back.data[0]! - 128)).toBeLessThanOrEqual(2);
  });

  it("converts YCbCr components for YBR_FULL_422", async () => {
    const rgba = new Uint8Array(8 * 8 * 4);
    for (let i = 0; i < 64; i++) rgba.set([255, 0, 0, 255], i * 4);
    const enc = jpeg.encode({ width: 8, height: 8, data: rgba }, 100).data;
    const pixel = module({ rows: 8, columns: 8, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, highBit: 7, photometricInterpretation: "YBR_FULL_422" });
    const png = await renderPng(new Uint8Array(enc.buffer, enc.byteOffset, enc.byteLength), JPEG_BASELINE, pixel);
    expect(png.colorType).toBe(2);
    expect(png.pixels[0]).toBeGreaterThan(245);
    expect(png.pixels[1]).toBeLessThan(10);
  });

  it("reports a corrupt stream as an unsupported image", async () => {
    const pixel = module({ rows: 8, columns: 8, bitsAllocated: 8, bitsStored: 8, highBit: 7 });
    const e = await renderError(renderFrame(new Uint8Array([0xff, 0xd8, 0x00, 0x01]), JPEG_BASELINE, pixel, PNG));
    expect(e.code).toBe("unsupported-image");
  });
});

describe("viewport", () => {
  const wide = module({ rows: 200, columns: 300, bitsAllocated: 8, bitsStored: 8, highBit: 7 });
  const frame = new Uint8Array(300 * 200).map((_, i) => i % 251);

  it("scales down to fit, keeping the aspect ratio", async () => {
    const png = await renderPng(frame, EXPLICIT_LE, wide, { viewport: { width: 128, height: 128 } });
    expect(png).toMatchObject({ width: 128, height: 85 });
  });

  it("does not enlarge a smaller image", async () => {
    const png = await renderPng(frame, EXPLICIT_LE, wide, { viewport: { width: 1000, height: 1000 } });
    expect(png).toMatchObject({ width: 300, height: 200 });
  });

  it("scales color output too", async () => {
    const rgb = module({ rows: 4, columns: 4, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, highBit: 7, photometricInterpretation: "RGB" });
    const png = await renderPng(new Uint8Array(48).fill(90), EXPLICIT_LE, rgb, { viewport: { width: 2, height: 3 } });
    expect(png).toMatchObject({ width: 2, height: 2, colorType: 2 });
    expect(Array.from(png.pixels)).toEqual(new Array(12).fill(90));
  });
});

describe("refusals", () => {
  const pixel = module({ rows: 2, columns: 2 });

  it("refuses compressed syntaxes other than JPEG baseline", async () => {
    for (const ts of ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.5"]) {
      const e = await renderError(renderFrame(new Uint8Array(8), ts, pixel, PNG));
      expect(e.code).toBe("unsupported-transfer-syntax");
      expect(e.status).toBe(406);
    }
  });

  it("refuses a truncated frame", async () => {
    expect((await renderError(renderFrame(new Uint8Array(7), EXPLICIT_LE, pixel, PNG))).code).toBe("unsupported-image");
  });

  it("refuses 32-bit samples", async () => {
    const deep = module({ bitsAllocated: 32, bitsStored: 32, highBit: 31 });
    expect((await renderError(renderFrame(new Uint8Array(4), EXPLICIT_LE, deep, PNG))).code).toBe("unsupported-image");
  });

  it("refuses an out-of-range quality", async () => {
    const e = await renderError(renderFrame(new Uint8Array(8), EXPLICIT_LE, pixel, { mediaType: "image/jpeg", quality: 0 }));
    expect(e).toMatchObject({ code: "bad-parameters", status: 400 });
  });
});

describe("request validation", () => {
  it("refuses a window width its function cannot use", async () => {
    const pixel = module({});
    const e = await renderError(renderFrame(new Uint8Array(2), EXPLICIT_LE, pixel, { ...PNG, window: { center: 0, width: 0, function: "sigmoid" } }));
    expect(e.code).toBe("bad-parameters");
  });
});
