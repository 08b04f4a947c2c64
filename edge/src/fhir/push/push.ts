/**
 * The push itself: a study as this edge serves it, sent to the external
 * FHIR server by conditional interactions (R4 http.html), so that every
 * push of the same study lands on the same resources there.
 *
 * - Patient: `PUT [base]/Patient?identifier={system}|{value}` (3.1.0.4.3:
 *   creates when nothing matches, updates the one match).
 * - ImagingStudy: `PUT [base]/ImagingStudy?identifier=urn:dicom:uid|urn:oid:{uid}`,
 *   its subject the server's id of that Patient.
 * - A study no longer in the index: `DELETE [base]/ImagingStudy?identifier=...`
 *   (3.1.0.7.1); the Patient stays (other studies, other systems may use it).
 */
import { backendFor } from "../../backends/select";
import type { Env } from "../../env";
import { imagingStudyResource } from "../imaging-study";
import { patientResource } from "../patient";
import type { ImagingStudy, Patient } from "../r4";
import { fhirRequest } from "./client";
import { isPushConfigError, pushConfig, type PushConfig } from "./config";
import { conditionalPath, serverId } from "./conditional";
import { PushError } from "./errors";
import { bodyExcerpt } from "./http";
import { patientIdentifier, remoteImagingStudy, remotePatient, studyIdentifier } from "./remote";
import { studyContent } from "./study-content";

/** What changed: the archive's report of one study (archive/study-events.ts). */
export interface StudyChange {
  study: string;
  kind: "changed" | "deleted";
}

export type PushOutcome =
  | { kind: "off" }
  | { kind: "upserted"; imagingStudy: string; patient?: string }
  | { kind: "deleted" };

/**
 * Pushes a study as the index holds it when this runs, whatever `kind`
 * says: a "changed" study deleted since is deleted there, a "deleted"
 * study that still has instances (a series or an instance deleted) is
 * updated. "off" when FHIR_PUSH_URL is not set; a PushError (code
 * "config" for a half-set configuration) when the push did not happen.
 */
export async function pushStudyChange(env: Env, change: StudyChange): Promise<PushOutcome> {
  const config = pushConfig(env);
  if (config === undefined) return { kind: "off" };
  if (isPushConfigError(config)) throw new PushError("config", `FHIR push is off: ${config.error}`);
  const content = await studyContent(backendFor(env), change.study);
  if (!content) {
    await pushStudyDeleted(config, change.study);
    return { kind: "deleted" };
  }
  return { kind: "upserted", ...(await pushStudy(config, { patient: patientResource(content.study), imagingStudy: imagingStudyResource(content) })) };
}

export interface StudyResources {
  /** Undefined for a study without a Patient ID. */
  patient: Patient | undefined;
  imagingStudy: ImagingStudy;
}

/** Creates or updates the Patient, then the ImagingStudy; the server's ids of both. */
export async function pushStudy(config: PushConfig, resources: StudyResources): Promise<{ imagingStudy: string; patient?: string }> {
  let patient: string | undefined;
  if (resources.patient) {
    const identifier = patientIdentifier(resources.patient);
    if (!identifier) throw new PushError("config", "the Patient has no identifier to find it by");
    patient = await upsert(config, "Patient", conditionalPath("Patient", identifier), remotePatient(resources.patient));
  }
  // The edge's ImagingStudy id is the Study Instance UID.
  const uid = resources.imagingStudy.id;
  const imagingStudy = await upsert(config, "ImagingStudy", conditionalPath("ImagingStudy", studyIdentifier(uid)), remoteImagingStudy(resources.imagingStudy, patient));
  return { imagingStudy, ...(patient !== undefined && { patient }) };
}

/** Deletes the study's ImagingStudy; nothing to delete is success too. */
export async function pushStudyDeleted(config: PushConfig, uid: string): Promise<void> {
  const what = "conditional delete of the ImagingStudy";
  const response = await fhirRequest(config, { method: "DELETE", path: conditionalPath("ImagingStudy", studyIdentifier(uid)), what });
  // R4 3.1.0.7.1: 200/202/204 deleted; no match may be 404 or 200/204.
  if (response.ok || response.status === 404) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  throw await refused(response, what);
}

/** A conditional update; the server's id of the resource. */
async function upsert(config: PushConfig, type: "Patient" | "ImagingStudy", path: string, resource: object): Promise<string> {
  const what = `conditional update of the ${type}`;
  const response = await fhirRequest(config, { method: "PUT", path, body: resource, what });
  if (response.status !== 200 && response.status !== 201) throw await refused(response, what);
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const id = serverId(type, body, response.headers.get("Location") ?? response.headers.get("Content-Location"));
  if (!id) throw new PushError("unexpected-response", `${what}: HTTP ${response.status} without the ${type}'s id (no body, no Location)`);
  return id;
}

/** The server's refusal, with the diagnostics of its OperationOutcome when it sent one. */
async function refused(response: Response, what: string): Promise<PushError> {
  const excerpt = await bodyExcerpt(response, 2000);
  let reason = "";
  try {
    const outcome = JSON.parse(excerpt) as { resourceType?: string; issue?: { diagnostics?: string; details?: { text?: string } }[] };
    if (outcome.resourceType === "OperationOutcome") reason = (outcome.issue ?? []).map((i) => i.diagnostics ?? i.details?.text ?? "").filter(Boolean).join("; ");
  } catch {
    // not an OperationOutcome: the status says it
  }
  return new PushError("refused", `${what}: HTTP ${response.status}${reason ? ` (${reason.slice(0, 300)})` : ""}`);
}
