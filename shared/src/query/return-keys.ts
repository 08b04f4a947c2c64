/**
 * Which attributes of a match a query returns; one rule for both doors:
 * QIDO-RS (PS3.18 10.6.3.2: the level's defaults, the matching keys, the
 * includefield attributes) and C-FIND (PS3.4 C.4.1.1.3.2: every key of the
 * request identifier).
 */
import type { DicomJson } from "../dicom/json.ts";
import type { Query } from "./model.ts";

/**
 * The attributes of `dataset` that `query` asks for, plus `always`: every
 * key attribute, every include field (all of them for "all"). A key the
 * dataset has no value for is returned empty (PS3.4 C.2.2.1.2, C.2.2.1.3).
 * Tags come out in ascending order.
 */
export function returnAttributes(dataset: DicomJson, query: Pick<Query, "matches" | "includeFields">, always: Iterable<string> = []): DicomJson {
  const wanted = new Set<string>(always);
  for (const key of query.matches) wanted.add(key.tag);
  if (query.includeFields !== "all") query.includeFields.forEach((t) => wanted.add(t));
  const out: DicomJson = {};
  for (const tag of Object.keys(dataset)) {
    if (query.includeFields === "all" || wanted.has(tag)) out[tag] = dataset[tag]!;
  }
  for (const key of query.matches) out[key.tag] ??= { vr: key.vr };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
