import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { DEFAULT_RETURN_TAGS, type Query } from "@dicom-edge/shared/query/model";
import type { SearchMatch } from "../../backends/backend";
import { instanceUrl } from "../wado/resources";

const RETRIEVE_URL = "00081190";

/**
 * The attributes of one QIDO-RS result (PS3.18 10.6.3.2): the level's
 * defaults (Tables 10.6.3-3/-4/-5), the upper levels' defaults when the path
 * does not name them, every matching key, and the includefield attributes
 * (all of them for `includefield=all`), with RetrieveURL of the result.
 */
export function resultDataset(match: SearchMatch, query: Query, base: string, scoped: { study: boolean; series: boolean }): DicomJson {
  const level = query.level === "patient" ? "study" : query.level;
  const dataset: DicomJson = {
    ...match.dataset,
    [RETRIEVE_URL]: { vr: "UR", Value: [retrieveUrl(match, base)] },
  };
  const wanted = new Set<string>(DEFAULT_RETURN_TAGS[level]);
  if (level !== "study" && !scoped.study) DEFAULT_RETURN_TAGS.study.forEach((t) => wanted.add(t));
  if (level === "instance" && !scoped.series) DEFAULT_RETURN_TAGS.series.forEach((t) => wanted.add(t));
  for (const key of query.matches) wanted.add(key.tag);
  if (query.includeFields !== "all") query.includeFields.forEach((t) => wanted.add(t));
  const out: DicomJson = {};
  for (const tag of Object.keys(dataset)) {
    if (query.includeFields === "all" || wanted.has(tag)) out[tag] = dataset[tag]!;
  }
  // A requested key the index has no value for is returned empty (PS3.4 C.2.2.1.2).
  for (const key of query.matches) out[key.tag] ??= { vr: key.vr };
  return sortKeys(out);
}

function retrieveUrl(match: SearchMatch, base: string): string {
  if (match.sop !== undefined) return instanceUrl(base, { study: match.study, series: match.series!, sop: match.sop });
  if (match.series !== undefined) return `${base}/studies/${match.study}/series/${match.series}`;
  return `${base}/studies/${match.study}`;
}

function sortKeys(ds: DicomJson): DicomJson {
  return Object.fromEntries(Object.entries(ds).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
