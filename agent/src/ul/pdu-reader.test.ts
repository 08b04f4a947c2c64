import { describe, expect, it } from "vitest";
import { ECHOSCU_ASSOCIATE_RQ_HEX, ECHOSCU_C_ECHO_PDATA_HEX, hex } from "./fixtures.testing.ts";
import { PduReader, type PduReaderEvent } from "./pdu-reader.ts";

/** Merges adjacent pdv-data events so results compare independently of chunking. */
function normalize(events: PduReaderEvent[]): unknown[] {
  const out: unknown[] = [];
  for (const e of events) {
    const last = out[out.length - 1] as { type: string; bytes: string } | undefined;
    if (e.type === "pdv-data") {
      if (last?.type === "pdv-data") last.bytes += Buffer.from(e.bytes).toString("hex");
      else out.push({ type: "pdv-data", bytes: Buffer.from(e.bytes).toString("hex") });
    } else out.push(e);
  }
  return out;
}

function feed(reader: PduReader, bytes: Uint8Array, splits: number[]): PduReaderEvent[] {
  const events: PduReaderEvent[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    // Copies, so a view the reader returned cannot alias a later chunk.
    events.push(...reader.push(bytes.slice(at, s)));
    at = s;
  }
  return events;
}

const STREAM = hex(ECHOSCU_ASSOCIATE_RQ_HEX + ECHOSCU_C_ECHO_PDATA_HEX + "040000000010" + "00000004" + "0100aabb" + "00000004" + "0102ccdd" + "05000000000400000000");

describe("PduReader", () => {
  const whole = normalize(feed(new PduReader({ maxPDataLength: 16384 }), STREAM, []));

  it("yields control PDUs whole and P-DATA as PDV fragments", () => {
    const types = (whole as { type: string }[]).map((e) => e.type);
    expect(types).toEqual([
      "pdu",
      "pdata-start", "pdv-start", "pdv-data", "pdv-end", "pdata-end",
      "pdata-start", "pdv-start", "pdv-data", "pdv-end", "pdv-start", "pdv-data", "pdv-end", "pdata-end",
      "pdu",
    ]);
    expect(whole[2]).toEqual({ type: "pdv-start", contextId: 1, isCommand: true, isLast: true, length: 0x44 });
    expect(whole[8]).toEqual({ type: "pdv-data", bytes: "aabb" });
    expect(whole[10]).toEqual({ type: "pdv-start", contextId: 1, isCommand: false, isLast: true, length: 2 });
    expect((whole[14] as { pdu: { type: string } }).pdu.type).toBe("release-rq");
  });

  it("gives the same result for every single split offset", () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(normalize(feed(new PduReader({ maxPDataLength: 16384 }), STREAM, [i]))).toEqual(whole);
    }
  });

  it("gives the same result fed one byte at a time", () => {
    const splits = Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1);
    expect(normalize(feed(new PduReader({ maxPDataLength: 16384 }), STREAM, splits))).toEqual(whole);
  });

  it("hands out views of the chunk, not copies", () => {
    const chunk = hex("04000000000a" + "00000006" + "0102" + "01020304");
    const events = new PduReader({ maxPDataLength: 100 }).push(chunk);
    const data = events.find((e) => e.type === "pdv-data") as { bytes: Uint8Array };
    expect(data.bytes.buffer).toBe(chunk.buffer);
  });

  it("rejects a P-DATA-TF announcing 4 GB from its header alone", () => {
    const reader = new PduReader({ maxPDataLength: 16384 });
    const events = reader.push(hex("04" + "00" + "ffffffff"));
    expect(events).toEqual([{ type: "error", error: expect.objectContaining({ code: "oversize", abortReason: 6 }) }]);
    expect(reader.failed).toBe(true);
    expect(reader.push(hex("00000000"))).toEqual([]);
  });

  it("rejects an oversized A-ASSOCIATE-RQ before buffering it", () => {
    const events = new PduReader({ maxPDataLength: 16384, maxAssociatePduLength: 1000 }).push(hex("01000000ffff"));
    expect(events[0]).toMatchObject({ type: "error", error: { code: "oversize" } });
  });

  it("accepts a P-DATA-TF of exactly the maximum length", () => {
    const pdu = hex("040000000010" + "0000000c" + "0102" + "00".repeat(10));
    const events = new PduReader({ maxPDataLength: 16 }).push(pdu);
    expect(events.at(-1)).toEqual({ type: "pdata-end" });
  });

  it("rejects malformed PDUs", () => {
    const cases: [string, string, number][] = [
      ["unknown PDU type", "0800000000020000", 1],
      ["PDV longer than its PDU", "04000000000a" + "00000010" + "0102" + "01020304", 6],
      ["zero-length PDV item", "04000000000a" + "00000000" + "0102" + "01020304", 6],
      ["empty P-DATA-TF", "040000000000", 6],
      ["PDU ending inside a PDV header", "040000000009" + "00000003" + "010201" + "0000", 6],
      ["A-RELEASE-RQ of 6 bytes", "050000000006000000000000", 6],
      ["A-ASSOCIATE-RQ too short for its fixed fields", "010000000004" + "00010000", 6],
    ];
    for (const [what, bytes, reason] of cases) {
      const events = new PduReader({ maxPDataLength: 16384 }).push(hex(bytes));
      expect(events.at(-1), what).toMatchObject({ type: "error", error: { abortReason: reason } });
    }
  });

  it("streams a large PDU without holding it", () => {
    const reader = new PduReader({ maxPDataLength: 16 * 1024 * 1024 });
    const size = 16 * 1024 * 1024 - 6;
    const head = hex("04" + "00" + (size + 6).toString(16).padStart(8, "0") + (size + 2).toString(16).padStart(8, "0") + "0300");
    let seen = 0;
    for (const e of reader.push(head)) expect(e.type).not.toBe("error");
    const chunk = new Uint8Array(64 * 1024);
    while (seen < size) {
      for (const e of reader.push(chunk.subarray(0, Math.min(chunk.length, size - seen)))) if (e.type === "pdv-data") seen += e.bytes.length;
    }
    expect(seen).toBe(size);
    expect(reader.atPduBoundary).toBe(true);
  });
});
