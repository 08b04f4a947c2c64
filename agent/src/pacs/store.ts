/**
 * `pacs-store` (shared/src/tunnel/pacs.ts): one instance from the edge sent
 * to a PACS of the AE table as a C-STORE-RQ (PS3.4 B.2, PS3.7 9.1.1) on an
 * association of its own, proposing exactly the instance's SOP Class and
 * the transfer syntax it arrived in: the bytes are never transcoded
 * (DESIGN: Byte-faithful), only the File Meta Information is left behind,
 * as a C-STORE-RQ carries the data set alone (PS3.7 9.3.1.1).
 */
import { stringValue } from "@dicom-edge/shared/dicom/json";
import { Part10Error, Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { Status } from "@dicom-edge/shared/dicom/status";
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN } from "@dicom-edge/shared/dicom/transfer-syntax";
import type { PacsStoreMeta, PacsStoreResult } from "@dicom-edge/shared/tunnel/pacs";
import { CommandField, Priority } from "../dimse/command.ts";
import { associate, finish, lostAssociation, withinTimeout, type PacsSettings } from "./association.ts";

/**
 * Bytes held before the header named the instance's study: the head of an
 * instance, its File Meta Information and first groups, is a few KB; an
 * instance whose Study Instance UID comes later is refused, not buffered.
 */
export const MAX_HEAD_BYTES = 4 * 1024 * 1024;

const SOP_CLASS_UID = "00080016";
const SOP_INSTANCE_UID = "00080018";
const STUDY_INSTANCE_UID = "0020000D";
const SERIES_INSTANCE_UID = "0020000E";
const MEDIA_STORAGE_SOP_CLASS_UID = "00020002";
const MEDIA_STORAGE_SOP_INSTANCE_UID = "00020003";

/**
 * Reads the instance's head (File Meta Information up to its Study Instance
 * UID), then streams the data set to the PACS as it arrives and returns the
 * PACS's C-STORE-RSP status with the UIDs that name the instance. An
 * instance that cannot be sent gets a failure status of its own (PS3.4
 * B.2.3: C000, A900, 0122) without an association; throws PacsError when
 * the PACS cannot be reached or does not answer.
 */
export async function pacsStore(settings: PacsSettings, meta: Pick<PacsStoreMeta, "pacs" | "timeoutMs" | "study">, body: AsyncIterable<Uint8Array>): Promise<PacsStoreResult> {
  const iterator = body[Symbol.asyncIterator]();
  const reader = new Part10Reader();
  let parsing = true;
  const feed = (chunk: Uint8Array) => {
    if (!parsing) return;
    try {
      reader.write(chunk);
    } catch {
      // Past the head the PACS judges the data set: it goes on as it is.
      parsing = false;
    }
  };

  const head: Uint8Array[] = [];
  let headBytes = 0;
  let ended = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        reader.end();
        break;
      }
      reader.write(next.value);
      head.push(next.value);
      headBytes += next.value.byteLength;
      if (reader.header.dataset?.[STUDY_INSTANCE_UID] || headBytes > MAX_HEAD_BYTES) break;
    }
  } catch (error) {
    if (!(error instanceof Part10Error)) throw error;
    return { status: Status.CannotUnderstand, errorComment: `not a valid DICOM Part-10 object: ${error.message}`.slice(0, 64) };
  }

  const header = reader.header;
  const dataset = header.dataset ?? {};
  const sopClass = (header.meta && stringValue(header.meta, MEDIA_STORAGE_SOP_CLASS_UID)) ?? stringValue(dataset, SOP_CLASS_UID);
  const sop = (header.meta && stringValue(header.meta, MEDIA_STORAGE_SOP_INSTANCE_UID)) ?? stringValue(dataset, SOP_INSTANCE_UID);
  const study = stringValue(dataset, STUDY_INSTANCE_UID);
  const named = { ...(sop ? { sop } : {}), ...(sopClass ? { sopClass } : {}) };
  const transferSyntax = header.transferSyntaxUID;
  const datasetOffset = header.datasetOffset;
  if (!sopClass || !sop || !transferSyntax || datasetOffset === undefined) {
    return { status: Status.CannotUnderstand, errorComment: "no SOP Class, Instance and Transfer Syntax UID (PS3.10 7.1)", ...named };
  }
  if (!study) return { status: Status.CannotUnderstand, errorComment: `no Study Instance UID in the first ${MAX_HEAD_BYTES >> 20} MiB`, ...named };
  // PS3.18 10.5.1: an instance outside the study named in the URL is not stored.
  if (meta.study !== undefined && meta.study !== study) {
    return { status: Status.DataSetDoesNotMatchSOPClass, errorComment: `Study ${study} is not ${meta.study}`.slice(0, 64), study, ...named };
  }

  const { association, accepted } = await associate(settings, meta.pacs, [[sopClass, transferSyntax]], meta.timeoutMs);
  const context = accepted.find((c) => c.abstractSyntax === sopClass && c.transferSyntax === transferSyntax);
  if (!context) {
    await finish(association);
    return { status: Status.SOPClassNotSupported, errorComment: `${meta.pacs} refused ${sopClass} in ${transferSyntax}`.slice(0, 64), study, ...named };
  }

  let sent!: () => void;
  const allSent = new Promise<"sent">((resolve) => (sent = () => resolve("sent")));
  async function* datasetBytes(): AsyncGenerator<Uint8Array> {
    let skip = datasetOffset!;
    let length = 0;
    for (const chunk of head.splice(0)) {
      if (skip >= chunk.byteLength) {
        skip -= chunk.byteLength;
        continue;
      }
      length += chunk.byteLength - skip;
      yield chunk.subarray(skip);
      skip = 0;
    }
    if (!ended) {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        feed(next.value);
        length += next.value.byteLength;
        yield next.value;
      }
    }
    // PS3.5 A.5: a deflated data stream of odd length is padded with one NUL on the wire; without it a PACS waits for the rest.
    if (transferSyntax === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN && length % 2 === 1) yield new Uint8Array(1);
    sent();
  }

  let broken = false;
  try {
    const response = association.request(
      context.id,
      { commandField: CommandField.CStoreRq, affectedSopClassUid: sopClass, messageId: association.nextMessageId(), priority: Priority.Medium, affectedSopInstanceUid: sop },
      datasetBytes(),
    );
    response.catch(() => undefined);
    // The edge's bytes take as long as its caller sends them; the timeout counts from the last one (or an early answer).
    await Promise.race([allSent, response]);
    const answer = await withinTimeout(response, association, meta.timeoutMs, "C-STORE-RSP");
    const status = answer.command.status ?? Status.ProcessingFailure;
    const comment = answer.command.errorComment;
    const series = stringValue(reader.header.dataset ?? dataset, SERIES_INSTANCE_UID);
    return { status, ...(comment !== undefined ? { errorComment: comment } : {}), study, ...(series ? { series } : {}), ...named };
  } catch (error) {
    // A data set cut short cannot be withdrawn but by A-ABORT (PS3.8 7.3.1): the PACS drops it whole.
    broken = true;
    await association.abort().catch(() => undefined);
    throw lostAssociation(meta.pacs, error);
  } finally {
    if (!broken) await finish(association);
    await iterator.return?.();
  }
}
