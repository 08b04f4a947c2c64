/**
 * The retrieve streams of the tunnel: what the agent needs to perform a
 * C-GET or C-MOVE (PS3.4 C.4.2, C.4.3) from the archive, and the edge's
 * SEND of a study to an on-prem AE. Both sides import these shapes, so the
 * contract is written once.
 *
 * - `retrieve` (agent opens): OPEN meta `RetrieveMeta`, DATA the C-GET /
 *   C-MOVE identifier as DICOM JSON, END. The edge answers one line of
 *   DATA `RetrievePlan` (how many instances and which SOP Class / transfer
 *   syntax pairs, so the agent can count Remaining sub-operations and
 *   propose presentation contexts before the first one), then one line
 *   `RetrieveItem` per instance, then RESULT `RetrieveOutcome`. A refused
 *   identifier gets no lines, only a RESULT with its failure status.
 * - `fetch` (agent opens): OPEN meta `FetchMeta`, END. The edge answers
 *   DATA = the stored data set bytes of that instance, exactly as stored,
 *   File Meta Information excluded (what a C-STORE-RQ carries in the
 *   syntax the object was stored in, PS3.7 9.3.1.1), then RESULT
 *   `FetchOutcome`. For an item the plan gave no syntax, the agent asks
 *   `announceSyntax` and the bytes follow one line `FetchHead`.
 * - `send` (edge opens): OPEN meta `SendMeta`, END. The agent performs the
 *   C-MOVE it describes to the named destination of its AE table, writes
 *   one line `SendProgress` per finished sub-operation, then RESULT
 *   `SendOutcome`. The edge's RESET cancels it, like a C-CANCEL.
 *
 * Lines are newline-terminated JSON (json-lines.ts); DATA boundaries are not lines.
 */
import type { DicomJson } from "../dicom/json.ts";

export interface RetrieveMeta {
  kind: "retrieve";
  /** Patient Root (PS3.4 C.6.1) or Study Root (C.6.2) information model. */
  model: "patient" | "study";
  callingAeTitle?: string;
}

/** The first line of a `retrieve` answer. */
export interface RetrievePlan {
  /** How many instances follow. */
  count: number;
  /**
   * Distinct [SOP Class UID, stored Transfer Syntax UID] pairs among them;
   * for an instance whose syntax is not known yet, its SOP Class with each
   * syntax it may come in (PASS_THROUGH_SYNTAXES).
   */
  contexts: [sopClassUid: string, transferSyntaxUid: string][];
}

/** One instance to retrieve, in the order to send. */
export interface RetrieveItem {
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  /**
   * The syntax the object is stored in: the only one it can be sent in (the
   * edge never transcodes). Absent where the backend learns it only with
   * the bytes (a PACS picks the presentation context of each C-GET
   * sub-operation, PS3.4 C.4.3.3.1): the fetch then announces it.
   */
  transferSyntax?: string;
  /** Bytes of the data set (the object without its preamble and File Meta Information); absent where not known before the bytes. */
  size?: number;
}

/** RESULT of `retrieve` and of `fetch`: a DIMSE status (PS3.4 C.4.2.1.5 / C.4.3.1.4). */
export interface RetrieveOutcome {
  status: number;
  errorComment?: string;
}

export interface FetchMeta {
  kind: "fetch";
  study: string;
  series: string;
  sop: string;
  /** The item came without a transfer syntax: the answer opens with a `FetchHead` line. */
  announceSyntax?: boolean;
}

/** The line before the bytes of an `announceSyntax` fetch. */
export interface FetchHead {
  transferSyntax: string;
}

export type FetchOutcome = RetrieveOutcome;

export interface SendMeta {
  kind: "send";
  /** The AE title in the agent's AE table to send to. */
  destination: string;
  /** A Study Root C-MOVE identifier (PS3.4 C.4.2.2.1): the level and its unique keys. */
  identifier: DicomJson;
}

/** One finished C-STORE sub-operation of a `send`. */
export interface SendProgress {
  sop: string;
  sopClass: string;
  /** The destination's C-STORE status, or the agent's own failure status when it could not send. */
  status: number;
  errorComment?: string;
}

/** RESULT of `send`: the final C-MOVE status and its counts (PS3.4 C.4.2.1.5). */
export interface SendOutcome {
  status: number;
  completed: number;
  failed: number;
  warning: number;
  errorComment?: string;
}
