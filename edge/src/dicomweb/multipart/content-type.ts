/**
 * Media types as they appear in Content-Type and Accept header fields
 * (RFC 9110 8.3.1, PS3.18 8.7.3), and the multipart/related parameters
 * STOW-RS and WADO-RS carry (RFC 2387 3, RFC 2046 5.1.1).
 */

export interface MediaType {
  /** Lower-cased, e.g. "multipart". */
  type: string;
  /** Lower-cased, e.g. "related". */
  subtype: string;
  /** Parameter names lower-cased; values as sent, quotes and escapes removed. */
  params: Record<string, string>;
}

export interface MultipartRelated {
  boundary: string;
  /** The root part's media type (RFC 2387 3.1), lower-cased, e.g. "application/dicom". */
  type?: string;
  /** The root part's Content-ID (RFC 2387 3.2). */
  start?: string;
}

// RFC 9110 5.6.2 tchar.
const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses one media type (RFC 9110 8.3.1). Returns undefined when the
 * type/subtype is not two tokens or a quoted-string is unterminated.
 *
 * Unquoted parameter values run to the next ";" rather than stopping at the
 * first non-token character: OHIF sends `type=application/octet-stream` and
 * some STOW clients send unquoted boundaries containing "/" or "=", which
 * RFC 9110 would only allow quoted. The first occurrence of a parameter wins.
 */
export function parseMediaType(header: string): MediaType | undefined {
  const semi = header.indexOf(";");
  const essence = (semi < 0 ? header : header.slice(0, semi)).trim();
  const slash = essence.indexOf("/");
  if (slash < 0) return undefined;
  const type = essence.slice(0, slash).trim();
  const subtype = essence.slice(slash + 1).trim();
  if (!TCHAR.test(type) || !TCHAR.test(subtype)) return undefined;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (semi >= 0 && !parseParams(header, semi, params)) return undefined;
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params };
}

/** Parses `*( OWS ";" OWS parameter )` from `at` (a ";"); false when malformed. */
function parseParams(text: string, at: number, out: Record<string, string>): boolean {
  let i = at;
  const n = text.length;
  while (i < n) {
    // i is at ";" (or whitespace before it).
    while (i < n && (text[i] === ";" || text[i] === " " || text[i] === "\t")) i++;
    if (i >= n) break;
    const eq = text.indexOf("=", i);
    const nextSemi = text.indexOf(";", i);
    if (eq < 0 || (nextSemi >= 0 && nextSemi < eq)) {
      // A parameter without "=" (RFC 9110 requires one). Skip it rather than
      // rejecting the whole field: the rest may still be usable.
      if (nextSemi < 0) break;
      i = nextSemi;
      continue;
    }
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    let value: string;
    if (text[i] === '"') {
      // quoted-string with quoted-pair (RFC 9110 5.6.4).
      let v = "";
      i++;
      let closed = false;
      while (i < n) {
        const c = text.charAt(i);
        if (c === "\\" && i + 1 < n) {
          v += text.charAt(i + 1);
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          v += c;
          i++;
        }
      }
      if (!closed) return false;
      value = v;
      // Anything between the closing quote and the next ";" is junk; skip it.
      const after = text.indexOf(";", i);
      i = after < 0 ? n : after;
    } else {
      const end = text.indexOf(";", i);
      value = text.slice(i, end < 0 ? n : end).trim();
      i = end < 0 ? n : end;
    }
    if (TCHAR.test(name) && !(name in out)) out[name] = value;
  }
  return true;
}

const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]$/;

/** RFC 2046 5.1.1: 1 to 70 bchars, not ending in a space. What we generate. */
export function isValidBoundary(boundary: string): boolean {
  return boundary.length <= 70 && BCHARS.test(boundary);
}

/**
 * Longest boundary we read. RFC 2046 5.1.1 caps boundaries at 70, but
 * Orthanc's STOW-RS client joins two UUIDs (73 characters), so readers must
 * be lenient; the cap keeps the reader's hold-back small.
 */
export const MAX_RECEIVED_BOUNDARY = 200;

/** A boundary we accept from a client: bchars, not ending in a space, up to {@link MAX_RECEIVED_BOUNDARY}. */
export function isAcceptableBoundary(boundary: string): boolean {
  return boundary.length <= MAX_RECEIVED_BOUNDARY && BCHARS.test(boundary);
}

/**
 * Reads a `multipart/related` Content-Type (RFC 2387; PS3.18 10.5.1.1 for
 * STOW-RS). Returns undefined for any other media type or a missing or
 * invalid boundary, which the caller answers with 415 / 400.
 */
export function multipartRelated(header: string | null | undefined): MultipartRelated | undefined {
  if (header == null) return undefined;
  const mt = parseMediaType(header);
  if (mt === undefined || mt.type !== "multipart" || mt.subtype !== "related") return undefined;
  const boundary = mt.params["boundary"];
  if (boundary === undefined || !isAcceptableBoundary(boundary)) return undefined;
  const result: MultipartRelated = { boundary };
  const type = mt.params["type"];
  if (type !== undefined && type !== "") result.type = type.trim().toLowerCase();
  const start = mt.params["start"];
  if (start !== undefined && start !== "") result.start = start;
  return result;
}
