/**
 * What the two ways of serving `pacs-get` (shared/src/tunnel/pacs.ts)
 * share, C-GET (get.ts) and C-MOVE to the agent itself (move.ts): the
 * identifier, the SOP Classes in scope, an instance of a C-STORE
 * sub-operation on its way to the tunnel stream, and the final response
 * as the stream's RESULT.
 */
import { coalesce } from "@dicom-edge/shared/bytes";
import { readDataset, writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import { stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "@dicom-edge/shared/dicom/transfer-syntax";
import { GET_INSTANCE_END, encodeGetChunk, encodeGetInstance, type GetInstanceHeader, type PacsGetMeta, type PacsGetResult } from "@dicom-edge/shared/tunnel/pacs";
import { CommandField, Priority, type Command } from "../dimse/command.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../dimse/identity.ts";
import { fileMetaInformation } from "../store/file-meta.ts";
import type { Association, ResponseMessage } from "../ul/association.ts";
import { PacsError, associate, finish, lostAssociation, requireContext, sendCancel, type PacsSettings } from "./association.ts";

/** What both retrieves are told by the edge. */
export type RetrieveMeta = Pick<PacsGetMeta, "pacs" | "timeoutMs" | "study" | "series" | "sop">;

/** PS3.4 C.4.1.1.3, Table C.6-2: Study Root Query/Retrieve Information Model - FIND. */
const STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1";
/** PS3.4 C.4.2.1.5, C.4.3.1.4: Sub-operations terminated due to Cancel. */
export const CANCEL = 0xfe00;
/** PS3.7 C.4: Processing failure, for a sub-operation whose instance could not be passed on (the edge went away). */
const PROCESSING_FAILURE = 0x0110;

/** The retrieve of a scope with nothing in it: Success, no sub-operations. */
export const NOTHING: PacsGetResult = { status: 0x0000, completed: 0, failed: 0, warning: 0 };

/**
 * The C-GET or C-MOVE identifier: the level of the retrieve and the unique
 * keys down to it (PS3.4 C.4.2.1.4.1, C.4.3.1.3.1).
 */
export function getIdentifier(meta: Pick<PacsGetMeta, "study" | "series" | "sop">): DicomJson {
  const level = meta.sop ? "IMAGE" : meta.series ? "SERIES" : "STUDY";
  return {
    "00080052": { vr: "CS", Value: [level] },
    "0020000D": { vr: "UI", Value: [meta.study] },
    ...(meta.series ? { "0020000E": { vr: "UI", Value: [meta.series] } } : {}),
    ...(meta.sop ? { "00080018": { vr: "UI", Value: [meta.sop] } } : {}),
  };
}

/**
 * Writes one instance a PACS sent as a C-STORE sub-operation to the stream
 * (`write` waits for credit: the PACS waits with it, its socket paused): the
 * header, the File Meta Information we write for it, the data set as
 * received in chunks of up to CHUNK_BYTES (a PACS's PDVs are a few KiB:
 * one tunnel message each would cost more than the bytes), the end marker. Answers the sub-operation's status:
 * Success once written, Processing failure when the stream failed.
 */
/** Data set bytes per framed chunk: the unit the tunnel's credit and the edge's decoder handle at once. */
const CHUNK_BYTES = 256 * 1024;

export async function writeInstance(
  write: (bytes: Uint8Array) => Promise<void>,
  header: GetInstanceHeader,
  pacs: string,
  dataset: AsyncIterable<Uint8Array>,
): Promise<number> {
  try {
    await write(encodeGetInstance(header));
    const fileMeta = fileMetaInformation({
      sopClassUid: header.sopClass,
      sopInstanceUid: header.sop,
      transferSyntaxUid: header.transferSyntax,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      sourceAeTitle: pacs,
    });
    await write(encodeGetChunk(fileMeta));
    for await (const chunk of coalesce(dataset, CHUNK_BYTES)) if (chunk.byteLength > 0) await write(encodeGetChunk(chunk));
    await write(GET_INSTANCE_END);
    return 0x0000;
  } catch {
    return PROCESSING_FAILURE;
  }
}

/**
 * Settles a C-GET or C-MOVE run with its final response (PS3.4 C.4.2.1.5,
 * C.4.3.1.4), once `before` (what the last sub-operation still writes,
 * asked when the response came) is done; a lost association fails it.
 */
export function settleOnFinal(
  answered: Promise<ResponseMessage>,
  options: { pacs: string; what: "C-GET-RSP" | "C-MOVE-RSP"; stopTimer: () => void; settle: (result: PacsGetResult) => void; fail: (error: unknown) => void; before?: () => Promise<unknown> },
): void {
  answered.then(
    async (final) => {
      options.stopTimer();
      await options.before?.();
      try {
        options.settle(finalResult(final.command, options.pacs, options.what));
      } catch (error) {
        options.fail(error);
      }
    },
    (error) => {
      options.stopTimer();
      options.fail(lostAssociation(options.pacs, error));
    },
  );
}

/**
 * The edge's RESET of a running C-GET or C-MOVE: one C-CANCEL-RQ for it
 * (PS3.7 9.3.3.3, 9.3.4.3) and a cancelled result (FE00), at most once;
 * `cancelled` tells the response handlers to stop re-arming their timeout.
 */
export function retrieveCancel(options: {
  association: Association;
  contextId: number;
  messageId: number;
  pacs: string;
  log?: ((message: string) => void) | undefined;
  stopTimer: () => void;
  settle: (result: PacsGetResult) => void;
}): { onAbort: () => void; cancelled: () => boolean } {
  let cancelled = false;
  return {
    cancelled: () => cancelled,
    onAbort: () => {
      if (cancelled) return;
      cancelled = true;
      options.stopTimer();
      options.log?.(`pacs-get ${options.pacs}: the edge went away, C-CANCEL`);
      sendCancel(options.association, options.contextId, options.messageId);
      options.settle({ ...NOTHING, status: CANCEL });
    },
  };
}

/** The final C-GET-RSP or C-MOVE-RSP (PS3.4 C.4.2.1.5, C.4.3.1.4) as the stream's RESULT. */
function finalResult(command: Command, pacs: string, what: string): PacsGetResult {
  if (command.status === undefined) throw new PacsError({ failure: "bad-response", message: `${pacs} sent a ${what} without a Status (0000,0900)` });
  return {
    status: command.status,
    completed: command.numberOfCompletedSuboperations ?? 0,
    failed: command.numberOfFailedSuboperations ?? 0,
    warning: command.numberOfWarningSuboperations ?? 0,
    ...(command.errorComment !== undefined ? { errorComment: command.errorComment } : {}),
  };
}

/**
 * The instances in scope by an IMAGE level C-FIND (PS3.4 C.4.1): how many,
 * and their distinct SOP Class UIDs, as far as the PACS returns that key
 * (dcmqrscp, for one, does not).
 */
export async function scopeOf(settings: PacsSettings, meta: RetrieveMeta): Promise<{ matches: number; sopClasses: string[] }> {
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
  let matches = 0;
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
          matches++;
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
    return { matches, sopClasses: [...sopClasses] };
  } catch (error) {
    throw lostAssociation(meta.pacs, error);
  } finally {
    clearTimeout(timer);
    await finish(association);
  }
}
