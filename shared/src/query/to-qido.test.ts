import { describe, expect, it } from "vitest";
import { isQueryError, type Query } from "./model.ts";
import { parseQido, type QidoLevel, type QidoScope } from "./qido.ts";
import { toQido } from "./to-qido.ts";

function parsed(qs: string, level: QidoLevel, scope: QidoScope = {}): Query {
  const query = parseQido(new URLSearchParams(qs), level, scope);
  if (isQueryError(query)) throw new Error(query.reason);
  return query;
}

/** What an upstream server parses from the request toQido makes. */
function roundTrip(query: Query): Query {
  const request = toQido(query);
  if (isQueryError(request)) throw new Error(request.reason);
  return parsed(request.params.toString(), query.level as QidoLevel);
}

describe("toQido", () => {
  it.each([
    ["PatientName=Sm*th^J?hn", "study"],
    ["StudyDate=20200101-20201231&StudyTime=-1200", "study"],
    ["StudyDate=20200101-", "study"],
    ["ModalitiesInStudy=CT\\MR&PatientID=PID1", "study"],
    ["SOPInstanceUID=1.2.3,1.2.4,1.2.5", "instance"],
    ["PatientName=müller&fuzzymatching=true&limit=25&offset=50", "study"],
    ["includefield=00081030,0008103E&includefield=StudyDescription", "series"],
    ["includefield=all", "instance"],
    ["RequestAttributesSequence.ScheduledProcedureStepID=SPS1&RequestAttributesSequence.RequestedProcedureID=RP*", "series"],
    ["SeriesNumber=3&Modality=", "series"],
  ] as [string, QidoLevel][])("sends the same search upstream: %s (%s)", (qs, level) => {
    const query = parsed(qs, level);
    expect(roundTrip(query)).toEqual({ ...query, warnings: [] });
  });

  it("turns the resource path's UIDs into keys of the level's resource", () => {
    const query = parsed("Modality=CT", "instance", { study: "1.2.3", series: "1.2.3.4" });
    const request = toQido(query);
    expect(isQueryError(request)).toBe(false);
    if (isQueryError(request)) return;
    expect(request.path).toBe("/instances");
    expect(request.params.get("0020000D")).toBe("1.2.3");
    expect(request.params.get("0020000E")).toBe("1.2.3.4");
    expect(request.params.get("00080060")).toBe("CT");
  });

  it("refuses a patient-level query, which QIDO-RS has no resource for", () => {
    const result = toQido({ level: "patient", matches: [], includeFields: [], fuzzy: false, offset: 0, warnings: [] });
    expect(isQueryError(result) && result.reason).toMatch(/patient-level/);
  });
});
