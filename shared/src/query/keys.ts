/**
 * Key Attributes: naming them (keyword, tag, dotted sequence path) and
 * turning a key's values into a Match (PS3.4 C.2.2.2). Shared by the QIDO-RS
 * and C-FIND parsers so both doors validate the same way.
 */
import { keywordToTag, lookup } from "../dicom/dictionary.ts";
import { tagKey } from "../dicom/json.ts";
import { queryError, type Match, type QueryError } from "./model.ts";
import { normalizeDateTime, normalizeTime } from "./normalize.ts";

export interface AttributeRef {
  tag: string;
  vr: string;
  keyword: string;
}

const TAG = /^[0-9A-Fa-f]{8}$/;
const KEYWORD = /^[A-Za-z][A-Za-z0-9]*$/;

/** A PS3.6 keyword or 8-hex tag; undefined when the dictionary does not know it. */
export function resolveAttribute(id: string): AttributeRef | undefined {
  let tag: number | undefined;
  if (TAG.test(id)) tag = parseInt(id, 16);
  else if (KEYWORD.test(id)) tag = keywordToTag(id);
  if (tag === undefined) return undefined;
  const entry = lookup(tag);
  return entry && { tag: tagKey(tag), vr: entry.vr, keyword: entry.keyword };
}

/** "00400275.00400009" or "RequestAttributesSequence.ScheduledProcedureStepID" (PS3.18 8.3.4.1). */
export function resolvePath(name: string): AttributeRef[] | QueryError {
  const refs: AttributeRef[] = [];
  const ids = name.split(".");
  for (const [i, id] of ids.entries()) {
    const ref = resolveAttribute(id);
    if (!ref) return queryError(`unknown attribute "${id}": not a PS3.6 keyword or tag`);
    if (i < ids.length - 1 && ref.vr !== "SQ") {
      return queryError(`"${id}" in "${name}" is not a sequence, so it cannot have item attributes (PS3.18 8.3.4.1)`);
    }
    refs.push(ref);
  }
  return refs;
}

/** "PatientName (00100010)" for error messages. */
export function describeTag(tag: string): string {
  const entry = lookup(parseInt(tag, 16));
  return entry ? `${entry.keyword} (${tag})` : tag;
}

// PS3.4 C.2.2.2.4: the VRs where "*" and "?" are wild cards.
const WILDCARD_VRS = new Set(["AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"]);
// PS3.4 C.2.2.2.5: the VRs with Range Matching.
export const RANGE_VRS: ReadonlySet<string> = new Set(["DA", "TM", "DT"]);
const INTEGER_VRS = new Set(["IS", "US", "UL", "SS", "SL", "SV", "UV"]);
const UNSIGNED_VRS = new Set(["US", "UL", "UV"]);
const DECIMAL_VRS = new Set(["DS", "FL", "FD"]);
/** VRs whose values compare as numbers. */
export const NUMERIC_VRS: ReadonlySet<string> = new Set([...INTEGER_VRS, ...DECIMAL_VRS]);
// Bulk data: PS3.4 C.2.2.2.1 does not define matching on these.
const UNMATCHABLE_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "UN"]);
// Narrative text keeps its spaces (PS3.5 Table 6.2-1); elsewhere they are padding.
const UNTRIMMED_VRS = new Set(["LT", "ST", "UT"]);

const UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;
const DATE = /^\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/;
const TIME = /^([01]\d|2[0-3])(?:[0-5]\d(?:(?:[0-5]\d|60)(?:\.\d{1,6})?)?)?$/;
const DATE_TIME =
  /^\d{4}(?:(?:0[1-9]|1[0-2])(?:(?:0[1-9]|[12]\d|3[01])(?:(?:[01]\d|2[0-3])(?:[0-5]\d(?:(?:[0-5]\d|60)(?:\.\d{1,6})?)?)?)?)?)?(?:[+-](?:0\d|1[0-4])[0-5]\d)?$/;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const AGE = /^\d{3}[DWMY]$/;

/** PS3.5 9.1: digits and dots, no leading zeros in a component, at most 64 characters. */
export function isUid(s: string): boolean {
  return s.length <= 64 && UID.test(s);
}

/**
 * The Match for `values` of one key (already split at the VM delimiter).
 * No non-empty value is universal matching (C.2.2.2.3); several values are a
 * UID list (C.2.2.2.2) or "any of"; one value is a range, wild card or
 * single value depending on the VR and the characters it holds.
 */
export function parseKey(ref: { tag: string; vr: string }, values: readonly string[], fuzzy: boolean): Match | QueryError {
  const { tag, vr } = ref;
  const present = values.map((v) => (UNTRIMMED_VRS.has(vr) ? v : v.trim())).filter((v) => v !== "");
  if (present.length === 0) return { kind: "universal", tag, vr };
  if (vr === "SQ") return queryError(`${describeTag(tag)} is a sequence: match on its item attributes (PS3.4 C.2.2.2.6)`);
  if (UNMATCHABLE_VRS.has(vr)) return queryError(`matching on ${describeTag(tag)} (VR ${vr}) is not defined (PS3.4 C.2.2.2)`);
  // C.2.2.2.4 note: a value of "*" is universal matching.
  if (present.length === 1 && /^\*+$/.test(present[0]!)) return { kind: "universal", tag, vr };

  if (present.length > 1) {
    const parsed: (string | number)[] = [];
    for (const v of present) {
      if (WILDCARD_VRS.has(vr) && /[*?]/.test(v)) {
        return queryError(`${describeTag(tag)}: a list of values cannot hold wild cards (PS3.4 C.2.2.2.8)`);
      }
      if (RANGE_VRS.has(vr) && isRangeForm(vr, v)) {
        return queryError(`${describeTag(tag)}: a list of values cannot hold ranges`);
      }
      const single = parseSingle(tag, vr, v);
      if (typeof single === "object") return single;
      parsed.push(single);
    }
    return vr === "UI" ? { kind: "uid-list", tag, vr, uids: parsed as string[] } : { kind: "any-of", tag, vr, values: parsed };
  }

  const value = present[0]!;
  if (RANGE_VRS.has(vr)) {
    const range = parseRange(tag, vr, value);
    if (range) return range;
  }
  const pnFuzzy = fuzzy && vr === "PN" ? { fuzzy: true as const } : {};
  if (/[*?]/.test(value)) {
    if (!WILDCARD_VRS.has(vr)) return queryError(`${describeTag(tag)}: wild cards are not defined for VR ${vr} (PS3.4 C.2.2.2.4)`);
    return { kind: "wildcard", tag, vr, pattern: value, ...pnFuzzy };
  }
  const single = parseSingle(tag, vr, value);
  if (typeof single === "object") return single;
  return { kind: "single", tag, vr, value: single, ...pnFuzzy };
}

/** One value checked against its VR (PS3.5 Table 6.2-1); numbers for numeric VRs. */
function parseSingle(tag: string, vr: string, v: string): string | number | QueryError {
  const bad = (what: string) => queryError(`${describeTag(tag)}: "${v}" is not ${what}`);
  switch (vr) {
    case "UI":
      return isUid(v) ? v : bad("a valid UID (PS3.5 9.1)");
    case "DA":
      return DATE.test(v) ? v : bad("a date YYYYMMDD (PS3.5 Table 6.2-1)");
    case "TM":
      return TIME.test(v) ? v : bad("a time HH[MM[SS[.FFFFFF]]] (PS3.5 Table 6.2-1)");
    case "DT":
      return DATE_TIME.test(v) ? v : bad("a date-time YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX] (PS3.5 Table 6.2-1)");
    case "AS":
      return AGE.test(v) ? v : bad("an age nnnD/W/M/Y (PS3.5 Table 6.2-1)");
    case "AT":
      return TAG.test(v) ? v.toUpperCase() : bad("a tag of 8 hex digits");
  }
  if (INTEGER_VRS.has(vr)) {
    if (!INTEGER.test(v) || (UNSIGNED_VRS.has(vr) && v.startsWith("-"))) return bad(`an integer (VR ${vr})`);
    return Number(v);
  }
  if (DECIMAL_VRS.has(vr)) {
    const n = Number(v);
    return DECIMAL.test(v) && Number.isFinite(n) ? n : bad(`a number (VR ${vr})`);
  }
  return v;
}

function isValid(vr: string, v: string): boolean {
  return vr === "DA" ? DATE.test(v) : vr === "TM" ? TIME.test(v) : DATE_TIME.test(v);
}

function isRangeForm(vr: string, v: string): boolean {
  return v.includes("-") && !(vr === "DT" && DATE_TIME.test(v));
}

/**
 * PS3.4 C.2.2.2.5: "<a> - <b>", "- <b>", "<a> -". A DT may itself hold a
 * "-" (a negative UTC offset), so for DT every "-" is tried as the split.
 * Undefined when the value is not a range (then it is a single value).
 */
function parseRange(tag: string, vr: string, v: string): Match | QueryError | undefined {
  if (!isRangeForm(vr, v)) return undefined;
  for (let i = v.indexOf("-"); i >= 0; i = v.indexOf("-", i + 1)) {
    const from = v.slice(0, i).trim();
    const to = v.slice(i + 1).trim();
    if (from === "" && to === "") return queryError(`${describeTag(tag)}: "-" alone is not a range (PS3.4 C.2.2.2.5)`);
    if ((from !== "" && !isValid(vr, from)) || (to !== "" && !isValid(vr, to))) continue;
    if (from !== "" && to !== "" && lowerOf(vr, from) > upperOf(vr, to)) {
      // C.2.2.2.5.2: a range that crosses midnight is not supported.
      return queryError(`${describeTag(tag)}: range "${v}" starts after it ends (PS3.4 C.2.2.2.5)`);
    }
    return { kind: "range", tag, vr, ...(from !== "" && { from }), ...(to !== "" && { to }) };
  }
  return queryError(`${describeTag(tag)}: "${v}" is not a range of ${vr} values (PS3.4 C.2.2.2.5)`);
}

/** The comparable form of a range's lower bound. */
export function lowerOf(vr: string, v: string): string {
  return vr === "TM" ? normalizeTime(v, "lower") : vr === "DT" ? normalizeDateTime(v, "lower") : v;
}

/** The comparable form of a range's upper bound, padded to include the whole period it names. */
export function upperOf(vr: string, v: string): string {
  return vr === "TM" ? normalizeTime(v, "upper") : vr === "DT" ? normalizeDateTime(v, "upper") : v;
}

/** Inserts `leaf` (a key on `path`) into `matches`, merging keys on one sequence into one item (C.2.2.2.6). */
export function addKey(matches: Match[], path: readonly AttributeRef[], leaf: Match): void {
  const [head, ...rest] = path;
  if (!head || rest.length === 0) {
    matches.push(leaf);
    return;
  }
  let sequence = matches.find((m): m is Extract<Match, { kind: "sequence" }> => m.kind === "sequence" && m.tag === head.tag);
  if (!sequence) {
    const universal = matches.findIndex((m) => m.kind === "universal" && m.tag === head.tag);
    sequence = { kind: "sequence", tag: head.tag, vr: "SQ", items: [] };
    if (universal >= 0) matches.splice(universal, 1, sequence);
    else matches.push(sequence);
  }
  addKey(sequence.items, rest, leaf);
}
