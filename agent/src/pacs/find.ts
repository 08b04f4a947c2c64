/**
 * `pacs-find` (shared/src/tunnel/pacs.ts): the edge's search as a C-FIND
 * SCU (PS3.4 C.4.1) toward a PACS of the AE table, on an association of
 * its own: Study Root, or Patient Root for the PATIENT level (C.6.1, C.6.2).
 */
import { readDataset, writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "@dicom-edge/shared/dicom/transfer-syntax";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { findIdentifier, matchDataset } from "@dicom-edge/shared/query/to-c-find";
import { jsonLine } from "@dicom-edge/shared/tunnel/json-lines";
import type { PacsFindMeta, PacsFindResult } from "@dicom-edge/shared/tunnel/pacs";
import { CommandField, Priority } from "../dimse/command.ts";
import type { ResponseMessage } from "../ul/association.ts";
import { PacsError, associate, finish, lostAssociation, requireContext, resultOf, sendCancel, type PacsSettings } from "./association.ts";

/** PS3.4 C.4.1.1.4: Matching terminated due to Cancel. */
const CANCEL = 0xfe00;
/**
 * Matches passed on when the query sets no limit: the agent cannot slow a
 * PACS's pending responses (PS3.7 has no flow control for them), so what it
 * holds is bounded by a limit, this one at worst.
 */
export const MAX_MATCHES = 10_000;

/**
 * Runs the C-FIND and writes each match as a JSON line with `write`,
 * skipping the query's first `offset` matches and stopping after `limit`:
 * one more match says `truncated`, and a C-CANCEL-RQ (PS3.7 9.3.2.3) stops
 * the PACS. `signal` (the edge's RESET) cancels the same way. The RESULT
 * comes once the matches are written; the association is released in the
 * background once the PACS sent its final response (or aborted after the
 * timeout). Throws PacsError when the PACS cannot be asked.
 */
export async function pacsFind(
  settings: PacsSettings,
  meta: Pick<PacsFindMeta, "pacs" | "timeoutMs" | "query">,
  write: (line: Uint8Array) => Promise<void>,
  signal: AbortSignal,
): Promise<PacsFindResult> {
  const built = findIdentifier(meta.query);
  if (isQueryError(built)) return { failure: "bad-request", message: built.reason };
  // Explicit VR first: the PACS's answers keep their VRs, private ones too; Implicit VR is every AE's default (PS3.5 10.1).
  const { association, accepted } = await associate(
    settings,
    meta.pacs,
    [
      [built.sopClass, EXPLICIT_VR_LITTLE_ENDIAN],
      [built.sopClass, IMPLICIT_VR_LITTLE_ENDIAN],
    ],
    meta.timeoutMs,
  );
  const context = await requireContext(association, accepted, meta.pacs, `C-FIND in ${built.sopClass}`);
  let identifier: Uint8Array;
  try {
    identifier = writeDataset(built.identifier, context.transferSyntax);
  } catch (error) {
    await finish(association);
    return { failure: "bad-request", message: `the query cannot be written as a C-FIND identifier: ${error instanceof Error ? error.message : String(error)}` };
  }

  const limit = meta.query.limit ?? MAX_MATCHES;
  const offset = meta.query.offset;
  const messageId = association.nextMessageId();
  let seen = 0;
  let written = 0;
  let cancelled = false;
  let writes: Promise<void> = Promise.resolve();
  let settle!: (result: PacsFindResult) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<PacsFindResult>((resolve, reject) => ((settle = resolve), (fail = reject)));
  let timer: NodeJS.Timeout | undefined;
  // Each response must come within the timeout of the one before (or of the request).
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      cancelled = true;
      void association.abort();
      fail(new PacsError({ failure: "timeout", message: `${meta.pacs} sent no C-FIND-RSP within ${meta.timeoutMs / 1000} s` }));
    }, meta.timeoutMs);
  };
  const cancel = () => {
    if (cancelled) return;
    cancelled = true;
    clearTimeout(timer);
    sendCancel(association, context.id, messageId);
  };
  const afterWrites = (result: PacsFindResult) =>
    writes.then(
      () => settle(result),
      // The edge went away (RESET): nobody reads the result.
      () => settle({ status: CANCEL, truncated: false }),
    );

  const onPending = (response: ResponseMessage) => {
    if (cancelled) return;
    arm();
    // PS3.4 C.4.1.1.3.2: each pending response carries one match's identifier.
    if (!response.dataset) return;
    let match: DicomJson;
    try {
      match = matchDataset(readDataset(response.dataset, context.transferSyntax));
    } catch (error) {
      cancel();
      fail(new PacsError({ failure: "bad-response", message: `${meta.pacs} sent an unreadable C-FIND identifier: ${error instanceof Error ? error.message : String(error)}` }));
      return;
    }
    seen++;
    if (seen <= offset) return;
    if (written >= limit) {
      cancel();
      void afterWrites({ status: 0x0000, truncated: true });
      return;
    }
    written++;
    const line = jsonLine(match);
    writes = writes.then(() => write(line));
    writes.catch(() => cancel());
  };
  const onAbort = () => {
    cancel();
    settle({ status: CANCEL, truncated: false });
  };
  signal.addEventListener("abort", onAbort, { once: true });

  arm();
  const answered = association.request(
    context.id,
    { commandField: CommandField.CFindRq, affectedSopClassUid: built.sopClass, messageId, priority: Priority.Medium },
    identifier,
    onPending,
  );
  answered.then(
    (final) => {
      clearTimeout(timer);
      if (cancelled) return;
      const status = final.command.status;
      if (status === undefined) {
        fail(new PacsError({ failure: "bad-response", message: `${meta.pacs} sent a C-FIND-RSP without a Status (0000,0900)` }));
        return;
      }
      const comment = final.command.errorComment;
      void afterWrites({ status, truncated: false, ...(comment !== undefined ? { errorComment: comment } : {}) });
    },
    (error) => {
      clearTimeout(timer);
      fail(lostAssociation(meta.pacs, error));
    },
  );
  return resultOf(done, { signal, onAbort, stopTimer: () => clearTimeout(timer), answered, association, timeoutMs: meta.timeoutMs });
}

