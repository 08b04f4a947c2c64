/**
 * Rendering query parameters (PS3.18 8.3.5.1) and the Rendered Media Type
 * choice (PS3.18 8.3.3.1) for the rendered and thumbnail resources.
 */
import { RenderError } from "./render-error.ts";

export type RenderedMediaType = "image/jpeg" | "image/png";

export interface RenderRequest {
  mediaType: RenderedMediaType;
  /** `window=center,width,function` (PS3.18 8.3.5.1.4); function defaults to linear. */
  window?: { center: number; width: number; function?: "linear" | "linear-exact" | "sigmoid" };
  /** `viewport=vw,vh`: the rendered image fits inside, aspect ratio kept (PS3.18 8.3.5.1.3). */
  viewport?: { width: number; height: number };
  /** `quality=1..100` for lossy media types (PS3.18 8.3.5.1.2). */
  quality?: number;
}

/** Thumbnails fit this box when the request names no viewport. */
export const THUMBNAIL_VIEWPORT = { width: 128, height: 128 } as const;

/** Server preference when the client ranks types equally: JPEG first, as with no Accept at all. */
const PRODUCED: readonly RenderedMediaType[] = ["image/jpeg", "image/png"];

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseMediaRanges(value: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of value.split(",")) {
    const [range = "", ...params] = part.split(";");
    const [type, subtype] = range.trim().toLowerCase().split("/");
    if (!type || !subtype) continue;
    let q = 1;
    for (const param of params) {
      const [name, v] = param.split("=").map((s) => s.trim());
      if (name?.toLowerCase() === "q" && v !== undefined) {
        const n = Number(v);
        q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
      }
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** Quality the client gives `mediaType`: the most specific matching range wins (RFC 9110 12.5.1). */
function qualityOf(mediaType: RenderedMediaType, ranges: MediaRange[]): number {
  const [type, subtype] = mediaType.split("/");
  let best = -1;
  let specificity = -1;
  for (const r of ranges) {
    const s = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === "*" ? 1 : r.type === "*" && r.subtype === "*" ? 0 : -1;
    if (s > specificity) {
      specificity = s;
      best = r.q;
    }
  }
  return best;
}

function chooseMediaType(accept: string): RenderedMediaType | RenderError {
  const ranges = parseMediaRanges(accept);
  if (ranges.length === 0) return "image/jpeg";
  let chosen: RenderedMediaType | undefined;
  let chosenQ = 0;
  for (const t of PRODUCED) {
    const q = qualityOf(t, ranges);
    if (q > chosenQ) {
      chosen = t;
      chosenQ = q;
    }
  }
  return chosen ?? new RenderError("not-acceptable", `none of ${PRODUCED.join(", ")} is acceptable`);
}

function single(url: URL, name: string): string | undefined | RenderError {
  const values = url.searchParams.getAll(name);
  if (values.length > 1) return new RenderError("bad-parameters", `${name} given more than once`);
  return values[0];
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const UINT = /^\d+$/;

function parseWindow(value: string): RenderRequest["window"] | RenderError {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length < 2 || parts.length > 3) return new RenderError("bad-parameters", "window is center,width,function");
  const [c = "", w = "", f = "linear"] = parts;
  if (!DECIMAL.test(c) || !DECIMAL.test(w)) return new RenderError("bad-parameters", "window center and width must be decimals");
  const center = Number(c);
  const width = Number(w);
  const fn = f.toLowerCase();
  if (fn !== "linear" && fn !== "linear-exact" && fn !== "sigmoid") {
    return new RenderError("bad-parameters", `window function ${f} is not linear, linear-exact or sigmoid`);
  }
  // PS3.3 C.11.2.1.2.1: LINEAR width ≥ 1; C.11.2.1.3: LINEAR_EXACT and SIGMOID width > 0.
  if (fn === "linear" ? width < 1 : width <= 0) return new RenderError("bad-parameters", `window width ${w} out of range for ${fn}`);
  return { center, width, function: fn };
}

function parseViewport(value: string, kind: "rendered" | "thumbnail"): RenderRequest["viewport"] | RenderError {
  const parts = value.split(",").map((s) => s.trim());
  const [vw = "", vh = "", ...region] = parts;
  if (parts.length < 2 || parts.length > (kind === "thumbnail" ? 2 : 6)) {
    return new RenderError("bad-parameters", kind === "thumbnail" ? "thumbnail viewport is vw,vh" : "viewport is vw,vh[,sx,sy,sw,sh]");
  }
  // The source image region (sx, sy, sw, sh) is optional for the origin
  // server (PS3.18 8.3.5.1 rule 2); it is refused rather than ignored so the
  // client never receives a different region from the one it asked for.
  if (region.some((s) => s !== "")) return new RenderError("bad-parameters", "viewport source image region is not supported");
  if (!UINT.test(vw) || !UINT.test(vh)) return new RenderError("bad-parameters", "viewport vw and vh must be positive integers");
  const width = Number(vw);
  const height = Number(vh);
  if (width < 1 || height < 1 || !Number.isSafeInteger(width) || !Number.isSafeInteger(height)) {
    return new RenderError("bad-parameters", "viewport vw and vh must be positive integers");
  }
  return { width, height };
}

/**
 * Reads the rendering parameters of a rendered or thumbnail request. The
 * `accept` query parameter, when present, replaces the Accept header
 * (PS3.18 8.3.3.1); no Accept means image/jpeg. Thumbnails take only a
 * `vw,vh` viewport and default to 128×128; parameters a resource does not
 * define are ignored, as are unknown ones.
 */
export function parseRenderParameters(url: URL, accept: string | null, kind: "rendered" | "thumbnail"): RenderRequest | RenderError {
  const acceptParam = single(url, "accept");
  if (acceptParam instanceof RenderError) return acceptParam;
  const mediaType = chooseMediaType(acceptParam ?? accept ?? "");
  if (mediaType instanceof RenderError) return mediaType;
  const request: RenderRequest = { mediaType };

  const viewport = single(url, "viewport");
  if (viewport instanceof RenderError) return viewport;
  if (viewport !== undefined) {
    const v = parseViewport(viewport, kind);
    if (v instanceof RenderError) return v;
    request.viewport = v;
  } else if (kind === "thumbnail") {
    request.viewport = { ...THUMBNAIL_VIEWPORT };
  }
  if (kind === "thumbnail") return request;

  const windowParam = single(url, "window");
  if (windowParam instanceof RenderError) return windowParam;
  if (windowParam !== undefined) {
    const w = parseWindow(windowParam);
    if (w instanceof RenderError) return w;
    request.window = w;
  }

  const quality = single(url, "quality");
  if (quality instanceof RenderError) return quality;
  if (quality !== undefined) {
    const q = Number(quality.trim());
    if (!UINT.test(quality.trim()) || q < 1 || q > 100) return new RenderError("bad-parameters", "quality is an integer from 1 to 100");
    request.quality = q;
  }
  return request;
}
