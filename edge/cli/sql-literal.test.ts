import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sqlInteger, sqlIntegerOrNull, sqlText } from "./sql-literal";

describe("sqlText", () => {
  it("doubles single quotes and nothing else", () => {
    expect(sqlText("")).toBe("''");
    expect(sqlText("it's")).toBe("'it''s'");
    expect(sqlText("''")).toBe("''''''");
    expect(sqlText(`a"b\\c;--`)).toBe(`'a"b\\c;--'`);
  });

  it("is one literal whose text is the input, for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")), (s) => {
        const literal = sqlText(s);
        // One quoted token: quotes inside only ever come in pairs.
        expect(literal).toMatch(/^'(?:[^']|'')*'$/s);
        expect(literal.slice(1, -1).replaceAll("''", "'")).toBe(s);
      }),
    );
  });

  it("refuses NUL", () => {
    expect(() => sqlText("a\0b")).toThrow(TypeError);
  });
});

describe("sqlInteger", () => {
  it("writes safe integers", () => {
    expect(sqlInteger(0)).toBe("0");
    expect(sqlInteger(-5)).toBe("-5");
    expect(sqlInteger(1_767_225_600_000)).toBe("1767225600000");
    expect(sqlIntegerOrNull(null)).toBe("NULL");
    expect(sqlIntegerOrNull(7)).toBe("7");
  });

  it.each([1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "1; DROP TABLE x" as unknown as number])("refuses %j", (value) => {
    expect(() => sqlInteger(value)).toThrow(TypeError);
  });
});
