/**
 * The tunnel's frame codec: one frame per transport message (a WebSocket
 * binary message), so a frame's length is the message's length and the
 * header carries none.
 *
 * ```
 * offset 0  u8      version (TUNNEL_VERSION)
 *        1  u8      type (FrameType)
 *        2  u8      flags (none defined in version 1: must be 0)
 *        3  u8      reserved (must be 0)
 *        4  u32 BE  stream id (0 = the session itself: PING / PONG)
 *        8  ...     payload, at most MAX_PAYLOAD bytes
 * ```
 *
 * Decoding is pure and never throws: bytes in, a `Frame` or a `FrameError`
 * out. Payloads are checked here (JSON shape, fixed sizes) so the session
 * only ever sees well-formed frames.
 */
import { TunnelError } from "./errors.ts";

export const TUNNEL_VERSION = 1;
export const HEADER_LENGTH = 8;
/** Largest payload of one frame: 1 MiB. */
export const MAX_PAYLOAD = 1 << 20;

export const FrameType = {
  /** Opens a stream; payload UTF-8 JSON `{ kind, ...meta }`. */
  OPEN: 0x01,
  /** Stream bytes; counts against the sender's credit. */
  DATA: 0x02,
  /** The sender finished writing; empty payload. */
  END: 0x03,
  /** u32 BE: more bytes the receiver of this frame may send. */
  CREDIT: 0x04,
  /** UTF-8 JSON outcome; closes the stream. */
  RESULT: 0x05,
  /** UTF-8 JSON `{ code, message }`; aborts the stream both ways. */
  RESET: 0x06,
  /** Stream 0; u64 BE timestamp, echoed by PONG. */
  PING: 0x07,
  PONG: 0x08,
} as const;
export type FrameTypeName = keyof typeof FrameType;

/** What an OPEN frame carries: the kind of stream and whatever that kind needs. */
export interface OpenMeta {
  kind: string;
  [key: string]: unknown;
}

export type Frame =
  | { type: "OPEN"; streamId: number; meta: OpenMeta }
  /** On decode, `payload` is a view into the message, not a copy. */
  | { type: "DATA"; streamId: number; payload: Uint8Array }
  | { type: "END"; streamId: number }
  | { type: "CREDIT"; streamId: number; credit: number }
  | { type: "RESULT"; streamId: number; result: unknown }
  | { type: "RESET"; streamId: number; code: string; message: string }
  /** Milliseconds; a u64 on the wire, limited to Number.MAX_SAFE_INTEGER both ways. */
  | { type: "PING"; streamId: 0; timestamp: number }
  | { type: "PONG"; streamId: 0; timestamp: number };

export type FrameErrorCode =
  | "truncated"
  | "unsupported-version"
  | "bad-header"
  | "unknown-type"
  | "bad-stream-id"
  | "too-large"
  | "bad-payload";

export interface FrameError {
  readonly error: FrameErrorCode;
  readonly message: string;
  /**
   * Set when the header was sound enough to blame one stream (a bad payload,
   * an unknown type or an oversize frame on a non-zero stream): the receiver
   * resets that stream rather than dropping the whole session.
   */
  readonly streamId?: number;
}

export function isFrameError(value: Frame | FrameError): value is FrameError {
  return "error" in value;
}

const TYPE_NAMES: ReadonlyMap<number, FrameTypeName> = new Map(
  Object.entries(FrameType).map(([name, code]) => [code, name as FrameTypeName]),
);

const utf8 = new TextEncoder();
// fatal: a payload that is not UTF-8 is the peer's bug, not text to guess at.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

const U32_MAX = 0xffff_ffff;
const TWO_32 = 2 ** 32;

/** Encodes one frame. Throws TunnelError "too-large" past MAX_PAYLOAD; other throws are caller bugs. */
export function encodeFrame(frame: Frame): Uint8Array {
  const payload = payloadOf(frame);
  if (payload.length > MAX_PAYLOAD) {
    throw new TunnelError("too-large", `${frame.type} payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  const controlFrame = frame.type === "PING" || frame.type === "PONG";
  if (!Number.isInteger(frame.streamId) || frame.streamId < 0 || frame.streamId > U32_MAX) {
    throw new RangeError(`stream id ${frame.streamId} is not a u32`);
  }
  if (controlFrame !== (frame.streamId === 0)) {
    throw new RangeError(`${frame.type} cannot use stream id ${frame.streamId}`);
  }
  const out = new Uint8Array(HEADER_LENGTH + payload.length);
  const view = new DataView(out.buffer);
  out[0] = TUNNEL_VERSION;
  out[1] = FrameType[frame.type];
  view.setUint32(4, frame.streamId);
  out.set(payload, HEADER_LENGTH);
  return out;
}

function payloadOf(frame: Frame): Uint8Array {
  switch (frame.type) {
    case "OPEN":
      return json(frame.meta);
    case "DATA":
      return frame.payload;
    case "END":
      return new Uint8Array(0);
    case "CREDIT": {
      if (!Number.isInteger(frame.credit) || frame.credit < 0 || frame.credit > U32_MAX) {
        throw new RangeError(`credit ${frame.credit} is not a u32`);
      }
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, frame.credit);
      return bytes;
    }
    case "RESULT":
      return json(frame.result);
    case "RESET":
      return json({ code: frame.code, message: frame.message });
    case "PING":
    case "PONG":
      return timestamp(frame.timestamp);
    default:
      return assertNever(frame);
  }
}

function json(value: unknown): Uint8Array {
  // JSON.stringify(undefined) is undefined, not text: an absent outcome travels as null.
  return utf8.encode(JSON.stringify(value) ?? "null");
}

function timestamp(ms: number): Uint8Array {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`timestamp ${ms} is not a u64 the peer can echo exactly`);
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  // Two u32 halves rather than setBigUint64: no BigInt on the hot path.
  view.setUint32(0, Math.floor(ms / TWO_32));
  view.setUint32(4, ms % TWO_32);
  return bytes;
}

/** Decodes one whole transport message. Never throws. */
export function decodeFrame(bytes: Uint8Array): Frame | FrameError {
  if (bytes.length < HEADER_LENGTH) {
    return { error: "truncated", message: `${bytes.length} bytes is shorter than the ${HEADER_LENGTH}-byte header` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[0]!;
  if (version !== TUNNEL_VERSION) {
    return { error: "unsupported-version", message: `version ${version}, expected ${TUNNEL_VERSION}` };
  }
  if (bytes[2] !== 0 || bytes[3] !== 0) {
    // Version 1 defines no flags: a set bit is corruption or a peer from the future.
    return { error: "bad-header", message: `flags 0x${hex(bytes[2]!)} / reserved 0x${hex(bytes[3]!)} must be 0` };
  }
  const streamId = view.getUint32(4);
  // Only a stream frame's troubles are that stream's; on stream 0 they are the session's.
  const blame = streamId === 0 ? {} : { streamId };
  const code = bytes[1]!;
  const type = TYPE_NAMES.get(code);
  if (type === undefined) {
    return { error: "unknown-type", message: `frame type 0x${hex(code)}`, ...blame };
  }
  // Rejected before anything is copied or parsed.
  if (bytes.length - HEADER_LENGTH > MAX_PAYLOAD) {
    return { error: "too-large", message: `${type} payload of ${bytes.length - HEADER_LENGTH} bytes exceeds ${MAX_PAYLOAD}`, ...blame };
  }
  const controlFrame = type === "PING" || type === "PONG";
  if (controlFrame !== (streamId === 0)) {
    return { error: "bad-stream-id", message: `${type} on stream ${streamId}` };
  }
  const payload = bytes.subarray(HEADER_LENGTH);
  const bad = (message: string): FrameError => ({ error: "bad-payload", message: `${type}: ${message}`, ...blame });

  switch (type) {
    case "OPEN": {
      const meta = parseJson(payload);
      if (!meta.ok) return bad(meta.message);
      if (!isRecord(meta.value) || typeof meta.value["kind"] !== "string") return bad("expected an object with a string kind");
      return { type, streamId, meta: meta.value as OpenMeta };
    }
    case "DATA":
      return { type, streamId, payload };
    case "END":
      return payload.length === 0 ? { type, streamId } : bad(`expected no payload, got ${payload.length} bytes`);
    case "CREDIT":
      return payload.length === 4
        ? { type, streamId, credit: view.getUint32(HEADER_LENGTH) }
        : bad(`expected 4 bytes, got ${payload.length}`);
    case "RESULT": {
      const result = parseJson(payload);
      return result.ok ? { type, streamId, result: result.value } : bad(result.message);
    }
    case "RESET": {
      const reset = parseJson(payload);
      if (!reset.ok) return bad(reset.message);
      const value = reset.value;
      if (!isRecord(value) || typeof value["code"] !== "string") return bad("expected an object with a string code");
      const message = typeof value["message"] === "string" ? value["message"] : "";
      return { type, streamId, code: value["code"], message };
    }
    case "PING":
    case "PONG": {
      if (payload.length !== 8) return bad(`expected 8 bytes, got ${payload.length}`);
      const high = view.getUint32(HEADER_LENGTH);
      // Past 2^53 a Number cannot hold it exactly, so a PONG could not echo it.
      if (high > 0x1f_ffff) return bad("timestamp beyond Number.MAX_SAFE_INTEGER");
      const ms = high * TWO_32 + view.getUint32(HEADER_LENGTH + 4);
      return { type, streamId: 0, timestamp: ms };
    }
    default:
      return assertNever(type);
  }
}

function parseJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(strictUtf8.decode(bytes)) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
