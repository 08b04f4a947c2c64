import { describe, expect, it } from "vitest";
import { fhirGender, humanNames, identifierSystem, issuerOfSystem, PATIENT_ID_SYSTEM, patientKeyOf, patientResource } from "./patient";

describe("Patient from the index", () => {
  it("maps ID, issuer, name, sex and birth date", () => {
    const patient = patientResource({
      "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans Peter^^Dr.^Jr", Ideographic: "ミュラー^ハンス" }] },
      "00100020": { vr: "LO", Value: ["PAT-1"] },
      "00100021": { vr: "LO", Value: ["HOSP A"] },
      "00100030": { vr: "DA", Value: ["19700101"] },
      "00100040": { vr: "CS", Value: ["F"] },
    });
    expect(patient).toEqual({
      resourceType: "Patient",
      id: "PAT-1.-HOSP.20A",
      identifier: [{ use: "usual", system: "urn:dicom-edge:issuer:HOSP%20A", value: "PAT-1" }],
      name: [{ family: "Müller", given: ["Hans", "Peter"], prefix: ["Dr."], suffix: ["Jr"] }, { family: "ミュラー", given: ["ハンス"] }],
      gender: "female",
      birthDate: "1970-01-01",
    });
  });

  it("has no Patient without a Patient ID, and leaves out what is absent or invalid", () => {
    expect(patientResource({ "00100010": { vr: "PN", Value: [{ Alphabetic: "Anon" }] } })).toBeUndefined();
    expect(patientResource({ "00100020": { vr: "LO", Value: ["  "] } })).toBeUndefined();
    expect(patientResource({ "00100020": { vr: "LO", Value: ["P"] }, "00100030": { vr: "DA", Value: ["19700231"] } })).toEqual({
      resourceType: "Patient",
      id: "P",
      identifier: [{ use: "usual", system: PATIENT_ID_SYSTEM, value: "P" }],
      gender: "unknown",
    });
  });

  it("maps M, F, O and nothing else", () => {
    expect(["M", "F", "O", "U", "", undefined].map(fhirGender)).toEqual(["male", "female", "other", "unknown", "unknown", "unknown"]);
  });

  it("names: groups, empty components, a string value", () => {
    expect(humanNames("Doe^Jane")).toEqual([{ family: "Doe", given: ["Jane"] }]);
    expect(humanNames({ Alphabetic: "^^^" })).toEqual([]);
    expect(humanNames(undefined)).toEqual([]);
    expect(humanNames({ Alphabetic: "^Cher" })).toEqual([{ given: ["Cher"] }]);
  });

  it("issuer systems: URIs as they are, other issuers under a prefix, reversible", () => {
    for (const issuer of [undefined, "urn:oid:1.2.3", "https://id.example/mrn", "HOSP A", "1.2.3", "urn:dicom-edge:issuer:x", "a b:c"]) {
      const system = identifierSystem(issuer);
      expect(issuerOfSystem(system) ?? undefined, String(issuer)).toBe(issuer);
    }
    expect(identifierSystem("urn:oid:1.2.3")).toBe("urn:oid:1.2.3");
    expect(identifierSystem("1.2.3")).toBe("urn:dicom-edge:issuer:1.2.3");
    expect(issuerOfSystem("not a uri")).toBeUndefined();
    expect(issuerOfSystem("urn:dicom-edge:issuer:%E0")).toBeUndefined();
  });

  it("keys: trimmed ID and issuer, an empty issuer is none", () => {
    expect(patientKeyOf({ "00100020": { vr: "LO", Value: ["P1"] }, "00100021": { vr: "LO", Value: [""] } })).toEqual({ id: "P1" });
    expect(patientKeyOf({})).toBeUndefined();
  });
});
