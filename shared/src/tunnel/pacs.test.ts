import { describe, expect, it } from "vitest";
import { jsonLine, jsonLines } from "./json-lines.ts";
import {
  GET_INSTANCE_END,
  GetFrameDecoder,
  GetFramingError,
  encodeGetChunk,
  encodeGetInstance,
  encodeGetResult,
  isPacsFailure,
  parsePacsFindResult,
  parsePacsGetResult,
  parsePacsResult,
  parsePacsStoreResult,
  type GetFrame,
} from "./pacs.ts";

describe("PACS stream results", () => {
  it("reads a DIMSE status with its Error Comment", () => {
    expect(parsePacsResult({ status: 0 })).toEqual({ status: 0 });
    expect(parsePacsResult({ status: 0xa700, errorComment: "full" })).toEqual({ status: 0xa700, errorComment: "full" });
  });

  it("reads a failure of a known kind, and refuses unknown kinds and out-of-range statuses", () => {
    const failure = parsePacsResult({ failure: "rejected", message: "ORTHANC rejected the association" });
    expect(failure && isPacsFailure(failure)).toBe(true);
    expect(failure).toEqual({ failure: "rejected", message: "ORTHANC rejected the association" });
    expect(parsePacsResult({ failure: "exploded", message: "?" })).toBeUndefined();
    expect(parsePacsResult({ status: 0x10000 })).toBeUndefined();
    expect(parsePacsResult({ status: "0000" })).toBeUndefined();
    expect(parsePacsResult([{ status: 0 }])).toBeUndefined();
    expect(parsePacsResult(null)).toBeUndefined();
  });

  it("keeps `truncated` of a find and the UIDs of a store, dropping anything else", () => {
    expect(parsePacsFindResult({ status: 0, truncated: true })).toEqual({ status: 0, truncated: true });
    expect(parsePacsFindResult({ status: 0 })).toEqual({ status: 0, truncated: false });
    expect(parsePacsFindResult({ failure: "timeout", message: "slow" })).toEqual({ failure: "timeout", message: "slow" });
    expect(parsePacsStoreResult({ status: 0xb000, study: "1.2", series: "1.2.3", sop: "1.2.3.4", sopClass: "1.2.840.10008.5.1.4.1.1.2", extra: 1 })).toEqual({
      status: 0xb000,
      study: "1.2",
      series: "1.2.3",
      sop: "1.2.3.4",
      sopClass: "1.2.840.10008.5.1.4.1.1.2",
    });
    expect(parsePacsStoreResult({ status: 0x0122, sop: 7 })).toEqual({ status: 0x0122 });
  });

  it("round-trips the RESULT and the match lines as the tunnel carries them (JSON)", async () => {
    const result = { status: 0, truncated: true };
    expect(parsePacsFindResult(JSON.parse(JSON.stringify(result)))).toEqual(result);
    const matches = [{ "0020000D": { vr: "UI", Value: ["1.2.3"] } }, { "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans" }] } }];
    const bytes = matches.map(jsonLine);
    // Split across DATA frames anywhere: lines still come out whole.
    const joined = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of bytes) joined.set(b, (at += b.length) - b.length);
    async function* split() {
      for (let i = 0; i < joined.length; i += 7) yield joined.subarray(i, i + 7);
    }
    const read: unknown[] = [];
    for await (const line of jsonLines(split())) read.push(line);
    expect(read).toEqual(matches);
  });
});

describe("pacs-get framing", () => {
  const first = { sopClass: "1.2.840.10008.5.1.4.1.1.4", sop: "1.2.3.4", transferSyntax: "1.2.840.10008.1.2" };
  const second = { sopClass: "1.2.840.10008.5.1.4.1.1.2", sop: "1.2.3.5", transferSyntax: "1.2.840.10008.1.2.1" };
  const a = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const b = Uint8Array.from([0x0a, 0x00, 0x00, 0x00, 0x00, 0x7b]);
  const c = Uint8Array.from([9]);
  const stream = concat([encodeGetInstance(first), encodeGetChunk(a), encodeGetChunk(b), GET_INSTANCE_END, encodeGetInstance(second), encodeGetChunk(c), GET_INSTANCE_END]);

  /** The frames with each instance's data joined, whatever the pieces. */
  function instances(frames: GetFrame[]): { header: unknown; bytes: number[] }[] {
    const out: { header: unknown; bytes: number[] }[] = [];
    for (const frame of frames) {
      if (frame.type === "instance") out.push({ header: frame.header, bytes: [] });
      else if (frame.type === "data") out.at(-1)!.bytes.push(...frame.bytes);
      else if (frame.type === "end") out.push({ header: "end", bytes: [] });
    }
    return out;
  }
  const expected = [
    { header: first, bytes: [...a, ...b] },
    { header: "end", bytes: [] },
    { header: second, bytes: [...c] },
    { header: "end", bytes: [] },
  ];

  it("round-trips instances in one push", () => {
    const decoder = new GetFrameDecoder();
    expect(instances(decoder.push(stream))).toEqual(expected);
    expect(() => decoder.finish()).not.toThrow();
  });

  it("round-trips instances split at every offset, and byte by byte", () => {
    for (let at = 0; at <= stream.byteLength; at++) {
      const decoder = new GetFrameDecoder();
      const frames = [...decoder.push(stream.subarray(0, at)), ...decoder.push(stream.subarray(at))];
      expect(instances(frames)).toEqual(expected);
      decoder.finish();
    }
    const decoder = new GetFrameDecoder();
    expect(instances([...stream].flatMap((byte) => decoder.push(Uint8Array.of(byte))))).toEqual(expected);
  });

  it("passes data on sliced, not copied", () => {
    const frames = new GetFrameDecoder().push(stream);
    const data = frames.find((f) => f.type === "data") as { bytes: Uint8Array };
    expect(data.bytes.buffer).toBe(stream.buffer);
  });

  it("refuses a stream that ends inside an instance, a bad header, an oversize chunk, an empty chunk to encode", () => {
    const cut = new GetFrameDecoder();
    cut.push(stream.subarray(0, 60));
    expect(() => cut.finish()).toThrow(GetFramingError);
    expect(() => new GetFrameDecoder().push(new TextEncoder().encode("{}\n"))).toThrow(GetFramingError);
    expect(() => new GetFrameDecoder().push(new TextEncoder().encode("not json\n"))).toThrow(GetFramingError);
    expect(() => new GetFrameDecoder().push(new Uint8Array(5000).fill(0x41))).toThrow(GetFramingError);
    expect(() => new GetFrameDecoder().push(concat([encodeGetInstance(first), Uint8Array.of(0xff, 0xff, 0xff, 0xff)]))).toThrow(GetFramingError);
    expect(() => encodeGetChunk(new Uint8Array(0))).toThrow(RangeError);
  });

  it("ends with the RESULT line the Durable Object appends, and nothing after it", () => {
    const decoder = new GetFrameDecoder();
    const frames = decoder.push(concat([stream, encodeGetResult({ status: 0, completed: 2, failed: 0, warning: 0 })]));
    expect(frames.at(-1)).toEqual({ type: "result", result: { status: 0, completed: 2, failed: 0, warning: 0 } });
    decoder.finish();
    expect(() => decoder.push(Uint8Array.of(1))).toThrow(GetFramingError);
  });

  it("reads a get RESULT with its counts", () => {
    expect(parsePacsGetResult({ status: 0, completed: 3, failed: 0, warning: 1 })).toEqual({ status: 0, completed: 3, failed: 0, warning: 1 });
    expect(parsePacsGetResult({ status: 0xb000, completed: "3" })).toEqual({ status: 0xb000, completed: 0, failed: 0, warning: 0 });
    expect(parsePacsGetResult({ failure: "timeout", message: "slow" })).toEqual({ failure: "timeout", message: "slow" });
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
