import type { RetrieveItem, RetrieveOutcome } from "@dicom-edge/shared/tunnel/retrieve";
import { describe, expect, it } from "vitest";
import { classify, failedListIdentifier, finalStatus, runSubOperations, type Counts, type SubOperationResult } from "./sub-operations.ts";

const item = (n: number): RetrieveItem => ({ study: "1.2", series: "1.2.3", sop: `1.2.3.${n}`, sopClass: "1.2.840.10008.5.1.4.1.1.2", transferSyntax: "1.2.840.10008.1.2.1", size: 10 });

async function* list(n: number, outcome: RetrieveOutcome = { status: 0 }): AsyncGenerator<RetrieveItem, RetrieveOutcome, undefined> {
  for (let i = 1; i <= n; i++) yield item(i);
  return outcome;
}

/** Stores that answer `statuses[i]` for the i-th item, recording what was prepared, run and discarded. */
function stores(statuses: number[], options: { throwAt?: number; onRun?: (i: number) => void } = {}) {
  const log: string[] = [];
  return {
    log,
    prepare: (it: RetrieveItem) => {
      const i = Number(it.sop.split(".").pop()) - 1;
      log.push(`prepare ${i + 1}`);
      return {
        run: async (): Promise<SubOperationResult | undefined> => {
          log.push(`run ${i + 1}`);
          options.onRun?.(i);
          if (options.throwAt === i) throw new Error("association aborted");
          await new Promise((r) => setTimeout(r, 1));
          log.push(`done ${i + 1}`);
          return { status: statuses[i]! };
        },
        discard: () => log.push(`discard ${i + 1}`),
      };
    },
  };
}

describe("classify (PS3.4 B.2.3)", () => {
  it("sorts C-STORE statuses into completed, warning and failed", () => {
    expect(classify(0x0000)).toBe("completed");
    expect([0xb000, 0xb006, 0xb007].map(classify)).toEqual(["warning", "warning", "warning"]);
    expect([0xa700, 0xa900, 0xc000, 0x0110, 0x0122].map(classify)).toEqual(["failed", "failed", "failed", "failed", "failed"]);
  });
});

describe("runSubOperations", () => {
  it("counts each store and reports progress after each, preparing one item ahead", async () => {
    const s = stores([0, 0xb000, 0xa700, 0]);
    const progress: Counts[] = [];
    const run = await runSubOperations({ count: 4, items: list(4), prepare: s.prepare, progress: async (c) => void progress.push(c), signal: new AbortController().signal });
    expect(run).toEqual({ counts: { remaining: 0, completed: 2, failed: 1, warning: 1 }, failedSops: ["1.2.3.3"], cancelled: false });
    expect(progress.map((c) => c.remaining)).toEqual([3, 2, 1, 0]);
    // The next item is prepared (its fetch opened) while the current one is still being sent.
    expect(s.log.indexOf("prepare 2")).toBeLessThan(s.log.indexOf("done 1"));
    expect(finalStatus(run)).toBe(0xb000);
  });

  it("stops on cancel, discards the prepared look-ahead, and leaves the rest in Remaining", async () => {
    const cancel = new AbortController();
    const s = stores([0, 0, 0, 0], { onRun: (i) => i === 1 && cancel.abort() });
    const run = await runSubOperations({ count: 4, items: list(4), prepare: s.prepare, progress: async () => undefined, signal: cancel.signal });
    expect(run.cancelled).toBe(true);
    expect(run.counts).toEqual({ remaining: 2, completed: 2, failed: 0, warning: 0 });
    expect(s.log).toContain("discard 3");
    expect(s.log).not.toContain("run 3");
    expect(finalStatus(run)).toBe(0xfe00);
  });

  it("ends when the association breaks: that store failed, the rest remain, A702", async () => {
    const s = stores([0, 0, 0], { throwAt: 1 });
    const run = await runSubOperations({ count: 3, items: list(3), prepare: s.prepare, progress: async () => undefined, signal: new AbortController().signal });
    expect(run.broken).toBe("association aborted");
    expect(run.counts).toEqual({ remaining: 1, completed: 1, failed: 1, warning: 0 });
    expect(s.log).toContain("discard 3");
    expect(finalStatus(run)).toBe(0xa702);
  });

  it("reports the edge's failure when the list is cut off", async () => {
    const s = stores([0, 0]);
    const run = await runSubOperations({ count: 3, items: list(2, { status: 0xc000, errorComment: "cut" }), prepare: s.prepare, progress: async () => undefined, signal: new AbortController().signal });
    expect(run.listingFailed).toEqual({ status: 0xc000, errorComment: "cut" });
    expect(finalStatus(run)).toBe(0xc000);
  });
});

describe("finalStatus and the failed list (PS3.4 C.4.2.1.5, C.4.3.1.4)", () => {
  const counts = (completed: number, failed: number, warning: number) => ({ counts: { remaining: 0, completed, failed, warning }, failedSops: [], cancelled: false });
  it("is Success with no failure, B000 with some, A702 when none could be stored", () => {
    expect(finalStatus(counts(3, 0, 0))).toBe(0x0000);
    expect(finalStatus(counts(0, 0, 0))).toBe(0x0000);
    expect(finalStatus(counts(2, 1, 0))).toBe(0xb000);
    expect(finalStatus(counts(0, 0, 2))).toBe(0xb000);
    expect(finalStatus(counts(0, 3, 0))).toBe(0xa702);
  });
  it("lists failed SOP Instance UIDs in (0008,0058), and nothing when none failed", () => {
    expect(failedListIdentifier(["1.2", "1.3"])).toEqual({ "00080058": { vr: "UI", Value: ["1.2", "1.3"] } });
    expect(failedListIdentifier([])).toBeUndefined();
  });
});
