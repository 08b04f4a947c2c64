/**
 * Content negotiation for DICOMweb responses: Accept header field parsing
 * (RFC 9110 12.5.1) and the selection of a media type and transfer syntax
 * per PS3.18 8.7 (8.7.3 DICOM media types, 8.7.8 Selected Media Type and
 * Transfer Syntax, 8.3.3.1 Accept Query Parameter).
 */

import { parseMediaType } from "../multipart/content-type.ts";

export interface MediaRange {
  /** Lower-cased; "*" for a wildcard. */
  type: string;
  /** Lower-cased; "*" for a wildcard. */
  subtype: string;
  /** Every parameter except q, names lower-cased: e.g. type, transfer-syntax, charset. */
  params: Record<string, string>;
  /** Weight 0 to 1 (RFC 9110 12.4.2); 0 means "not acceptable". */
  q: number;
}

export interface Offer {
  /** e.g. "multipart/related", "application/dicom+json", "image/jpeg". */
  mediaType: string;
  /** For multipart/related: the type= parameter, e.g. "application/dicom". */
  partType?: string;
  /** The transfer syntax the server will actually send, when it matters. */
  transferSyntax?: string;
}

export interface Negotiated {
  offer: Offer;
  /**
   * The offer's transfer syntax, to be named in the response Content-Type
   * (PS3.18 8.7.3.5.2). When the offer names none, the UID the client asked
   * for, if it asked for one other than "*".
   */
  transferSyntax?: string;
}

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Parses an Accept field value into media ranges ordered by preference: q
 * descending, then type/subtype before type/* before * /* (the RFC 9110
 * 12.5.1 specificity order; clients append wildcards as fallbacks), then the
 * order given. Parameters do not reorder ranges: a client listing
 * `application/dicom+json, multipart/related; type=...` prefers JSON.
 * Commas inside quoted parameter values do not split ranges. Ranges that do
 * not parse, or carry an invalid q, are dropped.
 */
export function parseAccept(header: string | null | undefined): MediaRange[] {
  if (header == null) return [];
  const ranges: { range: MediaRange; index: number }[] = [];
  for (const element of splitList(header)) {
    const mt = parseMediaType(element);
    if (mt === undefined) continue;
    // "*/subtype" is not a media range (RFC 9110 12.5.1).
    if (mt.type === "*" && mt.subtype !== "*") continue;
    let q = 1;
    const params: Record<string, string> = Object.create(null) as Record<string, string>;
    let valid = true;
    for (const [name, value] of Object.entries(mt.params)) {
      if (name === "q") {
        if (!QVALUE.test(value)) valid = false;
        else q = Number(value);
      } else {
        params[name] = value;
      }
    }
    if (valid) ranges.push({ range: { type: mt.type, subtype: mt.subtype, params, q }, index: ranges.length });
  }
  ranges.sort((a, b) => b.range.q - a.range.q || level(b.range) - level(a.range) || a.index - b.index);
  return ranges.map((r) => r.range);
}

/** Splits a comma-separated list (RFC 9110 5.6.1), keeping quoted commas. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // quoted-pair: skip the escaped character
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

/** 0 for * /*, 1 for type/*, 2 for type/subtype. */
function level(r: MediaRange): number {
  return r.type === "*" ? 0 : r.subtype === "*" ? 1 : 2;
}

/** Positive when a is more specific than b (RFC 9110 12.5.1). */
function compareSpecificity(a: MediaRange, b: MediaRange): number {
  return level(a) - level(b) || Object.keys(a.params).length - Object.keys(b.params).length;
}

/**
 * Picks the offer to send for an Accept value (PS3.18 8.7.8).
 *
 * - No Accept value, an empty one, or one without a single parseable range:
 *   the first offer, the resource's default (RFC 9110 12.5.1: absent means
 *   anything is acceptable).
 * - Each offer takes the q of the most specific range matching it (RFC 9110
 *   12.5.1), so `image/*, image/png;q=0` excludes PNG only. The offer with
 *   the highest q wins; ties go to the offer matched by the range that comes
 *   first in {@link parseAccept} order, then to the earlier offer. So
 *   `multipart/related` without a type parameter, like `* /*`, picks the
 *   first offer it matches.
 * - For a multipart offer a `type` parameter must match the offer's partType
 *   (wildcards like "image/*" allowed). dcm4che-style
 *   `type="application/dicom;transfer-syntax=…"` is read too (PS3.18 8.7.3
 *   leaves the placement open; see dcm4che/dcm4che#308).
 * - A `transfer-syntax` parameter must equal the offer's transferSyntax, or
 *   be "*" (PS3.18 8.7.3.5.2: the origin server chooses; this archive sends
 *   the stored syntax). Absent, it matches as well and the stored syntax is
 *   sent and named; PS3.18 8.7.3 would have the media type's default
 *   (Explicit VR Little Endian for application/dicom), which an archive that
 *   does not transcode cannot honour, and clients (OHIF, Orthanc) rely on
 *   getting the stored one. Offers without a transferSyntax ignore the
 *   parameter.
 * - A charset other than UTF-8 excludes JSON, XML and text offers, which are
 *   always UTF-8 (PS3.18 8.7.3.5.3, F.2).
 *
 * Returns undefined when nothing is acceptable: answer 406 (PS3.18 8.7.8.1).
 */
export function negotiate(accept: string | null | undefined, offers: readonly Offer[]): Negotiated | undefined {
  const first = offers[0];
  if (first === undefined) return undefined;
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return selected(first, undefined);

  let best: { offer: Offer; range: MediaRange; q: number; rank: number } | undefined;
  for (const offer of offers) {
    const target = describe(offer);
    if (target === undefined) continue;
    let match: { range: MediaRange; rank: number } | undefined;
    ranges.forEach((range, rank) => {
      if (!matches(range, target)) return;
      if (match === undefined || compareSpecificity(range, match.range) > 0) match = { range, rank };
    });
    if (match === undefined || match.range.q === 0) continue;
    if (best === undefined || match.range.q > best.q || (match.range.q === best.q && match.rank < best.rank)) {
      best = { offer, range: match.range, q: match.range.q, rank: match.rank };
    }
  }
  return best === undefined ? undefined : selected(best.offer, requestedSyntax(best.range));
}

/**
 * The Accept value of a request: the `accept` query parameter (PS3.18
 * 8.3.3.1) when present, otherwise the Accept header field. Repeated
 * parameters are joined as one list. "+" is kept as "+", not read as a space:
 * clients write `accept=application/dicom+json` unescaped.
 *
 * PS3.18 8.7.8.1 falls back to the header when no media type in the query
 * parameter is supported; {@link negotiateRequest} does that.
 */
export function acceptFrom(url: URL, headers: Headers): string | null {
  return acceptQueryParameter(url) ?? headers.get("accept");
}

/**
 * PS3.18 8.7.8.1 steps 2 to 5: the accept query parameter first, then the
 * Accept header field, each prioritized on its own.
 */
export function negotiateRequest(url: URL, headers: Headers, offers: readonly Offer[]): Negotiated | undefined {
  const query = acceptQueryParameter(url);
  if (query !== null) {
    const fromQuery = negotiate(query, offers);
    if (fromQuery !== undefined) return fromQuery;
  }
  return negotiate(headers.get("accept"), offers);
}

function acceptQueryParameter(url: URL): string | null {
  const values: string[] = [];
  for (const pair of url.search.replace(/^\?/, "").split("&")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq) !== "accept") continue;
    const raw = pair.slice(eq + 1);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw;
    }
    if (value.trim() !== "") values.push(value);
  }
  return values.length === 0 ? null : values.join(", ");
}

interface Target {
  offer: Offer;
  type: string;
  subtype: string;
  part: { type: string; subtype: string } | undefined;
  textual: boolean;
}

function describe(offer: Offer): Target | undefined {
  const mt = parseMediaType(offer.mediaType);
  if (mt === undefined) return undefined;
  const part = offer.partType === undefined ? undefined : parseMediaType(offer.partType);
  const textual = mt.type === "text" || /(?:^|\+)(?:json|xml)$/.test(mt.subtype);
  return { offer, type: mt.type, subtype: mt.subtype, part, textual };
}

function typeMatches(rangeType: string, rangeSubtype: string, type: string, subtype: string): boolean {
  return (rangeType === "*" || rangeType === type) && (rangeSubtype === "*" || rangeSubtype === subtype);
}

function matches(range: MediaRange, target: Target): boolean {
  if (!typeMatches(range.type, range.subtype, target.type, target.subtype)) return false;
  const syntax = requestedSyntax(range);
  if (target.type === "multipart" && range.params["type"] !== undefined) {
    const wanted = parseMediaType(range.params["type"]);
    if (wanted === undefined || target.part === undefined) return false;
    if (!typeMatches(wanted.type, wanted.subtype, target.part.type, target.part.subtype)) return false;
  }
  const offered = target.offer.transferSyntax;
  if (syntax !== undefined && syntax !== "*" && offered !== undefined && syntax !== offered) return false;
  const charset = range.params["charset"]?.toLowerCase();
  if (target.textual && charset !== undefined && charset !== "utf-8" && charset !== "utf8" && charset !== "*") {
    return false;
  }
  return true;
}

/** The transfer-syntax parameter, also when nested in a quoted type parameter. */
function requestedSyntax(range: MediaRange): string | undefined {
  const direct = range.params["transfer-syntax"];
  if (direct !== undefined) return direct.trim();
  const type = range.params["type"];
  if (type === undefined || !type.includes(";")) return undefined;
  return parseMediaType(type)?.params["transfer-syntax"]?.trim();
}

function selected(offer: Offer, requested: string | undefined): Negotiated {
  const transferSyntax = offer.transferSyntax ?? (requested !== undefined && requested !== "*" ? requested : undefined);
  return transferSyntax === undefined ? { offer } : { offer, transferSyntax };
}
