import { afterEach, describe, expect, it, vi } from "vitest";
import { authFailureResponse, logRefusal, statusOf, type AuthFailure } from "./failure";

async function comment(res: Response): Promise<string> {
  expect(res.headers.get("content-type")).toBe("application/dicom+json");
  return ((await res.json()) as [{ "00000902": { Value: [string] } }])[0]["00000902"].Value[0];
}

describe("authFailureResponse: the one mapping of refusals to HTTP (RFC 6750 3)", () => {
  it("no token: 401 with the bare challenge, no error code (3.1)", async () => {
    const res = authFailureResponse({ error: "missing" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge"');
    expect(await comment(res)).toBe("a bearer token is required");
  });

  it("malformed and invalid: 401 with the error code and description", async () => {
    const malformed = authFailureResponse({ error: "invalid_request", description: "the Bearer scheme without a token" });
    expect(malformed.status).toBe(401);
    expect(malformed.headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge", error="invalid_request", error_description="the Bearer scheme without a token"');
    const invalid = authFailureResponse({ error: "invalid_token", description: "the token expired", subject: "x" });
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge", error="invalid_token", error_description="the token expired"');
    expect(await comment(invalid)).toBe("the token expired");
  });

  it("a description keeps to the characters a quoted error_description may hold", () => {
    const res = authFailureResponse({ error: "invalid_token", description: 'a "quoted"\\ thing\u00e9' });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge", error="invalid_token", error_description="a  quoted   thing "');
  });

  it("missing scope: 403 insufficient_scope naming the scope", async () => {
    const res = authFailureResponse({ error: "insufficient_scope", scope: "write", subject: "viewer" });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="dicom-edge", error="insufficient_scope", error_description="needs the write scope", scope="write"');
    expect(await comment(res)).toBe("needs the write scope");
  });

  it("forbidden is 403 without a challenge; unconfigured and unavailable are 503", async () => {
    const forbidden = authFailureResponse({ error: "forbidden", description: "agent a is revoked" });
    expect([forbidden.status, forbidden.headers.get("www-authenticate")]).toEqual([403, null]);
    const unconfigured = authFailureResponse({ error: "unconfigured", description: "set TOKEN_PUBLIC_KEYS" });
    expect([unconfigured.status, await comment(unconfigured)]).toEqual([503, "set TOKEN_PUBLIC_KEYS"]);
    const unavailable = authFailureResponse({ error: "unavailable", description: "try again" });
    expect([unavailable.status, unavailable.headers.get("retry-after")]).toEqual([503, "30"]);
  });

  it("statusOf agrees with the responses", () => {
    const failures: AuthFailure[] = [
      { error: "missing" },
      { error: "invalid_request", description: "x" },
      { error: "invalid_token", description: "x" },
      { error: "insufficient_scope", scope: "read", subject: "s" },
      { error: "forbidden", description: "x" },
      { error: "unconfigured", description: "x" },
      { error: "unavailable", description: "x" },
    ];
    for (const failure of failures) expect(statusOf(failure), failure.error).toBe(authFailureResponse(failure).status);
  });
});

describe("logRefusal", () => {
  afterEach(() => vi.restoreAllMocks());

  it("one warning: method, path, status, reason and a proven subject", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    logRefusal("POST", "/dicomweb/studies", { error: "insufficient_scope", scope: "write", subject: "viewer" });
    logRefusal("GET", "/dicomweb/studies", { error: "missing" });
    logRefusal("GET", "/admin/tokens", { error: "invalid_token", description: "the token was revoked", subject: 'evil"\nname' });
    expect(warn.mock.calls).toEqual([
      ['auth: POST /dicomweb/studies refused 403 insufficient_scope: needs the write scope subject="viewer"'],
      ["auth: GET /dicomweb/studies refused 401 missing: no bearer token"],
      ['auth: GET /admin/tokens refused 401 invalid_token: the token was revoked subject="evil\\"\\nname"'],
    ]);
  });
});
