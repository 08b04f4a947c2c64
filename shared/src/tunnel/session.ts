/**
 * One tunnel session: many concurrent streams multiplexed over one
 * message-oriented transport (the agent's outbound WebSocket). The session
 * neither owns the socket nor keeps timers: the owner feeds it messages with
 * `receive`, gives it a `send`, and calls `close` when the socket goes away.
 * The same code runs in workerd (AgentHub Durable Object, hibernation API)
 * and in Node (`ws`).
 *
 * ## Streams
 * Either side opens a stream with `open(kind, meta)`; the peer's `onOpen`
 * sees it. The opener picks the id from its half of the u32 space (agent odd,
 * edge even), so both sides can open at once without agreeing first. A
 * stream lives until one side sends RESULT (the outcome, which also closes
 * it) or RESET (abort, both ways); END only says "I am done writing", so a
 * stream that both sides END still waits for its RESULT.
 *
 * ## Flow control
 * Each direction of each stream has a window of bytes the writer may send.
 * The receiver grants `initialCredit` when the stream starts (the opener
 * right after its OPEN, the acceptor once `onOpen` took the stream: a stream
 * refused at OPEN costs no wasted bytes) and grants again only as its
 * consumer *reads* from `readable`, not as frames arrive. A slow consumer
 * therefore stalls the writer, and what a stream buffers never exceeds its
 * window. DATA beyond the window, or credit that would push the window past
 * a u32, is a protocol violation that resets the stream.
 *
 * A receiver may let the opener start before that first grant
 * (`openCredit`, told to the peer outside the session, as its
 * `peerOpenCredit`): the opener's first bytes then travel with the OPEN
 * instead of one round trip later, the first grant is smaller by as much,
 * and a stream refused at OPEN wastes at most that many bytes.
 *
 * ## Stream kinds
 * The session does not look at kinds; they are a contract between the agent
 * and the edge:
 * - `echo` (agent opens; C-ECHO through the tunnel): no DATA either way;
 *   RESULT `{ status }`.
 * - `store` (agent opens; one C-STORE): OPEN meta `{ sopClassUid,
 *   sopInstanceUid, transferSyntaxUid, callingAeTitle }`, DATA the Part-10
 *   bytes, then END; the edge answers RESULT `{ status, errorComment? }` only
 *   once the instance is durable, so the agent may drop it from its spool.
 * - `find` (agent opens; one C-FIND): OPEN meta `{ model: "patient" |
 *   "study", level?, callingAeTitle }`, DATA the request identifier as
 *   DICOM JSON, then END; the edge answers one newline-terminated DICOM JSON
 *   match per line of DATA as it reads its index, then RESULT `{ status,
 *   errorComment? }`. The agent's RESET (C-CANCEL) stops the search
 *   (edge/src/agents/find.ts, agent/src/dimse/c-find.ts).
 * - `retrieve`, `fetch` (agent opens; C-GET and C-MOVE) and `send` (the
 *   edge opens; a C-MOVE to an on-prem AE): see retrieve.ts.
 *
 * ## Sessions do not outlive their socket, nor a Durable Object's memory
 * Nothing here is serialized. When the AgentHub wakes from hibernation with
 * a fresh session, frames for streams it no longer knows get a RESET
 * ("unknown-stream") and an OPEN that reuses an id the agent still holds
 * resets that stream: either way the stream fails cleanly and the agent
 * retries stores from its spool.
 */
import { TunnelError, type ResetCode } from "./errors.ts";
import { MAX_PAYLOAD, decodeFrame, encodeFrame, isFrameError, type Frame, type OpenMeta } from "./frame.ts";

export type TunnelRole = "agent" | "edge";

/** 4 MiB: enough to keep a WAN link busy, small enough that a stalled reader is cheap. */
export const DEFAULT_INITIAL_CREDIT = 4 << 20;
/**
 * Streams the peer may hold open at once. 16 x 4 MiB bounds what the peer can
 * make one side buffer at 64 MiB, half a Durable Object's 128 MB.
 */
export const DEFAULT_MAX_STREAMS = 16;

/**
 * The HTTP header of the tunnel's connect response in which the edge tells
 * the agent its `openCredit` (decimal bytes); without it the agent assumes 0.
 */
export const OPEN_CREDIT_HEADER = "x-tunnel-open-credit";

const U32_MAX = 0xffff_ffff;
/** DATA payloads below this are copied together so that tiny frames cannot multiply per-chunk overhead. */
const COALESCE_BELOW = 16 << 10;
const COALESCE_MAX = 64 << 10;
const COALESCE_MIN_ALLOC = 256;
/** Bounds a RESET we send ourselves, so resetting never fails on a long message. */
const MAX_RESET_MESSAGE = 1024;

export interface TunnelSessionOptions {
  role: TunnelRole;
  /**
   * Sends one frame as one binary message. A returned promise is awaited by
   * the writer that produced the frame (transport backpressure); a throw or a
   * rejection fails the whole session. Frames are passed in wire order.
   */
  send(frame: Uint8Array): void | Promise<void>;
  /**
   * A stream the peer opened. Take it synchronously (start reading, keep the
   * stream); throwing or rejecting resets it with "internal". Without a
   * handler every OPEN is refused.
   */
  onOpen?(stream: TunnelStream, meta: OpenMeta): void | Promise<void>;
  /** Receive window per stream, in bytes: 1 to 2^32 - 1; default DEFAULT_INITIAL_CREDIT. */
  initialCredit?: number;
  /**
   * Of `initialCredit`, the bytes the peer may send on a stream it opens
   * before our first CREDIT: 0 to `initialCredit` - 1 (a peer that never
   * learned it still gets the rest as its first grant). Default 0.
   */
  openCredit?: number;
  /** The peer's `openCredit`: bytes we may send on a stream we open before its first CREDIT. Default 0. */
  peerOpenCredit?: number;
  /** Streams the peer may hold open at once; more are refused. Default DEFAULT_MAX_STREAMS. */
  maxStreams?: number;
  /** A PONG arrived with the timestamp of the PING it answers. */
  onPong?(timestamp: number): void;
  /**
   * The session failed on its own: `send` failed ("transport") or the peer
   * broke the framing ("protocol"). The session is already closed; the owner
   * should close the socket. Not called for `close()`.
   */
  onError?(error: TunnelError): void;
}

/** What a stream needs from its session; kept narrow so streams cannot reach into each other. */
interface StreamHost {
  readonly initialCredit: number;
  readonly openCredit: number;
  readonly peerOpenCredit: number;
  /** See TunnelSession.sendBytes. */
  send(bytes: Uint8Array): Promise<void> | undefined;
  release(stream: TunnelStream): void;
}

export class TunnelSession {
  readonly role: TunnelRole;
  private readonly options: TunnelSessionOptions;
  private readonly initialCredit: number;
  private readonly maxStreams: number;
  private readonly streams = new Map<number, TunnelStream>();
  private readonly host: StreamHost;
  private nextId: number;
  private peerOpened = 0;
  /** Set once: the error every stream got when the session ended. */
  private failure: TunnelError | undefined;

  constructor(options: TunnelSessionOptions) {
    this.role = options.role;
    this.options = options;
    this.initialCredit = options.initialCredit ?? DEFAULT_INITIAL_CREDIT;
    this.maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (!Number.isInteger(this.initialCredit) || this.initialCredit < 1 || this.initialCredit > U32_MAX) {
      throw new RangeError(`initialCredit ${this.initialCredit} must be an integer in 1..2^32-1`);
    }
    const openCredit = options.openCredit ?? 0;
    const peerOpenCredit = options.peerOpenCredit ?? 0;
    if (!Number.isInteger(openCredit) || openCredit < 0 || openCredit >= this.initialCredit) {
      throw new RangeError(`openCredit ${openCredit} must be an integer in 0..initialCredit-1`);
    }
    if (!Number.isInteger(peerOpenCredit) || peerOpenCredit < 0 || peerOpenCredit > U32_MAX) {
      throw new RangeError(`peerOpenCredit ${peerOpenCredit} must be an integer in 0..2^32-1`);
    }
    if (!Number.isInteger(this.maxStreams) || this.maxStreams < 0) {
      throw new RangeError(`maxStreams ${this.maxStreams} must be a non-negative integer`);
    }
    // Parity split: the agent opens odd ids, the edge even ids; 0 is the session's own.
    this.nextId = options.role === "agent" ? 1 : 2;
    this.host = {
      initialCredit: this.initialCredit,
      openCredit,
      peerOpenCredit,
      send: (bytes) => this.sendBytes(bytes),
      release: (stream) => {
        if (this.streams.get(stream.id) !== stream) return;
        this.streams.delete(stream.id);
        if (stream.initiator === "remote") this.peerOpened--;
      },
    };
  }

  /** True once the session closed or failed; every stream has failed with it. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Streams currently open, in both directions. */
  get streamCount(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream toward the peer. Throws TunnelError "session-closed",
   * "too-large" (meta beyond MAX_PAYLOAD) or "ids-exhausted". The peer may
   * still refuse it: that arrives as a RESET with code "refused".
   */
  open(kind: string, meta: object = {}): TunnelStream {
    if (this.failure) throw new TunnelError("session-closed", "the tunnel session is closed", { cause: this.failure });
    if (this.nextId > U32_MAX) throw new TunnelError("ids-exhausted", "no stream ids left in this session");
    const full: OpenMeta = { ...meta, kind };
    const id = this.nextId;
    // Encoded before anything changes, so a meta too large leaves the session as it was.
    const openFrame = encodeFrame({ type: "OPEN", streamId: id, meta: full });
    this.nextId += 2;
    const stream = new TunnelStream(this.host, id, full, "local");
    this.streams.set(id, stream);
    this.sendBytes(openFrame);
    stream.grantInitialCredit();
    return stream;
  }

  /** Feeds one whole message from the transport. Keeps views into `message`: the transport must not reuse it. */
  receive(message: Uint8Array): void {
    if (this.failure) return;
    const frame = decodeFrame(message);
    if (isFrameError(frame)) {
      if (frame.streamId === undefined) {
        this.fail(new TunnelError("protocol", `undecodable frame: ${frame.message}`), true);
      } else {
        this.resetStream(frame.streamId, "protocol-error", frame.message);
      }
      return;
    }
    switch (frame.type) {
      case "PING":
        this.sendBytes(encodeFrame({ type: "PONG", streamId: 0, timestamp: frame.timestamp }));
        return;
      case "PONG":
        this.options.onPong?.(frame.timestamp);
        return;
      case "OPEN":
        this.accept(frame.streamId, frame.meta);
        return;
      case "DATA": {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return this.unknownStream(frame.streamId, frame.type);
        const violation = stream.acceptData(frame.payload);
        if (violation) stream.reset(violation.code, violation.message);
        return;
      }
      case "END": {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return this.unknownStream(frame.streamId, frame.type);
        const violation = stream.acceptEnd();
        if (violation) stream.reset(violation.code, violation.message);
        return;
      }
      case "CREDIT": {
        // Credit for a stream that just closed is an ordinary race, not an error.
        const stream = this.streams.get(frame.streamId);
        const violation = stream?.acceptCredit(frame.credit);
        if (violation) stream!.reset(violation.code, violation.message);
        return;
      }
      case "RESULT": {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return this.unknownStream(frame.streamId, frame.type);
        stream.acceptResult(frame.result);
        return;
      }
      case "RESET":
        // Never answered, even for an unknown stream: two sides must not reset each other forever.
        this.streams.get(frame.streamId)?.acceptReset(frame.code, frame.message);
        return;
      default:
        return assertNever(frame);
    }
  }

  /** Sends a PING; the peer's session answers PONG with the same timestamp (see `onPong`). */
  ping(timestamp: number): void {
    if (this.failure) return;
    this.sendBytes(encodeFrame({ type: "PING", streamId: 0, timestamp }));
  }

  /**
   * Ends the session: every open stream's pending and future writes, reads
   * and results reject with TunnelError "session-closed" (`cause` = reason).
   * Sends nothing: the transport is going away. Idempotent.
   */
  close(reason?: unknown): void {
    const detail = typeof reason === "string" ? `: ${reason}` : reason instanceof Error ? `: ${reason.message}` : "";
    this.fail(new TunnelError("session-closed", `the tunnel session closed${detail}`, { cause: reason }), false);
  }

  private accept(id: number, meta: OpenMeta): void {
    const peerParity = this.role === "agent" ? 0 : 1;
    if (id % 2 !== peerParity) {
      // Also kills our own stream of that id, if any: the peer is confused about it.
      return this.resetStream(id, "protocol-error", `stream ${id} is not the opener's parity`);
    }
    if (this.streams.has(id)) return this.resetStream(id, "protocol-error", `stream ${id} opened twice`);
    if (!this.options.onOpen) return this.sendReset(id, "refused", `no handler for ${meta.kind} streams`);
    if (this.peerOpened >= this.maxStreams) {
      return this.sendReset(id, "refused", `${this.peerOpened} streams already open (max ${this.maxStreams})`);
    }
    const stream = new TunnelStream(this.host, id, meta, "remote");
    this.streams.set(id, stream);
    this.peerOpened++;
    try {
      const taken = this.options.onOpen(stream, meta);
      if (taken && typeof (taken as Promise<void>).then === "function") {
        (taken as Promise<void>).then(undefined, () => stream.reset("internal", "the open handler failed"));
      }
    } catch {
      // The handler's error text stays on this side; the peer only learns that it failed.
      stream.reset("internal", "the open handler failed");
      return;
    }
    // The handler may already have answered (a RESULT or RESET); then there is nothing to grant.
    stream.grantInitialCredit();
  }

  private unknownStream(id: number, type: Frame["type"]): void {
    this.sendReset(id, "unknown-stream", `${type} for stream ${id}, which is not open`);
  }

  /** Resets a stream that may or may not exist on this side, telling the peer either way. */
  private resetStream(id: number, code: ResetCode, message: string): void {
    const stream = this.streams.get(id);
    if (stream) stream.reset(code, message);
    else this.sendReset(id, code, message);
  }

  private sendReset(id: number, code: ResetCode, message: string): void {
    this.sendBytes(encodeFrame({ type: "RESET", streamId: id, code, message: message.slice(0, MAX_RESET_MESSAGE) }));
  }

  /**
   * Hands one frame to the transport. Never throws: a failed send fails the
   * session. The returned promise (when `send` returned one) is already
   * marked handled, so control frames can ignore it while writers await it.
   */
  private sendBytes(bytes: Uint8Array): Promise<void> | undefined {
    if (this.failure) return undefined;
    let sent: void | Promise<void>;
    try {
      sent = this.options.send(bytes);
    } catch (cause) {
      this.fail(new TunnelError("transport", "the transport failed to send", { cause }), true);
      return handled(Promise.reject(this.failure));
    }
    if (!sent || typeof (sent as Promise<void>).then !== "function") return undefined;
    return handled(
      (sent as Promise<void>).then(undefined, (cause: unknown) => {
        this.fail(new TunnelError("transport", "the transport failed to send", { cause }), true);
        throw this.failure;
      }),
    );
  }

  private fail(error: TunnelError, notify: boolean): void {
    if (this.failure) return;
    // Streams always see "session-closed"; the specific failure is its cause.
    const streamError =
      error.code === "session-closed" ? error : new TunnelError("session-closed", `the tunnel session failed: ${error.message}`, { cause: error });
    this.failure = streamError;
    const open = [...this.streams.values()];
    this.streams.clear();
    this.peerOpened = 0;
    for (const stream of open) stream.fail(streamError);
    if (notify) this.options.onError?.(error);
  }
}

type Violation = { code: ResetCode; message: string };

/**
 * One stream of a session. Made by `TunnelSession.open` or handed to
 * `onOpen`; not constructed directly.
 */
export class TunnelStream {
  readonly id: number;
  readonly kind: string;
  /** The OPEN payload, `kind` included. */
  readonly meta: OpenMeta;
  /** "local" when this side opened the stream. */
  readonly initiator: "local" | "remote";
  /**
   * The peer's DATA in order, until its END (or RESULT). Chunk boundaries are
   * not the writer's: frames split at 1 MiB and at the credit edge, and small
   * payloads are joined. Throws the stream's TunnelError on RESET or session
   * close, dropping what was unread. Single use; leaving the loop early
   * discards the rest and grants no more credit, so follow it with
   * `sendResult` or `reset`.
   */
  readonly readable: AsyncIterable<Uint8Array>;

  private readonly host: StreamHost;
  private isClosed = false;
  /** Closed by a RESULT, sent or received, rather than by a failure. */
  private closedByResult = false;

  // Sending side.
  private sendCredit = 0;
  private creditWaiter: (() => void) | undefined;
  private writeChain: Promise<void> = Promise.resolve();
  private endPromise: Promise<void> | undefined;
  /** Why writes fail from now on; set when the stream closes. */
  private writeError: TunnelError | undefined;

  // Receiving side.
  /** Bytes the peer may still send before it needs more credit. */
  private recvWindow: number;
  /** Bytes read but not yet granted back: grants go out in batches. */
  private pendingGrant = 0;
  private readonly grantThreshold: number;
  private initialGranted = false;
  private readonly chunks: Uint8Array[] = [];
  /** The last entry of `chunks` while small payloads are still being joined into it. */
  private tail: { bytes: Uint8Array; fill: number } | undefined;
  private remoteEnded = false;
  private readError: TunnelError | undefined;
  private readerGone = false;
  private iterated = false;
  private readonly readWaiters: Array<{ resolve(r: IteratorResult<Uint8Array>): void; reject(e: unknown): void }> = [];

  private readonly resultPromise: Promise<unknown>;
  private settleResult!: { resolve(value: unknown): void; reject(error: unknown): void };

  /** @internal */
  constructor(host: StreamHost, id: number, meta: OpenMeta, initiator: "local" | "remote") {
    this.host = host;
    this.id = id;
    this.kind = meta.kind;
    this.meta = meta;
    this.initiator = initiator;
    this.recvWindow = host.initialCredit;
    if (initiator === "local") this.sendCredit = host.peerOpenCredit;
    // A quarter of the window: few CREDIT frames, yet the writer never waits on a grant it could have had.
    this.grantThreshold = Math.max(1, Math.floor(host.initialCredit / 4));
    this.resultPromise = handled(
      new Promise<unknown>((resolve, reject) => {
        this.settleResult = { resolve, reject };
      }),
    );
    this.readable = {
      [Symbol.asyncIterator]: (): AsyncIterator<Uint8Array> => {
        if (this.iterated) throw new TypeError(`stream ${this.id}: readable can be iterated once`);
        this.iterated = true;
        return {
          next: () => this.nextChunk(),
          return: () => {
            this.abandonReading();
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }

  /** True once the stream finished: RESULT sent or received, RESET, or session close. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends bytes as DATA frames of at most MAX_PAYLOAD, waiting for credit
   * whenever the peer's window is used up, so its promise is the
   * backpressure: await it before writing more. Writes queue in call order.
   * Do not modify `bytes` until the promise settles. Rejects with the
   * stream's TunnelError if it is reset or closed meanwhile.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.writeError) return Promise.reject(this.writeError);
    if (this.endPromise) return Promise.reject(new TunnelError("stream-closed", `stream ${this.id}: write after end`));
    const run = this.writeChain.then(() => this.pump(bytes));
    this.writeChain = run.then(undefined, () => undefined);
    return run;
  }

  /**
   * Sends END once the queued writes went out. Idempotent. Resolves without
   * sending when a RESULT already finished the stream (nothing is left to
   * end); rejects, like a write, on RESET or session close, but is marked
   * handled: ignoring it is fine, the outcome arrives through `result()`.
   */
  end(): Promise<void> {
    if (this.endPromise) return this.endPromise;
    this.endPromise = handled(
      this.writeChain.then(() => {
        if (this.closedByResult) return undefined;
        if (this.writeError) throw this.writeError;
        return this.sendFrame({ type: "END", streamId: this.id });
      }),
    );
    return this.endPromise;
  }

  /**
   * The peer's RESULT. Rejects with TunnelError "reset" or "session-closed",
   * or "stream-closed" when this side sent the result instead. The same
   * promise on every call, marked handled so a stream nobody asks is fine.
   */
  result(): Promise<unknown> {
    return this.resultPromise;
  }

  /**
   * Finishes the stream with an outcome (any JSON value), now: writes still
   * queued are rejected, and the peer's further DATA is dropped. What the
   * peer sent up to its END stays readable; without END the readable fails.
   * Throws TunnelError "stream-closed" if the stream already finished, or
   * "too-large" if the JSON exceeds MAX_PAYLOAD (the stream stays open).
   */
  sendResult(result: unknown): void {
    if (this.isClosed) throw new TunnelError("stream-closed", `stream ${this.id} already finished`, { cause: this.writeError });
    // Encoded first: a result too large throws before anything changed.
    const frame = encodeFrame({ type: "RESULT", streamId: this.id, result });
    this.host.send(frame);
    if (this.isClosed) return; // the send failed the session, and this stream with it
    const closedHere = new TunnelError("stream-closed", `stream ${this.id}: this side sent the result`);
    this.closedByResult = true;
    this.finish(closedHere, this.remoteEnded ? undefined : closedHere, closedHere);
  }

  /** Aborts the stream both ways and tells the peer. No-op once the stream finished. */
  reset(code: ResetCode, message: string): void {
    if (this.isClosed) return;
    this.sendFrame({ type: "RESET", streamId: this.id, code, message: message.slice(0, MAX_RESET_MESSAGE) });
    const error = new TunnelError("reset", `stream ${this.id} reset by this side (${code}): ${message}`, {
      resetCode: code,
      remote: false,
    });
    this.finish(error, error, error);
  }

  // ---- called by the session -------------------------------------------------

  /**
   * @internal Grants the first window; once, and only while the stream is
   * open. On a stream the peer opened, `openCredit` of it was granted in advance.
   */
  grantInitialCredit(): void {
    if (this.isClosed || this.initialGranted) return;
    this.initialGranted = true;
    const credit = this.initiator === "remote" ? this.host.initialCredit - this.host.openCredit : this.host.initialCredit;
    this.sendFrame({ type: "CREDIT", streamId: this.id, credit });
  }

  /** @internal */
  acceptData(payload: Uint8Array): Violation | undefined {
    if (this.remoteEnded) return { code: "protocol-error", message: `DATA after END on stream ${this.id}` };
    if (payload.length > this.recvWindow) {
      return { code: "flow-control", message: `${payload.length} bytes of DATA against ${this.recvWindow} of credit` };
    }
    this.recvWindow -= payload.length;
    // After the reader left, the bytes still count against the window but are not kept.
    if (payload.length === 0 || this.readerGone) return undefined;
    this.buffer(payload);
    this.serveReaders();
    return undefined;
  }

  /** @internal */
  acceptEnd(): Violation | undefined {
    if (this.remoteEnded) return { code: "protocol-error", message: `END twice on stream ${this.id}` };
    this.remoteEnded = true;
    this.serveReaders();
    return undefined;
  }

  /** @internal */
  acceptCredit(credit: number): Violation | undefined {
    // No honest receiver grants past its window, which is a u32; refusing keeps the sum exact.
    if (this.sendCredit + credit > U32_MAX) {
      return { code: "flow-control", message: `credit ${credit} would take the window past 2^32-1` };
    }
    this.sendCredit += credit;
    this.wakeWriter();
    return undefined;
  }

  /** @internal A RESULT implies the peer's END: what it sent stays readable. */
  acceptResult(result: unknown): void {
    if (this.isClosed) return;
    this.remoteEnded = true;
    this.closedByResult = true;
    this.settleResult.resolve(result);
    this.finish(new TunnelError("stream-closed", `stream ${this.id}: the peer sent its result`), undefined, undefined);
  }

  /** @internal */
  acceptReset(code: string, message: string): void {
    const error = new TunnelError("reset", `stream ${this.id} reset by the peer (${code}): ${message}`, {
      resetCode: code,
      remote: true,
    });
    this.finish(error, error, error);
  }

  /** @internal The session ended. */
  fail(error: TunnelError): void {
    this.finish(error, error, error);
  }

  // ---- internals --------------------------------------------------------------

  private sendFrame(frame: Frame): Promise<void> | undefined {
    return this.host.send(encodeFrame(frame));
  }

  /**
   * Closes the stream once: `writeError` for writes, `readError` (when set)
   * drops unread data and fails the reader, `resultError` (when set) rejects
   * `result()` unless it was already resolved.
   */
  private finish(writeError: TunnelError, readError: TunnelError | undefined, resultError: TunnelError | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.writeError = writeError;
    if (readError) {
      this.readError = readError;
      this.chunks.length = 0;
      this.tail = undefined;
    }
    if (resultError) this.settleResult.reject(resultError);
    this.host.release(this);
    this.wakeWriter();
    this.serveReaders();
  }

  private async pump(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.writeError) throw this.writeError;
      if (this.sendCredit === 0) {
        await new Promise<void>((resolve) => {
          this.creditWaiter = resolve;
        });
        continue;
      }
      const n = Math.min(bytes.length - offset, this.sendCredit, MAX_PAYLOAD);
      this.sendCredit -= n;
      const sent = this.sendFrame({ type: "DATA", streamId: this.id, payload: bytes.subarray(offset, offset + n) });
      offset += n;
      if (sent) {
        try {
          await sent;
        } catch (error) {
          throw this.writeError ?? error;
        }
      }
    }
  }

  private wakeWriter(): void {
    const waiter = this.creditWaiter;
    this.creditWaiter = undefined;
    waiter?.();
  }

  private buffer(payload: Uint8Array): void {
    if (payload.length >= COALESCE_BELOW) {
      this.tail = undefined;
      this.chunks.push(payload);
      return;
    }
    const tail = this.tail;
    const fill = tail ? tail.fill + payload.length : 0;
    if (tail && fill <= COALESCE_MAX) {
      if (fill > tail.bytes.length) {
        // Doubling keeps the copying linear in the bytes received.
        const grown = new Uint8Array(Math.min(COALESCE_MAX, Math.max(fill, tail.bytes.length * 2)));
        grown.set(tail.bytes.subarray(0, tail.fill));
        tail.bytes = grown;
      }
      tail.bytes.set(payload, tail.fill);
      tail.fill = fill;
      this.chunks[this.chunks.length - 1] = tail.bytes.subarray(0, fill);
      return;
    }
    const bytes = new Uint8Array(Math.max(COALESCE_MIN_ALLOC, payload.length * 2));
    bytes.set(payload);
    this.tail = { bytes, fill: payload.length };
    this.chunks.push(bytes.subarray(0, payload.length));
  }

  private nextChunk(): Promise<IteratorResult<Uint8Array>> {
    return new Promise((resolve, reject) => {
      this.readWaiters.push({ resolve, reject });
      this.serveReaders();
    });
  }

  private serveReaders(): void {
    while (this.readWaiters.length > 0) {
      const chunk = this.chunks.shift();
      if (chunk) {
        // The tail is always the last chunk: once taken, nothing may be joined into it.
        if (this.chunks.length === 0) this.tail = undefined;
        this.readWaiters.shift()!.resolve({ done: false, value: chunk });
        this.consumed(chunk.length);
        continue;
      }
      if (this.readError) {
        for (const waiter of this.readWaiters.splice(0)) waiter.reject(this.readError);
        return;
      }
      if (this.remoteEnded || this.readerGone) {
        for (const waiter of this.readWaiters.splice(0)) waiter.resolve({ done: true, value: undefined });
        return;
      }
      return;
    }
  }

  /** Grants credit for bytes the consumer took: flow control follows reading, not arrival. */
  private consumed(n: number): void {
    if (this.isClosed || this.remoteEnded) return;
    this.pendingGrant += n;
    if (this.pendingGrant < this.grantThreshold) return;
    const credit = this.pendingGrant;
    this.pendingGrant = 0;
    this.recvWindow += credit;
    this.sendFrame({ type: "CREDIT", streamId: this.id, credit });
  }

  private abandonReading(): void {
    this.readerGone = true;
    this.chunks.length = 0;
    this.tail = undefined;
    this.serveReaders();
  }
}

function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
