/**
 * One C-STORE sub-operation (PS3.4 C.4.2.3.1, C.4.3.3.1): the archive's
 * bytes for one instance, fetched through the tunnel and sent as a
 * C-STORE-RQ on an association the caller holds, in the syntax they are
 * stored in.
 */
import { Status } from "@dicom-edge/shared/dicom/status";
import type { RetrieveItem } from "@dicom-edge/shared/tunnel/retrieve";
import { CommandField, Priority, type Command } from "../dimse/command.ts";
import type { EdgeLink } from "../store/forward.ts";
import type { Association } from "../ul/association.ts";
import type { AcceptedContext } from "../ul/negotiation.ts";
import { FetchError, fetchDataset } from "./edge-source.ts";
import type { PreparedStore, SubOperationResult } from "./sub-operations.ts";

/**
 * The accepted context an instance can go on: its SOP Class in the syntax
 * it is stored in. For C-GET the requestor must also have taken the SCP
 * role for that SOP Class (PS3.7 D.3.3.4); without it we may not send.
 */
export function contextFor(contexts: Iterable<AcceptedContext>, item: { sopClass: string; transferSyntax: string }, needRequestorScp: boolean): AcceptedContext | undefined {
  for (const context of contexts) {
    if (context.abstractSyntax !== item.sopClass || context.transferSyntax !== item.transferSyntax) continue;
    if (needRequestorScp && !context.requestorIsScp) continue;
    return context;
  }
  return undefined;
}

export interface StoreTarget {
  association: Association;
  /** C-GET: stores go back to the requestor, which must have accepted the SCP role. */
  needRequestorScp: boolean;
  /** C-MOVE: Move Originator AE Title and Message ID (PS3.7 9.1.1.1, Table 9.1-1). */
  moveOriginator?: { aeTitle: string; messageId: number };
}

/** PS3.4 C.4.3.3.1: no presentation context for the instance as it is stored; we never transcode. */
function noContext(item: RetrieveItem, transferSyntax: string): SubOperationResult {
  return { status: Status.SOPClassNotSupported, errorComment: `no accepted context for ${item.sopClass} in ${transferSyntax}`.slice(0, 64) };
}

const CANCELLED = Symbol("cancelled");

/** `work`, or CANCELLED as soon as `signal` aborts; the listener goes once either settles (one per instance otherwise). */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof CANCELLED> {
  if (signal.aborted) return CANCELLED;
  let onAbort!: () => void;
  const aborted = new Promise<typeof CANCELLED>((resolve) => (onAbort = () => resolve(CANCELLED)));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Prepares one sub-operation: with no context to send it on, a failure
 * result (never a silent skip); otherwise its fetch opens now and `run`
 * sends it. A fetch that fails before its first byte is a failed
 * sub-operation; one that fails after bytes went out leaves a data set
 * the peer can never complete, so the association is aborted (PS3.8 has no
 * way to withdraw a started message) and `run` throws.
 */
export function prepareStore(link: EdgeLink, target: StoreTarget, item: RetrieveItem): PreparedStore {
  const contextOf = (transferSyntax: string) => contextFor(target.association.presentationContexts.values(), { sopClass: item.sopClass, transferSyntax }, target.needRequestorScp);
  // A known syntax without a context fails before anything is fetched; an announced one once the edge names it.
  if (item.transferSyntax !== undefined && !contextOf(item.transferSyntax)) {
    return { run: async () => noContext(item, item.transferSyntax!), discard: () => undefined };
  }
  const fetch = fetchDataset(link, item);
  return {
    discard: () => fetch.cancel(),
    run: async (signal: AbortSignal): Promise<SubOperationResult | undefined> => {
      let first: IteratorResult<Uint8Array, void> | typeof CANCELLED;
      try {
        // A C-CANCEL while the archive is still looking for the bytes stops here, before the C-STORE-RQ.
        first = await unlessAborted(fetch.chunks.next(), signal);
      } catch (error) {
        if (error instanceof FetchError) return error.outcome;
        throw error;
      }
      if (first === CANCELLED) {
        fetch.cancel();
        return undefined;
      }
      if (first.done) return { status: Status.ProcessingFailure, errorComment: "the edge sent no bytes" };
      const transferSyntax = fetch.transferSyntax!;
      const context = contextOf(transferSyntax);
      if (!context) {
        fetch.cancel();
        return noContext(item, transferSyntax);
      }
      const association = target.association;
      const command: Command = {
        commandField: CommandField.CStoreRq,
        affectedSopClassUid: item.sopClass,
        messageId: association.nextMessageId(),
        priority: Priority.Medium,
        affectedSopInstanceUid: item.sop,
        ...(target.moveOriginator ? { moveOriginatorAeTitle: target.moveOriginator.aeTitle, moveOriginatorMessageId: target.moveOriginator.messageId } : {}),
      };
      const dataset = (async function* () {
        yield first.value;
        yield* fetch.chunks;
      })();
      try {
        const response = await association.request(context.id, command, dataset);
        const status = response.command.status ?? Status.ProcessingFailure;
        const comment = response.command.errorComment;
        return comment !== undefined ? { status, errorComment: comment } : { status };
      } catch (error) {
        if (error instanceof FetchError) await association.abort();
        throw error;
      }
    },
  };
}
