import { describe, expect, it } from "vitest";
import { writeDataset, readDataset } from "../dicom/dataset-codec.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "../dicom/transfer-syntax.ts";
import { parseCFindIdentifier } from "./c-find.ts";
import { isQueryError, type Match, type Query } from "./model.ts";
import { parseQido, type QidoLevel, type QidoScope } from "./qido.ts";
import { PATIENT_ROOT_FIND, STUDY_ROOT_FIND, findIdentifier, matchDataset } from "./to-c-find.ts";

function qido(qs: string, level: QidoLevel, scope: QidoScope = {}): Query {
  const query = parseQido(new URLSearchParams(qs), level, scope);
  if (isQueryError(query)) throw new Error(query.reason);
  return query;
}

function identifierOf(query: Query) {
  const built = findIdentifier(query);
  if (isQueryError(built)) throw new Error(built.reason);
  return built;
}

/** The keys that constrain: what a PACS must match on. */
function constraining(matches: Match[]): Match[] {
  return matches.filter((m) => m.kind !== "universal").sort((a, b) => (a.tag < b.tag ? -1 : 1));
}

describe("findIdentifier", () => {
  it.each([
    ["PatientName=Sm*th^J?hn", "study"],
    ["StudyDate=20200101-20201231&StudyTime=-1200", "study"],
    ["ModalitiesInStudy=CT\\MR&PatientID=PID1", "study"],
    ["SOPInstanceUID=1.2.3,1.2.4,1.2.5", "instance"],
    ["SeriesNumber=3&Modality=CT", "series"],
    ["RequestAttributesSequence.ScheduledProcedureStepID=SPS1&RequestAttributesSequence.RequestedProcedureID=RP*", "series"],
    ["PatientName=müller", "study"],
  ] as [string, QidoLevel][])("asks the PACS the same keys, as the C-FIND identifier is read back: %s (%s)", (qs, level) => {
    const query = qido(qs, level);
    for (const syntax of [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN]) {
      // Through the wire encoding, as the PACS receives it.
      const onTheWire = readDataset(writeDataset(identifierOf(query).identifier, syntax), syntax);
      const back = parseCFindIdentifier(onTheWire);
      if (isQueryError(back)) throw new Error(back.reason);
      expect(back.level).toBe(query.level);
      expect(constraining(back.matches)).toEqual(constraining(query.matches));
    }
  });

  it("asks Study Root for the level's defaults and unique keys, RetrieveURL aside, and the include fields", () => {
    const { sopClass, identifier } = identifierOf(qido("includefield=00081030", "series", { study: "1.2.3" }));
    expect(sopClass).toBe(STUDY_ROOT_FIND);
    expect(identifier["00080052"]).toEqual({ vr: "CS", Value: ["SERIES"] });
    expect(identifier["0020000D"]).toEqual({ vr: "UI", Value: ["1.2.3"] });
    expect(identifier["0020000E"]).toEqual({ vr: "UI" });
    expect(identifier["00080060"]).toEqual({ vr: "CS" });
    expect(identifier["00081030"]).toEqual({ vr: "LO" });
    expect(identifier["00081190"]).toBeUndefined();
    // Hierarchical search (PS3.4 C.4.1.3.1): no study-level return keys at SERIES level.
    expect(identifier["00100010"]).toBeUndefined();
  });

  it("asks an instance's SOP Class and Instance UIDs, and uses Patient Root for the PATIENT level", () => {
    const instance = identifierOf(qido("", "instance", { study: "1.2.3", series: "1.2.3.4" })).identifier;
    expect(Object.keys(instance)).toEqual(expect.arrayContaining(["0020000D", "0020000E", "00080016", "00080018"]));
    const patient = identifierOf({ level: "patient", matches: [{ kind: "wildcard", tag: "00100010", vr: "PN", pattern: "DOE*" }], includeFields: [], fuzzy: false, offset: 0, warnings: [] });
    expect(patient.sopClass).toBe(PATIENT_ROOT_FIND);
    expect(patient.identifier["00080052"]).toEqual({ vr: "CS", Value: ["PATIENT"] });
    expect(patient.identifier["00100010"]).toEqual({ vr: "PN", Value: [{ Alphabetic: "DOE*" }] });
    expect(patient.identifier["00100020"]).toEqual({ vr: "LO" });
  });

  it("refuses an include field with no VR to ask it by", () => {
    const query = qido("", "study");
    const result = findIdentifier({ ...query, includeFields: ["00091001"] });
    expect(isQueryError(result)).toBe(true);
  });

  it("takes the Query/Retrieve Level out of a response identifier", () => {
    expect(matchDataset({ "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI", Value: ["1.2"] } })).toEqual({ "0020000D": { vr: "UI", Value: ["1.2"] } });
  });
});
