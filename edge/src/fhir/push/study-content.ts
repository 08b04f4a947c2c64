/**
 * A study as the index holds it now, in the shape imagingStudyResource()
 * takes, read the way FHIR read reads it (../read.ts, ../study-content.ts),
 * so the pushed ImagingStudy is the one this edge serves. Also the
 * study-level dataset the Patient is made from. Null when the study is not
 * in the index (deleted).
 */
import { buildQuery, exactKey } from "@dicom-edge/shared/query/build";
import { isQueryError } from "@dicom-edge/shared/query/model";
import type { Backend } from "../../backends/backend";
import type { StudyContent } from "../imaging-study";
import { studyContents } from "../study-content";

const STUDY_UID = "0020000D";

export async function studyContent(backend: Backend, uid: string): Promise<StudyContent | null> {
  const result = await backend.search(buildQuery("study", [exactKey(STUDY_UID, uid)], { limit: 1 }));
  // A query built here that the engine refuses is a bug, not a push failure.
  if (isQueryError(result)) throw new Error(`the index refused a study read: ${result.reason}`);
  const study = result.matches[0]?.dataset;
  if (!study) return null;
  const [content] = await studyContents(backend, [study]);
  return content ?? null;
}
