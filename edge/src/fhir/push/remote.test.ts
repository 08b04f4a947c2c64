import { describe, expect, it } from "vitest";
import type { ImagingStudy, Patient } from "../r4";
import { patientIdentifier, remoteImagingStudy, remotePatient, studyIdentifier } from "./remote";

const patient: Patient = { resourceType: "Patient", id: "PID-1", identifier: [{ use: "usual", system: "urn:dicom-edge:patient-id", value: "PID-1" }], gender: "female" };
const study: ImagingStudy = {
  resourceType: "ImagingStudy",
  id: "1.2.3",
  identifier: [{ use: "official", system: "urn:dicom:uid", value: "urn:oid:1.2.3" }],
  status: "available",
  subject: { reference: "Patient/PID-1" },
  endpoint: [{ reference: "Endpoint/dicomweb" }],
  numberOfSeries: 1,
};

describe("the resources as pushed", () => {
  it("leave out the edge's ids", () => {
    expect(remotePatient(patient)).toEqual({ resourceType: "Patient", identifier: patient.identifier, gender: "female" });
  });

  it("point the ImagingStudy to the server's Patient and leave out the edge's Endpoint", () => {
    expect(remoteImagingStudy(study, "srv-9")).toEqual({
      resourceType: "ImagingStudy",
      identifier: study.identifier,
      status: "available",
      subject: { reference: "Patient/srv-9" },
      numberOfSeries: 1,
    });
  });

  it("keep only the subject's display for a study without a Patient", () => {
    expect(remoteImagingStudy({ ...study, subject: { display: "patient without a Patient ID" } }, undefined).subject).toEqual({ display: "patient without a Patient ID" });
    expect(remoteImagingStudy(study, undefined).subject).toEqual({ display: "unknown patient" });
  });

  it("are found by the Patient's identifier and the Study Instance UID", () => {
    expect(patientIdentifier(patient)).toEqual({ system: "urn:dicom-edge:patient-id", value: "PID-1" });
    expect(patientIdentifier({ ...patient, identifier: [] })).toBeUndefined();
    expect(studyIdentifier("1.2.3")).toEqual({ system: "urn:dicom:uid", value: "urn:oid:1.2.3" });
  });
});
