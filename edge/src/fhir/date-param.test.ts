import { describe, expect, it } from "vitest";
import { dateBounds } from "./date-param";
import { FhirError } from "./outcome";

describe("FHIR date search values as DA ranges", () => {
  const cases: [string, ReturnType<typeof dateBounds>][] = [
    ["2024", { from: "20240101", to: "20241231" }],
    ["eq2024-02", { from: "20240201", to: "20240229" }],
    ["2023-02", { from: "20230201", to: "20230228" }],
    ["2024-01-15", { from: "20240115", to: "20240115" }],
    ["ge2024-01-15", { from: "20240115" }],
    ["gt2024-01-15", { from: "20240116" }],
    ["sa2024-12", { from: "20250101" }],
    ["le2024", { to: "20241231" }],
    ["lt2024-03", { to: "20240229" }],
    ["eb2024-01-01", { to: "20231231" }],
    ["gt0099", { from: "01000101" }],
  ];
  for (const [value, bounds] of cases) it(value, () => expect(dateBounds("started", value)).toEqual(bounds));

  it("refuses ne, ap, times and non-dates with the issue code for each", () => {
    const refusal = (value: string) => {
      try {
        dateBounds("started", value);
      } catch (error) {
        return error instanceof FhirError ? `${error.status} ${error.code}` : "other";
      }
      return "accepted";
    };
    expect(refusal("ne2024")).toBe("400 not-supported");
    expect(refusal("ap2024")).toBe("400 not-supported");
    expect(refusal("2024-01-15T10:00:00Z")).toBe("400 not-supported");
    expect(refusal("2024-02-30")).toBe("400 invalid");
    expect(refusal("20240115")).toBe("400 invalid");
    expect(refusal("xx2024")).toBe("400 invalid");
  });
});
