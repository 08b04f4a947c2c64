import { describe, expect, it } from "vitest";
import { UNCONFIGURED_REASON, authConfig } from "./config";
import { generateSigningKey } from "./edge-tokens";

const { publicJwk, privateJwk } = await generateSigningKey("k1");
const KEYS = JSON.stringify({ keys: [publicJwk] });
const OIDC = { OIDC_ISSUER: "https://idp.example", OIDC_AUDIENCE: "api", OIDC_JWKS_URL: "https://idp.example/jwks" };

describe("authConfig", () => {
  it("AUTH_DISABLED turns auth off only with its one exact value", () => {
    expect(authConfig({ AUTH_DISABLED: "local-development-only" })).toEqual({ mode: "disabled" });
    for (const value of ["true", "1", "yes", "local-development", "LOCAL-DEVELOPMENT-ONLY", " local-development-only"]) {
      expect(authConfig({ AUTH_DISABLED: value, TOKEN_PUBLIC_KEYS: KEYS }).mode, value).toBe("on");
    }
  });

  it("fails closed without an issuer, and says what to set", () => {
    expect(authConfig({})).toEqual({ mode: "unconfigured", reason: UNCONFIGURED_REASON });
    expect(authConfig({ TOKEN_PUBLIC_KEYS: " " })).toEqual({ mode: "unconfigured", reason: UNCONFIGURED_REASON });
    expect(UNCONFIGURED_REASON).toMatch(/TOKEN_PUBLIC_KEYS.*OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL/);
  });

  it("takes either issuer or both", () => {
    expect(authConfig({ TOKEN_PUBLIC_KEYS: KEYS })).toMatchObject({ mode: "on", edge: { keys: { keys: [publicJwk] } }, oidc: undefined });
    expect(authConfig(OIDC)).toMatchObject({ mode: "on", edge: undefined, oidc: { issuer: "https://idp.example", audience: "api", scopePrefix: "" } });
    const both = authConfig({ TOKEN_PUBLIC_KEYS: KEYS, ...OIDC, OIDC_SCOPE_PREFIX: "dicom-edge." });
    expect(both).toMatchObject({ mode: "on", edge: {}, oidc: { scopePrefix: "dicom-edge." } });
  });

  it("refuses a TOKEN_PUBLIC_KEYS that is not a set of public P-256 keys with distinct kids", () => {
    const reason = (raw: string) => {
      const config = authConfig({ TOKEN_PUBLIC_KEYS: raw });
      return config.mode === "unconfigured" ? config.reason : "accepted";
    };
    expect(reason("{keys")).toMatch(/not JSON/);
    expect(reason("[]")).toMatch(/JWK Set/);
    expect(reason(JSON.stringify({ keys: [] }))).toMatch(/at least one key/);
    expect(reason(JSON.stringify({ keys: [{ ...publicJwk, kid: undefined }] }))).toMatch(/needs a kid/);
    expect(reason(JSON.stringify({ keys: [publicJwk, publicJwk] }))).toMatch(/kid k1 appears twice/);
    expect(reason(JSON.stringify({ keys: [privateJwk] }))).toMatch(/private key/);
    expect(reason(JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "h" }] }))).toMatch(/not a P-256 EC key/);
    expect(reason(JSON.stringify({ keys: [{ ...publicJwk, alg: "ES384" }] }))).toMatch(/not for ES256/);
  });

  it("refuses half an OpenID Connect setup, and keys fetched in the clear", () => {
    const reason = (env: Record<string, string>) => {
      const config = authConfig({ TOKEN_PUBLIC_KEYS: KEYS, ...env });
      return config.mode === "unconfigured" ? config.reason : "accepted";
    };
    expect(reason({ OIDC_ISSUER: "https://idp.example" })).toBe("OpenID Connect is half configured: set OIDC_AUDIENCE and OIDC_JWKS_URL too");
    expect(reason({ ...OIDC, OIDC_JWKS_URL: "not a url" })).toMatch(/not a URL/);
    expect(reason({ ...OIDC, OIDC_JWKS_URL: "http://idp.example/jwks" })).toMatch(/must be https/);
    expect(reason({ ...OIDC, OIDC_JWKS_URL: "http://127.0.0.1:8080/jwks" })).toBe("accepted");
    expect(reason({ ...OIDC, OIDC_JWKS_URL: "http://localhost/jwks" })).toBe("accepted");
  });
});
