import { describe, expect, it } from "vitest";
import { parseRenderParameters } from "./parameters.ts";
import { RenderError } from "./render-error.ts";

const url = (query: string) => new URL(`http://x/studies/1/series/2/instances/3/rendered${query}`);

function errorCode(result: unknown): string | undefined {
  return result instanceof RenderError ? result.code : undefined;
}

describe("media type", () => {
  it("defaults to image/jpeg", () => {
    expect(parseRenderParameters(url(""), null, "rendered")).toEqual({ mediaType: "image/jpeg" });
    expect(parseRenderParameters(url(""), "*/*", "rendered")).toEqual({ mediaType: "image/jpeg" });
    expect(parseRenderParameters(url(""), "image/*", "rendered")).toEqual({ mediaType: "image/jpeg" });
  });

  it("honours image/png and q-values", () => {
    expect(parseRenderParameters(url(""), "image/png", "rendered")).toEqual({ mediaType: "image/png" });
    expect(parseRenderParameters(url(""), "image/jpeg;q=0.5, image/png", "rendered")).toEqual({ mediaType: "image/png" });
    expect(parseRenderParameters(url(""), "image/*, image/jpeg;q=0", "rendered")).toEqual({ mediaType: "image/png" });
  });

  it("lets the accept query parameter replace the header", () => {
    expect(parseRenderParameters(url("?accept=image/png"), "image/jpeg", "rendered")).toEqual({ mediaType: "image/png" });
  });

  it("answers not-acceptable for other types", () => {
    const result = parseRenderParameters(url(""), "image/gif, application/dicom", "rendered");
    expect(errorCode(result)).toBe("not-acceptable");
    expect((result as RenderError).status).toBe(406);
    expect(errorCode(parseRenderParameters(url(""), "image/jpeg;q=0", "rendered"))).toBe("not-acceptable");
  });
});

describe("window", () => {
  it("reads center, width and function", () => {
    expect(parseRenderParameters(url("?window=40,400,linear"), null, "rendered")).toEqual({
      mediaType: "image/jpeg",
      window: { center: 40, width: 400, function: "linear" },
    });
    expect(parseRenderParameters(url("?window=-600.5,1500,sigmoid"), null, "rendered")).toMatchObject({
      window: { center: -600.5, width: 1500, function: "sigmoid" },
    });
    expect(parseRenderParameters(url("?window=0,0.5,linear-exact"), null, "rendered")).toMatchObject({
      window: { center: 0, width: 0.5, function: "linear-exact" },
    });
  });

  it("defaults the function to linear", () => {
    expect(parseRenderParameters(url("?window=40,400"), null, "rendered")).toMatchObject({ window: { function: "linear" } });
  });

  it("rejects malformed windows", () => {
    for (const q of ["?window=40", "?window=a,400,linear", "?window=40,400,cubic", "?window=40,0.5,linear", "?window=40,0,sigmoid", "?window=1,2,linear,4", "?window=40,400&window=1,2"]) {
      expect(errorCode(parseRenderParameters(url(q), null, "rendered"))).toBe("bad-parameters");
    }
  });
});

describe("viewport and quality", () => {
  it("reads vw,vh and quality", () => {
    expect(parseRenderParameters(url("?viewport=512,256&quality=75"), "image/jpeg", "rendered")).toEqual({
      mediaType: "image/jpeg",
      viewport: { width: 512, height: 256 },
      quality: 75,
    });
  });

  it("accepts empty source region values", () => {
    expect(parseRenderParameters(url("?viewport=64,64,,,,"), null, "rendered")).toMatchObject({ viewport: { width: 64, height: 64 } });
  });

  it("rejects bad viewports and qualities", () => {
    for (const q of ["?viewport=0,10", "?viewport=10", "?viewport=1.5,2", "?viewport=10,10,0,0,5,5", "?quality=0", "?quality=101", "?quality=high"]) {
      expect(errorCode(parseRenderParameters(url(q), null, "rendered"))).toBe("bad-parameters");
    }
  });
});

describe("thumbnail", () => {
  it("defaults to a 128x128 viewport", () => {
    expect(parseRenderParameters(url(""), null, "thumbnail")).toEqual({ mediaType: "image/jpeg", viewport: { width: 128, height: 128 } });
  });

  it("takes vw,vh only and ignores rendered-only parameters", () => {
    expect(parseRenderParameters(url("?viewport=64,32&window=1,2,linear&quality=5"), "image/png", "thumbnail")).toEqual({
      mediaType: "image/png",
      viewport: { width: 64, height: 32 },
    });
    expect(errorCode(parseRenderParameters(url("?viewport=64,32,0,0"), null, "thumbnail"))).toBe("bad-parameters");
  });
});
