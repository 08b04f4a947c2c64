import { describe, expect, it } from "vitest";
import { decodeFrame, type Frame } from "./frame.ts";
import { Heartbeat, type HeartbeatOptions } from "./heartbeat.ts";

/** A hand-cranked clock with timers: `advance` fires what falls due, in order. */
function fakeClock() {
  let now = 1_000;
  let nextHandle = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimer: (callback: () => void, ms: number) => {
      const handle = nextHandle++;
      timers.set(handle, { at: now + ms, callback });
      return handle;
    },
    clearTimer: (handle: unknown) => void timers.delete(handle as number),
    pending: () => timers.size,
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = end;
    },
  };
}

function setup(overrides: Partial<HeartbeatOptions> = {}) {
  const clock = fakeClock();
  const pings: Frame[] = [];
  let dead = 0;
  const heartbeat = new Heartbeat({
    intervalMs: 10_000,
    deadAfterMs: 30_000,
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    send: (bytes) => void pings.push(decodeFrame(bytes) as Frame),
    onDead: () => void dead++,
    ...overrides,
  });
  return { clock, pings, heartbeat, dead: () => dead };
}

describe("Heartbeat", () => {
  it("sends a PING with the current time every interval", () => {
    const { clock, pings, heartbeat } = setup();
    heartbeat.start();
    clock.advance(9_999);
    expect(pings).toEqual([]);
    clock.advance(1);
    heartbeat.received();
    clock.advance(10_000);
    heartbeat.received();
    expect(pings).toEqual([
      { type: "PING", streamId: 0, timestamp: 11_000 },
      { type: "PING", streamId: 0, timestamp: 21_000 },
    ]);
  });

  it("declares the link dead after deadAfterMs without any frame, once, and stops", () => {
    const { clock, pings, heartbeat, dead } = setup();
    heartbeat.start();
    clock.advance(29_999);
    expect(dead()).toBe(0);
    clock.advance(1);
    expect(dead()).toBe(1);
    expect(pings.length).toBe(2);
    clock.advance(100_000);
    expect(dead()).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it("any frame from the peer keeps the link alive", () => {
    const { clock, heartbeat, dead } = setup();
    heartbeat.start();
    for (let i = 0; i < 20; i++) {
      clock.advance(25_000);
      heartbeat.received();
    }
    expect(dead()).toBe(0);
    clock.advance(30_000);
    expect(dead()).toBe(1);
  });

  it("stop cancels its timer", () => {
    const { clock, pings, heartbeat, dead } = setup();
    heartbeat.start();
    heartbeat.stop();
    expect(clock.pending()).toBe(0);
    clock.advance(100_000);
    expect(pings).toEqual([]);
    expect(dead()).toBe(0);
  });

  it("tick() alone drives it where timers do not survive (a Durable Object's alarm)", () => {
    let now = 0;
    const pings: number[] = [];
    let dead = false;
    const heartbeat = new Heartbeat({
      intervalMs: 10,
      deadAfterMs: 25,
      now: () => now,
      send: (bytes) => void pings.push(bytes.length),
      onDead: () => void (dead = true),
    });
    expect(heartbeat.tick()).toBe(10);
    now = 10;
    expect(heartbeat.tick()).toBe(20);
    now = 20;
    expect(heartbeat.tick()).toBe(25);
    now = 25;
    expect(heartbeat.tick()).toBeUndefined();
    expect(dead).toBe(true);
    expect(pings).toEqual([16, 16]);
  });

  it("needs the dead timeout to exceed the interval", () => {
    expect(() => setup({ intervalMs: 10, deadAfterMs: 10 })).toThrow(RangeError);
  });
});
