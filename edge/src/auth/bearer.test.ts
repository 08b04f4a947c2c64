import { describe, expect, it } from "vitest";
import { parseAuthorization } from "./bearer";

describe("parseAuthorization (RFC 6750 2.1)", () => {
  it("takes one b64token after the Bearer scheme, the scheme in any case", () => {
    for (const header of ["Bearer abc.DEF-_~+/x==", "bearer abc.DEF-_~+/x==", "BEARER   abc.DEF-_~+/x==", " Bearer\tabc.DEF-_~+/x== "]) {
      expect(parseAuthorization(header), header).toEqual({ kind: "token", token: "abc.DEF-_~+/x==" });
    }
  });

  it("no header, or another scheme, is no credentials for us: the bare challenge (RFC 6750 3.1)", () => {
    for (const header of [null, undefined, "", "   ", "Basic dXNlcjpwYXNz", "Digest username=x", "Bearerabc"]) {
      expect(parseAuthorization(header), String(header)).toEqual({ kind: "none" });
    }
  });

  it("the Bearer scheme without exactly one well-formed token is malformed", () => {
    for (const header of ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer a=b", 'Bearer "abc"', "Bearer abc\u00e9", "Bearer ab\ncd", "Bearer =abc"]) {
      expect(parseAuthorization(header).kind, JSON.stringify(header)).toBe("malformed");
    }
  });
});
