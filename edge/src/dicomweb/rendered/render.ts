/**
 * Rendered resources (PS3.18 9.5, 10.4.1.1.3): one frame of an image to
 * image/jpeg or image/png through the grayscale pipeline of PS3.4 N.2
 * (Modality LUT → VOI LUT → Presentation LUT) or the color pipeline, then
 * scaled to the viewport.
 */
import jpeg from "jpeg-js";
import { parseRenderParameters, type RenderRequest, THUMBNAIL_VIEWPORT } from "./parameters.ts";
import { colorModel, colorRaster, type ImagePixelModule, type Raster, storedValues } from "./pixels.ts";
import { encodePng } from "./png.ts";
import { RenderError, type RenderErrorCode } from "./render-error.ts";
import { fitInside, resampleBox } from "./resample.ts";
import { renderGrayscale, type VoiLutFunction, type VoiWindow, voiLutFunction } from "./voi.ts";

export { parseRenderParameters, RenderError, THUMBNAIL_VIEWPORT };
export type { ImagePixelModule, RenderErrorCode, RenderRequest };

/** Transfer syntaxes whose frames are native pixel cells (PS3.5 A.1-A.5). */
const NATIVE: Record<string, { bigEndian: boolean }> = {
  "1.2.840.10008.1.2": { bigEndian: false }, // Implicit VR Little Endian
  "1.2.840.10008.1.2.1": { bigEndian: false }, // Explicit VR Little Endian
  "1.2.840.10008.1.2.1.99": { bigEndian: false }, // Deflated Explicit VR LE: caller inflated it
  "1.2.840.10008.1.2.2": { bigEndian: true }, // Explicit VR Big Endian (retired)
};

/** JPEG Baseline (Process 1), PS3.5 A.4.1: 8-bit lossy, one JPEG stream per frame. */
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";

/** JPEG quality when the request names none; jpeg-js's own default (50) blurs fine detail. */
const DEFAULT_JPEG_QUALITY = 90;

/** Headroom for jpeg-js decoding inside a Worker's 128 MB isolate. */
const JPEG_MAX_MEMORY_MB = 64;

const WINDOW_FUNCTIONS: Record<NonNullable<NonNullable<RenderRequest["window"]>["function"]>, VoiLutFunction> = {
  linear: "LINEAR",
  "linear-exact": "LINEAR_EXACT",
  sigmoid: "SIGMOID",
};

/**
 * The VOI to apply: the request's window (PS3.18 8.3.5.1.4), else the first
 * Window Center/Width of the dataset with its VOI LUT Function (PS3.3
 * C.11.2.1.2), else undefined, meaning the full range of the frame's values.
 */
function chooseWindow(pixel: ImagePixelModule, request: RenderRequest): VoiWindow | undefined {
  if (request.window) {
    return { center: request.window.center, width: request.window.width, fn: WINDOW_FUNCTIONS[request.window.function ?? "linear"] };
  }
  const { windowCenter: center, windowWidth: width } = pixel;
  if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width)) return undefined;
  const fn = voiLutFunction(pixel.voiLutFunction);
  // A dataset width the function cannot use is treated as absent rather than failing the request.
  if (fn === "LINEAR" ? width < 1 : width <= 0) return undefined;
  return { center, width, fn };
}

function grayscale(stored: Int32Array, width: number, height: number, pixel: ImagePixelModule, request: RenderRequest, invert: boolean): Raster {
  // Rescale Slope/Intercept default to 1/0 when absent (PS3.3 C.11.1.1.2 applies only when present).
  const slope = Number.isFinite(pixel.rescaleSlope) && pixel.rescaleSlope !== 0 ? pixel.rescaleSlope : 1;
  const intercept = Number.isFinite(pixel.rescaleIntercept) ? pixel.rescaleIntercept : 0;
  const data = renderGrayscale(stored, { slope, intercept, window: chooseWindow(pixel, request), invert });
  return { width, height, channels: 1, data };
}

function renderNative(frame: Uint8Array, bigEndian: boolean, pixel: ImagePixelModule, request: RenderRequest): Raster {
  const model = colorModel(pixel);
  switch (model) {
    case "MONOCHROME1":
    case "MONOCHROME2":
      return grayscale(storedValues(frame, pixel, bigEndian), pixel.columns, pixel.rows, pixel, request, model === "MONOCHROME1");
    case "RGB":
    case "YBR_FULL":
    case "YBR_FULL_422":
      // PS3.4 N.2: color images have no Modality or VOI LUT, so window is not applied.
      return colorRaster(frame, pixel, model);
  }
}

function renderJpegBaseline(frame: Uint8Array, pixel: ImagePixelModule, request: RenderRequest): Raster {
  const pi = pixel.photometricInterpretation.trim().toUpperCase();
  const gray = pi === "MONOCHROME1" || pi === "MONOCHROME2";
  if (!gray && pi !== "RGB" && !pi.startsWith("YBR_")) {
    throw new RenderError("unsupported-image", `photometric interpretation ${pi} is not rendered`);
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(frame, {
      useTArray: true,
      formatAsRGBA: true,
      // PS3.5 8.2.1: YBR_* means the JPEG components are YCbCr and must be
      // converted; RGB means they were compressed without a color transform.
      ...(gray ? {} : { colorTransform: pi !== "RGB" }),
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
  } catch (cause) {
    throw new RenderError("unsupported-image", "JPEG baseline frame could not be decoded", { cause });
  }
  const { width, height, data } = decoded;
  const count = width * height;
  if (gray) {
    // A one-component JPEG decodes to R = G = B; the red sample is the stored value.
    const stored = new Int32Array(count);
    for (let i = 0; i < count; i++) stored[i] = data[i * 4]!;
    return grayscale(stored, width, height, pixel, request, pi === "MONOCHROME1");
  }
  const rgb = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    rgb[i * 3] = data[i * 4]!;
    rgb[i * 3 + 1] = data[i * 4 + 1]!;
    rgb[i * 3 + 2] = data[i * 4 + 2]!;
  }
  return { width, height, channels: 3, data: rgb };
}

function encodeJpeg(img: Raster, quality: number): Uint8Array {
  // jpeg-js takes RGBA; gray is expanded to R = G = B.
  const count = img.width * img.height;
  const rgba = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const s = i * img.channels;
    rgba[i * 4] = img.data[s]!;
    rgba[i * 4 + 1] = img.data[img.channels === 1 ? s : s + 1]!;
    rgba[i * 4 + 2] = img.data[img.channels === 1 ? s : s + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  const out = jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Renders one frame. `frame` holds the frame's bytes as stored: native pixel
 * cells (already inflated for the deflated syntax) or one JPEG stream.
 * Throws RenderError for unsupported syntaxes, images or parameters.
 */
export async function renderFrame(
  frame: Uint8Array,
  transferSyntaxUID: string,
  pixel: ImagePixelModule,
  request: RenderRequest,
): Promise<{ body: Uint8Array; mediaType: string }> {
  const quality = request.quality ?? DEFAULT_JPEG_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RenderError("bad-parameters", "quality is an integer from 1 to 100");
  }
  const vp = request.viewport;
  if (vp && !(Number.isInteger(vp.width) && Number.isInteger(vp.height) && vp.width >= 1 && vp.height >= 1)) {
    throw new RenderError("bad-parameters", "viewport vw and vh must be positive integers");
  }
  const w = request.window;
  if (w && !(Number.isFinite(w.center) && Number.isFinite(w.width) && (w.function === "linear" || w.function === undefined ? w.width >= 1 : w.width > 0))) {
    // PS3.3 C.11.2.1.2.1 (LINEAR width ≥ 1) and C.11.2.1.3 (other functions width > 0).
    throw new RenderError("bad-parameters", "window width out of range for its function");
  }
  const uid = transferSyntaxUID.trim();
  const native = NATIVE[uid];
  let img: Raster;
  if (native) img = renderNative(frame, native.bigEndian, pixel, request);
  else if (uid === JPEG_BASELINE) img = renderJpegBaseline(frame, pixel, request);
  else throw new RenderError("unsupported-transfer-syntax", `transfer syntax ${uid} cannot be rendered`);

  if (vp) {
    const size = fitInside(img.width, img.height, vp.width, vp.height);
    img = resampleBox(img, size.width, size.height);
  }
  if (request.mediaType === "image/png") {
    return { body: await encodePng(img.data, img.width, img.height, img.channels), mediaType: "image/png" };
  }
  return { body: encodeJpeg(img, quality), mediaType: "image/jpeg" };
}
