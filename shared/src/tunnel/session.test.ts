import { concat } from "../bytes.ts";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { TunnelError } from "./errors.ts";
import { MAX_PAYLOAD, decodeFrame, encodeFrame, isFrameError, type Frame, type OpenMeta } from "./frame.ts";
import { TunnelSession, TunnelStream, type TunnelRole, type TunnelSessionOptions } from "./session.ts";

type SideOptions = Omit<Partial<TunnelSessionOptions>, "role" | "send">;

interface Sent {
  from: TunnelRole;
  frame: Frame;
}

const sessions: TunnelSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close("test over");
});

/**
 * An agent and an edge session wired back to back. Delivery is always
 * asynchronous and in order, as over a WebSocket; `delay` holds each message
 * back by that many turns of the event loop (0: the next microtask), so the
 * two directions and the code on both sides interleave differently.
 */
function link(options: { agent?: SideOptions; edge?: SideOptions; delay?: () => number; synchronous?: boolean } = {}) {
  const log: Sent[] = [];
  const wire = (from: TunnelRole, to: () => TunnelSession) => {
    let chain = Promise.resolve();
    return (bytes: Uint8Array) => {
      log.push({ from, frame: decoded(bytes) });
      // A copy, as a socket would deliver: the receiver keeps views into it.
      const message = bytes.slice();
      const delay = options.delay;
      if (options.synchronous) return to().receive(message);
      if (!delay) {
        queueMicrotask(() => to().receive(message));
        return;
      }
      const turns = delay();
      chain = chain.then(async () => {
        for (let i = 0; i < turns; i++) await sleep(0);
        to().receive(message);
      });
    };
  };
  const agent: TunnelSession = new TunnelSession({ role: "agent", send: wire("agent", () => edge), ...options.agent });
  const edge: TunnelSession = new TunnelSession({ role: "edge", send: wire("edge", () => agent), ...options.edge });
  sessions.push(agent, edge);
  const dataBytes = (from: TunnelRole, streamId?: number) =>
    log.reduce((n, { from: f, frame }) => (f === from && frame.type === "DATA" && (streamId === undefined || frame.streamId === streamId) ? n + frame.payload.length : n), 0);
  return { agent, edge, log, dataBytes };
}

/** One session and a hand-driven peer: frames in with `feed`, frames out in `sent`. */
function solo(role: TunnelRole, options: SideOptions = {}) {
  const sent: Frame[] = [];
  const session = new TunnelSession({ role, send: (bytes) => void sent.push(decoded(bytes)), ...options });
  sessions.push(session);
  return { session, sent, feed: (frame: Frame) => session.receive(encodeFrame(frame)) };
}

function decoded(bytes: Uint8Array): Frame {
  const frame = decodeFrame(bytes);
  if (isFrameError(frame)) throw new Error(frame.message);
  return frame;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Lets every queued delivery and continuation run. */
const settle = () => sleep(5);

function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}


/** Byte equality without vitest's element-by-element diffing, which crawls on megabytes. */
function sameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const at = actual.findIndex((b, i) => b !== expected[i]);
  expect(at, `first difference at ${at}`).toBe(-1);
}

async function readAll(stream: TunnelStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream.readable) parts.push(chunk);
  return concat(parts);
}

async function state(promise: Promise<unknown>): Promise<"pending" | "resolved" | "rejected"> {
  return Promise.race([
    promise.then(
      () => "resolved" as const,
      () => "rejected" as const,
    ),
    settle().then(() => "pending" as const),
  ]);
}

async function rejection(promise: Promise<unknown>): Promise<TunnelError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TunnelError);
    return error as TunnelError;
  }
  throw new Error("expected a rejection");
}

/** Accepts every stream into a list. */
function acceptInto(list: TunnelStream[]): SideOptions["onOpen"] {
  return (stream) => void list.push(stream);
}

describe("streams between an agent and an edge", () => {
  it("echo: an OPEN answered by a RESULT", async () => {
    const { agent } = link({ edge: { onOpen: (stream) => stream.sendResult({ status: 0 }) } });
    const stream = agent.open("echo");
    await stream.end();
    expect(await stream.result()).toEqual({ status: 0 });
    expect(stream.closed).toBe(true);
    expect(agent.streamCount).toBe(0);
  });

  it("store: meta, bytes in order, END, then the RESULT", async () => {
    const seen: OpenMeta[] = [];
    const { agent, edge } = link({
      edge: {
        onOpen: async (stream, meta) => {
          seen.push(meta);
          const body = await readAll(stream);
          stream.sendResult({ status: 0, length: body.length, first: body[0], last: body[body.length - 1] });
        },
      },
    });
    const meta = { sopClassUid: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUid: "1.2.3", transferSyntaxUid: "1.2.840.10008.1.2.1", callingAeTitle: "MODALITY" };
    const stream = agent.open("store", meta);
    const body = bytes(100_000);
    for (let at = 0; at < body.length; at += 7_000) await stream.write(body.subarray(at, at + 7_000));
    await stream.end();
    expect(await stream.result()).toEqual({ status: 0, length: 100_000, first: body[0], last: body[99_999] });
    expect(seen).toEqual([{ ...meta, kind: "store" }]);
    expect(stream.id % 2).toBe(1);
    expect(edge.streamCount).toBe(0);
  });

  it("works when the transport delivers synchronously, re-entering the peer", async () => {
    const { agent } = link({
      synchronous: true,
      agent: { initialCredit: 1000 },
      edge: {
        initialCredit: 1000,
        onOpen: async (stream) => {
          const body = await readAll(stream);
          await stream.write(body);
          stream.sendResult({ length: body.length });
        },
      },
    });
    const stream = agent.open("store");
    const echoed = readAll(stream);
    await stream.write(bytes(10_000));
    await stream.end();
    sameBytes(await echoed, bytes(10_000));
    expect(await stream.result()).toEqual({ length: 10_000 });
  });

  it("still moves data through one-byte windows", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received), initialCredit: 1 } });
    const stream = agent.open("store");
    const writing = stream.write(bytes(300)).then(() => stream.end());
    await settle();
    sameBytes(await readAll(received[0]!), bytes(300));
    await writing;
  });

  it("the edge opens even ids toward the agent and reads its answer", async () => {
    const { edge } = link({
      agent: {
        onOpen: async (stream) => {
          await stream.write(new TextEncoder().encode("match 1;"));
          await stream.write(new TextEncoder().encode("match 2;"));
          stream.sendResult({ status: 0, count: 2 });
        },
      },
    });
    const find = edge.open("find", { level: "STUDY" });
    expect(find.id % 2).toBe(0);
    expect(new TextDecoder().decode(await readAll(find))).toBe("match 1;match 2;");
    expect(await find.result()).toEqual({ status: 0, count: 2 });
  });

  it("splits a write bigger than 1 MiB into DATA frames of at most 1 MiB", async () => {
    const received: TunnelStream[] = [];
    const { agent, log } = link({ edge: { onOpen: acceptInto(received) } });
    const body = bytes(2.5 * MAX_PAYLOAD);
    const stream = agent.open("store");
    const reading = (async () => {
      await settle();
      return readAll(received[0]!);
    })();
    await stream.write(body);
    await stream.end();
    sameBytes(await reading, body);
    const sizes = log.flatMap(({ frame }) => (frame.type === "DATA" ? [frame.payload.length] : []));
    expect(sizes).toEqual([MAX_PAYLOAD, MAX_PAYLOAD, MAX_PAYLOAD / 2]);
  });

  it("a reader that pauses blocks the writer after initialCredit bytes, and reading resumes it", async () => {
    const window = 64 << 10;
    const received: TunnelStream[] = [];
    const { agent, dataBytes } = link({ edge: { onOpen: acceptInto(received), initialCredit: window } });
    const body = bytes(4 * window + 123);
    const stream = agent.open("store");
    const write = stream.write(body);
    await settle();
    expect(await state(write)).toBe("pending");
    expect(dataBytes("agent")).toBe(window);

    const reader = received[0]!.readable[Symbol.asyncIterator]();
    let read = 0;
    const parts: Uint8Array[] = [];
    while (read < body.length) {
      const next = await reader.next();
      if (next.done) break;
      parts.push(next.value);
      read += next.value.length;
      await settle();
      // What the edge holds unread never exceeds its window.
      expect(dataBytes("agent") - read).toBeLessThanOrEqual(window);
    }
    expect(await state(write)).toBe("resolved");
    sameBytes(concat(parts), body);
  });

  it("open credit: the opener's first bytes go out with its OPEN, and the first grant is the rest of the window", async () => {
    const window = 64 << 10;
    const open = 48 << 10;
    const received: TunnelStream[] = [];
    const { agent, log } = link({ delay: () => 2, agent: { peerOpenCredit: open }, edge: { onOpen: acceptInto(received), initialCredit: window, openCredit: open } });
    const stream = agent.open("store");
    const write = stream.write(bytes(2 * window));
    // Until the edge's first grant is out (the link delays each frame; a loaded machine takes longer).
    const granted = () => log.some(({ from, frame }) => from === "edge" && frame.type === "CREDIT");
    for (let i = 0; i < 200 && !granted(); i++) await settle();
    await settle();
    // The agent's DATA left before the edge's first CREDIT.
    const firstData = log.findIndex(({ from, frame }) => from === "agent" && frame.type === "DATA");
    const firstGrant = log.findIndex(({ from, frame }) => from === "edge" && frame.type === "CREDIT");
    expect(firstData).toBeGreaterThan(0);
    expect(firstData).toBeLessThan(firstGrant);
    const credits = log.flatMap(({ from, frame }) => (from === "edge" && frame.type === "CREDIT" ? [frame.credit] : []));
    expect(credits).toEqual([window - open]);
    // A reader that does not read still holds at most its window.
    const sentBytes = () => log.reduce((n, { frame }) => (frame.type === "DATA" ? n + frame.payload.length : n), 0);
    for (let i = 0; i < 200 && sentBytes() < window; i++) await settle();
    expect(await state(write)).toBe("pending");
    expect(sentBytes()).toBe(window);
    const reading = readAll(received[0]!);
    await write;
    await stream.end();
    sameBytes(await reading, bytes(2 * window));
  });

  it("open credit the opener never learned only delays it, and DATA beyond what the acceptor allows is refused", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received), initialCredit: 1000, openCredit: 600 } });
    const stream = agent.open("store");
    const writing = stream.write(bytes(3000)).then(() => stream.end());
    await settle();
    sameBytes(await readAll(received[0]!), bytes(3000));
    await writing;

    const { session, sent, feed } = solo("edge", { onOpen: () => undefined, initialCredit: 1000, openCredit: 600 });
    feed({ type: "OPEN", streamId: 1, meta: { kind: "store" } });
    expect(sent).toEqual([{ type: "CREDIT", streamId: 1, credit: 400 }]);
    feed({ type: "DATA", streamId: 1, payload: bytes(1001) });
    expect(sent.at(-1)).toMatchObject({ type: "RESET", streamId: 1, code: "flow-control" });
    expect(session.streamCount).toBe(0);
  });

  it("keeps every stream's bytes in order while many interleave, with random delays and tiny windows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ length: fc.integer({ min: 0, max: 12_000 }), chunk: fc.integer({ min: 1, max: 5_000 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 64, max: 9_000 }),
        fc.integer({ min: 64, max: 9_000 }),
        fc.integer(),
        async (plans, agentCredit, edgeCredit, seed) => {
          let rng = seed >>> 0;
          const delay = () => {
            rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
            // Mostly the next microtask, sometimes a few event-loop turns later.
            return rng % 16 === 0 ? (rng >>> 8) % 3 : 0;
          };
          // The edge echoes every stream back as it reads it, so both directions carry data at once.
          const { agent } = link({
            delay,
            agent: { initialCredit: agentCredit },
            edge: {
              initialCredit: edgeCredit,
              maxStreams: 16,
              onOpen: async (stream) => {
                let length = 0;
                for await (const chunk of stream.readable) {
                  length += chunk.length;
                  await stream.write(chunk.slice());
                }
                await stream.end();
                stream.sendResult({ length });
              },
            },
          });
          await Promise.all(
            plans.map(async ({ length, chunk }, i) => {
              const body = bytes(length, i + 1);
              const stream = agent.open("echo-bytes", { i });
              const echoed = readAll(stream);
              for (let at = 0; at < length; at += chunk) await stream.write(body.subarray(at, at + chunk));
              await stream.end();
              sameBytes(await echoed, body);
              expect(await stream.result()).toEqual({ length });
            }),
          );
          expect(agent.streamCount).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it("joins tiny DATA payloads so that per-chunk overhead stays bounded", async () => {
    let stream: TunnelStream | undefined;
    const { feed } = solo("edge", { onOpen: (s) => void (stream = s), initialCredit: 1 << 20 });
    feed({ type: "OPEN", streamId: 1, meta: { kind: "store" } });
    const body = bytes(100_000);
    for (const b of body) feed({ type: "DATA", streamId: 1, payload: Uint8Array.of(b) });
    feed({ type: "END", streamId: 1 });
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream!.readable) chunks.push(chunk);
    sameBytes(concat(chunks), body);
    // 100,000 one-byte frames held as two 64 KiB-bounded chunks, not 100,000 objects.
    expect(chunks.length).toBe(2);
  });
});

describe("RESET", () => {
  it("from the acceptor fails the opener's write, read and result", async () => {
    const { agent } = link({ edge: { onOpen: (stream) => stream.reset("busy", "try later") } });
    const stream = agent.open("store");
    const write = stream.write(bytes(10));
    const read = readAll(stream);
    for (const error of await Promise.all([rejection(write), rejection(read), rejection(stream.result())])) {
      expect(error).toMatchObject({ code: "reset", resetCode: "busy", remote: true });
    }
    expect(stream.closed).toBe(true);
  });

  it("from the opener fails the acceptor's reader and the opener's own pending write", async () => {
    const received: TunnelStream[] = [];
    const { agent, edge } = link({ edge: { onOpen: acceptInto(received), initialCredit: 16 } });
    const stream = agent.open("store");
    const write = stream.write(bytes(1000));
    await settle();
    // The edge is not reading, so the write waits for credit when the RESET comes.
    const edgeReader = received[0]!.readable[Symbol.asyncIterator]();
    stream.reset("cancelled", "the sender went away");
    const edgeRead = (async () => {
      for (;;) if ((await edgeReader.next()).done) return;
    })();
    expect(await rejection(write)).toMatchObject({ code: "reset", resetCode: "cancelled", remote: false });
    expect(await rejection(edgeRead)).toMatchObject({ code: "reset", resetCode: "cancelled", remote: true });
    expect(await rejection(received[0]!.result())).toMatchObject({ code: "reset", remote: true });
    expect(edge.streamCount).toBe(0);
    stream.reset("again", "no-op once closed");
  });

  it("drops what was buffered but unread", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received) } });
    const stream = agent.open("store");
    await stream.write(bytes(100));
    await settle();
    stream.reset("cancelled", "");
    await settle();
    expect(await rejection(readAll(received[0]!))).toMatchObject({ code: "reset" });
  });
});

describe("RESULT", () => {
  it("finishing early fails the peer's blocked write; its result holds the outcome and end() is a no-op", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received), initialCredit: 100 } });
    const stream = agent.open("store");
    const write = stream.write(bytes(1000));
    await settle();
    received[0]!.sendResult({ status: 0xa700 });
    expect(await rejection(write)).toMatchObject({ code: "stream-closed" });
    expect(await stream.result()).toEqual({ status: 0xa700 });
    await expect(stream.end()).resolves.toBeUndefined();
    await expect(stream.write(bytes(1))).rejects.toMatchObject({ code: "stream-closed" });
  });

  it("sent by this side: result() rejects, the unfinished readable fails, a second result throws", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received) } });
    agent.open("store");
    await settle();
    const edgeSide = received[0]!;
    const read = readAll(edgeSide);
    edgeSide.sendResult({ status: 0 });
    expect(await rejection(edgeSide.result())).toMatchObject({ code: "stream-closed" });
    expect(await rejection(read)).toMatchObject({ code: "stream-closed" });
    expect(() => edgeSide.sendResult({ status: 1 })).toThrow(TunnelError);
  });

  it("after the peer's END, what it sent stays readable", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received) } });
    const stream = agent.open("store");
    await stream.write(bytes(50));
    await stream.end();
    await settle();
    received[0]!.sendResult({ status: 0 });
    expect(await readAll(received[0]!)).toEqual(bytes(50));
  });

  it("too large to send throws and leaves the stream open", async () => {
    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received) } });
    const stream = agent.open("store");
    await settle();
    expect(() => received[0]!.sendResult("x".repeat(MAX_PAYLOAD))).toThrow(expect.objectContaining({ code: "too-large" }));
    expect(received[0]!.closed).toBe(false);
    received[0]!.sendResult({ status: 0 });
    expect(await stream.result()).toEqual({ status: 0 });
  });

  it("leaving the read loop early still lets this side answer", async () => {
    const { agent } = link({
      edge: {
        initialCredit: 1000,
        onOpen: async (stream) => {
          for await (const chunk of stream.readable) {
            if (chunk.length > 0) break;
          }
          stream.sendResult({ status: 0xa900, errorComment: "not DICOM" });
        },
      },
    });
    const stream = agent.open("store");
    const write = stream.write(bytes(10_000));
    expect(await stream.result()).toEqual({ status: 0xa900, errorComment: "not DICOM" });
    expect(await rejection(write)).toMatchObject({ code: "stream-closed" });
  });
});

describe("session close", () => {
  it("rejects pending writes, reads and results, and refuses new streams", async () => {
    const received: TunnelStream[] = [];
    const { agent, edge } = link({ edge: { onOpen: acceptInto(received), initialCredit: 10 } });
    const stream = agent.open("store");
    const write = stream.write(bytes(100));
    const read = readAll(stream);
    await settle();
    const edgeRead = readAll(received[0]!);
    agent.close("socket closed");
    edge.close(new Error("socket closed"));
    for (const error of await Promise.all([rejection(write), rejection(read), rejection(stream.result()), rejection(edgeRead)])) {
      expect(error.code).toBe("session-closed");
    }
    expect((await rejection(stream.result())).cause).toBe("socket closed");
    expect(() => agent.open("echo")).toThrow(expect.objectContaining({ code: "session-closed" }));
    await expect(stream.end()).rejects.toMatchObject({ code: "session-closed" });
    expect(agent.closed && edge.closed).toBe(true);
    expect(agent.streamCount + edge.streamCount).toBe(0);
  });

  it("ignores messages that arrive after it closed", () => {
    const { session, sent, feed } = solo("edge", { onOpen: () => undefined });
    session.close();
    feed({ type: "OPEN", streamId: 1, meta: { kind: "echo" } });
    feed({ type: "PING", streamId: 0, timestamp: 1 });
    expect(sent).toEqual([]);
  });

  it("fails on its own when send throws or rejects, and says so once", async () => {
    for (const send of [
      () => {
        throw new Error("socket gone");
      },
      () => Promise.reject(new Error("socket gone")),
    ]) {
      const errors: TunnelError[] = [];
      let calls = 0;
      const session = new TunnelSession({
        role: "agent",
        // The OPEN and first CREDIT go through; the DATA fails.
        send: () => (++calls > 2 ? send() : undefined),
        onError: (e) => void errors.push(e),
      });
      const stream = session.open("store");
      session.receive(encodeFrame({ type: "CREDIT", streamId: stream.id, credit: 100 }));
      expect(await rejection(stream.write(bytes(10)))).toMatchObject({ code: "session-closed" });
      expect(await rejection(stream.result())).toMatchObject({ code: "session-closed" });
      expect(session.closed).toBe(true);
      expect(errors.map((e) => e.code)).toEqual(["transport"]);
    }
  });

  it("fails on a frame it cannot attribute to any stream", () => {
    const errors: TunnelError[] = [];
    const { session } = solo("edge", { onError: (e) => void errors.push(e) });
    session.receive(Uint8Array.of(1, 2, 0));
    expect(session.closed).toBe(true);
    expect(errors.map((e) => e.code)).toEqual(["protocol"]);
  });
});

describe("protocol violations", () => {
  it("answers DATA, END and RESULT for unknown streams with RESET, and ignores stray CREDIT and RESET", () => {
    const { sent, feed } = solo("edge");
    feed({ type: "DATA", streamId: 7, payload: bytes(3) });
    feed({ type: "END", streamId: 9 });
    feed({ type: "RESULT", streamId: 11, result: null });
    feed({ type: "CREDIT", streamId: 13, credit: 5 });
    feed({ type: "RESET", streamId: 15, code: "x", message: "" });
    expect(sent.map((f) => f.type === "RESET" && [f.streamId, f.code])).toEqual([
      [7, "unknown-stream"],
      [9, "unknown-stream"],
      [11, "unknown-stream"],
    ]);
  });

  it("resets a stream whose peer sends more DATA than its credit, without buffering it", async () => {
    let stream: TunnelStream | undefined;
    const { sent, feed } = solo("edge", { initialCredit: 100, onOpen: (s) => void (stream = s) });
    feed({ type: "OPEN", streamId: 1, meta: { kind: "store" } });
    expect(sent).toEqual([{ type: "CREDIT", streamId: 1, credit: 100 }]);
    feed({ type: "DATA", streamId: 1, payload: bytes(60) });
    feed({ type: "DATA", streamId: 1, payload: bytes(41) });
    expect(sent[1]).toMatchObject({ type: "RESET", streamId: 1, code: "flow-control" });
    expect(await rejection(readAll(stream!))).toMatchObject({ code: "reset", resetCode: "flow-control", remote: false });
  });

  it("resets a stream when credit would overflow the u32 window, and never throws", async () => {
    const { session, sent, feed } = solo("edge");
    const stream = session.open("move");
    feed({ type: "CREDIT", streamId: stream.id, credit: 0xffffffff });
    expect(stream.closed).toBe(false);
    feed({ type: "CREDIT", streamId: stream.id, credit: 1 });
    expect(sent.at(-1)).toMatchObject({ type: "RESET", streamId: stream.id, code: "flow-control" });
    expect(await rejection(stream.result())).toMatchObject({ resetCode: "flow-control" });
  });

  it("rejects an OPEN of the wrong parity, a reused id and DATA after END", () => {
    const accepted: TunnelStream[] = [];
    const { sent, feed } = solo("edge", { onOpen: acceptInto(accepted) });
    feed({ type: "OPEN", streamId: 2, meta: { kind: "echo" } });
    expect(sent.at(-1)).toMatchObject({ type: "RESET", streamId: 2, code: "protocol-error" });
    feed({ type: "OPEN", streamId: 3, meta: { kind: "echo" } });
    feed({ type: "OPEN", streamId: 3, meta: { kind: "echo" } });
    expect(sent.at(-1)).toMatchObject({ type: "RESET", streamId: 3, code: "protocol-error" });
    expect(accepted[0]!.closed).toBe(true);
    feed({ type: "OPEN", streamId: 5, meta: { kind: "store" } });
    feed({ type: "END", streamId: 5 });
    feed({ type: "DATA", streamId: 5, payload: bytes(1) });
    expect(sent.at(-1)).toMatchObject({ type: "RESET", streamId: 5, code: "protocol-error" });
    expect(accepted.length).toBe(2);
  });

  it("resets the stream a malformed frame names", () => {
    const accepted: TunnelStream[] = [];
    const { session, sent, feed } = solo("edge", { onOpen: acceptInto(accepted) });
    feed({ type: "OPEN", streamId: 1, meta: { kind: "store" } });
    session.receive(Uint8Array.of(1, 4, 0, 0, 0, 0, 0, 1, 0xff)); // CREDIT of one byte
    expect(sent.at(-1)).toMatchObject({ type: "RESET", streamId: 1, code: "protocol-error" });
    expect(accepted[0]!.closed).toBe(true);
    expect(session.closed).toBe(false);
  });

  it("refuses streams without a handler, beyond maxStreams, and when the handler throws", async () => {
    const none = solo("edge");
    none.feed({ type: "OPEN", streamId: 1, meta: { kind: "echo" } });
    expect(none.sent).toEqual([expect.objectContaining({ type: "RESET", streamId: 1, code: "refused" })]);

    const throwing = solo("edge", {
      onOpen: () => {
        throw new Error("secret detail");
      },
    });
    throwing.feed({ type: "OPEN", streamId: 1, meta: { kind: "echo" } });
    expect(throwing.sent).toEqual([{ type: "RESET", streamId: 1, code: "internal", message: "the open handler failed" }]);

    const received: TunnelStream[] = [];
    const { agent } = link({ edge: { onOpen: acceptInto(received), maxStreams: 2 } });
    const [a, b, c] = [agent.open("store"), agent.open("store"), agent.open("store")];
    expect(await rejection(c.result())).toMatchObject({ code: "reset", resetCode: "refused", remote: true });
    received[0]!.sendResult({ status: 0 });
    expect(await a.result()).toEqual({ status: 0 });
    const d = agent.open("store");
    await settle();
    expect(d.closed).toBe(false);
    expect(b.closed).toBe(false);
    expect(received.length).toBe(3);
  });
});

describe("PING / PONG", () => {
  it("answers a PING with a PONG of the same timestamp", async () => {
    const pongs: number[] = [];
    const { agent } = link({ agent: { onPong: (t) => void pongs.push(t) } });
    agent.ping(1_700_000_000_123);
    await settle();
    expect(pongs).toEqual([1_700_000_000_123]);
  });
});

describe("API misuse", () => {
  it("readable iterates once, and write after end rejects", async () => {
    const { agent } = link({ edge: { onOpen: () => undefined } });
    const stream = agent.open("store");
    stream.readable[Symbol.asyncIterator]();
    expect(() => stream.readable[Symbol.asyncIterator]()).toThrow(TypeError);
    void stream.end();
    await expect(stream.write(bytes(1))).rejects.toMatchObject({ code: "stream-closed" });
  });

  it("checks its options", () => {
    expect(() => new TunnelSession({ role: "agent", send: () => undefined, initialCredit: 0 })).toThrow(RangeError);
    expect(() => new TunnelSession({ role: "agent", send: () => undefined, initialCredit: 2 ** 32 })).toThrow(RangeError);
    expect(() => new TunnelSession({ role: "edge", send: () => undefined, initialCredit: 1000, openCredit: 1000 })).toThrow(RangeError);
    expect(() => new TunnelSession({ role: "edge", send: () => undefined, openCredit: -1 })).toThrow(RangeError);
    expect(() => new TunnelSession({ role: "agent", send: () => undefined, peerOpenCredit: 2 ** 32 })).toThrow(RangeError);
  });
});
