/**
 * C-GET and C-MOVE SCP (PS3.4 C.4.2, C.4.3; PS3.7 9.1.3, 9.1.4) for the
 * Patient Root and Study Root Query/Retrieve Information Models, served
 * from the archive through the tunnel.
 *
 * Both read the identifier, ask the edge which instances it names (one
 * query engine, edge/src/agents/retrieve.ts), then perform one C-STORE
 * sub-operation per instance with the stored bytes unchanged: C-GET on
 * this association, to the requestor in the SCP role it negotiated
 * (C.4.3.3); C-MOVE on an association we open to the Move Destination of
 * our AE table (C.4.2.3). A pending response follows every sub-operation;
 * a C-CANCEL stops them (FE00).
 */
import { writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import { Status } from "@dicom-edge/shared/dicom/status";
import type { AeTableEntry } from "../config/config.ts";
import { planRetrieve } from "../retrieve/edge-source.ts";
import { moveInstances, type MoveRun, type MoveSettings } from "../retrieve/move.ts";
import { prepareStore } from "../retrieve/store.ts";
import { RetrieveStatus, failedListIdentifier, finalStatus, runSubOperations, type Counts } from "../retrieve/sub-operations.ts";
import type { Association, IncomingMessage, Reply } from "../ul/association.ts";
import type { Cancels } from "./cancels.ts";
import { CommandField, type Command } from "./command.ts";
import { decodeIdentifier } from "./identifier.ts";

/** PS3.4 Annex B Table B.5-1 (C.6.1, C.6.2): the MOVE and GET SOP Classes. */
export const PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2";
export const PATIENT_ROOT_GET = "1.2.840.10008.5.1.4.1.2.1.3";
export const STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2";
export const STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3";

type Operation = "get" | "move";

const SOP_CLASSES: Record<string, { operation: Operation; model: "patient" | "study" }> = {
  [PATIENT_ROOT_MOVE]: { operation: "move", model: "patient" },
  [PATIENT_ROOT_GET]: { operation: "get", model: "patient" },
  [STUDY_ROOT_MOVE]: { operation: "move", model: "study" },
  [STUDY_ROOT_GET]: { operation: "get", model: "study" },
};

export function isRetrieveSopClass(uid: string): boolean {
  return Object.hasOwn(SOP_CLASSES, uid);
}

/** What the SCP needs: the edge (`link`), the AE table, our identity towards destinations. */
export interface RetrieveService extends MoveSettings {
  destination(aeTitle: string): AeTableEntry | undefined;
}

/**
 * Performs one C-GET-RQ or C-MOVE-RQ and returns the final response, with
 * the Failed SOP Instance UID List as its identifier when any failed.
 * Pending responses go out through `association` as sub-operations finish.
 */
export async function performRetrieve(message: IncomingMessage, association: Association, service: RetrieveService, cancels: Cancels): Promise<Command | Reply> {
  const { command, context } = message;
  const requested = command.commandField === CommandField.CGetRq ? "get" : "move";
  const responseField = requested === "get" ? CommandField.CGetRsp : CommandField.CMoveRsp;
  const messageId = command.messageId ?? 0;
  const respond = (status: number, counts?: Counts, errorComment?: string): Command => ({
    commandField: responseField,
    affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntax,
    messageIdBeingRespondedTo: messageId,
    status,
    ...countsFor(status, counts),
    ...(errorComment !== undefined ? { errorComment } : {}),
  });

  const sopClass = SOP_CLASSES[context.abstractSyntax];
  // PS3.7 9.1.3.1 / 9.1.4.1: the Affected SOP Class must be the context's, and of this operation.
  if (!sopClass || sopClass.operation !== requested || command.affectedSopClassUid !== context.abstractSyntax) {
    return respond(Status.SOPClassNotSupported);
  }
  let destination: AeTableEntry | undefined;
  if (requested === "move") {
    destination = service.destination((command.moveDestination ?? "").trim());
    if (!destination) return respond(RetrieveStatus.MoveDestinationUnknown, undefined, `${command.moveDestination ?? ""} is not in the AE table`.slice(0, 64));
  }

  // Registered before the identifier is read: a C-CANCEL may follow it at once.
  const signal = cancels.register(messageId);
  try {
    const decoded = await decodeIdentifier(message.dataset, context.transferSyntax);
    if ("error" in decoded) return respond(RetrieveStatus.UnableToProcess, undefined, decoded.error);
    const planned = await planRetrieve(service.link, { model: sopClass.model, identifier: decoded.identifier, callingAeTitle: association.callingAeTitle });
    if (planned.kind === "refused") return respond(planned.outcome.status, undefined, planned.outcome.errorComment?.slice(0, 64));
    const { plan, items } = planned;
    const progress = async (counts: Counts) => {
      // PS3.4 C.4.2.1.5 / C.4.3.1.4: no more pending responses once cancelled.
      if (!signal.aborted) await association.sendMessage(context.id, respond(RetrieveStatus.Pending, counts));
    };
    let run: MoveRun;
    try {
      run =
        requested === "get"
          ? await runSubOperations({
              count: plan.count,
              items,
              prepare: (item) => prepareStore(service.link, { association, needRequestorScp: true }, item),
              progress,
              signal,
            })
          : await moveInstances(service, {
              destination: destination!,
              plan,
              items,
              moveOriginator: { aeTitle: association.callingAeTitle, messageId },
              progress,
              signal,
            });
    } finally {
      await items.return({ status: Status.Success });
    }
    const status = finalStatus(run);
    const comment = run.errorComment ?? run.listingFailed?.errorComment ?? run.broken;
    const response = respond(status, run.counts, comment?.slice(0, 64));
    const identifier = failedListIdentifier(run.failedSops);
    return identifier ? { command: response, dataset: writeDataset(identifier, context.transferSyntax) } : response;
  } finally {
    cancels.release(messageId, signal);
  }
}

/**
 * The sub-operation counts a response carries (PS3.4 C.4.2.1.6-9,
 * C.4.3.1.5-8): all four while pending; Remaining also after a cancel;
 * Completed, Failed and Warning on every final response that followed
 * sub-operations; none on a refusal that preceded them.
 */
function countsFor(status: number, counts: Counts | undefined): Partial<Command> {
  if (!counts) return {};
  const done = {
    numberOfCompletedSuboperations: us(counts.completed),
    numberOfFailedSuboperations: us(counts.failed),
    numberOfWarningSuboperations: us(counts.warning),
  };
  if (status === RetrieveStatus.Pending || status === RetrieveStatus.Cancel) return { numberOfRemainingSuboperations: us(counts.remaining), ...done };
  return done;
}

/** The counts are US (PS3.7 E.1): a retrieve of more than 65535 instances reports 65535. */
function us(n: number): number {
  return Math.min(n, 0xffff);
}
