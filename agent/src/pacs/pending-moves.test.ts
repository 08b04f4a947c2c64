import { describe, expect, it } from "vitest";
import type { StoreContext } from "../dimse/server.ts";
import { PendingMoves, matchMove, nextMoveMessageId } from "./pending-moves.ts";

const pending = [
  { pacs: "PACS", messageId: 7 },
  { pacs: "PACS", messageId: 8 },
  { pacs: "OTHER", messageId: 9 },
];

describe("matchMove", () => {
  it("matches our AE title and a pending move's Message ID, whoever calls", () => {
    expect(matchMove(pending, { callingAeTitle: "PACS", moveOriginatorAeTitle: "DICOMEDGE", moveOriginatorMessageId: 8 }, "DICOMEDGE")).toBe(pending[1]);
    expect(matchMove(pending, { callingAeTitle: "STORER", moveOriginatorAeTitle: "DICOMEDGE", moveOriginatorMessageId: 9 }, "DICOMEDGE")).toBe(pending[2]);
  });

  it("leaves another originator's sub-operations and unknown Message IDs alone", () => {
    expect(matchMove(pending, { callingAeTitle: "OTHER", moveOriginatorAeTitle: "VIEWER", moveOriginatorMessageId: 9 }, "DICOMEDGE")).toBeUndefined();
    expect(matchMove(pending, { callingAeTitle: "OTHER", moveOriginatorAeTitle: "VIEWER" }, "DICOMEDGE")).toBeUndefined();
    expect(matchMove(pending, { callingAeTitle: "PACS", moveOriginatorAeTitle: "DICOMEDGE", moveOriginatorMessageId: 1 }, "DICOMEDGE")).toBeUndefined();
  });

  it("without originator fields, matches the calling AE title while exactly one move to it is pending", () => {
    expect(matchMove(pending, { callingAeTitle: "OTHER" }, "DICOMEDGE")).toBe(pending[2]);
    expect(matchMove(pending, { callingAeTitle: "OTHER", moveOriginatorAeTitle: "DICOMEDGE" }, "DICOMEDGE")).toBe(pending[2]);
    expect(matchMove(pending, { callingAeTitle: "PACS" }, "DICOMEDGE")).toBeUndefined();
    expect(matchMove(pending, { callingAeTitle: "CT1" }, "DICOMEDGE")).toBeUndefined();
    expect(matchMove([], { callingAeTitle: "PACS" }, "DICOMEDGE")).toBeUndefined();
  });
});

describe("nextMoveMessageId", () => {
  it("counts on from the last, skips ids in use, wraps after 65535", () => {
    expect(nextMoveMessageId([], 0)).toBe(1);
    expect(nextMoveMessageId(pending, 6)).toBe(10);
    expect(nextMoveMessageId([], 0xffff)).toBe(1);
    expect(nextMoveMessageId([{ pacs: "P", messageId: 1 }], 0xffff)).toBe(2);
  });
});

describe("PendingMoves", () => {
  const store = (origin: Partial<StoreContext>) => ({ callingAeTitle: "PACS", ...origin }) as StoreContext;

  it("diverts a matching C-STORE to its move until the move is removed", async () => {
    const moves = new PendingMoves("DICOMEDGE");
    const received: string[] = [];
    const a = moves.add("PACS", async (s) => (received.push(`a ${s.sopInstanceUid}`), { status: 0 }));
    const b = moves.add("PACS", async (s) => (received.push(`b ${s.sopInstanceUid}`), { status: 0x0110 }));
    expect(b.messageId).not.toBe(a.messageId);
    expect(await moves.divert(store({ sopInstanceUid: "1", moveOriginatorAeTitle: "DICOMEDGE", moveOriginatorMessageId: b.messageId }))).toEqual({ status: 0x0110 });
    // Two moves to PACS pending: without originator fields nothing is certain, so it is stored as any other.
    expect(moves.divert(store({ sopInstanceUid: "2" }))).toBeUndefined();
    b.remove();
    expect(await moves.divert(store({ sopInstanceUid: "3" }))).toEqual({ status: 0 });
    a.remove();
    // Ours by its originator, but the move is over: refused, never stored.
    expect(await moves.divert(store({ sopInstanceUid: "4", moveOriginatorAeTitle: "DICOMEDGE", moveOriginatorMessageId: a.messageId }))).toMatchObject({ status: 0x0110 });
    expect(moves.divert(store({ sopInstanceUid: "5", moveOriginatorAeTitle: "VIEWER", moveOriginatorMessageId: a.messageId }))).toBeUndefined();
    expect(received).toEqual(["b 1", "a 3"]);
  });
});
