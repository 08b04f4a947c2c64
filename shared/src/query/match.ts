/**
 * In-memory attribute matching (PS3.4 C.2.2.2) of a dataset in DICOM JSON,
 * with the same semantics as the SQL compiler (sql.ts): for tests, and to
 * filter what a DIMSE backend returns.
 */
import type { DicomJson, PersonName } from "../dicom/json.ts";
import { NUMERIC_VRS, lowerOf, upperOf } from "./keys.ts";
import { isUniversal, type Match, type Query } from "./model.ts";
import { alphabeticKey, asciiUpper, fuzzyName, fuzzyTokens, normalizeDateTime, normalizeTime, personNameString } from "./normalize.ts";

/** True when every key of the query matches the dataset. */
export function matches(query: Query, dataset: DicomJson): boolean {
  return query.matches.every((m) => matchesKey(m, dataset));
}

/** One key against a dataset (or a sequence item). */
export function matchesKey(match: Match, dataset: DicomJson): boolean {
  if (match.kind === "universal" || isUniversal(match)) return true;
  const attribute = dataset[match.tag];
  if (match.kind === "sequence") {
    // C.2.2.2.6: one item must match every item key.
    const items = attribute?.vr === "SQ" ? ((attribute.Value ?? []) as (DicomJson | null)[]) : [];
    return items.some((item) => item !== null && match.items.every((key) => matchesKey(key, item)));
  }
  // PS3.4 C.2.2.3: an attribute with several values matches when any of them
  // does. An absent or empty value matches no key but a universal one.
  const values = (attribute?.Value ?? []).filter((v) => v !== null && v !== undefined && v !== "");
  return values.some((v) => matchesValue(match, v));
}

function matchesValue(match: Exclude<Match, { kind: "universal" | "sequence" }>, value: unknown): boolean {
  if (match.vr === "PN") return matchesName(match, typeof value === "object" ? (value as PersonName) : String(value));
  const text = String(value);
  switch (match.kind) {
    case "single":
      return equals(match.vr, text, match.value);
    case "any-of":
      return match.values.some((v) => equals(match.vr, text, v));
    case "uid-list":
      return match.uids.includes(text);
    case "wildcard":
      return wildcardRegExp(match.pattern).test(text);
    case "range": {
      const comparable = match.vr === "TM" ? normalizeTime(text) : match.vr === "DT" ? normalizeDateTime(text) : text;
      if (comparable === "") return false;
      return (
        (match.from === undefined || comparable >= lowerOf(match.vr, match.from)) &&
        (match.to === undefined || comparable <= upperOf(match.vr, match.to))
      );
    }
  }
}

function equals(vr: string, text: string, key: string | number): boolean {
  if (NUMERIC_VRS.has(vr)) return Number(text) === Number(key);
  // Times compare as instants: "1030" is "103000" (PS3.5 Table 6.2-1 TM).
  if (vr === "TM") return normalizeTime(text) !== "" && normalizeTime(text) === normalizeTime(String(key));
  return text === key;
}

/**
 * Person names. Literal matching is against the Alphabetic group and
 * insensitive to ASCII case, which PS3.4 C.2.2.2.1 allows for PN (and which
 * SQLite's NOCASE and LIKE give); a key's later groups are ignored
 * (C.2.2.2.4 note 3). Fuzzy matching: every part of the key must begin a
 * part of the name, in any group, ignoring case and accents.
 */
function matchesName(match: Exclude<Match, { kind: "universal" | "sequence" }>, value: PersonName | string): boolean {
  if ((match.kind === "single" || match.kind === "wildcard") && match.fuzzy) {
    const key = match.kind === "single" ? String(match.value) : match.pattern;
    return fuzzyRegExps(key).every((re) => re.test(fuzzyName(personNameString(value))));
  }
  const name = asciiUpper(typeof value === "string" ? (value.split("=")[0] ?? "") : (value.Alphabetic ?? ""));
  if (name === "") return false;
  switch (match.kind) {
    case "single":
      return name === asciiUpper(alphabeticKey(String(match.value)));
    case "any-of":
      return match.values.some((v) => name === asciiUpper(alphabeticKey(String(v))));
    case "wildcard":
      return wildcardRegExp(asciiUpper(alphabeticKey(match.pattern))).test(name);
    default:
      return false;
  }
}

/**
 * One pattern per part of a fuzzy key: " PART" anywhere in the stored form,
 * with the key's wild cards kept. With no part, any non-empty name matches.
 */
function fuzzyRegExps(key: string): RegExp[] {
  const parts = fuzzyTokens(key).filter((t) => !/^\*+$/.test(t));
  if (parts.length === 0) return [/./u];
  return parts.map((part) => new RegExp(` ${wildcardSource(part)}`, "su"));
}

function wildcardRegExp(pattern: string): RegExp {
  return new RegExp(`^${wildcardSource(pattern)}$`, "su");
}

/** PS3.4 C.2.2.2.4: "*" any run of characters, "?" exactly one; everything else literal. */
function wildcardSource(pattern: string): string {
  let source = "";
  for (const ch of pattern) {
    source += ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  return source;
}
