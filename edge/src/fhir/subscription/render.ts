import type { Backend } from "../../backends/backend";
import { FhirError } from "../outcome";
import { readImagingStudy } from "../read";
import type { RenderStudy } from "./notify";

/**
 * The ImagingStudy a notification carries: the resource FHIR read answers
 * (../read.ts), as of the delivery; null when the study is not in the
 * archive (deleted), and then the notification has an empty body.
 */
export function renderStudyWith(backend: Backend): RenderStudy {
  return async (study) => {
    try {
      return await readImagingStudy(backend, study);
    } catch (error) {
      if (error instanceof FhirError && error.status === 404) return null;
      throw error;
    }
  };
}
