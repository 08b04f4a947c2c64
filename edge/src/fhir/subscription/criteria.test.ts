import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { describe, expect, it } from "vitest";
import { patientResourceId } from "../patient-id";
import { meetsCriteria, parseCriteria, type Criteria } from "./criteria";

const BASE = "https://edge.example/fhir";

/** A study as the study-level search returns it (patient and study attributes, ModalitiesInStudy). */
function study(overrides: Partial<Record<"pid" | "issuer" | "uid" | "accession" | "date", string>> & { modalities?: string[] } = {}): DicomJson {
  return {
    "00100020": { vr: "LO", Value: [overrides.pid ?? "PID-1"] },
    ...(overrides.issuer ? { "00100021": { vr: "LO", Value: [overrides.issuer] } } : {}),
    "0020000D": { vr: "UI", Value: [overrides.uid ?? "1.2.3.4"] },
    "00080050": { vr: "SH", Value: [overrides.accession ?? "ACC-7"] },
    "00080020": { vr: "DA", Value: [overrides.date ?? "20240315"] },
    "00080061": { vr: "CS", Value: overrides.modalities ?? ["CT", "SR"] },
  };
}

function criteria(text: string): Criteria {
  const parsed = parseCriteria(text, BASE);
  if (isQueryError(parsed)) throw new Error(parsed.reason);
  return parsed;
}

const hits = (text: string, dataset: DicomJson) => meetsCriteria(criteria(text), dataset);

describe("Subscription criteria", () => {
  it("matches every study without parameters", () => {
    expect(criteria("ImagingStudy").query.matches).toEqual([]);
    expect(hits("ImagingStudy", study())).toBe(true);
    expect(hits("ImagingStudy?", study())).toBe(true);
  });

  it("modality: one of the study's modalities, with or without the DCM system; commas are OR, repeats AND", () => {
    expect(hits("ImagingStudy?modality=CT", study())).toBe(true);
    expect(hits("ImagingStudy?modality=MR", study())).toBe(false);
    expect(hits("ImagingStudy?modality=http://dicom.nema.org/resources/ontology/DCM|SR", study())).toBe(true);
    expect(hits("ImagingStudy?modality=http://snomed.info/sct|CT", study())).toBe(false);
    expect(hits("ImagingStudy?modality=MR,SR", study())).toBe(true);
    expect(hits("ImagingStudy?modality=CT&modality=SR", study())).toBe(true);
    expect(hits("ImagingStudy?modality=CT&modality=MR", study())).toBe(false);
  });

  it("patient and subject: this server's Patient ids, issuer included", () => {
    expect(hits("ImagingStudy?patient=Patient/PID-1", study())).toBe(true);
    expect(hits("ImagingStudy?patient=PID-1", study())).toBe(true);
    expect(hits(`ImagingStudy?subject=${BASE}/Patient/PID-1`, study())).toBe(true);
    expect(hits("ImagingStudy?subject=https://elsewhere.example/fhir/Patient/PID-1", study())).toBe(false);
    expect(hits("ImagingStudy?patient=Patient/PID-2", study())).toBe(false);
    expect(hits("ImagingStudy?patient=Patient/PID-1,PID-2", study())).toBe(true);
    expect(hits("ImagingStudy?patient=Patient/PID-1", study({ issuer: "HOSP" }))).toBe(false);
    const withIssuer = `ImagingStudy?patient=Patient/${patientResourceId({ id: "PAT_1", issuer: "HOSP A" })}`;
    expect(hits(withIssuer, study({ pid: "PAT_1", issuer: "HOSP A" }))).toBe(true);
    expect(hits(withIssuer, study({ pid: "PAT_1", issuer: "HOSP B" }))).toBe(false);
    const long = { id: "P".repeat(70), issuer: "HOSP" };
    expect(hits(`ImagingStudy?patient=Patient/${patientResourceId(long)}`, study({ pid: long.id, issuer: long.issuer }))).toBe(true);
    expect(hits(`ImagingStudy?patient=Patient/${patientResourceId(long)}`, study({ pid: long.id }))).toBe(false);
  });

  it("identifier: the Study Instance UID as urn:oid, or the accession number", () => {
    expect(hits("ImagingStudy?identifier=urn:dicom:uid|urn:oid:1.2.3.4", study())).toBe(true);
    expect(hits("ImagingStudy?identifier=urn:oid:1.2.3.4", study())).toBe(true);
    expect(hits("ImagingStudy?identifier=urn:oid:1.2.3.5", study())).toBe(false);
    expect(hits("ImagingStudy?identifier=urn:oid:1.2.3.5,urn:oid:1.2.3.4", study())).toBe(true);
    expect(hits("ImagingStudy?identifier=ACC-7", study())).toBe(true);
    expect(hits("ImagingStudy?identifier=ACC-8", study())).toBe(false);
  });

  it("started: the Study Date against a period, with prefixes", () => {
    expect(hits("ImagingStudy?started=2024-03-15", study())).toBe(true);
    expect(hits("ImagingStudy?started=2024-03", study())).toBe(true);
    expect(hits("ImagingStudy?started=2024", study())).toBe(true);
    expect(hits("ImagingStudy?started=2024-03-14", study())).toBe(false);
    expect(hits("ImagingStudy?started=ge2024-03-15", study())).toBe(true);
    expect(hits("ImagingStudy?started=gt2024-03-15", study())).toBe(false);
    expect(hits("ImagingStudy?started=lt2024-03-16", study())).toBe(true);
    expect(hits("ImagingStudy?started=le2024-02", study())).toBe(false);
    expect(hits("ImagingStudy?started=ge2024-01-01&started=lt2024-04", study())).toBe(true);
    expect(hits("ImagingStudy?started=ge2024-01-01&started=lt2024-03", study())).toBe(false);
  });

  it("combines parameters with AND; status=available is every stored study", () => {
    expect(hits("ImagingStudy?modality=CT&patient=PID-1&started=2024", study())).toBe(true);
    expect(hits("ImagingStudy?modality=CT&patient=PID-2&started=2024", study())).toBe(false);
    expect(hits("ImagingStudy?status=available", study())).toBe(true);
    expect(hits("ImagingStudy?status=cancelled", study())).toBe(false);
  });

  it.each([
    ["Patient?name=x", /ImagingStudy/],
    ["ImagingStudyX", /ImagingStudy/],
    ["ImagingStudy?bodysite=T-D4000", /unknown search parameter "bodysite"/],
    ["ImagingStudy?modality:not=CT", /modifier :not/],
    ["ImagingStudy?_count=10", /result parameter/],
    ["ImagingStudy?identifier=urn:oid:1.2.3,ACC-1", /both/],
    ["ImagingStudy?started=2024-03-15T10:00:00Z", /times are not supported/],
    ["ImagingStudy?started=2024-02-30", /not a date/],
    ["ImagingStudy?patient=Group/1", /not a reference to a Patient/],
  ])("refuses %s", (text, reason) => {
    const parsed = parseCriteria(text, BASE);
    expect(isQueryError(parsed) && parsed.reason).toMatch(reason);
  });
});
