/**
 * C-GET and C-MOVE at the agent (PS3.4 C.4.3, C.4.2), served from the
 * backend (the archive, or an upstream DICOMweb server). The agent runs
 * the DIMSE side (sub-operations, presentation contexts, pending
 * responses); the edge answers two tunnel streams (contract:
 * shared/src/tunnel/retrieve.ts):
 *
 * - `retrieve`: the request identifier is resolved to the instances it names
 *   (hierarchical retrieve, PS3.4 C.4.2.2.1 / C.4.3.2.1) and sent as a
 *   `RetrievePlan` line, one `RetrieveItem` line per instance, and a RESULT.
 * - `fetch`: the stored data set of one of those instances, streamed from
 *   the backend under the tunnel's credit, then a RESULT.
 *
 * The agent's RESET (its peer's C-CANCEL, PS3.7 9.3.2.3 / 9.3.3.3) stops
 * either one quietly: nobody is left to answer.
 */
import { coalesce } from "@dicom-edge/shared/bytes";
import { frames } from "../archive/r2/frames";
import type { DicomJson, DicomJsonAttribute } from "@dicom-edge/shared/dicom/json";
import { Status } from "@dicom-edge/shared/dicom/status";
import { parseCFindIdentifier } from "@dicom-edge/shared/query/c-find";
import { isUid } from "@dicom-edge/shared/query/keys";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { PASS_THROUGH_SYNTAXES } from "@dicom-edge/shared/dicom/transfer-syntax";
import { type FetchHead, type FetchMeta, type RetrieveItem, type RetrieveMeta, type RetrievePlan } from "@dicom-edge/shared/tunnel/retrieve";
import { jsonLine } from "@dicom-edge/shared/tunnel/json-lines";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { isRetrieveLister, type Backend, type Scope, type StoredInstance } from "../backends/backend";
import { FIND_PAGE, readIdentifier } from "./find";
import type { DimseOutcome } from "./operations";

// PS3.4 C.4.2.1.5 (C-MOVE) and C.4.3.1.4 (C-GET) share these.
/** Error: Identifier does not match SOP Class. */
const IDENTIFIER_DOES_NOT_MATCH = Status.DataSetDoesNotMatchSOPClass; // 0xA900
/** Failed: Unable to process (Cxxx). */
const UNABLE_TO_PROCESS = Status.CannotUnderstand; // 0xC000
/** A `fetch` whose instance went away between the plan and the sub-operation: that sub-operation fails. */
const NOT_STORED = Status.ProcessingFailure; // 0x0110

/** PS3.7 C.4.1 / 9.1.2.1.6: Error Comment is an LO, at most 64 characters. */
const MAX_ERROR_COMMENT = 64;
/** Lines (plan and items) are joined into DATA frames of this size: a study of 10,000 instances is ~40 frames, not 10,000. */
const LINE_FRAME_BYTES = 64 * 1024;
/** Backends hand out small chunks (R2: 4 KiB locally); joined like the agent's stores (agent/src/store/forward.ts) to cut WebSocket messages. */
const FETCH_FRAME_BYTES = 256 * 1024;

const QUERY_RETRIEVE_LEVEL = "00080052";
const PATIENT_ID = "00100020";
const STUDY_INSTANCE_UID = "0020000D";
const SERIES_INSTANCE_UID = "0020000E";
const SOP_INSTANCE_UID = "00080018";

/**
 * What a retrieve identifier names once its unique keys passed the rules of
 * the hierarchical model: the key at the level may be a list of UIDs, each
 * key above it a single value (PS3.4 C.4.2.2.1). `patient` is set in the
 * Patient Root model only, where it must hold at every level.
 */
export type RetrieveKeys =
  | { level: "patient"; patient: string }
  | { level: "study"; patient?: string; studies: string[] }
  | { level: "series"; patient?: string; study: string; series: string[] }
  | { level: "instance"; patient?: string; study: string; series: string; sops: string[] };

/** A retrieve refused before any sub-operation: its final status, and no lines. */
export interface RetrieveRefusal {
  status: number;
  errorComment: string;
}

export function isRefusal(value: object): value is RetrieveRefusal {
  return !Array.isArray(value) && typeof (value as RetrieveRefusal).status === "number";
}

const LEVELS = { PATIENT: "patient", STUDY: "study", SERIES: "series", IMAGE: "instance" } as const;

/**
 * The unique keys of a C-MOVE / C-GET identifier (PS3.4 C.4.2.2.1,
 * C.4.3.2.1), checked against the information model (C.6.1 Patient Root,
 * C.6.2 Study Root). A retrieve matches by unique keys only: wild cards,
 * ranges and other keys have no meaning here (other attributes are ignored),
 * but a unique key *below* the level with a value is refused, since honouring
 * it is undefined and ignoring it would send more than was asked for.
 */
export function retrieveKeys(identifier: DicomJson, model: RetrieveMeta["model"]): RetrieveKeys | RetrieveRefusal {
  const ds = upperCaseTags(identifier);
  const levelValues = stringValues(ds[QUERY_RETRIEVE_LEVEL]);
  const level = levelValues.length === 1 ? LEVELS[levelValues[0] as keyof typeof LEVELS] : undefined;
  if (!level) return refuse(`Query/Retrieve Level ${JSON.stringify(levelValues.join("\\"))} is not valid`);
  // PS3.4 C.6.2.1: the Study Root model has no PATIENT level.
  if (model === "study" && level === "patient") return refuse("Study Root has no PATIENT level (PS3.4 C.6.2.1)");

  const below = { patient: [STUDY_INSTANCE_UID, SERIES_INSTANCE_UID, SOP_INSTANCE_UID], study: [SERIES_INSTANCE_UID, SOP_INSTANCE_UID], series: [SOP_INSTANCE_UID], instance: [] }[level];
  for (const tag of below) {
    if (stringValues(ds[tag]).length > 0) return refuse(`${KEY_NAMES[tag]} not allowed at ${levelValues[0]} level`);
  }

  let patient: string | undefined;
  if (model === "patient") {
    // PS3.4 C.4.2.2.1: in Patient Root the Patient ID is a single value at every level.
    const ids = stringValues(ds[PATIENT_ID]);
    if (ids.length === 0) return refuse("Patient ID (0010,0020) missing");
    if (ids.length > 1) return refuse("Patient ID (0010,0020) must be a single value");
    // Single value matching only (C.2.2.2.1): a wild card would widen the request.
    if (/[*?]/.test(ids[0]!)) return refuse("Patient ID (0010,0020) must not hold wild cards");
    patient = ids[0]!;
  }
  const withPatient = patient === undefined ? {} : { patient };
  if (level === "patient") return { level, patient: patient! };

  const studies = uids(ds, STUDY_INSTANCE_UID, level === "study");
  if (isRefusal(studies)) return studies;
  if (level === "study") return { level, ...withPatient, studies };
  const series = uids(ds, SERIES_INSTANCE_UID, level === "series");
  if (isRefusal(series)) return series;
  if (level === "series") return { level, ...withPatient, study: studies[0]!, series };
  const sops = uids(ds, SOP_INSTANCE_UID, true);
  if (isRefusal(sops)) return sops;
  return { level, ...withPatient, study: studies[0]!, series: series[0]!, sops };
}

const KEY_NAMES: Record<string, string> = {
  [STUDY_INSTANCE_UID]: "Study Instance UID (0020,000D)",
  [SERIES_INSTANCE_UID]: "Series Instance UID (0020,000E)",
  [SOP_INSTANCE_UID]: "SOP Instance UID (0008,0018)",
};

/** A unique key's UIDs: present, valid (PS3.5 9.1), a list only where allowed (C.2.2.2.2), duplicates dropped. */
function uids(ds: DicomJson, tag: string, list: boolean): string[] | RetrieveRefusal {
  const values = stringValues(ds[tag]);
  if (values.length === 0) return refuse(`${KEY_NAMES[tag]} missing`);
  if (!list && values.length > 1) return refuse(`${KEY_NAMES[tag]} must be a single value`);
  const invalid = values.find((uid) => !isUid(uid));
  if (invalid !== undefined) return refuse(`invalid UID ${JSON.stringify(invalid)}`);
  return [...new Set(values)];
}

/** An attribute's values as strings, padding removed (PS3.5 6.2: UI pads with NUL, others with spaces); empty ones dropped. */
function stringValues(attribute: DicomJsonAttribute | undefined): string[] {
  return (attribute?.Value ?? [])
    .map((value) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value)))
    .map((value) => value.replace(/^[ \0]+|[ \0]+$/g, ""))
    .filter((value) => value !== "");
}

function upperCaseTags(identifier: DicomJson): DicomJson {
  return Object.fromEntries(Object.entries(identifier).map(([tag, attribute]) => [tag.toUpperCase(), attribute]));
}

function refuse(errorComment: string): RetrieveRefusal {
  return { status: IDENTIFIER_DOES_NOT_MATCH, errorComment: errorComment.slice(0, MAX_ERROR_COMMENT) };
}

/**
 * The C-FIND identifier that finds the studies a Patient Root request may
 * reach: those of its patient, among the listed ones where the level lists
 * them. Undefined in Study Root, where the study keys stand on their own.
 */
export function studyIdentifier(keys: RetrieveKeys): DicomJson | undefined {
  if (keys.patient === undefined) return undefined;
  const studies = keys.level === "patient" ? [] : keys.level === "study" ? keys.studies : [keys.study];
  return {
    [QUERY_RETRIEVE_LEVEL]: { vr: "CS", Value: ["STUDY"] },
    [PATIENT_ID]: { vr: "LO", Value: [keys.patient] },
    [STUDY_INSTANCE_UID]: studies.length > 0 ? { vr: "UI", Value: studies } : { vr: "UI" },
  };
}

/** The scopes to read per study: the whole study, each listed series, or the one series of the listed instances. */
export function scopesOf(keys: RetrieveKeys, study: string): Scope[] {
  switch (keys.level) {
    case "patient":
    case "study":
      return [{ study }];
    case "series":
      return keys.series.map((series) => ({ study, series }));
    case "instance":
      return [{ study, series: keys.series }];
  }
}

/** The instances of a scope as a retrieve lists them, from whichever listing the backend has. */
export async function retrieveItemsOf(backend: Backend, scope: Scope): Promise<RetrieveItem[]> {
  if (isRetrieveLister(backend)) return backend.retrieveItems(scope);
  return (await backend.instances(scope)).map(retrieveItem);
}

/** What the agent needs of one stored instance; the size excludes the preamble and File Meta Information. */
export function retrieveItem(instance: StoredInstance): RetrieveItem {
  return {
    study: instance.study,
    series: instance.series,
    sop: instance.sop,
    sopClass: instance.sopClass,
    transferSyntax: instance.transferSyntax,
    size: instance.size - instance.datasetOffset,
  };
}

/**
 * The plan line: the count (for Number of Remaining Sub-operations) and
 * the distinct contexts, in first-seen order. An item without a syntax may
 * come in any of the pass-through ones; those pairs follow the known ones,
 * uncompressed first, so a destination's 128 contexts (PS3.8 9.3.2.2)
 * keep what is certain.
 */
export function retrievePlan(items: readonly RetrieveItem[]): RetrievePlan {
  // A Map keeps a key where it was first set: a pair already known stays first.
  const contexts = new Map<string, [string, string]>();
  const add = (sopClass: string, syntax: string) => contexts.set(`${sopClass}\n${syntax}`, [sopClass, syntax]);
  const unknown = new Set<string>();
  for (const item of items) {
    if (item.transferSyntax === undefined) unknown.add(item.sopClass);
    else add(item.sopClass, item.transferSyntax);
  }
  for (const syntax of PASS_THROUGH_SYNTAXES) for (const sopClass of unknown) add(sopClass, syntax);
  return { count: items.length, contexts: [...contexts.values()] };
}

/**
 * Answers one `retrieve` stream. The whole list is resolved before the
 * first line, since the plan (count, contexts) comes first; it is held as
 * compact items (~250 bytes each), never as stored objects. Returns the final
 * status, or undefined when the agent reset the stream.
 */
export async function retrieveOutcome(backend: Backend, stream: TunnelStream, meta: RetrieveMeta, options: { pageSize?: number } = {}): Promise<DimseOutcome | undefined> {
  const read = await readIdentifier(stream);
  if (read.kind === "cancelled") return undefined;
  if (read.kind === "unusable") return { status: UNABLE_TO_PROCESS, errorComment: read.reason.slice(0, MAX_ERROR_COMMENT) };
  if (meta.model !== "patient" && meta.model !== "study") return refuse(`unknown information model ${JSON.stringify(meta.model ?? null)}`);

  const keys = retrieveKeys(read.identifier, meta.model);
  if (isRefusal(keys)) return keys;
  const studies = await studiesOf(backend, keys, options.pageSize ?? FIND_PAGE, stream);
  if (studies === undefined) return undefined;
  if (isRefusal(studies)) return studies;

  const items: RetrieveItem[] = [];
  for (const study of studies) {
    for (const scope of scopesOf(keys, study)) {
      if (stream.closed) return undefined;
      let listed = await retrieveItemsOf(backend, scope);
      if (keys.level === "instance") {
        const wanted = new Set(keys.sops);
        listed = listed.filter((item) => wanted.has(item.sop));
      }
      items.push(...listed);
    }
  }

  try {
    for await (const frame of coalesce(planLines(items), LINE_FRAME_BYTES)) await stream.write(frame);
  } catch {
    // Reset by the agent (C-CANCEL) or the tunnel went away: no one is left to answer.
    return undefined;
  }
  return { status: Status.Success };
}

async function* planLines(items: readonly RetrieveItem[]): AsyncGenerator<Uint8Array> {
  yield jsonLine(retrievePlan(items));
  for (const item of items) yield jsonLine(item);
}

/**
 * The studies a request reaches. In Patient Root, through the one query
 * engine, so that a listed study of another patient is absent as any
 * non-matching UID is; paged like C-FIND. Undefined when the stream closed.
 */
async function studiesOf(backend: Backend, keys: RetrieveKeys, pageSize: number, stream: TunnelStream): Promise<string[] | RetrieveRefusal | undefined> {
  const identifier = studyIdentifier(keys);
  if (!identifier) return keys.level === "study" ? keys.studies : keys.level === "patient" ? [] : [keys.study];
  const query = parseCFindIdentifier(identifier);
  if (isQueryError(query)) return refuse(query.reason);
  const studies: string[] = [];
  for (let offset = 0; ; offset += pageSize) {
    if (stream.closed) return undefined;
    const page = await backend.search({ ...query, limit: pageSize, offset });
    if (isQueryError(page)) return refuse(page.reason);
    for (const match of page.matches) if (match.study !== undefined) studies.push(match.study);
    if (!page.truncated) return studies;
  }
}

/**
 * Answers one `fetch` stream: the stored data set of one instance, File Meta
 * Information excluded (a C-STORE-RQ carries the data set alone, PS3.7
 * 9.3.1.1), as the backend streams it (the archive: one R2 range read; an
 * upstream DICOMweb server: its WADO-RS part past the File Meta group) and
 * written as it arrives, so memory is one frame whatever the object's size;
 * `stream.write` waits for the agent's credit. Returns the final status, or
 * undefined when the agent reset the stream. A body that breaks off throws
 * (serve.ts answers with a failure status), so the sub-operation fails.
 */
export async function fetchOutcome(backend: Backend, stream: TunnelStream, meta: FetchMeta): Promise<DimseOutcome | undefined> {
  if (![meta.study, meta.series, meta.sop].every((uid) => typeof uid === "string" && isUid(uid))) {
    return { status: UNABLE_TO_PROCESS, errorComment: "fetch needs the study, series and SOP Instance UIDs" };
  }
  const dataset = await backend.dataset({ study: meta.study, series: meta.series, sop: meta.sop });
  if (!dataset) return { status: NOT_STORED, errorComment: "instance no longer stored" };
  const { body, length } = dataset;
  if (stream.closed) {
    await body.cancel();
    return undefined;
  }

  let sent = 0;
  try {
    if (meta.announceSyntax === true) await stream.write(jsonLine({ transferSyntax: dataset.transferSyntax } satisfies FetchHead));
    // Leaving the loop early (a failed write) cancels the backend's read through the iterators' return().
    for await (const frame of frames(body, FETCH_FRAME_BYTES)) {
      await stream.write(frame);
      sent += frame.length;
    }
  } catch (error) {
    // A body the loop never took (the head's write failed) is released here; a taken one is already.
    if (!body.locked) await body.cancel();
    if (stream.closed) return undefined;
    throw error;
  }
  // The bytes already went; a failure status tells the agent to fail this sub-operation rather than send a short data set.
  // Without a known length the agent still checks the size its plan announced, where it announced one.
  if (length !== undefined && sent !== length) return { status: NOT_STORED, errorComment: `stored object holds ${sent} of ${length} bytes` };
  return { status: Status.Success };
}
