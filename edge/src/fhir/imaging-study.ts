/**
 * ImagingStudy (R4 imagingstudy.html) from the index: the study's
 * attributes, its series and, when listed, their instances, with the
 * mapping of DICOM attributes the R4 page gives (PS3.17). Pure.
 */
import { numberValue, stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { bodySite } from "./body-site";
import { fhirDateTime } from "./dicom-time";
import { ENDPOINT_ID } from "./endpoint";
import { patientKeyOf } from "./patient";
import { patientResourceId } from "./patient-id";
import type { Coding, Identifier, ImagingStudy, ImagingStudyInstance, ImagingStudySeries, Reference } from "./r4";

/** Identifier.system of a DICOM UID, whose value is "urn:oid:<uid>" (R4 ImagingStudy.identifier notes). */
export const DICOM_UID_SYSTEM = "urn:dicom:uid";
/** Identifier.system of an Accession Number (0008,0050); its issuer (0008,0051) is not used. */
export const ACCESSION_SYSTEM = "urn:dicom-edge:accession-number";
/** DICOM's code system (PS3.16 DCM), for modalities. */
export const DCM_SYSTEM = "http://dicom.nema.org/resources/ontology/DCM";
/** SOP Class UIDs as URIs (R4 ImagingStudy.series.instance.sopClass). */
export const URI_SYSTEM = "urn:ietf:rfc:3986";

const TAG = {
  studyDate: "00080020",
  studyTime: "00080030",
  accession: "00080050",
  modalitiesInStudy: "00080061",
  timezone: "00080201",
  studyDescription: "00081030",
  patientName: "00100010",
  studyUid: "0020000D",
  seriesCount: "00201206",
  instanceCount: "00201208",
  modality: "00080060",
  seriesDescription: "0008103E",
  bodyPart: "00180015",
  seriesUid: "0020000E",
  seriesNumber: "00200011",
  seriesInstances: "00201209",
  performedDate: "00400244",
  performedTime: "00400245",
  sopClass: "00080016",
  sopInstance: "00080018",
  instanceNumber: "00200013",
} as const;

const ACCESSION_TYPE = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "ACSN", display: "Accession ID" }] };

export interface StudyContent {
  /** A study-level match: patient and study attributes, ModalitiesInStudy and the counts. */
  study: DicomJson;
  /** Series-level matches of the study, in the order to list them. */
  series: DicomJson[];
  /** Instance-level matches per Series Instance UID; undefined when the instances are not listed. */
  instances?: ReadonlyMap<string, DicomJson[]>;
}

export function imagingStudyResource({ study, series, instances }: StudyContent): ImagingStudy {
  const uid = stringValue(study, TAG.studyUid)!;
  const identifier: Identifier[] = [{ use: "official", system: DICOM_UID_SYSTEM, value: `urn:oid:${uid}` }];
  const accession = stringValue(study, TAG.accession)?.trim();
  if (accession) identifier.push({ use: "usual", type: ACCESSION_TYPE, system: ACCESSION_SYSTEM, value: accession });
  const modalities = (study[TAG.modalitiesInStudy]?.Value ?? []).filter((m): m is string => typeof m === "string" && m.trim() !== "");
  const timezone = stringValue(study, TAG.timezone);
  const started = fhirDateTime(stringValue(study, TAG.studyDate), stringValue(study, TAG.studyTime), timezone);
  const description = stringValue(study, TAG.studyDescription)?.trim();
  const numberOfSeries = count(study, TAG.seriesCount);
  const numberOfInstances = count(study, TAG.instanceCount);
  return {
    resourceType: "ImagingStudy",
    id: uid,
    identifier,
    status: "available",
    ...(modalities.length > 0 && { modality: modalities.map(modalityCoding) }),
    subject: subjectOf(study),
    ...(started && { started }),
    endpoint: [{ reference: `Endpoint/${ENDPOINT_ID}` }],
    ...(numberOfSeries !== undefined && { numberOfSeries }),
    ...(numberOfInstances !== undefined && { numberOfInstances }),
    ...(description && { description }),
    ...(series.length > 0 && { series: series.map((s) => seriesElement(s, timezone, instances?.get(stringValue(s, TAG.seriesUid) ?? ""), instances !== undefined)) }),
  };
}

/** Patient/{id}; a study without a Patient ID has no Patient resource, so only a display. */
export function subjectOf(study: DicomJson): Reference {
  const key = patientKeyOf(study);
  if (key) return { reference: `Patient/${patientResourceId(key)}` };
  return { display: "patient without a Patient ID" };
}

export function modalityCoding(code: string): Coding {
  return { system: DCM_SYSTEM, code: code.trim() };
}

function seriesElement(series: DicomJson, timezone: string | undefined, instances: DicomJson[] | undefined, listed: boolean): ImagingStudySeries {
  const number = count(series, TAG.seriesNumber);
  const description = stringValue(series, TAG.seriesDescription)?.trim();
  const numberOfInstances = count(series, TAG.seriesInstances);
  const site = bodySite(stringValue(series, TAG.bodyPart));
  const started = fhirDateTime(stringValue(series, TAG.performedDate), stringValue(series, TAG.performedTime), stringValue(series, TAG.timezone) ?? timezone);
  // Modality (0008,0060) is Type 1 and series.modality 1..1; OT ("Other", PS3.3 C.7.3.1.1.1) when a series lacks it.
  const modality = stringValue(series, TAG.modality)?.trim() || "OT";
  const listedInstances = listed ? (instances ?? []).map(instanceElement) : [];
  return {
    uid: stringValue(series, TAG.seriesUid)!,
    ...(number !== undefined && { number }),
    modality: modalityCoding(modality),
    ...(description && { description }),
    ...(numberOfInstances !== undefined && { numberOfInstances }),
    ...(site && { bodySite: site }),
    ...(started && { started }),
    ...(listedInstances.length > 0 && { instance: listedInstances }),
  };
}

function instanceElement(instance: DicomJson): ImagingStudyInstance {
  const number = count(instance, TAG.instanceNumber);
  return {
    uid: stringValue(instance, TAG.sopInstance)!,
    sopClass: { system: URI_SYSTEM, code: `urn:oid:${stringValue(instance, TAG.sopClass)}` },
    ...(number !== undefined && { number }),
  };
}

/** An unsignedInt (R4: 0 to 2^31-1) from an IS/US value; undefined when it is not one. */
function count(dataset: DicomJson, tag: string): number | undefined {
  const n = numberValue(dataset, tag);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff ? n : undefined;
}
