import { describe, expect, it } from "vitest";
import type { DicomJson } from "../dicom/json.ts";
import { matches } from "./match.ts";
import { isQueryError, type Query } from "./model.ts";
import { parseQido, type QidoLevel } from "./qido.ts";

function query(qs: string, level: QidoLevel = "study"): Query {
  const q = parseQido(new URLSearchParams(qs), level);
  if (isQueryError(q)) throw new Error(q.reason);
  return q;
}

const study: DicomJson = {
  "00080020": { vr: "DA", Value: ["20240315"] },
  "00080030": { vr: "TM", Value: ["1030"] },
  "00080050": { vr: "SH", Value: ["ACC_10%"] },
  "00080061": { vr: "CS", Value: ["CT", "PT"] },
  "00080090": { vr: "PN", Value: [{ Alphabetic: "Who^Doctor" }] },
  "00081030": { vr: "LO", Value: ["Chest [PA]"] },
  "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans Peter", Ideographic: "ミュラー^ハンス" }] },
  "00100020": { vr: "LO", Value: ["XPID42"] },
  "0020000D": { vr: "UI", Value: ["1.2.3"] },
  "00200010": { vr: "SH" },
  "00201206": { vr: "IS", Value: [2] },
};

const series: DicomJson = {
  ...study,
  "00080060": { vr: "CS", Value: ["CT"] },
  "0020000E": { vr: "UI", Value: ["1.2.3.4"] },
  "00200011": { vr: "IS", Value: [3] },
  "00400244": { vr: "DA", Value: ["20240315"] },
  "00400245": { vr: "TM", Value: ["103015.25"] },
  "00400275": {
    vr: "SQ",
    Value: [
      { "00400009": { vr: "SH", Value: ["SPS1"] }, "00401001": { vr: "SH", Value: ["RP1"] } },
      { "00400009": { vr: "SH", Value: ["SPS2"] }, "00401001": { vr: "SH", Value: ["RP2"] } },
    ],
  },
};

const instance: DicomJson = {
  ...series,
  "00080016": { vr: "UI", Value: ["1.2.840.10008.5.1.4.1.1.2"] },
  "00080018": { vr: "UI", Value: ["1.2.3.4.5"] },
  "0008002A": { vr: "DT", Value: ["20240315103015+0100"] },
  "00200013": { vr: "IS", Value: [7] },
  "00280010": { vr: "US", Value: [512] },
};

const yes = (qs: string, ds: DicomJson = study, level: QidoLevel = "study") => expect(matches(query(qs, level), ds), qs).toBe(true);
const no = (qs: string, ds: DicomJson = study, level: QidoLevel = "study") => expect(matches(query(qs, level), ds), qs).toBe(false);

describe("matches: single value (PS3.4 C.2.2.2.1)", () => {
  it("is exact and case-sensitive except for PN", () => {
    yes("PatientID=XPID42");
    no("PatientID=xpid42");
    no("PatientID=XPID4");
    yes("PatientName=m%C3%BCLLER^hans%20peter"); // müLLER^hans peter
    // Case folding is ASCII-only, like SQLite's NOCASE: Ü is not ü.
    no("PatientName=M%C3%9CLLER^HANS%20PETER");
    no("PatientName=Muller^Hans%20Peter");
    yes("StudyDate=20240315");
    no("StudyDate=20240316");
  });

  it("compares numbers as numbers and times as instants", () => {
    yes("NumberOfStudyRelatedSeries=2");
    yes("NumberOfStudyRelatedSeries=%2B02");
    no("NumberOfStudyRelatedSeries=3");
    yes("StudyTime=103000");
    no("StudyTime=1031");
    yes("InstanceNumber=7&Rows=512", instance, "instance");
  });

  it("never matches an absent or empty value", () => {
    no("StudyID=X");
    no("IssuerOfPatientID=X");
  });
});

describe("matches: universal (C.2.2.2.3)", () => {
  it("matches whether the attribute has a value or not", () => {
    yes("StudyID=&IssuerOfPatientID=&PatientName=*");
  });
});

describe("matches: wild cards (C.2.2.2.4)", () => {
  it("* is any run, ? one character, case-sensitive", () => {
    yes("00100020=*PID*");
    yes("PatientID=XPID4?");
    yes("PatientID=*42");
    yes("PatientID=XPID42*");
    no("PatientID=XPID4??");
    no("PatientID=*pid*");
  });

  it("takes %, _ and [ literally", () => {
    yes("AccessionNumber=ACC_10%25");
    yes("AccessionNumber=ACC?10*");
    no("AccessionNumber=ACC%2510*");
    yes("StudyDescription=Chest%20[PA]*");
    no("StudyDescription=Chest%20P*");
  });

  it("is case-insensitive on the Alphabetic group of PN", () => {
    yes("PatientName=m%C3%BCller*");
    yes("PatientName=*hans*");
    no("PatientName=muller*");
    no("PatientName=%E3%83%9F*"); // ミ*: the Ideographic group is not matched literally
  });
});

describe("matches: ranges (C.2.2.2.5)", () => {
  it("dates, closed and open at either end", () => {
    yes("StudyDate=20240101-20241231");
    yes("StudyDate=20240315-20240315");
    yes("StudyDate=20240315-");
    yes("StudyDate=-20240315");
    no("StudyDate=20240316-");
    no("StudyDate=-20240314");
    no("StudyDate=20250101-20251231");
  });

  it("times, with an upper bound covering its whole period", () => {
    yes("StudyTime=1000-1100");
    yes("StudyTime=-10");
    yes("StudyTime=1030-");
    no("StudyTime=1031-");
    yes("PerformedProcedureStepStartTime=103015.25-103015.25", series, "series");
    yes("PerformedProcedureStepStartTime=1030-1030", series, "series");
    no("PerformedProcedureStepStartTime=103016-", series, "series");
  });

  it("date-times, compared as written", () => {
    yes("AcquisitionDateTime=2024-2024", instance, "instance");
    yes("AcquisitionDateTime=20240315103015-", instance, "instance");
    no("AcquisitionDateTime=202403151031-", instance, "instance");
  });
});

describe("matches: lists", () => {
  it("a UID list matches any of its UIDs (C.2.2.2.2)", () => {
    yes("StudyInstanceUID=9.9,1.2.3");
    yes("StudyInstanceUID=9.9%5C1.2.3");
    no("StudyInstanceUID=9.9,9.8");
    yes("SOPInstanceUID=1.2.3.4.5&SOPInstanceUID=1", instance, "instance");
  });

  it("several values of another VR match any of them", () => {
    yes("Modality=MR%5CCT", series, "series");
    no("Modality=MR%5CPT", series, "series");
  });

  it("a multi-valued attribute matches when one value does (C.2.2.3)", () => {
    yes("ModalitiesInStudy=PT");
    yes("ModalitiesInStudy=MR%5CCT");
    yes("ModalitiesInStudy=P?");
    no("ModalitiesInStudy=MR");
  });
});

describe("matches: sequences (C.2.2.2.6)", () => {
  it("needs one item matching every item key", () => {
    yes("00400275.00400009=SPS2", series, "series");
    yes("RequestAttributesSequence.ScheduledProcedureStepID=SPS1&00400275.00401001=RP1", series, "series");
    no("RequestAttributesSequence.ScheduledProcedureStepID=SPS1&00400275.00401001=RP2", series, "series");
    no("00400275.00400009=SPS3", series, "series");
    no("00400275.00400009=SPS1", study, "series");
  });

  it("is universal without item keys", () => {
    yes("RequestAttributesSequence=", study, "series");
    const q = query("", "series");
    q.matches.push({ kind: "sequence", tag: "00400275", vr: "SQ", items: [{ kind: "universal", tag: "00400009", vr: "SH" }] });
    expect(matches(q, study)).toBe(true);
  });
});

describe("matches: fuzzy person names", () => {
  it("ignores case and accents and finds any part by prefix, in any group", () => {
    yes("fuzzymatching=true&PatientName=muller");
    yes("fuzzymatching=true&PatientName=HANS");
    yes("fuzzymatching=true&PatientName=pet");
    yes("fuzzymatching=true&PatientName=pet^mul");
    yes("fuzzymatching=true&PatientName=%E3%83%8F%E3%83%B3"); // ハン
    yes("fuzzymatching=true&PatientName=m?l*r");
    yes("fuzzymatching=true&ReferringPhysicianName=doc");
    no("fuzzymatching=true&PatientName=uller");
    no("fuzzymatching=true&PatientName=hans^maria");
    no("fuzzymatching=false&PatientName=muller");
  });
});

describe("matches: hierarchy", () => {
  it("applies every key, from any level of the dataset", () => {
    yes("StudyDate=20240101-&Modality=CT&SOPClassUID=1.2.840.10008.5.1.4.1.1.2&fuzzymatching=true&PatientName=hans", instance, "instance");
    no("StudyDate=20240101-&Modality=CT&SOPClassUID=1.2.840.10008.5.1.4.1.1.4", instance, "instance");
  });
});
