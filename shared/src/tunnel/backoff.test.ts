import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextDelay } from "./backoff.ts";

describe("nextDelay", () => {
  it("doubles the cap per attempt up to maxMs", () => {
    const top = () => 0.999_999;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((a) => nextDelay(a, { random: top }))).toEqual([
      499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999,
    ]);
    expect(nextDelay(10_000, { random: top })).toBe(29_999);
  });

  it("is full jitter: anywhere from 0 to the cap", () => {
    expect(nextDelay(5, { random: () => 0 })).toBe(0);
    expect(nextDelay(5, { random: () => 0.5 })).toBe(8_000);
  });

  it("takes its base and cap as options, and treats odd attempts as the first", () => {
    expect(nextDelay(3, { baseMs: 100, maxMs: 500, random: () => 0.5 })).toBe(250);
    for (const attempt of [-1, Number.NaN]) expect(nextDelay(attempt, { random: () => 0.5 })).toBe(250);
  });

  it("stays a whole number in [0, min(maxMs, baseMs * 2^attempt)]", () => {
    fc.assert(
      fc.property(fc.nat(200), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, baseMs, maxMs, r) => {
        const delay = nextDelay(attempt, { baseMs, maxMs, random: () => r });
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(maxMs, baseMs * 2 ** attempt));
      }),
    );
  });

  it("uses Math.random by default", () => {
    const delays = Array.from({ length: 50 }, () => nextDelay(2));
    expect(delays.every((d) => d >= 0 && d < 2_000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });
});
