import { describe, expect, it } from "vitest";
import { jsonLine, jsonLines } from "./json-lines.ts";
import { isPacsFailure, parsePacsFindResult, parsePacsResult, parsePacsStoreResult } from "./pacs.ts";

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
