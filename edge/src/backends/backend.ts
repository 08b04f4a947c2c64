import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import type { Query, QueryError } from "@dicom-edge/shared/query/model";
import type { RetrieveItem } from "@dicom-edge/shared/tunnel/retrieve";

/**
 * The one interface the frontends (DICOMweb, FHIR, the agent's operations)
 * call. The archive (D1 + R2) is the first implementation; DICOMweb and DIMSE
 * proxies implement the same contract (DESIGN: Backends).
 */

/** A study, a series of it, or an instance of that series. */
export interface Scope {
  study: string;
  series?: string;
  instance?: string;
}

/** The UIDs that name one instance. */
export interface InstanceUids {
  study: string;
  series: string;
  sop: string;
}

export interface StoredInstance {
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  transferSyntax: string;
  size: number;
  /** Where the dataset starts in the object (after the File Meta group). */
  datasetOffset: number;
  numberOfFrames: number | null;
  /**
   * Per frame, its byte ranges within the stored object; null when unknown.
   * For a deflated syntax the offsets count inflated dataset bytes from
   * `datasetOffset` on (PS3.5 A.5).
   */
  frames: [number, number][][] | null;
  /** Bulk data path -> byte range within the stored object. */
  bulk: Record<string, [number, number]>;
  /** Where the backend finds the bytes (the archive: its R2 key). */
  ref: string;
}

export type StoreOutcome =
  | { ok: true; study: string; series: string; sop: string; sopClass: string; warnings: number[] }
  | { ok: false; reason: number; message: string; sop?: string; sopClass?: string };

/**
 * One STOW-RS request or one association's stores: instances are written as
 * they arrive and become visible together on `commit`; `rollback` leaves no
 * trace of any of them.
 */
export interface StoreTransaction {
  /** One instance, read to its end; its outcome once it is stored (pending its commit) or refused. */
  add(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<StoreOutcome>;
  /**
   * As `add`, but returns once the body is read, with the outcome to come:
   * the caller reads its next instance while this one is still being stored.
   */
  receive(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<{ outcome: Promise<StoreOutcome> }>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface MetadataEntry {
  study: string;
  series: string;
  sop: string;
  /** DICOM JSON of the instance with BulkDataURIs relative to the instance URL. */
  json: string;
}

/**
 * One QIDO-RS / C-FIND result: the identifiers that name it and every
 * attribute the backend has for it. A patient-level match (C-FIND Patient
 * Root, PS3.4 C.6.1.1.2) names its patient only; every other names its study.
 */
export interface SearchMatch {
  /** Patient ID (0010,0020) of a patient-level match. */
  patient?: string;
  study?: string;
  series?: string;
  sop?: string;
  dataset: DicomJson;
}

export interface SearchResult {
  matches: SearchMatch[];
  /** More results exist past the query's limit (PS3.18 10.6.3.2: the Warning header). */
  truncated: boolean;
}

/** One instance's data set as `Backend.dataset` streams it. */
export interface InstanceDataset {
  body: ReadableStream<Uint8Array>;
  /** The data set's bytes, where the backend knows them before reading. */
  length?: number;
  /** The syntax the data set is in (PS3.10 7.1: its File Meta group's (0002,0010)). */
  transferSyntax: string;
}

/**
 * A backend that knows a scope's instances for a retrieve (agents' C-GET,
 * C-MOVE, SEND) before it can give each one's layout: a PACS tells SOP
 * Classes by C-FIND and each transfer syntax only with the bytes of its
 * C-GET sub-operation. Others list `instances`.
 */
export interface RetrieveLister {
  retrieveItems(scope: Scope): Promise<RetrieveItem[]>;
}

export function isRetrieveLister(backend: object): backend is RetrieveLister {
  return typeof (backend as Partial<RetrieveLister>).retrieveItems === "function";
}

export interface Backend {
  /** Matches per the one query engine (shared/src/query); a QueryError for a key it cannot match. */
  search(query: Query): Promise<SearchResult | QueryError>;
  store(): StoreTransaction;
  instances(scope: Scope): Promise<StoredInstance[]>;
  /** The stored bytes, whole or one range of them; null if the object is gone. */
  read(instance: StoredInstance, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array> | null>;
  /**
   * The data set of one instance as stored, File Meta Information excluded
   * (what a C-STORE-RQ carries, PS3.7 9.3.1.1), streamed; null if it is not
   * stored. `length` is how many bytes the body must hold where the backend
   * knows it; without it, the body's end is the data set's end, and a body
   * that breaks off errors rather than ends.
   */
  dataset(instance: InstanceUids): Promise<InstanceDataset | null>;
  metadata(scope: Scope): AsyncIterable<MetadataEntry>;
  /** Removes index rows and objects together; returns how many instances went. */
  delete(scope: Scope): Promise<number>;
  health(): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; error?: string }> }>;
}

/**
 * What a proxy backend answers when its upstream (a DICOMweb server, a PACS)
 * failed (502), is not configured usably (503) or was too slow (504):
 * nothing was done there that the caller can rely on. Each frontend maps it
 * in its one place: DICOMweb that status with the reason, FHIR a transient
 * or timeout OperationOutcome, DIMSE A700 (Refused: Out of Resources,
 * PS3.4 B.2.3, C.4.1.1.4).
 */
export class BackendUnavailable extends Error {
  constructor(
    readonly httpStatus: 502 | 503 | 504,
    message: string,
  ) {
    super(message);
  }
}
