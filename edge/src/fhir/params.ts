/**
 * The query string of a FHIR search (R4 search.html): the resource's own
 * parameters, the result parameters _count, _offset and _include, and
 * _format. Unknown parameters, modifiers and _include values are refused
 * with 400 (strict handling), or with `Prefer: handling=lenient` dropped and
 * named in the Bundle (search.html#errors). Pure.
 */
import { FhirError } from "./outcome";
import { DEFAULT_COUNT, MAX_COUNT, SEARCH_INCLUDES, SEARCH_PARAMS, type SearchableType, type SearchParamDefinition } from "./search-params";

/** One occurrence of a parameter: repeated parameters are ANDed, the values of one ORed. */
export interface SearchParam {
  definition: SearchParamDefinition;
  /** The values between unescaped commas, still escaped (unescapeValue). */
  values: string[];
}

export interface ParsedSearch {
  params: SearchParam[];
  /** _include values, known to the type. */
  include: string[];
  count: number;
  offset: number;
  /** What lenient handling dropped, as name=value. */
  ignored: string[];
  /** The parameters the search was run with, for the Bundle's links (without _count and _offset). */
  applied: [string, string][];
}

/** _offset is this server's paging parameter: results from this 0-based position (R4 leaves paging to the server). */
const RESULT_PARAMS = new Set(["_count", "_offset", "_include", "_format"]);

export function parseSearch(type: SearchableType, query: URLSearchParams, lenient: boolean): ParsedSearch {
  const definitions = new Map(SEARCH_PARAMS[type].map((d) => [d.name, d]));
  const out: ParsedSearch = { params: [], include: [], count: DEFAULT_COUNT, offset: 0, ignored: [], applied: [] };
  const refuse = (name: string, value: string, why: string) => {
    if (!lenient) throw new FhirError(400, "not-supported", `${why} (send Prefer: handling=lenient to have it ignored)`);
    out.ignored.push(`${name}=${value}`);
  };
  for (const [name, value] of query) {
    if (RESULT_PARAMS.has(name)) {
      switch (name) {
        case "_count":
          out.count = Math.min(nonNegative(name, value), MAX_COUNT);
          continue;
        case "_offset":
          out.offset = nonNegative(name, value);
          continue;
        case "_include":
          if (!SEARCH_INCLUDES[type].includes(value)) {
            refuse(name, value, `_include=${value} is not supported for ${type}${SEARCH_INCLUDES[type].length > 0 ? ` (supported: ${SEARCH_INCLUDES[type].join(", ")})` : ""}`);
            continue;
          }
          if (!out.include.includes(value)) out.include.push(value);
          break;
      }
      out.applied.push([name, value]);
      continue;
    }
    const [base, modifier] = splitModifier(name);
    const definition = definitions.get(base);
    if (!definition) {
      refuse(name, value, `unknown search parameter "${name}" for ${type} (supported: ${[...definitions.keys()].join(", ")}, _count, _offset, _include, _format)`);
      continue;
    }
    if (modifier !== undefined) {
      refuse(name, value, `the modifier :${modifier} is not supported (${name})`);
      continue;
    }
    // R4 search.html#3.1.1.4: a parameter without a value is ignored.
    if (value === "") continue;
    out.params.push({ definition, values: splitList(value) });
    out.applied.push([name, value]);
  }
  return out;
}

function splitModifier(name: string): [string, string | undefined] {
  const colon = name.indexOf(":");
  return colon < 0 ? [name, undefined] : [name.slice(0, colon), name.slice(colon + 1)];
}

function nonNegative(name: string, value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new FhirError(400, "invalid", `${name} must be a whole number of 0 or more, not "${value}"`);
  return n;
}

/** Splits at commas not escaped with "\" (R4 search.html#escaping); the parts stay escaped. */
export function splitList(value: string): string[] {
  return splitUnescaped(value, ",");
}

/** A token "[system]|code" (R4 search.html#token): system undefined without "|", "" for "|code". */
export function splitToken(escaped: string): { system?: string; code: string } {
  const parts = splitUnescaped(escaped, "|");
  if (parts.length === 1) return { code: unescapeValue(parts[0]!) };
  return { system: unescapeValue(parts[0]!), code: unescapeValue(parts.slice(1).join("|")) };
}

/** "\," "\|" "\$" "\\" to the characters they stand for. */
export function unescapeValue(escaped: string): string {
  return escaped.replace(/\\([,|$\\])/g, "$1");
}

function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "\\") i++;
    else if (value[i] === separator) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}
