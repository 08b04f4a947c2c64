import { describe, expect, it } from "vitest";
import { basicAuthorization, DEFAULT_LIFETIME_MS, parseTokenResponse, refreshTime } from "./token";

describe("basicAuthorization (RFC 6749 2.3.1)", () => {
  it("is Basic of id:secret", () => {
    expect(basicAuthorization("edge", "s3cret")).toBe(`Basic ${btoa("edge:s3cret")}`);
  });

  it("form-urlencodes both first, so a ':' in the id cannot split it", () => {
    expect(atob(basicAuthorization("a:b", "p w/+%é").slice(6))).toBe("a%3Ab:p+w%2F%2B%25%C3%A9");
  });
});

describe("parseTokenResponse (RFC 6749 5.1)", () => {
  it("takes the token and counts its lifetime from `now`", () => {
    expect(parseTokenResponse({ access_token: "t", token_type: "Bearer", expires_in: 300 }, 1000)).toEqual({ token: "t", expiresAt: 301_000 });
    expect(parseTokenResponse({ access_token: "t", token_type: "bearer", expires_in: "60" }, 0)).toEqual({ token: "t", expiresAt: 60_000 });
  });

  it("assumes a default lifetime without expires_in", () => {
    expect(parseTokenResponse({ access_token: "t", token_type: "Bearer" }, 0)).toEqual({ token: "t", expiresAt: DEFAULT_LIFETIME_MS });
  });

  it("refuses what is not a bearer token response", () => {
    expect(parseTokenResponse(null, 0)).toMatch(/not a JSON object/);
    expect(parseTokenResponse({ token_type: "Bearer" }, 0)).toMatch(/no access_token/);
    expect(parseTokenResponse({ access_token: "t", token_type: "mac" }, 0)).toMatch(/not Bearer/);
  });
});

describe("refreshTime", () => {
  it("is shortly before expiry: a tenth of the lifetime, at most a minute", () => {
    expect(refreshTime({ token: "t", expiresAt: 3_600_000 }, 0)).toBe(3_540_000);
    expect(refreshTime({ token: "t", expiresAt: 100_000 }, 0)).toBe(90_000);
  });
});
