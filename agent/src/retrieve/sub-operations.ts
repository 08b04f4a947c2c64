/**
 * The C-STORE sub-operations of a retrieve (PS3.4 C.4.2.3 C-MOVE, C.4.3.3
 * C-GET, and the edge's SEND, which is a C-MOVE the edge asked for): one
 * instance after the other, counted the way the responses report them
 * (PS3.7 9.1.3.1.3 / 9.1.4.1.3: Remaining, Completed, Failed, Warning),
 * stopped by a cancel. Where the stores go is the caller's: the same
 * association (C-GET) or one opened to the destination (C-MOVE).
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { Status } from "@dicom-edge/shared/dicom/status";
import type { RetrieveItem, RetrieveOutcome } from "@dicom-edge/shared/tunnel/retrieve";

/** Statuses of the final C-GET / C-MOVE response (PS3.4 C.4.2.1.5 Table C.4-2, C.4.3.1.4 Table C.4-3). */
export const RetrieveStatus = {
  Success: 0x0000,
  Pending: 0xff00,
  Cancel: 0xfe00,
  /** Warning: Sub-operations Complete - One or more Failures or Warnings. */
  SubOperationsWithFailures: 0xb000,
  /** Refused: Out of Resources - Unable to perform sub-operations. */
  UnableToPerformSubOperations: 0xa702,
  /** Refused: Move Destination unknown. */
  MoveDestinationUnknown: 0xa801,
  /** Error: Identifier does not match SOP Class. */
  IdentifierDoesNotMatchSOPClass: Status.DataSetDoesNotMatchSOPClass,
  /** Failed: Unable to process. */
  UnableToProcess: Status.CannotUnderstand,
} as const;

export interface Counts {
  remaining: number;
  completed: number;
  failed: number;
  warning: number;
}

/** What one sub-operation ended with: the C-STORE-RSP status, or ours when it could not be sent. */
export interface SubOperationResult {
  status: number;
  errorComment?: string;
}

/** PS3.4 B.2.3: Bxxx statuses are warnings (the instance was stored); 0000 success; the rest failures. */
export function classify(status: number): "completed" | "warning" | "failed" {
  if (status === Status.Success) return "completed";
  if ((status & 0xf000) === 0xb000) return "warning";
  return "failed";
}

export interface SubOperationsRun {
  counts: Counts;
  /** SOP Instance UIDs that failed (PS3.4 C.4.2.1.3.2: the Failed SOP Instance UID List). */
  failedSops: string[];
  cancelled: boolean;
  /** The edge could not list the instances to the end: a failure of the whole retrieve. */
  listingFailed?: RetrieveOutcome;
  /** The association carrying the stores ended mid-way; the rest stays in Remaining. */
  broken?: string;
}

export interface PreparedStore {
  /**
   * Performs the store; failures are results, a throw means the
   * association is gone. Undefined: `signal` aborted before anything was
   * sent, so the sub-operation was never started.
   */
  run(signal: AbortSignal): Promise<SubOperationResult | undefined>;
  /** Gives up on it without sending (cancel): releases what `prepare` opened. */
  discard(): void;
}

export interface SubOperations {
  /** How many instances the retrieve names (the edge's plan). */
  count: number;
  items: AsyncIterator<RetrieveItem, RetrieveOutcome, undefined>;
  /**
   * Starts what can start early for an item (opening its fetch), so its
   * latency overlaps the previous store; called one item ahead.
   */
  prepare(item: RetrieveItem): PreparedStore;
  /** After each sub-operation: a pending response, a progress line. */
  progress(counts: Counts, item: RetrieveItem, result: SubOperationResult): Promise<void>;
  signal: AbortSignal;
}

/**
 * Runs the stores one at a time, in the edge's order, with the next item's
 * fetch opened while the current one is sent. A failed store counts as
 * failed and the run goes on; only a cancel, or an edge that stops
 * listing, ends it early: what was not attempted stays in Remaining.
 */
export async function runSubOperations(run: SubOperations): Promise<SubOperationsRun> {
  const counts: Counts = { remaining: run.count, completed: 0, failed: 0, warning: 0 };
  const failedSops: string[] = [];
  const nextPrepared = async () => {
    const next = await run.items.next();
    return next.done ? { done: true as const, outcome: next.value } : { done: false as const, item: next.value, store: run.prepare(next.value) };
  };
  const cancelled = async (ahead: ReturnType<typeof nextPrepared>): Promise<SubOperationsRun> => {
    const skipped = await ahead.catch(() => undefined);
    if (skipped && !skipped.done) skipped.store.discard();
    return { counts, failedSops, cancelled: true };
  };
  let current = run.signal.aborted ? undefined : await nextPrepared();
  while (current && !current.done) {
    const ahead = nextPrepared();
    if (run.signal.aborted) {
      current.store.discard();
      return cancelled(ahead);
    }
    let result: SubOperationResult | undefined;
    let broken: string | undefined;
    try {
      result = await current.store.run(run.signal);
      // Cancelled while its bytes were awaited: never started, so it stays in Remaining.
      if (result === undefined) return cancelled(ahead);
    } catch (error) {
      // The association is gone: this store failed, the look-ahead's fetch will never be sent.
      await ahead.then((skipped) => !skipped.done && skipped.store.discard(), () => undefined);
      broken = error instanceof Error ? error.message : String(error);
      result = { status: Status.ProcessingFailure, errorComment: "association lost" };
    }
    counts.remaining = Math.max(0, counts.remaining - 1);
    const kind = classify(result.status);
    counts[kind]++;
    if (kind === "failed") failedSops.push(current.item.sop);
    if (broken !== undefined) return { counts, failedSops, cancelled: false, broken };
    await run.progress({ ...counts }, current.item, result);
    if (run.signal.aborted) return cancelled(ahead);
    current = await ahead;
  }
  if (run.signal.aborted) return { counts, failedSops, cancelled: true };
  const outcome = current?.outcome;
  if (outcome && outcome.status !== Status.Success) return { counts, failedSops, cancelled: false, listingFailed: outcome };
  return { counts, failedSops, cancelled: false };
}

/**
 * The final status (PS3.4 C.4.2.1.5, C.4.3.1.4): Success when every
 * sub-operation completed; B000 when some failed or warned; A702 when
 * there were instances and not one could be stored, or the association
 * carrying them broke; FE00 after a cancel.
 */
export function finalStatus(run: SubOperationsRun): number {
  if (run.cancelled) return RetrieveStatus.Cancel;
  if (run.listingFailed) return run.listingFailed.status;
  if (run.broken !== undefined) return RetrieveStatus.UnableToPerformSubOperations;
  const { completed, failed, warning } = run.counts;
  if (failed === 0 && warning === 0) return RetrieveStatus.Success;
  if (completed === 0 && warning === 0) return RetrieveStatus.UnableToPerformSubOperations;
  return RetrieveStatus.SubOperationsWithFailures;
}

/**
 * The final response's identifier (PS3.4 C.4.2.1.3.2, C.4.3.1.3.2): the
 * Failed SOP Instance UID List (0008,0058) when any failed; undefined when
 * none did (the response then has no data set).
 */
export function failedListIdentifier(failedSops: readonly string[]): DicomJson | undefined {
  if (failedSops.length === 0) return undefined;
  return { "00080058": { vr: "UI", Value: [...failedSops] } };
}
