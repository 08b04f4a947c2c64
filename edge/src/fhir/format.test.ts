import { describe, expect, it } from "vitest";
import { negotiateFormat } from "./format";
import { FhirError } from "./outcome";

function format(accept: string | null, query = ""): string {
  try {
    return negotiateFormat(new URL(`http://edge.test/fhir/metadata${query}`), new Headers(accept === null ? {} : { Accept: accept }));
  } catch (error) {
    return error instanceof FhirError ? String(error.status) : "other";
  }
}

describe("FHIR content negotiation", () => {
  it("FHIR JSON by default and for wild cards, application/json when that is what is asked", () => {
    expect(format(null)).toBe("application/fhir+json");
    expect(format("*/*")).toBe("application/fhir+json");
    expect(format("application/*")).toBe("application/fhir+json");
    expect(format("application/json")).toBe("application/json");
    expect(format("application/json, application/fhir+json")).toBe("application/fhir+json");
    expect(format("application/fhir+json;q=0.5, application/json")).toBe("application/json");
    expect(format("text/html, */*;q=0.1")).toBe("application/fhir+json");
  });

  it("R4 only when a fhirVersion is named", () => {
    expect(format("application/fhir+json; fhirVersion=4.0")).toBe("application/fhir+json");
    expect(format("application/fhir+json; fhirVersion=4.0.1")).toBe("application/fhir+json");
    expect(format("application/fhir+json; fhirVersion=3.0")).toBe("406");
  });

  it("406 for XML and everything else", () => {
    expect(format("application/fhir+xml")).toBe("406");
    expect(format("text/html")).toBe("406");
    expect(format("application/fhir+json;q=0")).toBe("406");
  });

  it("_format overrides Accept", () => {
    expect(format("application/xml", "?_format=json")).toBe("application/fhir+json");
    expect(format(null, "?_format=application/fhir%2Bjson")).toBe("application/fhir+json");
    expect(format(null, "?_format=application/json")).toBe("application/json");
    expect(format(null, "?_format=xml")).toBe("406");
    expect(format(null, "?_format=html")).toBe("406");
  });
});
