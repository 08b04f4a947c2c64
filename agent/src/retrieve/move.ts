/**
 * Sending the instances of a retrieve to an AE of the agent's table, over
 * an association the agent requests (PS3.4 C.4.2.3: the C-MOVE SCP acts
 * as a C-STORE SCU towards the Move Destination). A C-MOVE at the agent
 * and the edge's SEND both end here.
 */
import type { RetrieveItem, RetrieveOutcome, RetrievePlan } from "@dicom-edge/shared/tunnel/retrieve";
import type { AeTableEntry } from "../config/config.ts";
import type { EdgeLink } from "../store/forward.ts";
import { AssociationRejectedError } from "../ul/association.ts";
import { MAX_PRESENTATION_CONTEXTS, openAssociation } from "./destination.ts";
import { prepareStore } from "./store.ts";
import { runSubOperations, type Counts, type SubOperationResult, type SubOperationsRun } from "./sub-operations.ts";

export interface MoveSettings {
  link: EdgeLink;
  /** Our AE title: the Calling AE Title towards destinations. */
  aeTitle: string;
  maxPduLength: number;
  /** Bounds connect, handshake, A-ASSOCIATE-AC and A-RELEASE-RP, ms. */
  timeoutMs?: number;
  log?(message: string): void;
}

export interface MoveRequest {
  destination: AeTableEntry;
  plan: RetrievePlan;
  items: AsyncIterator<RetrieveItem, RetrieveOutcome, undefined>;
  /** The C-MOVE that asked for it (PS3.7 9.1.1.1: Move Originator AE Title and Message ID); none for the edge's SEND. */
  moveOriginator?: { aeTitle: string; messageId: number };
  signal: AbortSignal;
  progress(counts: Counts, item: RetrieveItem, result: SubOperationResult): Promise<void>;
}

export interface MoveRun extends SubOperationsRun {
  /** Why no instance could be sent (the destination refused or was unreachable). */
  errorComment?: string;
}

export async function moveInstances(settings: MoveSettings, request: MoveRequest): Promise<MoveRun> {
  const { plan, destination } = request;
  if (plan.count === 0) {
    const outcome = await drain(request.items, []);
    return { counts: { remaining: 0, completed: 0, failed: 0, warning: 0 }, failedSops: [], cancelled: false, ...(outcome.status !== 0 ? { listingFailed: outcome } : {}) };
  }
  let association;
  try {
    association = await openAssociation(destination, {
      callingAeTitle: settings.aeTitle,
      // Instances whose pair did not fit find no context and count as failed.
      contexts: plan.contexts.slice(0, MAX_PRESENTATION_CONTEXTS),
      maxPduLength: settings.maxPduLength,
      ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
      ...(settings.log ? { log: settings.log } : {}),
    });
  } catch (error) {
    const reason =
      error instanceof AssociationRejectedError
        ? `rejected ${error.rejection.result}/${error.rejection.source}/${error.rejection.reason}`
        : error instanceof Error
          ? error.message
          : String(error);
    settings.log?.(`move to ${destination.title}@${destination.host}:${destination.port} failed: ${reason}`);
    // Not one sub-operation can be performed: each counts as failed (PS3.4 C.4.2.1.5, A702).
    const failedSops: string[] = [];
    await drain(request.items, failedSops);
    return {
      counts: { remaining: 0, completed: 0, failed: failedSops.length, warning: 0 },
      failedSops,
      cancelled: false,
      errorComment: `${destination.title}: ${reason}`.slice(0, 64),
    };
  }
  try {
    return await runSubOperations({
      count: plan.count,
      items: request.items,
      prepare: (item) =>
        prepareStore(settings.link, { association, needRequestorScp: false, ...(request.moveOriginator ? { moveOriginator: request.moveOriginator } : {}) }, item),
      progress: request.progress,
      signal: request.signal,
    });
  } finally {
    // PS3.7 D.3.3: we requested it, we release it, also after a cancel.
    if (association.state === "Sta6") await association.release().catch(() => undefined);
    else await association.abort();
  }
}

/** Reads the rest of the list, collecting SOP Instance UIDs, and returns the edge's outcome. */
async function drain(items: AsyncIterator<RetrieveItem, RetrieveOutcome, undefined>, sops: string[]): Promise<RetrieveOutcome> {
  for (;;) {
    const next = await items.next();
    if (next.done) return next.value;
    sops.push(next.value.sop);
  }
}
