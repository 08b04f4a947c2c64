import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePatientResourceId, patientResourceId, type PatientKey } from "./patient-id";

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

describe("Patient.id from Patient ID and issuer", () => {
  it("keeps letters, digits and hyphens, escapes the rest as .XX", () => {
    expect(patientResourceId({ id: "PAT-1" })).toBe("PAT-1");
    expect(patientResourceId({ id: "pat_7/x" })).toBe("pat.5F7.2Fx");
    expect(patientResourceId({ id: "1.2" })).toBe("1.2E2");
    expect(patientResourceId({ id: "Zoë" })).toBe("Zo.C3.AB");
    expect(patientResourceId({ id: "12345", issuer: "HOSP A" })).toBe("12345.-HOSP.20A");
  });

  it("decodes its own ids and only those", () => {
    expect(parsePatientResourceId("pat.5F7.2Fx")).toEqual({ kind: "key", key: { id: "pat_7/x" } });
    expect(parsePatientResourceId("12345.-HOSP.20A")).toEqual({ kind: "key", key: { id: "12345", issuer: "HOSP A" } });
    for (const bad of ["", "a_b", "PAT.2D1", "x.5f", "x.5", ".-HOSP", "x.-", "x.-a.-b", "x.FF", "x".repeat(65), "x.zz"]) {
      expect(parsePatientResourceId(bad), bad).toBeUndefined();
    }
  });

  it("hashes an identity too long to spell out, keeping the start of the ID", () => {
    const key = { id: "L_".repeat(30), issuer: "urn:oid:1.2.3" };
    const id = patientResourceId(key);
    expect(id).toMatch(FHIR_ID);
    expect(id).toMatch(/^(L\.5F)+L?\.h[0-9a-f]{16}$/);
    expect(parsePatientResourceId(id)).toEqual({ kind: "hashed", prefix: id.slice(0, id.indexOf(".h")).replaceAll(".5F", "_"), hash: id.slice(-16) });
    expect(patientResourceId({ id: key.id })).not.toBe(id);
    // The prefix is cut between characters, never inside one's escape.
    expect(patientResourceId({ id: "é".repeat(40) })).toMatch(/^(\.C3\.A9)+\.h[0-9a-f]{16}$/);
  });

  it("round trips any identity to a valid FHIR id", () => {
    const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 64 }).filter((s) => s.trim() !== "");
    fc.assert(
      fc.property(text, fc.option(text, { nil: undefined }), (id, issuer) => {
        const key: PatientKey = issuer ? { id, issuer } : { id };
        const resourceId = patientResourceId(key);
        expect(resourceId).toMatch(FHIR_ID);
        const parsed = parsePatientResourceId(resourceId);
        if (parsed?.kind === "key") expect(parsed.key).toEqual(key);
        else expect(parsed).toMatchObject({ kind: "hashed" });
        expect(id.startsWith(parsed!.kind === "hashed" ? parsed!.prefix : "")).toBe(true);
      }),
    );
  });
});
