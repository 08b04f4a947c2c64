/**
 * Which JSON a FHIR response is sent as (R4 http.html#mime): the `_format`
 * parameter when present, else the Accept header (RFC 9110 12.5.1). JSON
 * only: `application/fhir+json`, or `application/json` for a client that
 * asks for exactly that; XML and anything else is a 406.
 */
import { parseAccept, type MediaRange } from "../dicomweb/accept";
import { FHIR_JSON, FhirError } from "./outcome";

export type FhirMediaType = typeof FHIR_JSON | "application/json";

const OFFERS: readonly FhirMediaType[] = [FHIR_JSON, "application/json"];

// R4 http.html#mime: the _format values for JSON.
const FORMAT_JSON = new Set(["json", "application/json", FHIR_JSON, "application/json+fhir"]);

/** The media type to answer with, or a 406 FhirError. */
export function negotiateFormat(url: URL, headers: Headers): FhirMediaType {
  const format = url.searchParams.get("_format");
  if (format !== null) {
    const type = format.split(";")[0]!.trim().toLowerCase();
    if (FORMAT_JSON.has(type)) return type === "application/json" ? "application/json" : FHIR_JSON;
    throw new FhirError(406, "not-supported", `_format=${format} is not served: this server answers ${FHIR_JSON} only (_format=json)`);
  }
  const chosen = negotiateAccept(headers.get("accept"));
  if (chosen) return chosen;
  throw new FhirError(406, "not-supported", `Accept: ${headers.get("accept")} is not served: this server answers ${FHIR_JSON} (or application/json), FHIR R4`);
}

/**
 * Each offer takes the q of the most specific range that matches it; a
 * range with a fhirVersion other than R4 (4.0) matches nothing (R4
 * http.html#version-parameter). No Accept, or none that parses: FHIR JSON.
 */
function negotiateAccept(accept: string | null): FhirMediaType | undefined {
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return FHIR_JSON;
  let best: { offer: FhirMediaType; q: number } | undefined;
  for (const offer of OFFERS) {
    const [type, subtype] = offer.split("/") as [string, string];
    let match: MediaRange | undefined;
    for (const range of ranges) {
      if ((range.type !== "*" && range.type !== type) || (range.subtype !== "*" && range.subtype !== subtype)) continue;
      const version = range.params["fhirversion"];
      if (version !== undefined && !/^4\.0(\.\d+)?$/.test(version)) continue;
      if (!match || specificity(range) > specificity(match)) match = range;
    }
    if (match && match.q > 0 && (!best || match.q > best.q)) best = { offer, q: match.q };
  }
  return best?.offer;
}

function specificity(range: MediaRange): number {
  return range.type === "*" ? 0 : range.subtype === "*" ? 1 : 2;
}
