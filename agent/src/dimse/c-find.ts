/**
 * C-FIND SCP (PS3.4 C.4.1, PS3.7 9.1.2) for the Patient Root and Study Root
 * Query/Retrieve Information Models (PS3.4 C.6.1, C.6.2), answered by the
 * edge's index through the tunnel.
 *
 * Two parts, so that the DIMSE server needs only a dispatch case:
 * - `performCFind` turns one C-FIND-RQ (command, identifier bytes,
 *   negotiated transfer syntax) into pending C-FIND-RSPs, each with its
 *   identifier encoded in that syntax, and returns the final response;
 *   `cancelsOf(association)` (cancels.ts) lets a C-CANCEL-RQ stop it.
 * - `findThroughEdge` is the search itself: the `find` tunnel stream (see
 *   edge/src/agents/find.ts), yielding matches as the edge streams them.
 */
import { writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { Status } from "@dicom-edge/shared/dicom/status";
import { TunnelError } from "@dicom-edge/shared/tunnel/errors";
import type { TunnelIdentity } from "@dicom-edge/shared/tunnel/identity";
import { jsonLines } from "@dicom-edge/shared/tunnel/json-lines";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import type { EdgeLink } from "../store/forward.ts";
import type { Cancels } from "./cancels.ts";
import { CommandField, type Command } from "./command.ts";
import { decodeIdentifier } from "./identifier.ts";

/** PS3.4 C.6.1 / Annex B table B.5-1: Patient Root Query/Retrieve Information Model - FIND. */
export const PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1";
/** PS3.4 C.6.2: Study Root Query/Retrieve Information Model - FIND. */
export const STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1";

export type InformationModel = "patient" | "study";

/** The information model of a FIND SOP Class; undefined for any other abstract syntax. */
export function findModel(sopClassUid: string): InformationModel | undefined {
  return sopClassUid === PATIENT_ROOT_FIND ? "patient" : sopClassUid === STUDY_ROOT_FIND ? "study" : undefined;
}

export function isFindSopClass(uid: string): boolean {
  return findModel(uid) !== undefined;
}

/** C-FIND response statuses, PS3.4 C.4.1.1.4 (Table C.4-1). */
export const FindStatus = {
  Success: 0x0000,
  /** Matches are continuing; the current match is supplied, every Optional Key was supported. */
  Pending: 0xff00,
  /** Matching terminated due to Cancel request. */
  Cancel: 0xfe00,
  /** Refused: Out of resources. */
  OutOfResources: Status.OutOfResources,
  /** Error: Identifier does not match SOP Class (the code C-STORE calls Data Set does not match). */
  IdentifierDoesNotMatchSOPClass: Status.DataSetDoesNotMatchSOPClass,
  /** Failed: Unable to process (Cxxx). */
  UnableToProcess: Status.CannotUnderstand,
} as const;

/** What a search answers at the end; the status goes into the final C-FIND-RSP unchanged. */
export interface FindOutcome {
  status: number;
  /** Error Comment (0000,0902), LO. */
  errorComment?: string;
}

export interface FindRequest {
  model: InformationModel;
  /** Query/Retrieve Level (0008,0052) as sent, for the edge's logs; the identifier's own value decides. */
  level?: string;
  /** The request identifier (PS3.4 C.4.1.1.3.1) in DICOM JSON. */
  identifier: DicomJson;
  callingAeTitle: string;
  /** Who asks (PS3.7 D.3.3.7), for the edge to check the read scope. */
  identity?: TunnelIdentity;
}

/**
 * The search behind C-FIND: yields the response identifiers of the matches
 * as they are found and returns the final status. Once `signal` aborts
 * (C-CANCEL) it stops and returns FindStatus.Cancel.
 */
export type FindService = (request: FindRequest, signal: AbortSignal) => AsyncGenerator<DicomJson, FindOutcome, undefined>;

const CANCELLED: FindOutcome = { status: FindStatus.Cancel };
const encoder = new TextEncoder();

/**
 * The search through the edge. The identifier goes up as DICOM JSON; each
 * line the edge sends back is one match, yielded at once, so pending
 * responses leave while the edge is still reading its index. C-CANCEL (the
 * signal) and a consumer that stops early both RESET the stream, which
 * stops the edge's search. Tunnel down: A700, like a C-STORE.
 */
export async function* findThroughEdge(link: EdgeLink, request: FindRequest, signal: AbortSignal): AsyncGenerator<DicomJson, FindOutcome, undefined> {
  if (signal.aborted) return CANCELLED;
  let stream: TunnelStream;
  try {
    stream = link.open("find", {
      model: request.model,
      ...(request.level !== undefined ? { level: request.level } : {}),
      callingAeTitle: request.callingAeTitle,
      ...(request.identity ? { identity: request.identity } : {}),
    });
  } catch {
    return { status: FindStatus.OutOfResources, errorComment: "edge unreachable" };
  }
  const onAbort = () => stream.reset("cancelled", "C-CANCEL");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await stream.write(encoder.encode(JSON.stringify(request.identifier)));
    await stream.end();
    // DATA boundaries are not the edge's writes: matches are split at newlines.
    for await (const line of jsonLines(stream.readable)) yield asMatch(line);
    return outcomeOf(await stream.result());
  } catch (error) {
    if (signal.aborted) return CANCELLED;
    if (error instanceof UnreadableMatch || error instanceof SyntaxError) {
      stream.reset("agent-failed", error.message);
      return { status: FindStatus.UnableToProcess, errorComment: "the edge sent an unreadable match" };
    }
    // The edge may answer (a failure) before it read all we wrote: its answer is the one to give.
    if (error instanceof TunnelError && error.code === "stream-closed") {
      const answer = await stream.result().catch(() => undefined);
      if (answer !== undefined) return outcomeOf(answer);
    }
    stream.reset("agent-failed", error instanceof Error ? error.message : String(error));
    return { status: FindStatus.OutOfResources, errorComment: "edge link lost during the query" };
  } finally {
    signal.removeEventListener("abort", onAbort);
    // A consumer that left early (generator.return()) no longer wants matches.
    if (!stream.closed) stream.reset("cancelled", "the query was abandoned");
  }
}

class UnreadableMatch extends Error {}

function asMatch(parsed: unknown): DicomJson {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UnreadableMatch("match is not a DICOM JSON object");
  return parsed as DicomJson;
}

function outcomeOf(result: unknown): FindOutcome {
  const r = result as Partial<FindOutcome> | undefined;
  if (typeof r?.status !== "number") return { status: FindStatus.UnableToProcess, errorComment: "edge answered without a status" };
  return typeof r.errorComment === "string" ? { status: r.status, errorComment: r.errorComment } : { status: r.status };
}

// ------------------------------------------------------------ DIMSE side

/** One C-FIND-RQ as the association delivers it. */
export interface CFindMessage {
  command: Command;
  /** The presentation context: a FIND SOP Class and the negotiated transfer syntax. */
  context: { abstractSyntax: string; transferSyntax: string };
  /** The identifier bytes (PS3.7 9.3.2.1: the C-FIND-RQ always carries one). */
  dataset?: AsyncIterable<Uint8Array>;
}

/**
 * Performs one C-FIND-RQ: decodes the identifier in the context's transfer
 * syntax, sends one pending C-FIND-RSP (FF00) per match with its
 * identifier encoded in that syntax, and returns the final C-FIND-RSP
 * (PS3.7 9.3.2.2) for the caller to send: Success, Cancel (FE00) after a
 * C-CANCEL, or the failure the search reported.
 *
 * FF01 (Optional Keys not supported) is never used: the index refuses a key
 * it cannot match (A900) rather than ignore it, so every match honours
 * every key as FF00 says.
 */
export async function performCFind(
  message: CFindMessage,
  peer: { callingAeTitle: string; identity?: { identity: TunnelIdentity } },
  search: FindService,
  cancels: Cancels,
  sendPending: (response: Command, identifier: Uint8Array) => Promise<void>,
): Promise<Command> {
  const { command, context } = message;
  const messageId = command.messageId ?? 0;
  const respond = (outcome: FindOutcome): Command => ({
    commandField: CommandField.CFindRsp,
    affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntax,
    messageIdBeingRespondedTo: messageId,
    status: outcome.status,
    ...(outcome.errorComment !== undefined ? { errorComment: outcome.errorComment } : {}),
  });

  const model = findModel(context.abstractSyntax);
  // PS3.7 9.1.2.1.2: the Affected SOP Class must be the context's abstract syntax.
  if (!model || command.affectedSopClassUid !== context.abstractSyntax) return respond({ status: Status.SOPClassNotSupported });

  // Registered before the identifier is read: a C-CANCEL may follow it at once.
  const signal = cancels.register(messageId);
  let matches: AsyncGenerator<DicomJson, FindOutcome, undefined> | undefined;
  try {
    const decoded = await decodeIdentifier(message.dataset, context.transferSyntax);
    if ("error" in decoded) return respond({ status: FindStatus.UnableToProcess, errorComment: decoded.error });
    const identifier = decoded.identifier;
    const level = identifier["00080052"]?.Value?.[0];
    matches = search({ model, ...(typeof level === "string" ? { level: level.trim() } : {}), identifier, callingAeTitle: peer.callingAeTitle, ...(peer.identity ? { identity: peer.identity.identity } : {}) }, signal);
    for (;;) {
      const next = await matches.next();
      if (next.done) return respond(signal.aborted ? CANCELLED : next.value);
      // PS3.7 9.3.2.3, PS3.4 C.4.1.1.4: after C-CANCEL no more pending responses; the final one says FE00.
      if (signal.aborted) return respond(CANCELLED);
      let encoded: Uint8Array;
      try {
        encoded = writeDataset(next.value, context.transferSyntax);
      } catch {
        return respond({ status: FindStatus.UnableToProcess, errorComment: "a match cannot be encoded" });
      }
      await sendPending(respond({ status: FindStatus.Pending }), encoded);
    }
  } finally {
    cancels.release(messageId, signal);
    // Stops the search (and its tunnel stream) when we leave early: cancel,
    // an unencodable match, or an association that went away mid-send.
    await matches?.return(CANCELLED);
  }
}
