import { describe, expect, it } from "vitest";
import { fhirDate, fhirDateTime } from "./dicom-time";

describe("DICOM dates and times as FHIR", () => {
  it("dates, ACR-NEMA dates too; invalid ones are left out", () => {
    expect(fhirDate("20240115")).toBe("2024-01-15");
    expect(fhirDate("2024.01.15")).toBe("2024-01-15");
    expect(fhirDate("20000229")).toBe("2000-02-29");
    for (const bad of ["20230229", "20241301", "00000101", "2024", "", undefined]) expect(fhirDate(bad), String(bad)).toBeUndefined();
  });

  it("a time only with a known time zone (R4 dateTime requires one with a time)", () => {
    expect(fhirDateTime("20240115", "093000", "+0100")).toBe("2024-01-15T09:30:00+01:00");
    expect(fhirDateTime("20240115", "0930", "-0500")).toBe("2024-01-15T09:30:00-05:00");
    expect(fhirDateTime("20240115", "09", "+0000")).toBe("2024-01-15T09:00:00+00:00");
    expect(fhirDateTime("20240115", "093000.120000", "+1400")).toBe("2024-01-15T09:30:00.12+14:00");
    expect(fhirDateTime("20240115", "09:30:00", "+0100")).toBe("2024-01-15T09:30:00+01:00");
    expect(fhirDateTime("20240115", "093000", undefined)).toBe("2024-01-15");
    expect(fhirDateTime("20240115", "093000", "+1500")).toBe("2024-01-15");
    expect(fhirDateTime("20240115", "093000", "-1300")).toBe("2024-01-15");
    expect(fhirDateTime("20240115", "253000", "+0100")).toBe("2024-01-15");
    expect(fhirDateTime("20240115", undefined, "+0100")).toBe("2024-01-15");
    expect(fhirDateTime(undefined, "093000", "+0100")).toBeUndefined();
  });
});
