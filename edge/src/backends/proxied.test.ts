import { describe, expect, it } from "vitest";
import type { StudyChange } from "../archive/study-events";
import type { StoreOutcome, StoreTransaction } from "./backend";
import { reportingStore } from "./proxied";

/** A store whose outcomes are given in order, as an upstream would answer them. */
function answering(outcomes: StoreOutcome[]): StoreTransaction & { ended: string[] } {
  const ended: string[] = [];
  const next = () => Promise.resolve(outcomes.shift()!);
  return {
    ended,
    add: () => next(),
    receive: async () => ({ outcome: next() }),
    commit: async () => void ended.push("commit"),
    rollback: async () => void ended.push("rollback"),
  };
}

const stored = (study: string): StoreOutcome => ({ ok: true, study, series: `${study}.1`, sop: `${study}.1.1`, sopClass: "1.2.840.10008.5.1.4.1.1.2", warnings: [] });
const refused: StoreOutcome = { ok: false, reason: 0xa700, message: "out of resources" };
const body = (async function* () {})();

describe("reportingStore (a proxy's stores, told to FHIR Subscriptions)", () => {
  it("reports each study stored into once, after the upstream's transaction ended; refusals change nothing", async () => {
    const reports: StudyChange[][] = [];
    const inner = answering([stored("1.1"), refused, stored("1.1"), stored("1.2")]);
    const store = reportingStore(inner, async (changes) => void reports.push(changes));
    await store.add(body, {});
    await (await store.receive(body, {})).outcome;
    await store.add(body, {});
    const last = await store.receive(body, {});
    expect(reports).toEqual([]);
    await store.commit();
    expect(inner.ended).toEqual(["commit"]);
    expect((await last.outcome).ok).toBe(true);
    expect(reports).toEqual([[{ study: "1.1", change: "stored" }, { study: "1.2", change: "stored" }]]);
  });

  it("reports what the upstream kept before a rollback too, and nothing when nothing was stored", async () => {
    const reports: StudyChange[][] = [];
    const store = reportingStore(answering([stored("2.1"), refused]), async (changes) => void reports.push(changes));
    await store.add(body, {});
    await store.add(body, {});
    await store.rollback();
    expect(reports).toEqual([[{ study: "2.1", change: "stored" }]]);
    const none = reportingStore(answering([refused]), async (changes) => void reports.push(changes));
    await none.add(body, {});
    await none.commit();
    expect(reports).toHaveLength(1);
  });

  it("is the store itself when nobody listens", () => {
    const inner = answering([]);
    expect(reportingStore(inner, undefined)).toBe(inner);
  });
});
