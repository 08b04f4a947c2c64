import { describe, expect, it } from "vitest";
import { indexColumns } from "./index-columns.ts";
import { asciiUpper, fuzzyName, fuzzyTokens, normalizeDate, normalizeDateTime, normalizeTime, personNameString } from "./normalize.ts";

describe("fuzzyName", () => {
  it("folds case and accents and spaces every part of every group", () => {
    expect(fuzzyName("Müller^Hans Peter=ミュラー^ハンス")).toBe(" MULLER HANS PETER ミュラー ハンス ");
    expect(fuzzyName("  García-Márquez^José^^Dr.^")).toBe(" GARCIA MARQUEZ JOSE DR ");
    expect(fuzzyName("Øster^Łukasz^Straße")).toBe(" OSTER LUKASZ STRASSE ");
    expect(fuzzyName("")).toBe("");
    expect(fuzzyName("^^=")).toBe("");
  });

  it("keeps Hangul syllables whole and wild cards of a key", () => {
    expect(fuzzyName("홍^길동")).toBe(" 홍 길동 ");
    expect(fuzzyTokens("mül*^h?ns")).toEqual(["MUL*", "H?NS"]);
  });

  it("joins the groups of a JSON Person Name", () => {
    expect(personNameString({ Alphabetic: "Doe^John", Phonetic: "do^jon" })).toBe("Doe^John==do^jon");
    expect(personNameString({ Alphabetic: "Doe^John" })).toBe("Doe^John");
    expect(asciiUpper("doe^jöhn")).toBe("DOE^JöHN");
  });
});

describe("normalizeTime", () => {
  it("pads to HHMMSS.ffffff", () => {
    expect(normalizeTime("10")).toBe("100000.000000");
    expect(normalizeTime("1030")).toBe("103000.000000");
    expect(normalizeTime("103015.5")).toBe("103015.500000");
    expect(normalizeTime("10:30:15.123456 ")).toBe("103015.123456");
    expect(normalizeTime("1030.5")).toBe("");
    expect(normalizeTime("noon")).toBe("");
  });

  it("pads an upper bound with the largest values", () => {
    expect(normalizeTime("10", "upper")).toBe("105959.999999");
    expect(normalizeTime("1030", "upper")).toBe("103059.999999");
    expect(normalizeTime("103015.5", "upper")).toBe("103015.599999");
  });

  it("sorts as text", () => {
    const times = ["235959", "1", "0930", "093000.5", "10"].map((t) => normalizeTime(t)).filter(Boolean);
    expect([...times].sort()).toEqual(["093000.000000", "093000.500000", "100000.000000", "235959.000000"]);
  });
});

describe("normalizeDate and normalizeDateTime", () => {
  it("reads DA and the ACR-NEMA form", () => {
    expect(normalizeDate("20240131")).toBe("20240131");
    expect(normalizeDate("2024.01.31")).toBe("20240131");
    expect(normalizeDate("2024-01-31")).toBe("");
  });

  it("drops the offset and pads an upper bound", () => {
    expect(normalizeDateTime("20240131120000-0500")).toBe("20240131120000");
    expect(normalizeDateTime("2024", "upper")).toBe("20241231235959.999999");
    expect(normalizeDateTime("202402", "upper")).toBe("20240231235959.999999");
  });
});

describe("indexColumns", () => {
  it("gives the values of the 0002_query.sql columns", () => {
    expect(
      indexColumns({ patientName: "Müller^Hans", referringPhysician: "Dr^Who", studyTime: "1030", performedStartTime: "bad" }),
    ).toEqual({
      patient_name_fuzzy: " MULLER HANS ",
      referring_physician_fuzzy: " DR WHO ",
      study_time_norm: "103000.000000",
      performed_start_time_norm: null,
    });
    expect(indexColumns({ patientName: null, referringPhysician: "", studyTime: null, performedStartTime: null })).toEqual({
      patient_name_fuzzy: null,
      referring_physician_fuzzy: null,
      study_time_norm: null,
      performed_start_time_norm: null,
    });
  });
});
