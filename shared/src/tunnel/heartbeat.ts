/**
 * Liveness of the tunnel: a PING every `intervalMs`, and the link declared
 * dead after `deadAfterMs` without any frame from the peer (a PONG or
 * anything else: traffic proves the link as well as a PONG does). The agent
 * reconnects then; the edge closes the socket.
 *
 * Time and timers are injected. `start()` drives itself with
 * `setTimer`; a Durable Object, whose timers do not survive hibernation, can
 * instead call `tick()` from its alarm and set the next alarm to the time it
 * returns.
 */
import { encodeFrame } from "./frame.ts";

export const DEFAULT_PING_INTERVAL_MS = 15_000;
/** Three missed PINGs' worth: one lost PONG is not a dead link. */
export const DEFAULT_DEAD_AFTER_MS = 45_000;

export interface HeartbeatOptions {
  /** Sends one encoded PING frame (stream 0, timestamp `now()`); the peer's session answers PONG. */
  send(frame: Uint8Array): void;
  /** Called once when the link is declared dead; the heartbeat stops itself first. */
  onDead(): void;
  intervalMs?: number;
  deadAfterMs?: number;
  /** Milliseconds; default Date.now. */
  now?: () => number;
  /** Default setTimeout / clearTimeout. */
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class Heartbeat {
  private readonly options: HeartbeatOptions;
  private readonly intervalMs: number;
  private readonly deadAfterMs: number;
  private readonly now: () => number;
  private lastFrameAt: number;
  private lastPingAt: number;
  private timer: unknown;
  private armed = false;
  private finished = false;

  constructor(options: HeartbeatOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.deadAfterMs = options.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
    if (!(this.intervalMs > 0) || !(this.deadAfterMs > this.intervalMs)) {
      throw new RangeError(`need 0 < intervalMs (${this.intervalMs}) < deadAfterMs (${this.deadAfterMs})`);
    }
    this.now = options.now ?? Date.now;
    this.lastFrameAt = this.lastPingAt = this.now();
  }

  /** Counts from now and keeps pinging on its own timer until `stop()` or death. */
  start(): void {
    if (this.finished || this.armed) return;
    this.armed = true;
    this.lastFrameAt = this.lastPingAt = this.now();
    this.schedule(this.lastPingAt + this.intervalMs);
  }

  /** A frame arrived from the peer. Cheap: called for every message. */
  received(): void {
    this.lastFrameAt = this.now();
  }

  /**
   * Does what is due at `now()`: declares the link dead, or sends a PING.
   * Returns when to call again, or undefined once dead or stopped.
   */
  tick(): number | undefined {
    if (this.finished) return undefined;
    const now = this.now();
    if (now - this.lastFrameAt >= this.deadAfterMs) {
      this.stop();
      this.options.onDead();
      return undefined;
    }
    if (now - this.lastPingAt >= this.intervalMs) {
      this.lastPingAt = now;
      this.options.send(encodeFrame({ type: "PING", streamId: 0, timestamp: Math.max(0, Math.floor(now)) }));
    }
    return Math.min(this.lastPingAt + this.intervalMs, this.lastFrameAt + this.deadAfterMs);
  }

  /** Stops for good (the socket closed). Idempotent. */
  stop(): void {
    this.finished = true;
    if (this.timer !== undefined) (this.options.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    const setTimer = this.options.setTimer ?? setTimeout;
    // received() never reschedules: the timer wakes at the earlier deadline and tick() recomputes.
    this.timer = setTimer(() => {
      this.timer = undefined;
      const next = this.tick();
      if (next !== undefined) this.schedule(next);
    }, Math.max(0, at - this.now()));
  }
}
