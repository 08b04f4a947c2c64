/**
 * `pacs-get` (shared/src/tunnel/pacs.ts): the edge's WADO-RS retrieve as a
 * C-GET SCU (PS3.4 C.4.3) toward a PACS of the AE table. Each instance
 * the PACS sends as a C-STORE sub-operation goes to the tunnel stream as a
 * Part-10 object, the data set bytes as received (the agent never
 * transcodes), and is answered once written.
 */
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, PASS_THROUGH_SYNTAXES } from "@dicom-edge/shared/dicom/transfer-syntax";
import { writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import type { PacsGetResult } from "@dicom-edge/shared/tunnel/pacs";
import { STUDY_ROOT_GET } from "../dimse/c-get-move.ts";
import { CommandField, Priority, type Command } from "../dimse/command.ts";
import type { Association, IncomingMessage } from "../ul/association.ts";
import { PacsError, associate, finish, requireContext, resultOf, type PacsSettings } from "./association.ts";
import { moveToAgent } from "./move.ts";
import { CANCEL, NOTHING, getIdentifier, retrieveCancel, settleOnFinal, scopeOf, writeInstance, type RetrieveMeta } from "./retrieval.ts";

/** PS3.8 9.3.2.2: context ids 1 to 255, odd: 128 contexts, two of them for the C-GET itself. */
const MAX_STORAGE_CONTEXTS = 126;

/**
 * Runs the C-GET and writes each instance with `write` (the tunnel stream,
 * which waits for credit: the PACS waits with it, its socket paused).
 * The SOP Classes to take the SCP role for come first from an IMAGE level
 * C-FIND (PS3.4 C.6.2.1.2: SOP Class UID is a key of that level): a
 * retrieve cannot propose every storage class with every syntax within
 * 128 contexts (a PACS that does not return it gets none, and fails the
 * sub-operations). No match: Success with no sub-operations, and no C-GET.
 * A PACS that accepts no Study Root GET context is asked for a C-MOVE to
 * the agent instead (move.ts). `signal` (the edge's RESET) sends
 * C-CANCEL-RQ. Throws PacsError when the PACS cannot be asked.
 */
export async function pacsGet(
  settings: PacsSettings,
  meta: RetrieveMeta,
  write: (bytes: Uint8Array) => Promise<void>,
  signal: AbortSignal,
): Promise<PacsGetResult> {
  const { matches, sopClasses } = await scopeOf(settings, meta);
  if (matches === 0) return NOTHING;
  const storage: [string, string][] = [];
  for (const syntax of PASS_THROUGH_SYNTAXES) for (const sopClass of sopClasses) storage.push([sopClass, syntax]);

  let timer: NodeJS.Timeout | undefined;
  let association!: Association;
  let settle!: (result: PacsGetResult) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<PacsGetResult>((resolve, reject) => ((settle = resolve), (fail = reject)));
  // Each sub-operation or response must come within the timeout of the last; not while we write, when the PACS waits for us.
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      void association.abort();
      fail(new PacsError({ failure: "timeout", message: `${meta.pacs} sent no C-GET response or sub-operation within ${meta.timeoutMs / 1000} s` }));
    }, meta.timeoutMs);
  };

  const onMessage = async ({ context, command, dataset }: IncomingMessage): Promise<Command> => {
    clearTimeout(timer);
    const instance = { affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntax, affectedSopInstanceUid: command.affectedSopInstanceUid ?? "" };
    // PS3.4 C.4.3.3: on a C-GET association the PACS sends only C-STORE sub-operations, on a context we took the SCP role for.
    if (command.commandField !== CommandField.CStoreRq || !dataset) throw new Error(`${meta.pacs} sent request ${command.commandField} during the C-GET`);
    try {
      const header = { sopClass: instance.affectedSopClassUid, sop: instance.affectedSopInstanceUid, transferSyntax: context.transferSyntax };
      const status = await writeInstance(write, header, meta.pacs, dataset);
      return { commandField: CommandField.CStoreRsp, messageIdBeingRespondedTo: command.messageId!, ...instance, status };
    } finally {
      if (!signal.aborted) arm();
    }
  };

  ({ association } = await associate(
    settings,
    meta.pacs,
    [[STUDY_ROOT_GET, EXPLICIT_VR_LITTLE_ENDIAN], [STUDY_ROOT_GET, IMPLICIT_VR_LITTLE_ENDIAN], ...storage.slice(0, MAX_STORAGE_CONTEXTS)],
    meta.timeoutMs,
    { sopClasses, onMessage },
  ));
  const getContexts = [...association.presentationContexts.values()].filter((c) => c.abstractSyntax === STUDY_ROOT_GET);
  if (getContexts.length === 0) {
    // PS3.4 C.4.3 is optional for a Q/R SCP, and many offer C-MOVE only: we are our own move destination then.
    await finish(association);
    settings.log?.(`pacs-get ${meta.pacs}: no Study Root GET context accepted, retrieving by C-MOVE to ${settings.aeTitle}`);
    return moveToAgent(settings, meta, write, signal);
  }
  const context = await requireContext(association, getContexts, meta.pacs, "Study Root Query/Retrieve - GET");
  if (signal.aborted) {
    await finish(association);
    return { ...NOTHING, status: CANCEL };
  }
  const messageId = association.nextMessageId();
  const { onAbort, cancelled } = retrieveCancel({ association, contextId: context.id, messageId, pacs: meta.pacs, log: settings.log, stopTimer: () => clearTimeout(timer), settle });
  signal.addEventListener("abort", onAbort, { once: true });

  arm();
  const answered = association.request(
    context.id,
    { commandField: CommandField.CGetRq, affectedSopClassUid: STUDY_ROOT_GET, messageId, priority: Priority.Medium },
    writeDataset(getIdentifier(meta), context.transferSyntax),
    () => {
      if (!cancelled()) arm();
    },
  );
  settleOnFinal(answered, { pacs: meta.pacs, what: "C-GET-RSP", stopTimer: () => clearTimeout(timer), settle, fail });
  return resultOf(done, { signal, onAbort, stopTimer: () => clearTimeout(timer), answered, association, timeoutMs: meta.timeoutMs });
}
