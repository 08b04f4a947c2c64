/**
 * The query model shared by QIDO-RS, C-FIND and FHIR search: what to match
 * (PS3.4 C.2.2.2), at which level of the Patient/Study/Series/Instance
 * hierarchy (PS3.4 C.6), what to return and which page.
 */

/** The Query/Retrieve level (PS3.4 C.6.1.1); "instance" is C-FIND's IMAGE. */
export type Level = "patient" | "study" | "series" | "instance";

/** A request the engine refuses; both doors map it (HTTP 400, C-FIND A900). */
export interface QueryError {
  status: 400;
  reason: string;
}

export function queryError(reason: string): QueryError {
  return { status: 400, reason };
}

export function isQueryError(value: unknown): value is QueryError {
  return typeof value === "object" && value !== null && (value as QueryError).status === 400 && "reason" in value;
}

/**
 * One Key Attribute and how it matches. `tag` is 8 uppercase hex digits,
 * `vr` the attribute's VR from PS3.6 (or from the C-FIND identifier).
 * Attributes inside a sequence are the `items` of a `sequence` match, so all
 * keys on one sequence must hold in the same item (PS3.4 C.2.2.2.6).
 */
export type Match =
  | UniversalMatch
  | SingleMatch
  | WildcardMatch
  | RangeMatch
  | UidListMatch
  | AnyOfMatch
  | SequenceMatch;

interface KeyBase {
  tag: string;
  vr: string;
}

/** PS3.4 C.2.2.2.3: an empty key (or "*") matches everything; the attribute is still returned. */
export interface UniversalMatch extends KeyBase {
  kind: "universal";
}

/**
 * PS3.4 C.2.2.2.1. Numbers for the numeric VRs (IS, DS, US, ...), the key as
 * sent otherwise. `fuzzy` is set on PN keys when fuzzy matching was asked for
 * (PS3.4 C.2.2.2.1.1, PS3.18 8.3.4.2).
 */
export interface SingleMatch extends KeyBase {
  kind: "single";
  value: string | number;
  fuzzy?: true;
}

/** PS3.4 C.2.2.2.4: "*" any run of characters (also none), "?" one character. */
export interface WildcardMatch extends KeyBase {
  kind: "wildcard";
  pattern: string;
  fuzzy?: true;
}

/**
 * PS3.4 C.2.2.2.5 for DA, TM and DT: "a-b", "-b" or "a-", both ends
 * inclusive. The bounds are the key's own values; comparison normalizes them
 * (a TM upper bound "10" includes 10:59:59.999999).
 */
export interface RangeMatch extends KeyBase {
  kind: "range";
  from?: string;
  to?: string;
}

/** PS3.4 C.2.2.2.2: any UID of the list matches. */
export interface UidListMatch extends KeyBase {
  kind: "uid-list";
  uids: string[];
}

/**
 * Several values for a key that is not a UID (e.g. ModalitiesInStudy
 * "CT\MR"). Without negotiated Multiple Value Matching their meaning is
 * undefined (PS3.4 C.2.2.2.8 note 4); the engine reads them as "any of", the
 * way C.2.2.2.2 reads a list of UIDs.
 */
export interface AnyOfMatch extends KeyBase {
  kind: "any-of";
  values: (string | number)[];
}

/**
 * PS3.4 C.2.2.2.6: at least one item must match every item key. With no item
 * keys (or only universal ones) it is universal matching of the sequence.
 */
export interface SequenceMatch extends KeyBase {
  kind: "sequence";
  items: Match[];
}

export interface Query {
  level: Level;
  /** All must hold. Universal keys stay here: they are return keys. */
  matches: Match[];
  /** Extra top-level attributes to return (8-hex tags), or every supported one. */
  includeFields: "all" | string[];
  /** The request's fuzzy matching flag (PS3.18 8.3.4.2, or C-FIND extended negotiation). */
  fuzzy: boolean;
  limit?: number;
  offset: number;
  /** Texts for HTTP Warning headers, e.g. for an unsupported emptyvaluematching (PS3.18 8.3.4.5). */
  warnings: string[];
}

/**
 * The values a key carries in a request, QIDO-RS or C-FIND alike (PS3.4
 * C.2.2.2): its value, its pattern, "from-to" (C.2.2.2.5, an open end
 * empty), its UIDs, its values.
 */
export function keyValues(match: SingleMatch | WildcardMatch | RangeMatch | UidListMatch | AnyOfMatch): (string | number)[] {
  switch (match.kind) {
    case "single":
      return [match.value];
    case "wildcard":
      return [match.pattern];
    case "range":
      return [`${match.from ?? ""}-${match.to ?? ""}`];
    case "uid-list":
      return match.uids;
    case "any-of":
      return match.values;
  }
}

/** True when the match constrains nothing (universal, or a sequence of universal item keys). */
export function isUniversal(match: Match): boolean {
  if (match.kind === "universal") return true;
  return match.kind === "sequence" && match.items.every(isUniversal);
}

/**
 * Attributes a QIDO-RS response carries without includefield: PS3.18
 * Tables 10.6.3-3 (study), 10.6.3-4 (series) and 10.6.3-5 (instance).
 * RetrieveURL (0008,1190) is built by the response writer, not stored.
 */
export const DEFAULT_RETURN_TAGS: Readonly<Record<Exclude<Level, "patient">, readonly string[]>> = {
  study: [
    "00080005", // SpecificCharacterSet
    "00080020", // StudyDate
    "00080030", // StudyTime
    "00080050", // AccessionNumber
    "00080056", // InstanceAvailability
    "00080061", // ModalitiesInStudy
    "00080090", // ReferringPhysicianName
    "00080201", // TimezoneOffsetFromUTC
    "00081190", // RetrieveURL
    "00100010", // PatientName
    "00100020", // PatientID
    "00100030", // PatientBirthDate
    "00100040", // PatientSex
    "0020000D", // StudyInstanceUID
    "00200010", // StudyID
    "00201206", // NumberOfStudyRelatedSeries
    "00201208", // NumberOfStudyRelatedInstances
  ],
  series: [
    "00080005", // SpecificCharacterSet
    "00080060", // Modality
    "00080201", // TimezoneOffsetFromUTC
    "0008103E", // SeriesDescription
    "00081190", // RetrieveURL
    "0020000E", // SeriesInstanceUID
    "00200011", // SeriesNumber
    "00201209", // NumberOfSeriesRelatedInstances
    "00400244", // PerformedProcedureStepStartDate
    "00400245", // PerformedProcedureStepStartTime
    "00400275", // RequestAttributesSequence (>00400009, >00401001)
  ],
  instance: [
    "00080005", // SpecificCharacterSet
    "00080016", // SOPClassUID
    "00080018", // SOPInstanceUID
    "00080056", // InstanceAvailability
    "00080201", // TimezoneOffsetFromUTC
    "00081190", // RetrieveURL
    "00200013", // InstanceNumber
    "00280010", // Rows
    "00280011", // Columns
    "00280100", // BitsAllocated
    "00280008", // NumberOfFrames
  ],
};

/**
 * Attributes every QIDO-RS origin server must match on, PS3.18 Table
 * 10.6.1-5; dotted entries are item keys of a sequence.
 */
export const REQUIRED_MATCHING_KEYS: Readonly<Record<Exclude<Level, "patient">, readonly string[]>> = {
  study: [
    "00080020", // StudyDate
    "00080030", // StudyTime
    "00080050", // AccessionNumber
    "00080061", // ModalitiesInStudy
    "00080090", // ReferringPhysicianName
    "00100010", // PatientName
    "00100020", // PatientID
    "0020000D", // StudyInstanceUID
    "00200010", // StudyID
  ],
  series: [
    "00080060", // Modality
    "0020000E", // SeriesInstanceUID
    "00200011", // SeriesNumber
    "00400244", // PerformedProcedureStepStartDate
    "00400245", // PerformedProcedureStepStartTime
    "00400275.00400009", // RequestAttributesSequence > ScheduledProcedureStepID
    "00400275.00401001", // RequestAttributesSequence > RequestedProcedureID
  ],
  instance: [
    "00080016", // SOPClassUID
    "00080018", // SOPInstanceUID
    "00200013", // InstanceNumber
  ],
};
