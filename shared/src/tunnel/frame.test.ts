import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TunnelError } from "./errors.ts";
import { HEADER_LENGTH, MAX_PAYLOAD, decodeFrame, encodeFrame, isFrameError, type Frame, type FrameError } from "./frame.ts";

const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, "").match(/../g) ?? []).map((b) => parseInt(b, 16)));
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function decoded(bytes: Uint8Array): Frame {
  const frame = decodeFrame(bytes);
  if (isFrameError(frame)) throw new Error(`unexpected ${frame.error}: ${frame.message}`);
  return frame;
}

function failure(bytes: Uint8Array): FrameError {
  const frame = decodeFrame(bytes);
  if (!isFrameError(frame)) throw new Error(`decoded ${frame.type}, expected an error`);
  return frame;
}

describe("encodeFrame / decodeFrame wire format", () => {
  // version 01, type, flags 00, reserved 00, stream id u32 BE, payload
  const fixtures: Array<[string, Frame]> = [
    ["01 02 00 00 00000001 dead", { type: "DATA", streamId: 1, payload: hex("dead") }],
    ["01 03 00 00 00000002", { type: "END", streamId: 2 }],
    ["01 04 00 00 fffffffe 00400000", { type: "CREDIT", streamId: 0xfffffffe, credit: 4 << 20 }],
    ["01 01 00 00 00000003 7b226b696e64223a226563686f227d", { type: "OPEN", streamId: 3, meta: { kind: "echo" } }],
    ["01 05 00 00 00000003 7b22737461747573223a307d", { type: "RESULT", streamId: 3, result: { status: 0 } }],
    [
      "01 06 00 00 00000005 7b22636f6465223a2278222c226d657373616765223a2279227d",
      { type: "RESET", streamId: 5, code: "x", message: "y" },
    ],
    ["01 07 00 00 00000000 0000019a2b3c4d5e", { type: "PING", streamId: 0, timestamp: 0x19a2b3c4d5e }],
    ["01 08 00 00 00000000 001fffffffffffff", { type: "PONG", streamId: 0, timestamp: Number.MAX_SAFE_INTEGER }],
  ];

  it.each(fixtures)("%s", (wire, frame) => {
    expect(toHex(encodeFrame(frame))).toBe(wire.replace(/\s+/g, ""));
    expect(decoded(hex(wire))).toEqual(frame);
  });

  it("decodes DATA as a view into the message, without copying", () => {
    const message = hex("01 02 00 00 00000007 010203");
    const frame = decoded(message);
    expect(frame.type === "DATA" && frame.payload.buffer).toBe(message.buffer);
  });

  it("decodes a frame lying at an offset inside a larger buffer", () => {
    const outer = hex("ffff 01 04 00 00 00000009 00000010 ffff");
    expect(decoded(outer.subarray(2, 2 + 12))).toEqual({ type: "CREDIT", streamId: 9, credit: 16 });
  });

  it("sends an undefined RESULT as null", () => {
    expect(decoded(encodeFrame({ type: "RESULT", streamId: 1, result: undefined }))).toEqual({ type: "RESULT", streamId: 1, result: null });
  });
});

describe("decodeFrame rejects, as values", () => {
  it("a header cut at any point", () => {
    const whole = encodeFrame({ type: "END", streamId: 1 });
    for (let n = 0; n < HEADER_LENGTH; n++) expect(failure(whole.subarray(0, n)).error).toBe("truncated");
  });

  it("a payload over 1 MiB, before parsing it, and blames the stream", () => {
    const big = new Uint8Array(HEADER_LENGTH + MAX_PAYLOAD + 1);
    big.set(hex("01 02 00 00 0000000b"));
    expect(failure(big)).toMatchObject({ error: "too-large", streamId: 11 });
    big[1] = 0x01; // an OPEN that large is not even looked at
    expect(failure(big)).toMatchObject({ error: "too-large", streamId: 11 });
    const limit = new Uint8Array(HEADER_LENGTH + MAX_PAYLOAD);
    limit.set(hex("01 02 00 00 0000000b"));
    expect(decoded(limit).type).toBe("DATA");
  });

  it("unknown types, other versions, flags and reserved bits", () => {
    expect(failure(hex("01 00 00 00 00000001"))).toMatchObject({ error: "unknown-type", streamId: 1 });
    expect(failure(hex("01 09 00 00 00000001"))).toMatchObject({ error: "unknown-type", streamId: 1 });
    expect(failure(hex("01 ff 00 00 00000000")).error).toBe("unknown-type");
    expect(failure(hex("01 ff 00 00 00000000")).streamId).toBeUndefined();
    expect(failure(hex("02 02 00 00 00000001")).error).toBe("unsupported-version");
    expect(failure(hex("01 02 01 00 00000001")).error).toBe("bad-header");
    expect(failure(hex("01 02 00 80 00000001")).error).toBe("bad-header");
  });

  it("stream frames on stream 0 and PING / PONG elsewhere", () => {
    expect(failure(hex("01 02 00 00 00000000 00")).error).toBe("bad-stream-id");
    expect(failure(hex("01 07 00 00 00000001 0000000000000000")).error).toBe("bad-stream-id");
  });

  it("payloads of the wrong shape, blaming their stream", () => {
    const bad = (wire: string) => {
      const error = failure(hex(wire));
      expect(error.error).toBe("bad-payload");
      return error.streamId;
    };
    expect(bad("01 03 00 00 00000001 00")).toBe(1); // END with bytes
    expect(bad("01 04 00 00 00000001 000001")).toBe(1); // CREDIT of 3 bytes
    expect(bad("01 01 00 00 00000001 7b")).toBe(1); // OPEN "{"
    expect(bad("01 01 00 00 00000001 7b7d")).toBe(1); // OPEN {} without kind
    expect(bad("01 01 00 00 00000001 5b5d")).toBe(1); // OPEN []
    expect(bad("01 05 00 00 00000001 22ff22")).toBe(1); // RESULT, not UTF-8
    expect(bad("01 06 00 00 00000001 7b7d")).toBe(1); // RESET {} without code
    expect(bad("01 07 00 00 00000000 00")).toBeUndefined(); // PING of 1 byte
    expect(bad("01 08 00 00 00000000 0020000000000000")).toBeUndefined(); // beyond 2^53
  });

  it("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, validHeader) => {
        if (validHeader && bytes.length >= 4) bytes.set([1, bytes[1]! % 10, 0, 0]);
        const frame = decodeFrame(bytes);
        expect(typeof frame).toBe("object");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("encodeFrame refuses", () => {
  it("payloads over 1 MiB with a TunnelError", () => {
    const error = (() => {
      try {
        encodeFrame({ type: "DATA", streamId: 1, payload: new Uint8Array(MAX_PAYLOAD + 1) });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TunnelError);
    expect((error as TunnelError).code).toBe("too-large");
  });

  it("ids and numbers that do not fit the header", () => {
    expect(() => encodeFrame({ type: "END", streamId: 0 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "END", streamId: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "CREDIT", streamId: 1, credit: -1 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: "PING", streamId: 0, timestamp: 1.5 })).toThrow(RangeError);
  });
});

describe("round trip", () => {
  const streamId = fc.integer({ min: 1, max: 0xffffffff });
  const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
  const frame: fc.Arbitrary<Frame> = fc.oneof(
    fc.record({ type: fc.constant("OPEN" as const), streamId, meta: fc.dictionary(fc.string(), json).map((m) => ({ ...m, kind: "store" })) }),
    fc.record({ type: fc.constant("DATA" as const), streamId, payload: fc.uint8Array({ maxLength: 256 }) }),
    fc.record({ type: fc.constant("END" as const), streamId }),
    fc.record({ type: fc.constant("CREDIT" as const), streamId, credit: fc.integer({ min: 0, max: 0xffffffff }) }),
    fc.record({ type: fc.constant("RESULT" as const), streamId, result: json }),
    fc.record({ type: fc.constant("RESET" as const), streamId, code: fc.string(), message: fc.string() }),
    fc.record({ type: fc.constantFrom("PING" as const, "PONG" as const), streamId: fc.constant(0 as const), timestamp: fc.maxSafeNat() }),
  );

  it("decode(encode(frame)) is the frame", () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(decoded(encodeFrame(f))).toEqual(f);
      }),
      { numRuns: 1000 },
    );
  });
});
