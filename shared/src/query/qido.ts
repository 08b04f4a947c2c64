/**
 * QIDO-RS query parameters (PS3.18 10.6.1, syntax in 8.3.4) to a Query.
 */
import { addKey, describeTag, isUid, parseKey, resolvePath, type AttributeRef } from "./keys.ts";
import { isQueryError, queryError, type Match, type Query, type QueryError } from "./model.ts";

export type QidoLevel = "study" | "series" | "instance";

/** The UIDs of the resource path: /studies/{study}/series/{series}/instances. */
export interface QidoScope {
  study?: string;
  series?: string;
}

export interface QidoOptions {
  /** The most results one response may hold; a larger or missing `limit` is cut to it. Default 1000. */
  maxLimit?: number;
  /**
   * What to do with a parameter that is neither a QIDO-RS parameter nor an
   * attribute. PS3.18 8.3 says an origin server "shall ignore any
   * unsupported Query Parameters"; "reject" (the default) answers 400
   * instead, which catches misspelt keywords that would silently widen a
   * search. "ignore" skips them and adds a warning.
   */
  unknownParameters?: "reject" | "ignore";
}

export const DEFAULT_MAX_LIMIT = 1000;

const SPECIFIC_CHARACTER_SET = "00080005";
const TAGS = { study: "0020000D", series: "0020000E" } as const;

/**
 * Parses a QIDO-RS search. Attribute names are keywords, tags or dotted
 * sequence paths (PS3.18 8.3.4.1); repeated attributes and, for UIDs,
 * comma-separated values form one list. The path's UIDs become matches.
 */
export function parseQido(
  params: URLSearchParams,
  level: QidoLevel,
  scope: QidoScope = {},
  options: QidoOptions = {},
): Query | QueryError {
  const maxLimit = options.maxLimit ?? DEFAULT_MAX_LIMIT;
  const warnings: string[] = [];
  let fuzzy = false;
  let limit: number | undefined;
  let offset = 0;
  let includeAll = false;
  const includeFields = new Set<string>();
  // Values per attribute path, in first-seen order, joined across repeats.
  const keys = new Map<string, { path: AttributeRef[]; values: string[] }>();

  for (const [name, value] of params) {
    switch (name.toLowerCase()) {
      case "fuzzymatching": {
        const flag = parseBoolean(name, value);
        if (typeof flag === "object") return flag;
        fuzzy = flag;
        continue;
      }
      case "limit": {
        const n = parseCount(name, value, 1);
        if (typeof n === "object") return n;
        limit = n;
        continue;
      }
      case "offset": {
        const n = parseCount(name, value, 0);
        if (typeof n === "object") return n;
        offset = n;
        continue;
      }
      case "includefield": {
        for (const field of value.split(",").map((f) => f.trim())) {
          if (field === "") continue;
          if (field === "all") {
            includeAll = true;
            continue;
          }
          const path = resolvePath(field);
          if (isQueryError(path)) return queryError(`includefield: ${path.reason}`);
          // A dotted include path returns the whole top-level sequence.
          includeFields.add(path[0]!.tag);
        }
        continue;
      }
      case "accept":
      case "charset":
        // PS3.18 8.3.3: content negotiation parameters, read by the response writer.
        continue;
      case "emptyvaluematching":
      case "multiplevaluematching": {
        const flag = parseBoolean(name, value);
        if (typeof flag === "object") return flag;
        // PS3.18 8.3.4.5 / 8.3.4.6: not supported, so search without it and say so.
        if (flag) warnings.push(`The ${name.toLowerCase()} parameter is not supported. ${name.toLowerCase() === "emptyvaluematching" ? "Empty" : "Multiple"} Value Matching has not been performed.`);
        continue;
      }
    }
    const path = resolvePath(name);
    if (isQueryError(path)) {
      if (options.unknownParameters === "ignore") {
        warnings.push(`The ${name} parameter is not supported and has been ignored.`);
        continue;
      }
      return queryError(`unknown query parameter "${name}": not a QIDO-RS parameter (PS3.18 8.3.4) nor a DICOM attribute: ${path.reason}`);
    }
    const key = path.map((p) => p.tag).join(".");
    const entry = keys.get(key) ?? { path, values: [] };
    keys.set(key, entry);
    const leaf = path[path.length - 1]!;
    // PS3.18 8.3.4.1 uid-list-match: UIDs may be separated by commas; any
    // value may hold several values separated by the VM delimiter "\" (PS3.5 6.4).
    entry.values.push(...value.split(leaf.vr === "UI" ? /[\\,]/ : /\\/));
  }

  const matches: Match[] = [];
  for (const { path, values } of keys.values()) {
    const leaf = path[path.length - 1]!;
    // PS3.4 C.2.2.2: Specific Character Set is never matched.
    if (path.length === 1 && leaf.tag === SPECIFIC_CHARACTER_SET) continue;
    const match = parseKey(leaf, values, fuzzy);
    if (isQueryError(match)) return match;
    addKey(matches, path, match);
  }

  for (const which of ["study", "series"] as const) {
    const uid = scope[which];
    if (uid === undefined) continue;
    if (!isUid(uid)) return queryError(`${describeTag(TAGS[which])}: "${uid}" in the resource path is not a valid UID (PS3.5 9.1)`);
    matches.push({ kind: "single", tag: TAGS[which], vr: "UI", value: uid });
  }

  return {
    level,
    matches,
    includeFields: includeAll ? "all" : [...includeFields],
    fuzzy,
    limit: Math.min(limit ?? maxLimit, maxLimit),
    offset,
    warnings,
  };
}

function parseBoolean(name: string, value: string): boolean | QueryError {
  if (value === "true") return true;
  if (value === "false") return false;
  return queryError(`${name} must be "true" or "false", not "${value}" (PS3.18 8.3.4)`);
}

function parseCount(name: string, value: string, min: number): number | QueryError {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    return queryError(`${name} must be an integer of at least ${min}, not "${value}" (PS3.18 8.3.4.4)`);
  }
  return n;
}
