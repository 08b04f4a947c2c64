/**
 * The one query engine's Query as a C-FIND request identifier (PS3.4
 * C.4.1.1.3.1) for a PACS: the inverse of parseCFindIdentifier (c-find.ts),
 * as to-qido.ts is of parseQido. Pure.
 */
import { lookup } from "../dicom/dictionary.ts";
import type { DicomJson, DicomJsonAttribute } from "../dicom/json.ts";
import { DEFAULT_RETURN_TAGS, keyValues, queryError, type Level, type Match, type Query, type QueryError } from "./model.ts";

/** PS3.4 C.6.1: Patient Root Query/Retrieve Information Model - FIND. */
export const PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1";
/** PS3.4 C.6.2: Study Root Query/Retrieve Information Model - FIND. */
export const STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1";

const QUERY_RETRIEVE_LEVEL = "00080052";
const RETRIEVE_URL = "00081190";
const LEVEL_NAMES: Record<Level, string> = { patient: "PATIENT", study: "STUDY", series: "SERIES", instance: "IMAGE" };

/**
 * The unique keys that name a match of each level (PS3.4 C.6.1.1, C.6.2.1):
 * asked for always, so every match can be told apart and named.
 */
const UNIQUE_KEYS: Record<Level, readonly string[]> = {
  patient: ["00100020"],
  study: ["0020000D"],
  series: ["0020000D", "0020000E"],
  instance: ["0020000D", "0020000E", "00080016", "00080018"],
};

/** PS3.4 Table C.6-1: the Patient level's Required keys, PS3.18 having no patient resource. */
const PATIENT_RETURN_TAGS = ["00100010", "00100020", "00100030", "00100040"];

export interface FindRequestIdentifier {
  /** Patient Root for the PATIENT level, Study Root otherwise (PS3.4 C.6.2.1 has no PATIENT level). */
  sopClass: string;
  identifier: DicomJson;
}

/**
 * Every key of the query with its matching as C-FIND expresses it
 * (C.2.2.2: single value, "*" and "?" wild cards, "a-b" ranges, UID lists
 * with "\"), and as universal keys the level's QIDO-RS defaults
 * (PS3.18 Table 10.6.3-3 to -5, RetrieveURL aside, which only the edge
 * can build), the include fields and the unique keys. Keys of other
 * levels go only where the query names them: hierarchical search
 * (C.4.1.3.1) asks the keys of one level. Fuzzy matching is not
 * negotiated (C.5.1.1), so a PACS matches names literally; `limit` and
 * `offset` have no place in an identifier: the agent counts responses.
 */
export function findIdentifier(query: Query): FindRequestIdentifier | QueryError {
  const identifier: DicomJson = { [QUERY_RETRIEVE_LEVEL]: { vr: "CS", Value: [LEVEL_NAMES[query.level]] } };
  for (const match of query.matches) identifier[match.tag] = keyAttribute(match);
  const returned = new Set<string>(UNIQUE_KEYS[query.level]);
  for (const tag of query.level === "patient" ? PATIENT_RETURN_TAGS : DEFAULT_RETURN_TAGS[query.level]) returned.add(tag);
  if (query.includeFields !== "all") for (const tag of query.includeFields) returned.add(tag);
  returned.delete(RETRIEVE_URL);
  for (const tag of returned) {
    if (identifier[tag]) continue;
    const vr = lookup(parseInt(tag, 16))?.vr;
    if (!vr) return queryError(`(${tag.slice(0, 4)},${tag.slice(4)}) is not an attribute a PACS can be asked to return`);
    identifier[tag] = { vr };
  }
  return { sopClass: query.level === "patient" ? PATIENT_ROOT_FIND : STUDY_ROOT_FIND, identifier };
}

function keyAttribute(match: Match): DicomJsonAttribute {
  switch (match.kind) {
    case "universal":
      // PS3.4 C.2.2.2.3 (a zero-length value), C.2.2.2.6 (a sequence without items).
      return { vr: match.vr };
    case "sequence": {
      // PS3.4 C.2.2.2.6: one item holding every item key.
      const item: DicomJson = {};
      for (const key of match.items) item[key.tag] = keyAttribute(key);
      return { vr: "SQ", Value: [item] };
    }
    default:
      return valued(match.vr, keyValues(match));
  }
}

/** A Person Name key is its Alphabetic group (PS3.18 F.2.2); every other VR takes the value as is. */
function valued(vr: string, values: readonly (string | number)[]): DicomJsonAttribute {
  return { vr, Value: vr === "PN" ? values.map((value) => ({ Alphabetic: String(value) })) : [...values] };
}

/**
 * A pending response's identifier as a search match: the Query/Retrieve
 * Level goes (it is the request's, not an attribute of the match).
 */
export function matchDataset(identifier: DicomJson): DicomJson {
  const { [QUERY_RETRIEVE_LEVEL]: _level, ...dataset } = identifier;
  return dataset;
}
