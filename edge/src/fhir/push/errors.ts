/**
 * A push that did not happen, with a stable code; the queue consumer turns
 * it into a retry (queue.ts). Messages never carry a credential.
 */
export type PushErrorCode =
  /** The configuration is incomplete or unsafe (config.ts). */
  | "config"
  /** The token endpoint refused the client or answered something unusable. */
  | "token"
  /** The server could not be reached (DNS, connection, TLS). */
  | "unreachable"
  /** No answer within the timeout. */
  | "timeout"
  /** The FHIR server answered with an error status. */
  | "refused"
  /** A success status without what the push needs from it (the Patient's id). */
  | "unexpected-response";

export class PushError extends Error {
  override readonly name = "PushError";
  constructor(
    readonly code: PushErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
