import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { describe, expect, it } from "vitest";
import { resolvePatients } from "./patient-lookup";
import { patientResourceId } from "./patient-id";
import { COUNT_LIMIT, runPlan } from "./searchset";
import type { SearchPlan } from "./search";
import { memoryBackend } from "./testing/memory-backend";

const patient = (id: string, issuer?: string): DicomJson => ({
  "00100020": { vr: "LO", Value: [id] },
  ...(issuer && { "00100021": { vr: "LO", Value: [issuer] } }),
});
const study = (uid: string, p: DicomJson): DicomJson => ({ ...p, "0020000D": { vr: "UI", Value: [uid] } });
const uids = (datasets: DicomJson[]) => datasets.map((d) => d["0020000D"]!.Value![0]);
const plan = (over: Partial<SearchPlan> = {}): SearchPlan => ({ level: "study", matches: [], patients: [], none: false, ...over });
const filter = (id: string, issuer?: string | null) => ({ kind: "filter" as const, filter: issuer === undefined ? { id } : { id, issuer } });

describe("running a plan: pages and totals", () => {
  const many = Array.from({ length: 25 }, (_, i) => study(`1.${i}`, patient("P")));

  it("the total from the last page alone, one more search for a page that is not the last", async () => {
    const backend = memoryBackend({ study: many });
    expect(await runPlan(backend, plan(), { count: 10, offset: 20 })).toMatchObject({ total: 25, more: false });
    expect(backend.queries).toHaveLength(1);
    const first = await runPlan(backend, plan(), { count: 10, offset: 0 });
    expect(first).toMatchObject({ total: 25, more: true });
    expect(uids(first.datasets)).toEqual(many.slice(0, 10).map((d) => d["0020000D"]!.Value![0]));
    expect(backend.queries.slice(1).map((q) => [q.limit, q.offset])).toEqual([[10, 0], [COUNT_LIMIT, 10]]);
  });

  it("past the end and _count=0 count from the start", async () => {
    expect(await runPlan(memoryBackend({ study: many }), plan(), { count: 10, offset: 40 })).toMatchObject({ datasets: [], total: 25, more: false });
    const counting = memoryBackend({ study: many });
    expect(await runPlan(counting, plan(), { count: 0, offset: 0 })).toMatchObject({ datasets: [], total: 25 });
    expect(counting.queries).toHaveLength(1);
  });

  it("no total past COUNT_LIMIT matches", async () => {
    const lots = Array.from({ length: COUNT_LIMIT + 20 }, (_, i) => study(`2.${i}`, patient("P")));
    const page = await runPlan(memoryBackend({ study: lots }), plan(), { count: 10, offset: 0 });
    expect(page.total).toBeUndefined();
    expect(page.more).toBe(true);
  });

  it("asks nothing when the plan rules everything out", async () => {
    const backend = memoryBackend({ study: many });
    expect(await runPlan(backend, plan({ none: true }), { count: 10, offset: 0 })).toEqual({ datasets: [], total: 0, more: false });
    expect(backend.queries).toHaveLength(0);
  });
});

describe("patients: Patient ID and issuer", () => {
  const alone = patient("A");
  const sharedNone = patient("S");
  const sharedHosp = patient("S", "HOSP");
  const backend = () =>
    memoryBackend({
      patient: [alone, sharedNone, sharedHosp],
      study: [study("1.1", alone), study("1.2", sharedNone), study("1.3", sharedHosp), study("1.4", sharedNone)],
    });

  it("an ID no other patient shares: the ID key alone, exact", async () => {
    const resolved = await resolvePatients(backend(), [[filter("A", null)]]);
    expect(resolved!.keep).toBeUndefined();
    expect(resolved!.matches).toEqual([{ kind: "single", tag: "00100020", vr: "LO", value: "A" }]);
    expect(uids((await runPlan(backend(), plan({ patients: [[filter("A", null)]] }), { count: 10, offset: 0 })).datasets)).toEqual(["1.1"]);
  });

  it("an ID two issuers share: the results are checked, and paged after that", async () => {
    const resolved = await resolvePatients(backend(), [[filter("S", null)]]);
    expect(resolved!.keep).toBeDefined();
    const page = await runPlan(backend(), plan({ patients: [[filter("S", null)]] }), { count: 1, offset: 1 });
    expect(page).toMatchObject({ total: 2, more: false });
    expect(uids(page.datasets)).toEqual(["1.4"]);
    expect(uids((await runPlan(backend(), plan({ patients: [[filter("S", "HOSP")]] }), { count: 10, offset: 0 })).datasets)).toEqual(["1.3"]);
    expect(uids((await runPlan(backend(), plan({ patients: [[filter("S")]] }), { count: 10, offset: 0 })).datasets)).toEqual(["1.2", "1.3", "1.4"]);
  });

  it("groups AND, their members OR; nobody is no result", async () => {
    expect(uids((await runPlan(backend(), plan({ patients: [[filter("A", null), filter("S", "HOSP")]] }), { count: 10, offset: 0 })).datasets)).toEqual(["1.1", "1.3"]);
    expect(await resolvePatients(backend(), [[filter("A", null)], [filter("S")]])).toBeUndefined();
    expect(await resolvePatients(backend(), [[filter("Z", null)]])).toBeUndefined();
    expect(await resolvePatients(backend(), [[filter("A", "HOSP")]])).toBeUndefined();
  });

  it("a hashed id: the patients its prefix finds, the one whose id it is", async () => {
    const long = patient("L*".repeat(30));
    const sibling = patient("L*".repeat(29) + "LX");
    const b = memoryBackend({ patient: [long, sibling] });
    const id = patientResourceId({ id: "L*".repeat(30) });
    expect(id).toContain(".h");
    const prefix = id.slice(0, id.indexOf(".h")).replaceAll(".2A", "*");
    const resolved = await resolvePatients(b, [[{ kind: "hashed", prefix, resourceId: id }]]);
    expect(resolved!.patients).toEqual([long]);
    // The prefix's "*" were looked up as "?", matching themselves.
    expect(b.queries[0]!.matches[0]).toMatchObject({ kind: "wildcard", pattern: expect.stringMatching(/^(L\?)+L?\*$/) });
  });
});
