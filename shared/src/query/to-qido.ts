import { keyValues, queryError, type Match, type Query, type QueryError } from "./model.ts";

/** The QIDO-RS resource of each level (PS3.18 10.6.1); patients have none. */
const RESOURCE = { study: "studies", series: "series", instance: "instances" } as const;

/**
 * A Query as a QIDO-RS request (PS3.18 10.6, 8.3.4): the resource path for
 * its level and the query parameters, so that a search received as QIDO-RS
 * or C-FIND reaches an upstream DICOMweb server with the same keys and
 * matching. The inverse of parseQido: keys by tag, sequence keys as dotted
 * paths, UID lists with commas (PS3.18 8.3.4.1), other values with the VM
 * delimiter "\" (PS3.5 6.4), ranges as
 * "from-to" (PS3.4 C.2.2.2.5), universal keys with an empty value.
 * Pure.
 */
export function toQido(query: Query): { path: string; params: URLSearchParams } | QueryError {
  if (query.level === "patient") return queryError("a patient-level query has no QIDO-RS resource (PS3.18 10.6.1): the upstream DICOMweb server cannot answer it");
  const params = new URLSearchParams();
  for (const match of query.matches) addMatch(params, "", match);
  if (query.includeFields === "all") params.append("includefield", "all");
  else for (const tag of query.includeFields) params.append("includefield", tag);
  if (query.fuzzy) params.set("fuzzymatching", "true");
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.offset > 0) params.set("offset", String(query.offset));
  return { path: `/${RESOURCE[query.level]}`, params };
}

function addMatch(params: URLSearchParams, prefix: string, match: Match): void {
  const key = `${prefix}${match.tag}`;
  switch (match.kind) {
    case "universal":
      // PS3.4 C.2.2.2.3: an empty value matches everything and returns the attribute.
      params.append(key, "");
      return;
    case "sequence":
      if (match.items.length === 0) params.append("includefield", key);
      for (const item of match.items) addMatch(params, `${key}.`, item);
      return;
    default:
      // PS3.18 8.3.4.1 uid-list-match: UIDs separated by commas; other values by the VM delimiter.
      params.append(key, keyValues(match).map(String).join(match.kind === "uid-list" ? "," : "\\"));
  }
}
