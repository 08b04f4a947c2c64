/**
 * The associations the agent requests for the edge's DIMSE backend (PS3.8
 * 7.1): one per operation, to a PACS of the AE table, every failure to get
 * one named as the PacsFailure the edge maps to HTTP.
 */
import type { PacsFailure } from "@dicom-edge/shared/tunnel/pacs";
import type { AeTableEntry } from "../config/config.ts";
import { openAssociation, type OpenOptions } from "../retrieve/destination.ts";
import { Association, AssociationRejectedError } from "../ul/association.ts";
import type { AcceptedContext } from "../ul/negotiation.ts";
import { CommandField } from "../dimse/command.ts";
import type { PendingMoves } from "./pending-moves.ts";

export interface PacsSettings {
  /** Our AE title: the Calling AE Title toward the PACS. */
  aeTitle: string;
  maxPduLength: number;
  /** The AE table entry of an AE title, if any. */
  destination(title: string): AeTableEntry | undefined;
  /** The C-MOVEs to our own AE title under way, whose sub-operations our DIMSE listener diverts to them (move.ts). */
  moves: PendingMoves;
  log?(message: string): void;
}

/** Thrown for any way the PACS did not answer: what the stream's RESULT then says. */
export class PacsError extends Error {
  constructor(readonly failure: PacsFailure) {
    super(failure.message);
    this.name = "PacsError";
  }
}

/**
 * What a C-GET SCU adds to its association (PS3.4 C.4.3.3): the SCP role
 * for these storage SOP Classes, proposed by role selection (PS3.7
 * D.3.3.4), and the handler of the C-STORE sub-operations the PACS then
 * sends on it.
 */
export type ScpRoles = NonNullable<OpenOptions["scp"]>;

/**
 * An established association to `pacs` proposing `contexts`, and the
 * contexts the PACS accepted (maybe none: see `requireContext`). An
 * unknown AE title, A-ASSOCIATE-RJ or a refused connection throw PacsError.
 */
export async function associate(
  settings: PacsSettings,
  pacs: string,
  contexts: readonly (readonly [string, string])[],
  timeoutMs: number,
  scp?: ScpRoles,
): Promise<{ association: Association; accepted: AcceptedContext[] }> {
  const entry = settings.destination(pacs);
  if (!entry) throw new PacsError({ failure: "unknown-pacs", message: `${pacs} is not in the AE table of the agent` });
  let association: Association;
  const started = Date.now();
  try {
    const options = { callingAeTitle: settings.aeTitle, contexts, maxPduLength: settings.maxPduLength, timeoutMs, ...(settings.log ? { log: settings.log } : {}) };
    association = await openAssociation(entry, { ...options, ...(scp ? { scp } : {}) });
  } catch (error) {
    if (error instanceof AssociationRejectedError) {
      throw new PacsError({ failure: "rejected", message: `${pacs} rejected the association: ${describeRejection(error.rejection)}` });
    }
    const message = error instanceof Error ? error.message : String(error);
    // Connect, TLS handshake and A-ASSOCIATE-AC share the timeout (ARTIM, PS3.8 9.1.5): a failure at its end is that timeout.
    const timedOut = Date.now() - started >= timeoutMs;
    throw new PacsError({ failure: timedOut ? "timeout" : "unreachable", message: `${pacs} at ${entry.host}:${entry.port}: ${message}` });
  }
  return { association, accepted: [...association.presentationContexts.values()] };
}

/**
 * The first accepted context, in the order proposed; none is a refusal of
 * the service itself (PS3.8 9.3.3.2, results 3 and 4), so the association
 * is released and PacsError "rejected" thrown.
 */
export async function requireContext(association: Association, accepted: readonly AcceptedContext[], pacs: string, service: string): Promise<AcceptedContext> {
  const context = [...accepted].sort((a, b) => a.id - b.id)[0];
  if (context) return context;
  await finish(association);
  throw new PacsError({ failure: "rejected", message: `${pacs} accepted the association but not ${service}` });
}

/** How long a PACS may take to answer A-RELEASE-RQ before the association is aborted instead. */
const RELEASE_TIMEOUT_MS = 10_000;

/** Releases an association still established (PS3.8 7.2), aborts any other; never throws. */
export async function finish(association: Association): Promise<void> {
  if (association.state !== "Sta6") {
    await association.abort().catch(() => undefined);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  // Sta7 has no timer of its own (PS3.8 9.2): a PACS that never sends A-RELEASE-RP is aborted.
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), RELEASE_TIMEOUT_MS)));
  try {
    const released = await Promise.race([association.release().then(() => "released" as const), late]);
    if (released === "late") await association.abort();
  } catch {
    await association.abort().catch(() => undefined);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * PS3.8 9.3.4, Table 9-21: Result (1 permanent, 2 transient), Source and
 * Reason of an A-ASSOCIATE-RJ, in words.
 */
export function describeRejection(rejection: { result: number; source: number; reason: number }): string {
  const reasons: Record<number, Record<number, string>> = {
    1: { 1: "no reason given", 2: "application context name not supported", 3: "calling AE title not recognized", 7: "called AE title not recognized" },
    2: { 1: "no reason given", 2: "protocol version not supported" },
    3: { 1: "temporary congestion", 2: "local limit exceeded" },
  };
  const reason = reasons[rejection.source]?.[rejection.reason] ?? `reason ${rejection.reason}`;
  const kind = rejection.result === 2 ? "transient" : "permanent";
  return `${reason} (${kind}; result ${rejection.result}, source ${rejection.source}, reason ${rejection.reason})`;
}

/**
 * `work`, or PacsError "timeout" once `timeoutMs` passed without it
 * settling; the association is aborted then (PS3.8 7.3.1), since its
 * answer can no longer reach anyone.
 */
export async function withinTimeout<T>(work: Promise<T>, association: Association, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void association.abort();
      reject(new PacsError({ failure: "timeout", message: `no ${what} within ${timeoutMs / 1000} s` }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error on an established association (A-ABORT, a closed socket) as the PacsError it is. */
export function lostAssociation(pacs: string, error: unknown): PacsError {
  if (error instanceof PacsError) return error;
  return new PacsError({ failure: "unreachable", message: `${pacs}: ${error instanceof Error ? error.message : String(error)}` });
}

/**
 * After a C-CANCEL the PACS still owes its final response (FE00, PS3.4
 * C.4.1.1.4, C.4.3.1.4): the association is released once it came, or aborted when it
 * did not come within the timeout.
 */
export async function closeAfter(answered: Promise<unknown>, association: Association, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
  const came = await Promise.race([answered.then(() => "came" as const, () => "came" as const), late]);
  clearTimeout(timer);
  if (came === "late") await association.abort().catch(() => undefined);
  else await finish(association);
}

/** PS3.7 9.3.2.3: C-CANCEL-RQ for request `messageId`; it has no response, the request's final response (FE00) ends it. */
export function sendCancel(association: Association, contextId: number, messageId: number): void {
  void association.sendMessage(contextId, { commandField: CommandField.CCancelRq, messageIdBeingRespondedTo: messageId }).catch(() => undefined);
}

/**
 * The operation's result once `done` settles; then it stops listening for
 * the edge's abort and its response timer, and closes the association once
 * the PACS gave its final response (closeAfter).
 */
export async function resultOf<T>(
  done: Promise<T>,
  request: { signal: AbortSignal; onAbort: () => void; stopTimer: () => void; answered: Promise<unknown>; association: Association; timeoutMs: number },
): Promise<T> {
  try {
    return await done;
  } finally {
    request.signal.removeEventListener("abort", request.onAbort);
    request.stopTimer();
    void closeAfter(request.answered, request.association, request.timeoutMs);
  }
}
