import { describe, expect, it } from "vitest";
import { fitInside, resampleBox } from "./resample.ts";

describe("fitInside", () => {
  it("shrinks to the limiting side and keeps the aspect ratio", () => {
    expect(fitInside(300, 200, 128, 128)).toEqual({ width: 128, height: 85 });
    expect(fitInside(200, 300, 128, 128)).toEqual({ width: 85, height: 128 });
    expect(fitInside(512, 512, 256, 100)).toEqual({ width: 100, height: 100 });
  });

  it("never enlarges", () => {
    expect(fitInside(64, 32, 128, 128)).toEqual({ width: 64, height: 32 });
  });

  it("keeps at least one pixel", () => {
    expect(fitInside(10000, 1, 10, 10)).toEqual({ width: 10, height: 1 });
  });
});

describe("resampleBox", () => {
  it("averages whole 2x2 blocks", () => {
    const img = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array([0, 255, 10, 20, 255, 0, 30, 40]) };
    const out = resampleBox(img, 2, 1);
    expect(Array.from(out.data)).toEqual([128, 25]);
  });

  it("weights partly covered source pixels by overlap (3 -> 2)", () => {
    const img = { width: 3, height: 1, channels: 1 as const, data: new Uint8Array([0, 90, 180]) };
    // Output 0 covers [0, 1.5): 0·(1/1.5) + 90·(0.5/1.5) = 30; output 1 covers [1.5, 3): 90·(1/3) + 180·(2/3) = 150.
    expect(Array.from(resampleBox(img, 2, 1).data)).toEqual([30, 150]);
  });

  it("keeps channels apart", () => {
    const img = { width: 2, height: 1, channels: 3 as const, data: new Uint8Array([255, 0, 10, 255, 100, 30]) };
    expect(Array.from(resampleBox(img, 1, 1).data)).toEqual([255, 50, 20]);
  });
});
