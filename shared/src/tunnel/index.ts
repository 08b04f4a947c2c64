/**
 * The tunnel between the edge and an agent: the frame codec, the session
 * that multiplexes credit-controlled streams over one WebSocket, and the
 * heartbeat and reconnect timing around it. Transport-agnostic: the owner of
 * the socket feeds messages in and supplies `send`.
 */
export {
  FrameType,
  HEADER_LENGTH,
  MAX_PAYLOAD,
  TUNNEL_VERSION,
  decodeFrame,
  encodeFrame,
  isFrameError,
  type Frame,
  type FrameError,
  type FrameErrorCode,
  type FrameTypeName,
  type OpenMeta,
} from "./frame.ts";
export {
  DEFAULT_INITIAL_CREDIT,
  DEFAULT_MAX_STREAMS,
  TunnelSession,
  TunnelStream,
  type TunnelRole,
  type TunnelSessionOptions,
} from "./session.ts";
export { TunnelError, type ResetCode, type TunnelErrorCode } from "./errors.ts";
export { DEFAULT_DEAD_AFTER_MS, DEFAULT_PING_INTERVAL_MS, Heartbeat, type HeartbeatOptions } from "./heartbeat.ts";
export { nextDelay, type BackoffOptions } from "./backoff.ts";
