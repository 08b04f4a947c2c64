/**
 * `pacs-get` by C-MOVE (PS3.4 C.4.2) for a PACS that offers no C-GET: the
 * agent asks the PACS to move the instances to the agent's own AE title.
 * The PACS sends them as C-STORE sub-operations on associations it opens
 * to the agent's DIMSE listener, where `PendingMoves.divert` hands them to
 * the move they belong to; each goes to the tunnel stream as with C-GET
 * (retrieval.ts), the data set bytes as received, and is answered once
 * written.
 */
import { writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "@dicom-edge/shared/dicom/transfer-syntax";
import type { PacsGetResult } from "@dicom-edge/shared/tunnel/pacs";
import { STUDY_ROOT_MOVE } from "../dimse/c-get-move.ts";
import { CommandField, Priority } from "../dimse/command.ts";
import type { HandlerResult, StoreContext } from "../dimse/server.ts";
import { PacsError, associate, finish, requireContext, resultOf, type PacsSettings } from "./association.ts";
import { CANCEL, NOTHING, getIdentifier, retrieveCancel, settleOnFinal, scopeOf, writeInstance, type RetrieveMeta } from "./retrieval.ts";

/**
 * The retrieve of an AE table entry with `retrieve = "move"`. An IMAGE
 * level C-FIND comes first, as for C-GET: a scope with nothing in it is
 * Success with no sub-operations, where a C-MOVE of it is a failure at
 * some PACS (Orthanc answers C000).
 */
export async function pacsMove(settings: PacsSettings, meta: RetrieveMeta, write: (bytes: Uint8Array) => Promise<void>, signal: AbortSignal): Promise<PacsGetResult> {
  if ((await scopeOf(settings, meta)).matches === 0) return NOTHING;
  return moveToAgent(settings, meta, write, signal);
}

/**
 * The C-MOVE itself, with our AE title as the Move Destination (0000,0600),
 * for a scope known to hold instances. Every C-MOVE-RSP and sub-operation
 * must come within the timeout of the last, except while an instance is
 * being written (the PACS waits for us then). `signal` (the edge's RESET)
 * sends C-CANCEL-RQ. Throws PacsError when the PACS cannot be asked.
 */
export async function moveToAgent(settings: PacsSettings, meta: RetrieveMeta, write: (bytes: Uint8Array) => Promise<void>, signal: AbortSignal): Promise<PacsGetResult> {
  const { association, accepted } = await associate(
    settings,
    meta.pacs,
    [
      [STUDY_ROOT_MOVE, EXPLICIT_VR_LITTLE_ENDIAN],
      [STUDY_ROOT_MOVE, IMPLICIT_VR_LITTLE_ENDIAN],
    ],
    meta.timeoutMs,
  );
  const context = await requireContext(association, accepted, meta.pacs, "Study Root Query/Retrieve - MOVE");
  if (signal.aborted) {
    await finish(association);
    return { ...NOTHING, status: CANCEL };
  }

  let timer: NodeJS.Timeout | undefined;
  let settle!: (result: PacsGetResult) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<PacsGetResult>((resolve, reject) => ((settle = resolve), (fail = reject)));
  let cancel: ReturnType<typeof retrieveCancel> | undefined;
  let writing = false;
  let over = false;
  const stop = () => {
    over = true;
    clearTimeout(timer);
  };
  void done.then(stop, stop);
  const arm = () => {
    clearTimeout(timer);
    if (cancel?.cancelled() || writing || over) return;
    timer = setTimeout(() => {
      void association.abort();
      fail(new PacsError({ failure: "timeout", message: `${meta.pacs} sent no C-MOVE response or sub-operation within ${meta.timeoutMs / 1000} s` }));
    }, meta.timeoutMs);
  };

  // The PACS may deliver on several associations at once: the stream takes
  // one instance at a time, and the others wait unread (their sockets paused).
  let turn: Promise<unknown> = Promise.resolve();
  const receive = (store: StoreContext): Promise<HandlerResult> => {
    const mine = turn.then(async () => {
      writing = true;
      clearTimeout(timer);
      try {
        const header = { sopClass: store.sopClassUid, sop: store.sopInstanceUid, transferSyntax: store.transferSyntaxUid };
        return { status: await writeInstance(write, header, meta.pacs, store.dataset) };
      } finally {
        writing = false;
        arm();
      }
    });
    turn = mine;
    return mine;
  };
  // Registered until the association is gone: a sub-operation arriving after a C-CANCEL fails (0110) rather than being stored.
  const pending = settings.moves.add(meta.pacs, receive);
  void association.closed.then(pending.remove);
  const messageId = pending.messageId;

  cancel = retrieveCancel({ association, contextId: context.id, messageId, pacs: meta.pacs, log: settings.log, stopTimer: () => clearTimeout(timer), settle });
  const onAbort = cancel.onAbort;
  signal.addEventListener("abort", onAbort, { once: true });

  arm();
  const answered = association.request(
    context.id,
    { commandField: CommandField.CMoveRq, affectedSopClassUid: STUDY_ROOT_MOVE, messageId, priority: Priority.Medium, moveDestination: settings.aeTitle },
    writeDataset(getIdentifier(meta), context.transferSyntax),
    arm,
  );
  // PS3.4 C.4.2.3: the final response follows the last sub-operation's response, so its instance is being written by now.
  settleOnFinal(answered, { pacs: meta.pacs, what: "C-MOVE-RSP", stopTimer: () => clearTimeout(timer), settle, fail, before: () => turn });
  return resultOf(done, { signal, onAbort, stopTimer: () => clearTimeout(timer), answered, association, timeoutMs: meta.timeoutMs });
}
