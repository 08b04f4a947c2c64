import { describe, expect, it } from "vitest";
import { decodePng } from "./decode-png.testing.ts";
import { crc32, encodePng } from "./png.ts";

describe("crc32", () => {
  it("matches the CRC-32 check value and the IEND CRC", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new TextEncoder().encode("IEND"))).toBe(0xae426082);
  });
});

describe("encodePng", () => {
  it("round-trips a gray image through chunks, CRCs, zlib and filters", async () => {
    const width = 37;
    const height = 11;
    const pixels = new Uint8Array(width * height).map((_, i) => (i * 37 + (i >> 3)) & 0xff);
    const png = await encodePng(pixels, width, height, 1);
    const decoded = await decodePng(png);
    expect(decoded.chunkTypes).toEqual(["IHDR", "IDAT", "IEND"]);
    expect(decoded).toMatchObject({ width, height, bitDepth: 8, colorType: 0 });
    expect(decoded.pixels).toEqual(pixels);
  });

  it("round-trips an RGB image", async () => {
    const width = 5;
    const height = 4;
    const pixels = new Uint8Array(width * height * 3).map((_, i) => (i * 101) & 0xff);
    const decoded = await decodePng(await encodePng(pixels, width, height, 3));
    expect(decoded).toMatchObject({ width, height, colorType: 2 });
    expect(decoded.pixels).toEqual(pixels);
  });

  it("encodes a 1x1 image", async () => {
    const decoded = await decodePng(await encodePng(new Uint8Array([200]), 1, 1, 1));
    expect(Array.from(decoded.pixels)).toEqual([200]);
  });

  it("rejects a buffer of the wrong size", async () => {
    await expect(encodePng(new Uint8Array(3), 2, 2, 1)).rejects.toThrow();
  });
});
