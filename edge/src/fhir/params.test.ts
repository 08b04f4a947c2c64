import { describe, expect, it } from "vitest";
import { FhirError } from "./outcome";
import { parseSearch, splitList, splitToken, unescapeValue } from "./params";

const parse = (query: string, lenient = false) => parseSearch("ImagingStudy", new URLSearchParams(query), lenient);

function refusal(query: string): string {
  try {
    parse(query);
    return "accepted";
  } catch (error) {
    return error instanceof FhirError ? `${error.status} ${error.code}` : "other";
  }
}

describe("FHIR search parameters", () => {
  it("keeps each occurrence (AND) with its comma-separated values (OR)", () => {
    const parsed = parse("modality=CT,MR&modality=SR&patient=Patient/P1");
    expect(parsed.params.map((p) => [p.definition.name, p.values])).toEqual([
      ["modality", ["CT", "MR"]],
      ["modality", ["SR"]],
      ["patient", ["Patient/P1"]],
    ]);
    expect(parsed).toMatchObject({ count: 20, offset: 0, include: [], ignored: [] });
  });

  it("reads _count (at most 100), _offset, _include and _format into the applied parameters", () => {
    const parsed = parse("_count=500&_offset=40&_include=ImagingStudy:patient&_format=json&status=");
    expect(parsed).toMatchObject({ count: 100, offset: 40, include: ["ImagingStudy:patient"], params: [] });
    expect(parsed.applied).toEqual([["_include", "ImagingStudy:patient"], ["_format", "json"]]);
    expect(refusal("_count=x")).toBe("400 invalid");
    expect(refusal("_offset=-1")).toBe("400 invalid");
  });

  it("refuses unknown parameters, modifiers and includes, or lists them when lenient", () => {
    expect(refusal("foo=1")).toBe("400 not-supported");
    expect(refusal("modality:not=CT")).toBe("400 not-supported");
    expect(refusal("_include=ImagingStudy:endpoint")).toBe("400 not-supported");
    expect(refusal("_sort=started")).toBe("400 not-supported");
    const lenient = parse("foo=1&modality:not=CT&_include=*&modality=CT", true);
    expect(lenient.ignored).toEqual(["foo=1", "modality:not=CT", "_include=*"]);
    expect(lenient.applied).toEqual([["modality", "CT"]]);
  });

  it("splits at unescaped commas and bars, then unescapes", () => {
    expect(splitList("a\\,b,c")).toEqual(["a\\,b", "c"]);
    expect(unescapeValue("a\\,b\\\\c\\$d")).toEqual("a,b\\c$d");
    expect(splitToken("sys|code")).toEqual({ system: "sys", code: "code" });
    expect(splitToken("|code")).toEqual({ system: "", code: "code" });
    expect(splitToken("code")).toEqual({ code: "code" });
    expect(splitToken("a\\|b")).toEqual({ code: "a|b" });
    expect(splitToken("sys|")).toEqual({ system: "sys", code: "" });
  });
});
