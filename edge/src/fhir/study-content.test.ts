import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { describe, expect, it } from "vitest";
import { MAX_LISTED_INSTANCES, studyContents } from "./study-content";
import { memoryBackend } from "./testing/memory-backend";

const uid = (v: string) => ({ vr: "UI", Value: [v] });
const study = (s: string, instances: number): DicomJson => ({ "0020000D": uid(s), "00201206": { vr: "IS", Value: [1] }, "00201208": { vr: "IS", Value: [instances] } });
const series = (s: string): DicomJson => ({ "0020000D": uid(s), "0020000E": uid(`${s}.1`) });
const instance = (s: string, n: number): DicomJson => ({ "0020000D": uid(s), "0020000E": uid(`${s}.1`), "00080018": uid(`${s}.1.${n}`) });

describe("the series and instances of a page of studies", () => {
  it("two searches for the whole page, grouped per study and series", async () => {
    const backend = memoryBackend({
      series: [series("1"), series("2")],
      instance: [instance("1", 1), instance("2", 1), instance("1", 2)],
    });
    const [one, two] = await studyContents(backend, [study("1", 2), study("2", 1)]);
    expect(one!.series).toEqual([series("1")]);
    expect(one!.instances!.get("1.1")).toEqual([instance("1", 1), instance("1", 2)]);
    expect(two!.instances!.get("2.1")).toEqual([instance("2", 1)]);
    expect(backend.queries.map((q) => [q.level, q.limit])).toEqual([["series", 2], ["instance", 3]]);
  });

  it("lists instances of whole studies while MAX_LISTED_INSTANCES lasts", async () => {
    const backend = memoryBackend({ series: [series("1"), series("2"), series("3")], instance: [instance("1", 1), instance("3", 1)] });
    const contents = await studyContents(backend, [study("1", 1), study("2", MAX_LISTED_INSTANCES), study("3", 1)]);
    expect(contents.map((c) => c.instances !== undefined)).toEqual([true, false, false]);
    expect(contents.map((c) => c.series.length)).toEqual([1, 1, 1]);
  });

  it("asks nothing for an empty page", async () => {
    const backend = memoryBackend({});
    expect(await studyContents(backend, [])).toEqual([]);
    expect(backend.queries).toHaveLength(0);
  });
});
