import { describe, expect, it } from "vitest";
import { pushConfig } from "./config";

const BASE = { FHIR_PUSH_URL: "https://fhir.example/R4/" };
const CLIENT = { FHIR_PUSH_TOKEN_URL: "https://idp.example/token", FHIR_PUSH_CLIENT_ID: "edge", FHIR_PUSH_CLIENT_SECRET: "s3cret" };
const error = (env: Parameters<typeof pushConfig>[0]) => {
  const config = pushConfig(env);
  return config && "error" in config ? config.error : "accepted";
};

describe("pushConfig", () => {
  it("is off without FHIR_PUSH_URL", () => {
    expect(pushConfig({})).toBeUndefined();
    expect(pushConfig({ FHIR_PUSH_URL: "  " })).toBeUndefined();
  });

  it("pushes without authentication when neither kind is set", () => {
    expect(pushConfig(BASE)).toEqual({ base: "https://fhir.example/R4", auth: { kind: "none" } });
  });

  it("takes a static bearer token", () => {
    expect(pushConfig({ ...BASE, FHIR_PUSH_BEARER: "tok" })).toEqual({ base: "https://fhir.example/R4", auth: { kind: "bearer", token: "tok" } });
  });

  it("takes client credentials, the scope optional", () => {
    expect(pushConfig({ ...BASE, ...CLIENT })).toEqual({
      base: "https://fhir.example/R4",
      auth: { kind: "client-credentials", tokenUrl: "https://idp.example/token", clientId: "edge", clientSecret: "s3cret" },
    });
    expect(pushConfig({ ...BASE, ...CLIENT, FHIR_PUSH_SCOPE: "system/*.write" })).toMatchObject({ auth: { scope: "system/*.write" } });
  });

  it("refuses half-set client credentials, naming what is missing", () => {
    expect(error({ ...BASE, FHIR_PUSH_TOKEN_URL: CLIENT.FHIR_PUSH_TOKEN_URL })).toBe(
      "client credentials are half configured: set FHIR_PUSH_CLIENT_ID and FHIR_PUSH_CLIENT_SECRET too",
    );
    expect(error({ ...BASE, ...CLIENT, FHIR_PUSH_CLIENT_SECRET: "" })).toMatch(/set FHIR_PUSH_CLIENT_SECRET too/);
    expect(error({ ...BASE, FHIR_PUSH_SCOPE: "x" })).toMatch(/set FHIR_PUSH_TOKEN_URL and FHIR_PUSH_CLIENT_ID and FHIR_PUSH_CLIENT_SECRET too/);
  });

  it("refuses both kinds at once, and credentials without a URL", () => {
    expect(error({ ...BASE, ...CLIENT, FHIR_PUSH_BEARER: "tok" })).toMatch(/either FHIR_PUSH_BEARER or .* not both/);
    expect(error({ FHIR_PUSH_BEARER: "tok" })).toMatch(/FHIR_PUSH_URL is not/);
    expect(error(CLIENT)).toMatch(/FHIR_PUSH_URL is not/);
  });

  it("sends nothing in the clear: https, or http on loopback only", () => {
    expect(error({ FHIR_PUSH_URL: "not a url" })).toMatch(/FHIR_PUSH_URL is not a URL/);
    expect(error({ FHIR_PUSH_URL: "http://fhir.example/R4" })).toMatch(/FHIR_PUSH_URL must be https/);
    expect(error({ FHIR_PUSH_URL: "ftp://fhir.example/R4" })).toMatch(/must be https/);
    expect(error({ FHIR_PUSH_URL: "http://127.0.0.1:8080/fhir" })).toBe("accepted");
    expect(error({ FHIR_PUSH_URL: "http://localhost/fhir" })).toBe("accepted");
    expect(error({ FHIR_PUSH_URL: "http://[::1]:9/fhir" })).toBe("accepted");
    expect(error({ ...BASE, ...CLIENT, FHIR_PUSH_TOKEN_URL: "http://idp.example/token" })).toMatch(/FHIR_PUSH_TOKEN_URL must be https/);
    expect(error({ FHIR_PUSH_URL: "https://fhir.example/R4?x=1" })).toMatch(/must not have a query/);
    expect(error({ ...BASE, ...CLIENT, FHIR_PUSH_TOKEN_URL: "https://idp.example/token?tenant=a" })).toBe("accepted");
  });
});
