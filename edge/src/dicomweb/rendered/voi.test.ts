import { describe, expect, it } from "vitest";
import { applyWindow, fullRangeWindow, renderGrayscale, voiLutFunction } from "./voi.ts";

describe("applyWindow", () => {
  it("LINEAR with width 1 is a threshold at the center (C.11.2.1.2.1 note 5)", () => {
    const w = { center: 10, width: 1, fn: "LINEAR" as const };
    expect(applyWindow(9, w)).toBe(0);
    expect(applyWindow(10, w)).toBe(255);
  });

  it("LINEAR 2^n-1 / 2^n is the identity over n-bit values (note 4)", () => {
    const w = { center: 128, width: 256, fn: "LINEAR" as const };
    for (const x of [0, 1, 77, 254, 255]) expect(applyWindow(x, w)).toBeCloseTo(x, 9);
  });

  it("LINEAR_EXACT maps the window ends to 0 and 255", () => {
    const w = { center: 0, width: 100, fn: "LINEAR_EXACT" as const };
    expect(applyWindow(-50, w)).toBe(0);
    expect(applyWindow(50, w)).toBe(255);
    expect(applyWindow(0, w)).toBe(127.5);
  });

  it("SIGMOID is half-way at the center and symmetric", () => {
    const w = { center: 40, width: 400, fn: "SIGMOID" as const };
    expect(applyWindow(40, w)).toBe(127.5);
    expect(applyWindow(140, w) + applyWindow(-60, w)).toBeCloseTo(255, 9);
  });
});

describe("voiLutFunction", () => {
  it("defaults to LINEAR", () => {
    expect(voiLutFunction(undefined)).toBe("LINEAR");
    expect(voiLutFunction("SOMETHING")).toBe("LINEAR");
    expect(voiLutFunction("sigmoid ")).toBe("SIGMOID");
  });
});

describe("renderGrayscale", () => {
  it("handles a negative slope by ordering the modality range", () => {
    // slope -1: SV 0 → 0, SV 10 → -10; full range -10..0 → center -4.5, width 11
    expect(fullRangeWindow(-10, 0)).toEqual({ center: -4.5, width: 11, fn: "LINEAR" });
    const out = renderGrayscale(new Int32Array([0, 10]), { slope: -1, intercept: 0, window: undefined, invert: false });
    expect(Array.from(out)).toEqual([255, 0]);
  });
});
