import { describe, expect, it } from "vitest";
import { searchsetBundle, type SearchsetPage } from "./bundle";
import { operationOutcome } from "./outcome";
import type { Patient } from "./r4";

const patient = (id: string): Patient => ({ resourceType: "Patient", id, gender: "unknown" });
const page = (over: Partial<SearchsetPage>): SearchsetPage => ({
  base: "http://e/fhir",
  type: "Patient",
  applied: [["name", "doe"]],
  count: 10,
  offset: 0,
  more: false,
  matches: [],
  ...over,
});
const links = (b: ReturnType<typeof searchsetBundle>) => Object.fromEntries(b.link.map((l) => [l.relation, l.url.replace("http://e/fhir/Patient?name=doe&", "")]));

describe("searchset Bundles", () => {
  it("entries with fullUrl and mode: matches, includes, then the outcome", () => {
    const bundle = searchsetBundle(page({ total: 1, matches: [patient("a")], included: [patient("b")], outcome: operationOutcome("warning", "not-supported", "ignored x") }));
    expect(bundle.entry).toEqual([
      { fullUrl: "http://e/fhir/Patient/a", resource: patient("a"), search: { mode: "match" } },
      { fullUrl: "http://e/fhir/Patient/b", resource: patient("b"), search: { mode: "include" } },
      { resource: operationOutcome("warning", "not-supported", "ignored x"), search: { mode: "outcome" } },
    ]);
    expect(bundle).toMatchObject({ resourceType: "Bundle", type: "searchset", total: 1 });
  });

  it("no entry array when empty, no total when unknown", () => {
    const bundle = searchsetBundle(page({ more: true }));
    expect(bundle.entry).toBeUndefined();
    expect("total" in bundle).toBe(false);
  });

  it("links: self, first, previous, next and last with _count and _offset", () => {
    expect(links(searchsetBundle(page({ total: 35, offset: 10, more: true })))).toEqual({
      self: "_count=10&_offset=10",
      first: "_count=10&_offset=0",
      previous: "_count=10&_offset=0",
      next: "_count=10&_offset=20",
      last: "_count=10&_offset=30",
    });
    expect(links(searchsetBundle(page({ total: 30, offset: 25, more: false })))).toEqual({
      self: "_count=10&_offset=25",
      first: "_count=10&_offset=0",
      previous: "_count=10&_offset=15",
      last: "_count=10&_offset=20",
    });
    expect(links(searchsetBundle(page({ count: 0, total: 3 })))).toEqual({ self: "_count=0&_offset=0", first: "_count=0&_offset=0" });
    expect(links(searchsetBundle(page({ total: 0 })))).toEqual({ self: "_count=10&_offset=0", first: "_count=10&_offset=0" });
  });
});
