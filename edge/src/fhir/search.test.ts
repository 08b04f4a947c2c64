import { describe, expect, it } from "vitest";
import { FhirError } from "./outcome";
import { parseSearch } from "./params";
import { patientSearchPlan, studySearchPlan } from "./search";

const BASE = "http://edge.test/fhir";
const patients = (query: string) => patientSearchPlan(parseSearch("Patient", new URLSearchParams(query), false));
const studies = (query: string) => studySearchPlan(parseSearch("ImagingStudy", new URLSearchParams(query), false), BASE);
const HAS_ID = { kind: "wildcard", tag: "00100020", vr: "LO", pattern: "?*" };

function refusal(plan: () => unknown): string {
  try {
    plan();
    return "accepted";
  } catch (error) {
    return error instanceof FhirError ? `${error.status} ${error.code}` : String(error);
  }
}

describe("Patient search to the engine", () => {
  it("names as fuzzy PN keys, birth dates as DA ranges, genders as sexes", () => {
    expect(patients("name=Mül&given=hans&birthdate=ge1970&gender=male,other")).toEqual({
      level: "patient",
      matches: [
        HAS_ID,
        { kind: "single", tag: "00100010", vr: "PN", value: "Mül", fuzzy: true },
        { kind: "single", tag: "00100010", vr: "PN", value: "hans", fuzzy: true },
        { kind: "range", tag: "00100030", vr: "DA", from: "19700101" },
        { kind: "any-of", tag: "00100040", vr: "CS", values: ["M", "O"] },
      ],
      patients: [],
      none: false,
    });
  });

  it("ids and identifiers as patients to look up", () => {
    expect(patients("_id=PAT-1,P.5F2.-HOSP&identifier=PAT-1,urn:dicom-edge:patient-id|P_2,urn:oid:1.2|P3").patients).toEqual([
      [{ kind: "filter", filter: { id: "PAT-1", issuer: null } }, { kind: "filter", filter: { id: "P_2", issuer: "HOSP" } }],
      [{ kind: "filter", filter: { id: "PAT-1" } }, { kind: "filter", filter: { id: "P_2", issuer: null } }, { kind: "filter", filter: { id: "P3", issuer: "urn:oid:1.2" } }],
    ]);
    expect(patients("identifier=urn:oid:1.2|").matches).toContainEqual({ kind: "single", tag: "00100021", vr: "LO", value: "urn:oid:1.2" });
  });

  it("nothing to ask when every value is foreign", () => {
    expect(patients("_id=a_b").none).toBe(true);
    expect(patients("identifier=|P1").none).toBe(true);
    expect(patients("gender=http://other|male").none).toBe(true);
    expect(patients("identifier=urn:dicom-edge:patient-id|P1").none).toBe(false);
  });

  it("400 for what the engine cannot search", () => {
    expect(refusal(() => patients("name=a,b"))).toBe("400 not-supported");
    expect(refusal(() => patients("name=*"))).toBe("400 invalid");
    expect(refusal(() => patients("name=-"))).toBe("400 invalid");
    expect(refusal(() => patients("gender=unknown"))).toBe("400 not-supported");
    expect(refusal(() => patients("identifier=urn:dicom-edge:patient-id|"))).toBe("400 not-supported");
    expect(refusal(() => patients("identifier=urn:oid:1.2|,P1"))).toBe("400 not-supported");
  });
});

describe("ImagingStudy search to the engine", () => {
  it("UIDs, accession numbers, dates and modalities as keys", () => {
    expect(studies("_id=1.2,1.3&started=2024-01&modality=CT&identifier=ACC-1").matches).toEqual([
      { kind: "uid-list", tag: "0020000D", vr: "UI", uids: ["1.2", "1.3"] },
      { kind: "range", tag: "00080020", vr: "DA", from: "20240101", to: "20240131" },
      { kind: "single", tag: "00080061", vr: "CS", value: "CT" },
      { kind: "single", tag: "00080050", vr: "SH", value: "ACC-1" },
    ]);
    expect(studies("identifier=urn:dicom:uid|urn:oid:1.2,urn:oid:1.3").matches).toEqual([{ kind: "uid-list", tag: "0020000D", vr: "UI", uids: ["1.2", "1.3"] }]);
    expect(studies("identifier=urn:dicom-edge:accession-number|A*1").matches).toEqual([{ kind: "single", tag: "00080050", vr: "SH", value: "A*1" }]);
  });

  it("patient references in their forms", () => {
    expect(studies(`patient=P1,Patient/P2&subject=${BASE}/Patient/P3`).patients).toEqual([
      [{ kind: "filter", filter: { id: "P1", issuer: null } }, { kind: "filter", filter: { id: "P2", issuer: null } }],
      [{ kind: "filter", filter: { id: "P3", issuer: null } }],
    ]);
    expect(studies("subject=Group/1").none).toBe(true);
    expect(studies("subject=https://elsewhere/fhir/Patient/P1").none).toBe(true);
    expect(refusal(() => studies("patient=Group/1"))).toBe("400 invalid");
    expect(refusal(() => studies("patient=Patient/1/_history/2"))).toBe("400 invalid");
  });

  it("status: available asks for everything, the other codes for nothing", () => {
    expect(studies("status=available")).toMatchObject({ matches: [], none: false });
    expect(studies("status=http://hl7.org/fhir/imagingstudy-status|cancelled,available").none).toBe(false);
    expect(studies("status=cancelled").none).toBe(true);
    expect(studies("status=http://other|available").none).toBe(true);
    expect(refusal(() => studies("status=done"))).toBe("400 invalid");
  });

  it("nothing for invalid UIDs and foreign systems, 400 for a mixed identifier list", () => {
    expect(studies("_id=x.y").none).toBe(true);
    expect(studies("identifier=urn:other|1").none).toBe(true);
    expect(studies("modality=http://other|CT").none).toBe(true);
    expect(refusal(() => studies("identifier=urn:oid:1.2,ACC"))).toBe("400 not-supported");
    expect(refusal(() => studies("identifier=urn:dicom:uid|"))).toBe("400 not-supported");
    expect(refusal(() => studies("started=2024,2025"))).toBe("400 not-supported");
  });
});
