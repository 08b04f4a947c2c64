/**
 * `pacs-echo` (shared/src/tunnel/pacs.ts): a C-ECHO (PS3.7 9.1.5) to a PACS
 * of the AE table on an association of its own, the edge's health check
 * of the DIMSE backend.
 */
import { IMPLICIT_VR_LITTLE_ENDIAN } from "@dicom-edge/shared/dicom/transfer-syntax";
import type { PacsEchoMeta, PacsResult } from "@dicom-edge/shared/tunnel/pacs";
import { CommandField } from "../dimse/command.ts";
import { associate, finish, lostAssociation, requireContext, withinTimeout, type PacsSettings } from "./association.ts";

/** PS3.4 A.4: the Verification SOP Class. */
export const VERIFICATION = "1.2.840.10008.1.1";

/** The C-ECHO-RSP status (PS3.7 9.3.5.2); throws PacsError when none came. */
export async function pacsEcho(settings: PacsSettings, meta: Pick<PacsEchoMeta, "pacs" | "timeoutMs">): Promise<PacsResult> {
  // PS3.5 10.1: every AE accepts Implicit VR Little Endian.
  const { association, accepted } = await associate(settings, meta.pacs, [[VERIFICATION, IMPLICIT_VR_LITTLE_ENDIAN]], meta.timeoutMs);
  const context = await requireContext(association, accepted, meta.pacs, "the Verification SOP Class");
  try {
    const response = await withinTimeout(
      association.request(context.id, { commandField: CommandField.CEchoRq, affectedSopClassUid: VERIFICATION, messageId: association.nextMessageId() }),
      association,
      meta.timeoutMs,
      "C-ECHO-RSP",
    );
    const status = response.command.status;
    if (status === undefined) throw new Error("C-ECHO-RSP without a Status (0000,0900)");
    return { status, ...(response.command.errorComment !== undefined ? { errorComment: response.command.errorComment } : {}) };
  } catch (error) {
    throw lostAssociation(meta.pacs, error);
  } finally {
    await finish(association);
  }
}
