/**
 * Small builders of Query keys for frontends that translate their own
 * search syntax (FHIR search) into the engine's model, the way parseQido
 * and parseCFindIdentifier do for theirs. Values are taken literally: no
 * wild cards, ranges or lists are read out of them, so a "*" in an
 * Accession Number is a "*".
 */
import { lookup } from "../dicom/dictionary.ts";
import type { AnyOfMatch, Level, Match, Query, RangeMatch, SingleMatch, UidListMatch } from "./model.ts";

/** The attribute's VR from PS3.6; the builders only take dictionary tags. */
function vrOf(tag: string): string {
  const entry = lookup(parseInt(tag, 16));
  if (!entry || !/^[0-9A-F]{8}$/.test(tag)) throw new Error(`query builder: ${tag} is not a PS3.6 tag of 8 uppercase hex digits`);
  return entry.vr;
}

/** Single Value Matching of one literal value (PS3.4 C.2.2.2.1). */
export function exactKey(tag: string, value: string | number): SingleMatch {
  return { kind: "single", tag, vr: vrOf(tag), value };
}

/**
 * One of several literal values: a UID list (PS3.4 C.2.2.2.2) for UIDs,
 * "any of" otherwise; a single value when there is one.
 */
export function oneOfKey(tag: string, values: readonly (string | number)[]): SingleMatch | UidListMatch | AnyOfMatch {
  const vr = vrOf(tag);
  if (values.length === 1) return { kind: "single", tag, vr, value: values[0]! };
  if (vr === "UI") return { kind: "uid-list", tag, vr, uids: values.map(String) };
  return { kind: "any-of", tag, vr, values: [...values] };
}

/** Range Matching (PS3.4 C.2.2.2.5) with the bounds as the attribute's own values, either open. */
export function rangeKey(tag: string, bounds: { from?: string; to?: string }): RangeMatch {
  return { kind: "range", tag, vr: vrOf(tag), ...(bounds.from !== undefined && { from: bounds.from }), ...(bounds.to !== undefined && { to: bounds.to }) };
}

/**
 * Fuzzy Person Name matching (PS3.4 C.2.2.2.1.1 as normalize.ts defines it):
 * every part of `text` begins a part of the name, in any component group,
 * ignoring case and accents.
 */
export function fuzzyNameKey(tag: string, text: string): SingleMatch {
  return { kind: "single", tag, vr: vrOf(tag), value: text, fuzzy: true };
}

/** A Query of `matches` with nothing extra to return and one page. */
export function buildQuery(level: Level, matches: Match[], page: { limit?: number; offset?: number } = {}): Query {
  return {
    level,
    matches,
    includeFields: [],
    fuzzy: matches.some((m) => "fuzzy" in m && m.fuzzy === true),
    ...(page.limit !== undefined && { limit: page.limit }),
    offset: page.offset ?? 0,
    warnings: [],
  };
}
