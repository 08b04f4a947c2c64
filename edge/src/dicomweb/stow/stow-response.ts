import type { DicomJson } from "@dicom-edge/shared/dicom/part10-reader";
import type { StoreOutcome } from "../../backends/backend";

/**
 * The Store Instances Response Module (PS3.18 10.5.3, Table 10.5.3-1) and
 * its status: 200 when every instance was stored without warnings, 202 when
 * some failed or carry a warning, 409 when none was stored.
 */
export function stowResponse(outcomes: StoreOutcome[], base: string, study?: string): { status: 200 | 202 | 409; body: DicomJson } {
  const referenced: DicomJson[] = [];
  const failed: DicomJson[] = [];
  for (const outcome of outcomes) {
    if (outcome.ok) {
      const item: DicomJson = {
        "00081150": { vr: "UI", Value: [outcome.sopClass] }, // ReferencedSOPClassUID
        "00081155": { vr: "UI", Value: [outcome.sop] }, // ReferencedSOPInstanceUID
        "00081190": { vr: "UR", Value: [`${base}/studies/${outcome.study}/series/${outcome.series}/instances/${outcome.sop}`] }, // RetrieveURL
      };
      if (outcome.warnings.length > 0) item["00081196"] = { vr: "US", Value: outcome.warnings }; // WarningReason
      referenced.push(item);
    } else {
      failed.push({
        "00081150": outcome.sopClass ? { vr: "UI", Value: [outcome.sopClass] } : { vr: "UI" },
        "00081155": outcome.sop ? { vr: "UI", Value: [outcome.sop] } : { vr: "UI" },
        "00081197": { vr: "US", Value: [outcome.reason] }, // FailureReason
      });
    }
  }
  const body: DicomJson = {};
  const stored = outcomes.filter((o) => o.ok);
  const studies = new Set(stored.map((o) => (o.ok ? o.study : "")));
  const single = study ?? (studies.size === 1 ? [...studies][0] : undefined);
  // RetrieveURL of the study, when the stored instances are of one study.
  if (single && stored.length > 0) body["00081190"] = { vr: "UR", Value: [`${base}/studies/${single}`] };
  if (failed.length > 0) body["00081198"] = { vr: "SQ", Value: failed }; // FailedSOPSequence
  if (referenced.length > 0) body["00081199"] = { vr: "SQ", Value: referenced }; // ReferencedSOPSequence
  const warned = referenced.some((item) => item["00081196"]);
  const status = stored.length === 0 ? 409 : failed.length > 0 || warned ? 202 : 200;
  return { status, body };
}
