/**
 * The series and instances of a page of studies, for their ImagingStudy
 * resources: one series-level and one instance-level search of the one
 * query engine, for all the page's studies at once. Bounded: the series by
 * the studies' own series counts, the instances by MAX_LISTED_INSTANCES per
 * response; a study that would pass it is listed with its series but
 * without series.instance (numberOfInstances still says how many).
 */
import { numberValue, stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { buildQuery, oneOfKey } from "@dicom-edge/shared/query/build";
import { isQueryError, type Level } from "@dicom-edge/shared/query/model";
import type { Backend } from "../backends/backend";
import type { StudyContent } from "./imaging-study";

/** The most instances one response lists, over all its studies. */
export const MAX_LISTED_INSTANCES = 5000;

const STUDY_UID = "0020000D";
const SERIES_UID = "0020000E";
const SERIES_COUNT = "00201206";
const INSTANCE_COUNT = "00201208";

/** The content of each study (study-level datasets), in the same order. */
export async function studyContents(backend: Backend, studies: DicomJson[]): Promise<StudyContent[]> {
  if (studies.length === 0) return [];
  const uids = studies.map((s) => stringValue(s, STUDY_UID)!);
  const seriesCount = studies.reduce((n, s) => n + (numberValue(s, SERIES_COUNT) ?? 0), 0);
  // Instances: whole studies, in page order, while the budget lasts.
  const listed: string[] = [];
  let instanceCount = 0;
  for (const [i, study] of studies.entries()) {
    const n = numberValue(study, INSTANCE_COUNT) ?? 0;
    if (instanceCount + n > MAX_LISTED_INSTANCES) break;
    instanceCount += n;
    listed.push(uids[i]!);
  }
  const [series, instances] = await Promise.all([
    search(backend, "series", uids, Math.max(seriesCount, 1)),
    listed.length > 0 ? search(backend, "instance", listed, Math.max(instanceCount, 1)) : Promise.resolve([]),
  ]);
  const seriesOf = groupBy(series, STUDY_UID);
  const instancesOf = groupBy(instances, SERIES_UID);
  const listedSet = new Set(listed);
  return studies.map((study, i) => ({
    study,
    series: seriesOf.get(uids[i]!) ?? [],
    ...(listedSet.has(uids[i]!) && { instances: instancesOf }),
  }));
}

async function search(backend: Backend, level: Level, studies: string[], limit: number): Promise<DicomJson[]> {
  const result = await backend.search(buildQuery(level, [oneOfKey(STUDY_UID, studies)], { limit }));
  if (isQueryError(result)) throw new Error(`the index refused a ${level} search: ${result.reason}`);
  return result.matches.map((m) => m.dataset);
}

function groupBy(datasets: DicomJson[], tag: string): Map<string, DicomJson[]> {
  const groups = new Map<string, DicomJson[]>();
  for (const dataset of datasets) {
    const key = stringValue(dataset, tag) ?? "";
    const group = groups.get(key);
    if (group) group.push(dataset);
    else groups.set(key, [dataset]);
  }
  return groups;
}
