/**
 * The read interaction (R4 http.html#read) of Patient and ImagingStudy:
 * the resource of an id, or 404.
 */
import { isUid } from "@dicom-edge/shared/query/keys";
import { buildQuery, exactKey } from "@dicom-edge/shared/query/build";
import { isQueryError } from "@dicom-edge/shared/query/model";
import type { Backend } from "../backends/backend";
import { imagingStudyResource } from "./imaging-study";
import { FhirError } from "./outcome";
import { patientResource } from "./patient";
import { findPatient } from "./patient-lookup";
import type { ImagingStudy, Patient } from "./r4";
import { patientRefOfId } from "./search";
import { studyContents } from "./study-content";

export async function readPatient(backend: Backend, id: string): Promise<Patient> {
  const ref = patientRefOfId(id);
  const dataset = ref && (await findPatient(backend, ref));
  const patient = dataset && patientResource(dataset);
  if (!patient) throw new FhirError(404, "not-found", `Patient/${id} is not known`);
  return patient;
}

/** ImagingStudy.id is the Study Instance UID. */
export async function readImagingStudy(backend: Backend, id: string): Promise<ImagingStudy> {
  const missing = new FhirError(404, "not-found", `ImagingStudy/${id} is not known`);
  if (!isUid(id)) throw missing;
  const result = await backend.search(buildQuery("study", [exactKey("0020000D", id)], { limit: 1 }));
  if (isQueryError(result)) throw new Error(`the index refused a study read: ${result.reason}`);
  const study = result.matches[0]?.dataset;
  if (!study) throw missing;
  const [content] = await studyContents(backend, [study]);
  return imagingStudyResource(content!);
}
