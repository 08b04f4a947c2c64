/**
 * Why a frame could not be rendered, as a stable code the route maps to HTTP.
 *
 * - `bad-parameters`: a rendering query parameter is malformed or names a
 *   transformation this server does not support (PS3.18 8.3.5: 400).
 * - `not-acceptable`: no Rendered Media Type this server produces matches the
 *   Accept header or `accept` query parameter (PS3.18 8.3.3.1: 406).
 * - `unsupported-transfer-syntax`: the stored frame is in a compressed syntax
 *   this server cannot decode, so it cannot produce any rendered type (406).
 * - `unsupported-image`: the Image Pixel Module describes pixels this renderer
 *   does not handle (PALETTE COLOR, 32-bit samples, a truncated frame) (406).
 */
export type RenderErrorCode =
  | "unsupported-transfer-syntax"
  | "unsupported-image"
  | "bad-parameters"
  | "not-acceptable";

export class RenderError extends Error {
  override readonly name = "RenderError";
  readonly code: RenderErrorCode;

  constructor(code: RenderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** The HTTP status the standard gives this failure. */
  get status(): 400 | 406 {
    return this.code === "bad-parameters" ? 400 : 406;
  }
}
