/**
 * A C-FIND request identifier (PS3.4 C.4.1.1.3.1), in DICOM JSON, to a Query.
 */
import { lookup } from "../dicom/dictionary.ts";
import type { DicomJson, DicomJsonAttribute, PersonName } from "../dicom/json.ts";
import { describeTag, parseKey } from "./keys.ts";
import { isQueryError, queryError, type Level, type Match, type Query, type QueryError } from "./model.ts";
import { personNameString } from "./normalize.ts";

export interface CFindOptions {
  /** Fuzzy semantic matching of person names was accepted in extended negotiation (PS3.4 C.5.1.1). */
  fuzzy?: boolean;
}

const QUERY_RETRIEVE_LEVEL = "00080052";
const SPECIFIC_CHARACTER_SET = "00080005";

// PS3.4 C.6.1.1: the levels of Query/Retrieve Level (0008,0052).
const LEVELS: Record<string, Level> = { PATIENT: "patient", STUDY: "study", SERIES: "series", IMAGE: "instance" };

/**
 * Every attribute of the identifier is a key: an empty one is universal
 * matching and so a return key (C.2.2.2.3), a sequence is matched through
 * its single item (C.2.2.2.6). All of them are returned (C.4.1.1.3.2), so
 * every top-level tag becomes an include field.
 */
export function parseCFindIdentifier(identifier: DicomJson, options: CFindOptions = {}): Query | QueryError {
  const levelValue = identifier[QUERY_RETRIEVE_LEVEL]?.Value?.[0];
  const level = typeof levelValue === "string" ? LEVELS[levelValue.trim()] : undefined;
  if (!level) {
    return queryError(`Query/Retrieve Level (0008,0052) must be PATIENT, STUDY, SERIES or IMAGE, not ${JSON.stringify(levelValue ?? null)} (PS3.4 C.6.1.1)`);
  }
  const fuzzy = options.fuzzy ?? false;
  const matches = parseItem(identifier, fuzzy, true);
  if (isQueryError(matches)) return matches;
  return {
    level,
    matches,
    includeFields: Object.keys(identifier).map((t) => t.toUpperCase()),
    fuzzy,
    offset: 0,
    warnings: [],
  };
}

function parseItem(item: DicomJson, fuzzy: boolean, topLevel: boolean): Match[] | QueryError {
  const matches: Match[] = [];
  for (const [key, attribute] of Object.entries(item)) {
    const tag = key.toUpperCase();
    // The level is not a key, and Specific Character Set is never matched (PS3.4 C.2.2.2).
    if (topLevel && (tag === QUERY_RETRIEVE_LEVEL || tag === SPECIFIC_CHARACTER_SET)) continue;
    const match = parseAttribute(tag, attribute, fuzzy);
    if (isQueryError(match)) return match;
    matches.push(match);
  }
  return matches;
}

function parseAttribute(tag: string, attribute: DicomJsonAttribute, fuzzy: boolean): Match | QueryError {
  if (!/^[0-9A-F]{8}$/.test(tag)) return queryError(`"${tag}" is not a tag of 8 hex digits (PS3.18 F.2.1)`);
  const vr = attribute.vr || lookup(parseInt(tag, 16))?.vr || "UN";
  if (vr === "SQ") {
    const items = (attribute.Value ?? []) as DicomJson[];
    if (items.length > 1) return queryError(`${describeTag(tag)}: a sequence key holds a single item (PS3.4 C.2.2.2.6)`);
    const first = items[0];
    if (!first || Object.keys(first).length === 0) return { kind: "universal", tag, vr };
    const nested = parseItem(first, fuzzy, false);
    if (isQueryError(nested)) return nested;
    return { kind: "sequence", tag, vr, items: nested };
  }
  if (attribute.InlineBinary !== undefined || attribute.BulkDataURI !== undefined) {
    return queryError(`matching on ${describeTag(tag)} (VR ${vr}) is not defined (PS3.4 C.2.2.2)`);
  }
  const values = (attribute.Value ?? []).map(keyString);
  return parseKey({ tag, vr }, values, fuzzy);
}

/** A JSON value as the string the key was encoded as (PS3.18 F.2.3); null is an empty value. */
function keyString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return personNameString(value as PersonName);
  return String(value);
}
