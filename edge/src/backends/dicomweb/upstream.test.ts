import { describe, expect, it } from "vitest";
import { upstreamConfig } from "./upstream";

describe("upstreamConfig", () => {
  it("reads the base without its trailing slash, no auth and a 30 s timeout by default", () => {
    expect(upstreamConfig({ DICOMWEB_UPSTREAM_URL: "https://pacs.example/dicom-web/" })).toEqual({
      base: "https://pacs.example/dicom-web",
      auth: { kind: "none" },
      timeoutMs: 30_000,
    });
  });

  it("reads each kind of credentials", () => {
    const base = { DICOMWEB_UPSTREAM_URL: "http://127.0.0.1:8042/dicom-web" };
    expect(upstreamConfig({ ...base, DICOMWEB_UPSTREAM_AUTH: "bearer", DICOMWEB_UPSTREAM_TOKEN: "t" })).toMatchObject({ auth: { kind: "bearer", token: "t" } });
    expect(upstreamConfig({ ...base, DICOMWEB_UPSTREAM_AUTH: "basic", DICOMWEB_UPSTREAM_USERNAME: "u", DICOMWEB_UPSTREAM_PASSWORD: "p" })).toMatchObject({ auth: { kind: "basic", username: "u", password: "p" } });
    expect(upstreamConfig({ ...base, DICOMWEB_UPSTREAM_AUTH: "forward", BACKEND_TIMEOUT_SECONDS: "2.5" })).toMatchObject({ auth: { kind: "forward" }, timeoutMs: 2500 });
  });

  it.each([
    [{}, /DICOMWEB_UPSTREAM_URL is not set/],
    [{ DICOMWEB_UPSTREAM_URL: "not a url" }, /not a URL/],
    [{ DICOMWEB_UPSTREAM_URL: "http://pacs.example/dicom-web" }, /must be https/],
    [{ DICOMWEB_UPSTREAM_URL: "https://user:pw@pacs.example/dicom-web" }, /credentials/],
    [{ DICOMWEB_UPSTREAM_URL: "https://pacs.example/dicom-web", DICOMWEB_UPSTREAM_AUTH: "bearer" }, /DICOMWEB_UPSTREAM_TOKEN is not set/],
    [{ DICOMWEB_UPSTREAM_URL: "https://pacs.example/dicom-web", DICOMWEB_UPSTREAM_AUTH: "basic", DICOMWEB_UPSTREAM_USERNAME: "u" }, /PASSWORD is not set/],
    [{ DICOMWEB_UPSTREAM_URL: "https://pacs.example/dicom-web", DICOMWEB_UPSTREAM_AUTH: "kerberos" }, /must be none, bearer, basic or forward/],
    [{ DICOMWEB_UPSTREAM_URL: "https://pacs.example/dicom-web", BACKEND_TIMEOUT_SECONDS: "0" }, /above 0/],
  ])("says what is wrong with %j", (env, message) => {
    expect(upstreamConfig(env)).toMatch(message);
  });
});
