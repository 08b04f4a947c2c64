import type { PacsFailure } from "@dicom-edge/shared/tunnel/pacs";
import { BackendUnavailable } from "../backend";

/** Why the agent got no status from the PACS, as the HTTP status it is: a setting (503), the PACS (502), its silence (504). */
export function unavailableFor(failure: PacsFailure): BackendUnavailable {
  switch (failure.failure) {
    case "unknown-pacs":
      return new BackendUnavailable(503, failure.message);
    case "timeout":
      return new BackendUnavailable(504, failure.message);
    case "rejected":
    case "unreachable":
    case "bad-response":
    case "bad-request":
      return new BackendUnavailable(502, failure.message);
  }
}

/** A DIMSE status as PS3.7 Annex C writes it, hex, with its Error Comment. */
export function statusText(status: number, comment: string | undefined): string {
  return `status ${status.toString(16).toUpperCase().padStart(4, "0")}${comment ? ` (${comment})` : ""}`;
}
