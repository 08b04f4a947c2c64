import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { DEFAULT_RETURN_TAGS, type Query } from "@dicom-edge/shared/query/model";
import { returnAttributes } from "@dicom-edge/shared/query/return-keys";
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
  const defaults = new Set<string>(DEFAULT_RETURN_TAGS[level]);
  if (level !== "study" && !scoped.study) DEFAULT_RETURN_TAGS.study.forEach((t) => defaults.add(t));
  if (level === "instance" && !scoped.series) DEFAULT_RETURN_TAGS.series.forEach((t) => defaults.add(t));
  return returnAttributes(dataset, query, defaults);
}

/** QIDO-RS searches studies, series and instances, so a match always names its study. */
function retrieveUrl(match: SearchMatch, base: string): string {
  const study = match.study ?? "";
  if (match.sop !== undefined) return instanceUrl(base, { study, series: match.series!, sop: match.sop });
  if (match.series !== undefined) return `${base}/studies/${study}/series/${match.series}`;
  return `${base}/studies/${study}`;
}
