import { describe, expect, it } from "vitest";
import { capabilityStatement } from "./metadata";
import { parseSearch } from "./params";
import { SEARCH_INCLUDES, SEARCH_PARAMS, type SearchableType } from "./search-params";

describe("CapabilityStatement", () => {
  const statement = capabilityStatement("https://edge.example", "1.2.3");

  it("names the software, the server and R4", () => {
    expect(statement).toMatchObject({ fhirVersion: "4.0.1", kind: "instance", status: "active", software: { name: "dicom-edge", version: "1.2.3" }, implementation: { url: "https://edge.example/fhir" } });
  });

  it("lists exactly the parameters and includes the parser accepts", () => {
    for (const type of ["Patient", "ImagingStudy"] as SearchableType[]) {
      const resource = statement.rest[0]!.resource.find((r) => r.type === type)!;
      const listed = ((resource as { searchParam?: { name: string }[] }).searchParam ?? []).map((p) => p.name);
      expect(listed).toEqual(SEARCH_PARAMS[type].map((p) => p.name));
      for (const name of listed) expect(() => parseSearch(type, new URLSearchParams({ [name]: "x" }), false), `${type} ${name}`).not.toThrow(/unknown search parameter/);
      expect(() => parseSearch(type, new URLSearchParams({ unlisted: "x" }), false)).toThrow(/unknown search parameter/);
      const includes = "searchInclude" in resource ? resource.searchInclude : [];
      expect(includes).toEqual(SEARCH_INCLUDES[type]);
    }
  });

  it("lists Subscription with its interactions and the search parameters its route accepts", () => {
    const subscription = statement.rest[0]!.resource.find((r) => r.type === "Subscription")!;
    expect(subscription.interaction.map((i) => i.code)).toEqual(["create", "read", "search-type", "delete"]);
    expect(((subscription as { searchParam?: { name: string }[] }).searchParam ?? []).map((p) => p.name)).toEqual(["_id", "status", "url", "criteria", "type"]);
  });
});
