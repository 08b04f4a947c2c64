/**
 * The Patient and ImagingStudy as the external server gets them, made from
 * the ones this edge serves (patient.ts, imaging-study.ts). Pure.
 *
 * - No `id`: the server has its own ids. The resource is found by its
 *   identifier (conditional update), and R4 lets a server refuse a create
 *   with a client-chosen id (Medplum does).
 * - ImagingStudy.subject is Patient/{the server's id for our Patient}.
 * - No ImagingStudy.endpoint: the edge's is "Endpoint/dicomweb", relative to
 *   its own FHIR base; on another server it would name nothing (one that
 *   checks references refuses it), and a queue consumer has no request
 *   origin to make it absolute. Clients find the images through the
 *   Study Instance UID in the identifier.
 */
import { DICOM_UID_SYSTEM } from "../imaging-study";
import type { Identifier, ImagingStudy, Patient } from "../r4";

export type RemotePatient = Omit<Patient, "id">;
export type RemoteImagingStudy = Omit<ImagingStudy, "id" | "endpoint">;

export function remotePatient(patient: Patient): RemotePatient {
  const { id: _id, ...rest } = patient;
  return rest;
}

/** `patientId`: the server's id of the study's Patient; undefined when the study has none (no Patient ID). */
export function remoteImagingStudy(study: ImagingStudy, patientId: string | undefined): RemoteImagingStudy {
  const { id: _id, endpoint: _endpoint, subject, ...rest } = study;
  // Without a Patient there is nothing on the server to point to: keep only the display.
  const remoteSubject = patientId !== undefined ? { reference: `Patient/${patientId}` } : subject.display !== undefined ? { display: subject.display } : { display: "unknown patient" };
  return { ...rest, subject: remoteSubject };
}

/** The identifier a Patient is found by on the server: its first one with a system and a value. */
export function patientIdentifier(patient: Patient): Required<Pick<Identifier, "system" | "value">> | undefined {
  const found = patient.identifier?.find((i) => i.system && i.value);
  return found && { system: found.system!, value: found.value! };
}

/** The identifier an ImagingStudy is found by: its Study Instance UID (R4 ImagingStudy.identifier notes). */
export function studyIdentifier(uid: string): Required<Pick<Identifier, "system" | "value">> {
  return { system: DICOM_UID_SYSTEM, value: `urn:oid:${uid}` };
}
