/**
 * `pacs-get` (shared/src/tunnel/pacs.ts): the edge's WADO-RS retrieve as a
 * C-GET SCU (PS3.4 C.4.3) toward a PACS of the AE table. Each instance
 * the PACS sends as a C-STORE sub-operation goes to the tunnel stream as a
 * Part-10 object, the data set bytes as received (the agent never
 * transcodes), and is answered once written.
 */
import { readDataset, writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import { stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, PASS_THROUGH_SYNTAXES } from "@dicom-edge/shared/dicom/transfer-syntax";
import { GET_INSTANCE_END, encodeGetChunk, encodeGetInstance, type PacsGetMeta, type PacsGetResult } from "@dicom-edge/shared/tunnel/pacs";
import { STUDY_ROOT_GET } from "../dimse/c-get-move.ts";
import { CommandField, Priority, type Command } from "../dimse/command.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../dimse/identity.ts";
import { fileMetaInformation } from "../store/file-meta.ts";
import type { Association, IncomingMessage } from "../ul/association.ts";
import { PacsError, associate, finish, lostAssociation, requireContext, resultOf, sendCancel, type PacsSettings } from "./association.ts";

/** PS3.4 C.4.1.1.3, Table C.6-2: Study Root Query/Retrieve Information Model - FIND. */
const STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1";
/** PS3.4 C.4.3.1.4: Sub-operations terminated due to Cancel. */
const CANCEL = 0xfe00;
/** PS3.7 C.4: Processing failure, for a sub-operation whose instance could not be passed on (the edge went away). */
const PROCESSING_FAILURE = 0x0110;
/** PS3.8 9.3.2.2: context ids 1 to 255, odd: 128 contexts, two of them for the C-GET itself. */
const MAX_STORAGE_CONTEXTS = 126;

/** The C-GET identifier: the level of the retrieve and the unique keys down to it (PS3.4 C.4.3.1.3.1). */
function getIdentifier(meta: Pick<PacsGetMeta, "study" | "series" | "sop">): DicomJson {
  const level = meta.sop ? "IMAGE" : meta.series ? "SERIES" : "STUDY";
  return {
    "00080052": { vr: "CS", Value: [level] },
    "0020000D": { vr: "UI", Value: [meta.study] },
    ...(meta.series ? { "0020000E": { vr: "UI", Value: [meta.series] } } : {}),
    ...(meta.sop ? { "00080018": { vr: "UI", Value: [meta.sop] } } : {}),
  };
}

/**
 * Runs the C-GET and writes each instance with `write` (the tunnel stream,
 * which waits for credit: the PACS waits with it, its socket paused).
 * The SOP Classes to take the SCP role for come first from an IMAGE level
 * C-FIND (PS3.4 C.6.2.1.2: SOP Class UID is a key of that level): a
 * retrieve cannot propose every storage class with every syntax within
 * 128 contexts. No match: Success with no sub-operations, and no C-GET.
 * `signal` (the edge's RESET) sends C-CANCEL-RQ. Throws PacsError when the
 * PACS cannot be asked.
 */
export async function pacsGet(
  settings: PacsSettings,
  meta: Pick<PacsGetMeta, "pacs" | "timeoutMs" | "study" | "series" | "sop">,
  write: (bytes: Uint8Array) => Promise<void>,
  signal: AbortSignal,
): Promise<PacsGetResult> {
  const sopClasses = await sopClassesOf(settings, meta);
  if (sopClasses.length === 0) return { status: 0x0000, completed: 0, failed: 0, warning: 0 };
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
      await write(encodeGetInstance({ sopClass: instance.affectedSopClassUid, sop: instance.affectedSopInstanceUid, transferSyntax: context.transferSyntax }));
      const fileMeta = fileMetaInformation({
        sopClassUid: instance.affectedSopClassUid,
        sopInstanceUid: instance.affectedSopInstanceUid,
        transferSyntaxUid: context.transferSyntax,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        sourceAeTitle: meta.pacs,
      });
      await write(encodeGetChunk(fileMeta));
      for await (const chunk of dataset as AsyncIterable<Uint8Array>) if (chunk.byteLength > 0) await write(encodeGetChunk(chunk));
      await write(GET_INSTANCE_END);
      return { commandField: CommandField.CStoreRsp, messageIdBeingRespondedTo: command.messageId!, ...instance, status: 0x0000 };
    } catch {
      return { commandField: CommandField.CStoreRsp, messageIdBeingRespondedTo: command.messageId!, ...instance, status: PROCESSING_FAILURE };
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
  const context = await requireContext(association, getContexts, meta.pacs, "Study Root Query/Retrieve - GET");
  if (signal.aborted) {
    await finish(association);
    return { status: CANCEL, completed: 0, failed: 0, warning: 0 };
  }
  const messageId = association.nextMessageId();
  let cancelled = false;
  const onAbort = () => {
    if (cancelled) return;
    cancelled = true;
    clearTimeout(timer);
    settings.log?.(`pacs-get ${meta.pacs}: the edge went away, C-CANCEL`);
    sendCancel(association, context.id, messageId);
    settle({ status: CANCEL, completed: 0, failed: 0, warning: 0 });
  };
  signal.addEventListener("abort", onAbort, { once: true });

  arm();
  const answered = association.request(
    context.id,
    { commandField: CommandField.CGetRq, affectedSopClassUid: STUDY_ROOT_GET, messageId, priority: Priority.Medium },
    writeDataset(getIdentifier(meta), context.transferSyntax),
    () => {
      if (!cancelled) arm();
    },
  );
  answered.then(
    (final) => {
      clearTimeout(timer);
      const c = final.command;
      if (c.status === undefined) {
        fail(new PacsError({ failure: "bad-response", message: `${meta.pacs} sent a C-GET-RSP without a Status (0000,0900)` }));
        return;
      }
      settle({
        status: c.status,
        completed: c.numberOfCompletedSuboperations ?? 0,
        failed: c.numberOfFailedSuboperations ?? 0,
        warning: c.numberOfWarningSuboperations ?? 0,
        ...(c.errorComment !== undefined ? { errorComment: c.errorComment } : {}),
      });
    },
    (error) => {
      clearTimeout(timer);
      fail(lostAssociation(meta.pacs, error));
    },
  );
  return resultOf(done, { signal, onAbort, stopTimer: () => clearTimeout(timer), answered, association, timeoutMs: meta.timeoutMs });
}

/** The distinct SOP Class UIDs of the instances in scope, by an IMAGE level C-FIND (PS3.4 C.4.1). */
async function sopClassesOf(settings: PacsSettings, meta: Pick<PacsGetMeta, "pacs" | "timeoutMs" | "study" | "series" | "sop">): Promise<string[]> {
  const { association, accepted } = await associate(
    settings,
    meta.pacs,
    [
      [STUDY_ROOT_FIND, EXPLICIT_VR_LITTLE_ENDIAN],
      [STUDY_ROOT_FIND, IMPLICIT_VR_LITTLE_ENDIAN],
    ],
    meta.timeoutMs,
  );
  const context = await requireContext(association, accepted, meta.pacs, "Study Root Query/Retrieve - FIND");
  // PS3.4 C.6.2.1.2: the unique keys above IMAGE, and SOP Class UID (0008,0016) as a return key.
  const identifier: DicomJson = {
    "00080052": { vr: "CS", Value: ["IMAGE"] },
    "0020000D": { vr: "UI", Value: [meta.study] },
    "0020000E": meta.series ? { vr: "UI", Value: [meta.series] } : { vr: "UI" },
    "00080018": meta.sop ? { vr: "UI", Value: [meta.sop] } : { vr: "UI" },
    "00080016": { vr: "UI" },
  };
  const sopClasses = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let expire!: (error: PacsError) => void;
  const expired = new Promise<never>((_, reject) => (expire = reject));
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      void association.abort();
      expire(new PacsError({ failure: "timeout", message: `${meta.pacs} sent no C-FIND-RSP within ${meta.timeoutMs / 1000} s` }));
    }, meta.timeoutMs);
  };
  arm();
  try {
    const final = await Promise.race([
      association.request(
        context.id,
        { commandField: CommandField.CFindRq, affectedSopClassUid: STUDY_ROOT_FIND, messageId: association.nextMessageId(), priority: Priority.Medium },
        writeDataset(identifier, context.transferSyntax),
        (response) => {
          arm();
          const uid = response.dataset ? stringValue(readDataset(response.dataset, context.transferSyntax), "00080016") : undefined;
          if (uid) sopClasses.add(uid);
        },
      ),
      expired,
    ]);
    if (final.command.status !== 0x0000) {
      const status = final.command.status?.toString(16).toUpperCase().padStart(4, "0") ?? "none";
      throw new PacsError({ failure: "bad-response", message: `${meta.pacs} answered the C-FIND for the SOP Classes to retrieve with status ${status}` });
    }
    return [...sopClasses];
  } catch (error) {
    throw lostAssociation(meta.pacs, error);
  } finally {
    clearTimeout(timer);
    await finish(association);
  }
}
