import type { ByteRange, DicomJson, Part10Header } from "@dicom-edge/shared/dicom/part10-reader";
import { frameRanges } from "@dicom-edge/shared/dicom/frames";
import { numberValue, personName, stringValue } from "@dicom-edge/shared/dicom/json";
import { PATIENT_LEVEL, SERIES_LEVEL, STUDY_LEVEL } from "@dicom-edge/shared/dicom/levels";
import { Status } from "@dicom-edge/shared/dicom/status";
import { indexColumns } from "@dicom-edge/shared/query/index-columns";
import { personNameString } from "@dicom-edge/shared/query/normalize";

/** One instance as the index stores it (edge/migrations/0001_index.sql). */
export interface InstanceRecord {
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  patientId: string;
  issuer: string;
  patientName: string | null;
  birthDate: string | null;
  sex: string | null;
  studyDate: string | null;
  studyTime: string | null;
  accession: string | null;
  studyId: string | null;
  referringPhysician: string | null;
  studyDescription: string | null;
  modality: string | null;
  seriesNumber: number | null;
  seriesDescription: string | null;
  performedStartDate: string | null;
  performedStartTime: string | null;
  instanceNumber: number | null;
  transferSyntax: string;
  numberOfFrames: number | null;
  rows: number | null;
  columns: number | null;
  size: number;
  datasetOffset: number;
  key: string;
  /** Per frame, the byte ranges of its data in the object, as [offset, length]. */
  frames: [number, number][][] | null;
  /** Bulk data path (as in the metadata's BulkDataURI) -> [offset, length]. */
  bulk: Record<string, [number, number]>;
  /** The query engine's normalized columns (shared/src/query/index-columns.ts). */
  index: Record<string, string | null>;
  patientAttributes: DicomJson;
  studyAttributes: DicomJson;
  seriesAttributes: DicomJson;
  /** WADO-RS metadata: DICOM JSON with BulkDataURIs relative to the instance. */
  metadata: DicomJson;
}

export const MISSING_IDENTITY = {
  ok: false,
  reason: Status.DataSetDoesNotMatchSOPClass,
  message: "Study, Series or SOP Instance UID missing",
} as const;

export type RecordResult =
  | { ok: true; record: InstanceRecord; warnings: number[] }
  | { ok: false; reason: number; message: string };

/** The UIDs an object's key needs, known as soon as the header has passed them. */
export function identity(dataset: DicomJson | undefined): { study: string; series: string; sop: string; sopClass?: string } | undefined {
  if (!dataset) return undefined;
  const study = stringValue(dataset, "0020000D");
  const series = stringValue(dataset, "0020000E");
  const sop = stringValue(dataset, "00080018");
  if (!study || !series || !sop) return undefined;
  return { study, series, sop, sopClass: stringValue(dataset, "00080016") };
}

/** PS3.5 9.1: at most 64 characters, components of digits without leading zeros. */
export function isValidUid(uid: string): boolean {
  return uid.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}

/**
 * Builds the index record of a parsed instance. The object itself is never
 * changed; where a value cannot be indexed as its VR says (a malformed date,
 * say) the index keeps no value for it and the store answers WarningReason
 * 0xB000, so the sender knows a search on that attribute will not find it.
 */
export function buildRecord(header: Part10Header, key: string): RecordResult {
  const ds = header.dataset;
  const id = identity(ds);
  if (!id) return MISSING_IDENTITY;
  const sopClass = id.sopClass ?? stringValue(header.meta, "00020002");
  if (!sopClass) return { ok: false, reason: Status.DataSetDoesNotMatchSOPClass, message: "SOP Class UID missing" };
  for (const uid of [id.study, id.series, id.sop, sopClass]) {
    if (!isValidUid(uid)) return { ok: false, reason: Status.DataSetDoesNotMatchSOPClass, message: `invalid UID ${JSON.stringify(uid)}` };
  }

  const warnings = new Set<number>();
  const date = (tag: string) => checked(stringValue(ds, tag), /^\d{8}$/, warnings);
  const time = (tag: string) => checked(stringValue(ds, tag), /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/, warnings);
  const numberOfFrames = numberValue(ds, "00280008") ?? null;

  let frames: [number, number][][] | null = null;
  if (header.pixelData) {
    try {
      frames = frameRanges(header, numberOfFrames ?? 1).map((ranges) => ranges.map((r) => [r.offset, r.length] as [number, number]));
    } catch {
      // Frames that cannot be delimited stay unindexed: the instance is still
      // stored and retrievable whole; /frames answers that it cannot serve them.
      frames = null;
    }
  }

  const record: InstanceRecord = {
    study: id.study,
    series: id.series,
    sop: id.sop,
    sopClass,
    patientId: stringValue(ds, "00100020") ?? "",
    issuer: stringValue(ds, "00100021") ?? "",
    patientName: personName(ds, "00100010")?.Alphabetic ?? null,
    birthDate: date("00100030"),
    sex: stringValue(ds, "00100040") ?? null,
    studyDate: date("00080020"),
    studyTime: time("00080030"),
    accession: stringValue(ds, "00080050") ?? null,
    studyId: stringValue(ds, "00200010") ?? null,
    referringPhysician: personName(ds, "00080090")?.Alphabetic ?? null,
    studyDescription: stringValue(ds, "00081030") ?? null,
    modality: stringValue(ds, "00080060") ?? null,
    seriesNumber: numberValue(ds, "00200011") ?? null,
    seriesDescription: stringValue(ds, "0008103E") ?? null,
    performedStartDate: date("00400244"),
    performedStartTime: time("00400245"),
    instanceNumber: numberValue(ds, "00200013") ?? null,
    transferSyntax: header.transferSyntaxUID,
    numberOfFrames,
    rows: numberValue(ds, "00280010") ?? null,
    columns: numberValue(ds, "00280011") ?? null,
    size: header.length,
    datasetOffset: header.datasetOffset,
    key,
    frames,
    bulk: Object.fromEntries(Object.entries(header.bulkData).map(([path, r]: [string, ByteRange]) => [path, [r.offset, r.length]])),
    index: indexColumns({
      patientName: fullName(ds, "00100010"),
      referringPhysician: fullName(ds, "00080090"),
      studyTime: stringValue(ds, "00080030") ?? null,
      performedStartTime: stringValue(ds, "00400245") ?? null,
    }),
    patientAttributes: pick(ds, PATIENT_LEVEL),
    studyAttributes: pick(ds, STUDY_LEVEL),
    seriesAttributes: pick(ds, SERIES_LEVEL),
    metadata: ds,
  };
  return { ok: true, record, warnings: [...warnings] };
}

/** Every component group of a name, so fuzzy matching finds any of them. */
function fullName(ds: DicomJson, tag: string): string | null {
  const pn = personName(ds, tag);
  return pn ? personNameString(pn) : null;
}

function checked(value: string | undefined, pattern: RegExp, warnings: Set<number>): string | null {
  if (value === undefined || value === "") return null;
  if (pattern.test(value)) return value;
  warnings.add(Status.CoercionOfDataElements);
  return null;
}

function pick(ds: DicomJson, tags: readonly string[]): DicomJson {
  const out: DicomJson = {};
  for (const tag of tags) {
    const attribute = ds[tag];
    if (attribute) out[tag] = attribute;
  }
  return out;
}
