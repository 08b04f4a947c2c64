/**
 * The one error type the tunnel throws or rejects with. Wire-level problems
 * in what the peer sends are values (`FrameError`, a RESET frame); this is
 * for what reaches a caller: a stream that was reset or closed, a session
 * that went away, a transport that failed, or a caller's bug.
 */
export type TunnelErrorCode =
  /** The stream was reset, by the peer (`remote`) or by this side; `resetCode` says why. */
  | "reset"
  /** The stream already finished (END sent, RESULT sent or received) for this operation. */
  | "stream-closed"
  /** The session closed, or failed; `cause` holds the reason. */
  | "session-closed"
  /** The transport's `send` threw or rejected. */
  | "transport"
  /** The peer broke the framing so badly that no single stream can take the blame. */
  | "protocol"
  /** An OPEN meta, RESULT or RESET would not fit in one frame (MAX_PAYLOAD). */
  | "too-large"
  /** This side used up its half of the u32 stream id space; reconnect. */
  | "ids-exhausted";

/** RESET codes the session itself sends; callers may use any other string. */
export type ResetCode =
  /** A frame broke the protocol for this stream (wrong parity, DATA after END, reused id...). */
  | "protocol-error"
  /** The peer sent more DATA than its credit, or granted credit past the u32 window. */
  | "flow-control"
  /** A frame named a stream this side does not have. */
  | "unknown-stream"
  /** This side will not take the stream: no handler, or too many streams open. */
  | "refused"
  /** The open handler threw. */
  | "internal"
  | (string & {});

export class TunnelError extends Error {
  readonly code: TunnelErrorCode;
  /** For "reset": the RESET frame's code. */
  readonly resetCode?: ResetCode;
  /** For "reset": true when the peer sent the RESET. */
  readonly remote?: boolean;

  constructor(
    code: TunnelErrorCode,
    message: string,
    options?: { cause?: unknown; resetCode?: ResetCode; remote?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TunnelError";
    this.code = code;
    if (options?.resetCode !== undefined) this.resetCode = options.resetCode;
    if (options?.remote !== undefined) this.remote = options.remote;
  }
}
