/**
 * DIMSE status codes (PS3.7 Annex C, PS3.4 Annex B) as used by both doors:
 * a C-STORE response status on the agent, and the FailureReason (0008,1197)
 * or WarningReason (0008,1196) of a STOW-RS response (PS3.18 10.5.3.1).
 */
export const Status = {
  Success: 0x0000,
  /** PS3.7 C.4.2: the store failed for a reason the archive could not name. */
  ProcessingFailure: 0x0110,
  /** PS3.4 B.2.3: Refused: SOP Class not supported. */
  SOPClassNotSupported: 0x0122,
  /** PS3.4 B.2.3: Refused: Out of resources (A7xx). */
  OutOfResources: 0xa700,
  /** PS3.4 B.2.3: Error: Data Set does not match SOP Class (A9xx). */
  DataSetDoesNotMatchSOPClass: 0xa900,
  /** PS3.4 B.2.3: Error: Cannot understand (Cxxx). */
  CannotUnderstand: 0xc000,
  /** PS3.4 B.2.3: Warning: Coercion of Data Elements. */
  CoercionOfDataElements: 0xb000,
  /** PS3.4 B.2.3: Warning: Elements Discarded. */
  ElementsDiscarded: 0xb006,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];
