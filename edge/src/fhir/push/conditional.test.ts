import { describe, expect, it } from "vitest";
import { conditionalPath, identifierToken, serverId } from "./conditional";

describe("identifierToken", () => {
  it("is system|value", () => {
    expect(identifierToken({ system: "urn:dicom:uid", value: "urn:oid:1.2.3" })).toBe("urn:dicom:uid|urn:oid:1.2.3");
  });

  it("escapes the search separators in either part (R4 search.html#escaping)", () => {
    expect(identifierToken({ system: "urn:x|y", value: "a,b$c\\d|e" })).toBe("urn:x\\|y|a\\,b\\$c\\\\d\\|e");
  });

  it("makes a query parameter of it", () => {
    expect(conditionalPath("Patient", { system: "urn:dicom-edge:patient-id", value: "PID 1&x=2" })).toBe(
      "Patient?identifier=urn%3Adicom-edge%3Apatient-id%7CPID%201%26x%3D2",
    );
    const url = new URL(`https://fhir.example/R4/${conditionalPath("ImagingStudy", { system: "urn:dicom:uid", value: "urn:oid:1.2.3" })}`);
    expect(url.searchParams.get("identifier")).toBe("urn:dicom:uid|urn:oid:1.2.3");
  });
});

describe("serverId", () => {
  it("takes the returned resource's id", () => {
    expect(serverId("Patient", { resourceType: "Patient", id: "abc-1" }, null)).toBe("abc-1");
  });

  it("falls back to Location, with or without a version", () => {
    expect(serverId("Patient", undefined, "https://fhir.example/R4/Patient/p1/_history/3")).toBe("p1");
    expect(serverId("Patient", { resourceType: "OperationOutcome" }, "https://fhir.example/R4/Patient/p2")).toBe("p2");
    expect(serverId("ImagingStudy", undefined, "ImagingStudy/s1/_history/1")).toBe("s1");
  });

  it("is undefined when neither says", () => {
    expect(serverId("Patient", { resourceType: "ImagingStudy", id: "x" }, null)).toBeUndefined();
    expect(serverId("Patient", { resourceType: "Patient", id: "not valid!" }, null)).toBeUndefined();
    expect(serverId("Patient", undefined, "https://fhir.example/R4/ImagingStudy/s1")).toBeUndefined();
  });
});
