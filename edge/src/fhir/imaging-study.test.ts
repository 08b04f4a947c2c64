import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { describe, expect, it } from "vitest";
import { bodySite } from "./body-site";
import { imagingStudyResource } from "./imaging-study";

const study: DicomJson = {
  "00080020": { vr: "DA", Value: ["20240115"] },
  "00080030": { vr: "TM", Value: ["0930"] },
  "00080061": { vr: "CS", Value: ["CT"] },
  "00100020": { vr: "LO", Value: ["P_1"] },
  "0020000D": { vr: "UI", Value: ["1.2.3"] },
  "00201206": { vr: "IS", Value: [1] },
  "00201208": { vr: "IS", Value: [2] },
};
const series: DicomJson = {
  "00080201": { vr: "SH", Value: ["+0200"] },
  "00180015": { vr: "CS", Value: ["lspine"] },
  "0020000E": { vr: "UI", Value: ["1.2.3.1"] },
  "00200011": { vr: "IS", Value: [-1] },
  "00201209": { vr: "IS", Value: [2] },
  "00400244": { vr: "DA", Value: ["20240115"] },
  "00400245": { vr: "TM", Value: ["094500"] },
};
const instance = (sop: string, n?: number): DicomJson => ({
  "0020000E": { vr: "UI", Value: ["1.2.3.1"] },
  "00080016": { vr: "UI", Value: ["1.2.840.10008.5.1.4.1.1.2"] },
  "00080018": { vr: "UI", Value: [sop] },
  ...(n !== undefined && { "00200013": { vr: "IS", Value: [n] } }),
});

describe("ImagingStudy from the index", () => {
  it("a study without accession, time zone or description; a series without modality", () => {
    const resource = imagingStudyResource({ study, series: [series], instances: new Map([["1.2.3.1", [instance("1.2.3.1.1", 1), instance("1.2.3.1.2")]]]) });
    expect(resource).toEqual({
      resourceType: "ImagingStudy",
      id: "1.2.3",
      identifier: [{ use: "official", system: "urn:dicom:uid", value: "urn:oid:1.2.3" }],
      status: "available",
      modality: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "CT" }],
      subject: { reference: "Patient/P.5F1" },
      started: "2024-01-15",
      endpoint: [{ reference: "Endpoint/dicomweb" }],
      numberOfSeries: 1,
      numberOfInstances: 2,
      series: [
        {
          uid: "1.2.3.1",
          // A negative Series Number is no unsignedInt: left out. No Modality: OT.
          modality: { system: "http://dicom.nema.org/resources/ontology/DCM", code: "OT" },
          numberOfInstances: 2,
          bodySite: { system: "http://snomed.info/sct", code: "122496007", display: "Lumbar spine" },
          // The series' own time zone makes its start a dateTime.
          started: "2024-01-15T09:45:00+02:00",
          instance: [
            { uid: "1.2.3.1.1", sopClass: { system: "urn:ietf:rfc:3986", code: "urn:oid:1.2.840.10008.5.1.4.1.1.2" }, number: 1 },
            { uid: "1.2.3.1.2", sopClass: { system: "urn:ietf:rfc:3986", code: "urn:oid:1.2.840.10008.5.1.4.1.1.2" } },
          ],
        },
      ],
    });
  });

  it("series without instance lists when the instances are not listed, none without series", () => {
    expect(imagingStudyResource({ study, series: [series] }).series![0]!.instance).toBeUndefined();
    expect(imagingStudyResource({ study, series: [] }).series).toBeUndefined();
  });

  it("body sites: only the mapped Defined Terms", () => {
    expect(bodySite("CHEST")).toEqual({ system: "http://snomed.info/sct", code: "816094009", display: "Chest" });
    expect(bodySite("BRAIN")).toBeUndefined();
    expect(bodySite("")).toBeUndefined();
    expect(bodySite(undefined)).toBeUndefined();
  });
});
