import { env } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import {
  EDGE_KEY,
  EDGE_KEY_2,
  FORGED_KEY,
  OIDC_AUDIENCE,
  OIDC_ISSUER,
  UNKNOWN_KID_KEY,
  authEnv,
  customEdgeToken,
  edgeToken,
  oidcKey,
  oidcToken,
  publishJwks,
  storeRecord,
  unsecuredToken,
} from "../../test/auth";
import { authenticate, sameDigest } from "./authenticate";
import { mintEdgeToken } from "./edge-tokens";

const ON = authEnv();

describe("authenticate: the edge's own tokens", () => {
  it("a valid token: its subject, and the scopes both it and its row grant", async () => {
    const { token, record } = await edgeToken(["read", "write"], { name: "viewer-1" });
    expect(await authenticate(token, ON)).toEqual({ subject: "viewer-1", issuer: "edge", scopes: ["read", "write"], expiresAt: record.expiresAt });
    // A row narrowed after issue narrows the token.
    await env.DB.prepare("UPDATE api_tokens SET scopes = 'read' WHERE id = ?1").bind(record.id).run();
    expect(await authenticate(token, ON)).toMatchObject({ scopes: ["read"] });
  });

  it("verifies tokens of every key of TOKEN_PUBLIC_KEYS (rotation)", async () => {
    const { token } = await edgeToken(["admin"], { key: EDGE_KEY_2.privateJwk });
    expect(await authenticate(token, ON)).toMatchObject({ issuer: "edge", scopes: ["admin"] });
  });

  const refused = async (token: string, description: string | RegExp) => {
    const result = await authenticate(token, ON);
    expect(result).toMatchObject({ error: "invalid_token", description });
    return result;
  };

  it("refuses a token that is not a JWT, alg none, HMAC and unknown keys", async () => {
    await refused("abc", "the token is not a JWT");
    await refused(unsecuredToken(), "the token's algorithm is not accepted (ES256 only)");
    const hmac = await new SignJWT({ scope: "admin" })
      .setProtectedHeader({ alg: "HS256", kid: "edge-1" })
      .setIssuer("dicom-edge")
      .setAudience("dicom-edge")
      .setSubject("x")
      .setJti(crypto.randomUUID())
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(JSON.stringify(EDGE_KEY.publicJwk)));
    await refused(hmac, /algorithm is not accepted/);
    const { token: unknownKid } = await mintEdgeToken({ privateJwk: UNKNOWN_KID_KEY.privateJwk, name: "x", scopes: ["read"], expiresInSeconds: 60 });
    await refused(unknownKid, "the token is signed with an unknown key");
    await refused(await customEdgeToken({}, { kid: "" }), "the token is signed with an unknown key");
  });

  it("refuses a wrong signature, audience or issuer, and an expired token", async () => {
    const { token: forged } = await edgeToken(["admin"], { key: FORGED_KEY.privateJwk });
    await refused(forged, "the token's signature does not verify");
    await refused(await customEdgeToken({ aud: "another-service" }), "the token is for another audience");
    await refused(await customEdgeToken({ iss: "another-edge" }), "the token is from an issuer this edge does not trust");
    const { token: expired } = await edgeToken(["read"], { now: Date.now() - 3_600_000, expiresInSeconds: 600 });
    const result = await refused(expired, "the token expired");
    // jose refused it: no signature check passed to prove a subject.
    expect(result).not.toHaveProperty("subject");
  });

  it("refuses a signed token whose row is missing, revoked, expired or holds another hash", async () => {
    const { token: unknown } = await mintEdgeToken({ privateJwk: EDGE_KEY.privateJwk, name: "ghost", scopes: ["read"], expiresInSeconds: 60 });
    expect(await refused(unknown, "the token is not known to this edge")).toMatchObject({ subject: "ghost" });

    const { token: revoked, record } = await edgeToken(["read"], { name: "revoked" });
    await env.DB.prepare("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1").bind(record.id, Date.now()).run();
    await refused(revoked, "the token was revoked");

    const { token: rowExpired, record: short } = await edgeToken(["read"], { name: "row-expired" });
    await env.DB.prepare("UPDATE api_tokens SET expires_at = ?2 WHERE id = ?1").bind(short.id, Date.now() - 60_000).run();
    await refused(rowExpired, "the token expired");

    const other = await mintEdgeToken({ privateJwk: EDGE_KEY.privateJwk, name: "swapped", scopes: ["read"], expiresInSeconds: 60 });
    const { token: mine, record: mineRecord } = await mintEdgeToken({ privateJwk: EDGE_KEY.privateJwk, name: "swapped", scopes: ["read"], expiresInSeconds: 60 });
    await storeRecord({ ...mineRecord, tokenSha256: other.record.tokenSha256 });
    await refused(mine, "the token does not match its record");
  });

  it("tolerates 30 s of clock skew, not more", async () => {
    const now = Date.now();
    const { token } = await edgeToken(["read"], { now: now - 70_000, expiresInSeconds: 60 });
    expect(await authenticate(token, ON, now)).toMatchObject({ issuer: "edge" });
    expect(await authenticate(token, ON, now + 25_000)).toMatchObject({ error: "invalid_token", description: "the token expired" });
  });

  it("is unconfigured without an issuer", async () => {
    const { token } = await edgeToken(["read"]);
    expect(await authenticate(token, { ...ON, TOKEN_PUBLIC_KEYS: undefined })).toMatchObject({ error: "unconfigured", description: expect.stringMatching(/TOKEN_PUBLIC_KEYS/) });
  });
});

describe("authenticate: an OpenID Connect issuer", async () => {
  const key = await oidcKey("oidc-rsa-1");
  const ecKey = await oidcKey("oidc-ec-1", "ES256");
  await publishJwks("unit", [key, ecKey]);
  const OIDC = authEnv({ jwks: "unit", scopePrefix: "dicom-edge." });

  it("takes RS256 and ES256 tokens of its issuer and our audience; scopes from scope, scp or roles", async () => {
    expect(await authenticate(await oidcToken(key, { scope: "openid dicom-edge.read dicom-edge.write" }), OIDC)).toMatchObject({ subject: "user-1", issuer: "oidc", scopes: ["read", "write"] });
    expect(await authenticate(await oidcToken(ecKey, { scp: "dicom-edge.delete", roles: ["dicom-edge.admin"] }), OIDC)).toMatchObject({ scopes: ["delete", "admin"] });
    expect(await authenticate(await oidcToken(key, { scope: "read" }), OIDC)).toMatchObject({ issuer: "oidc", scopes: [] });
  });

  it("refuses another audience or issuer, expiry, no exp, HMAC and a forged signature", async () => {
    const refused = async (token: string, description: string | RegExp) => expect(await authenticate(token, OIDC)).toMatchObject({ error: "invalid_token", description });
    await refused(await oidcToken(key, { aud: "another-api" }), "the token is for another audience");
    await refused(await oidcToken(key, { iss: "https://evil.example" }), "the token is from an issuer this edge does not trust");
    await refused(await oidcToken(key, {}, { expiresIn: Math.floor(Date.now() / 1000) - 120 }), "the token expired");
    const noExp = await new SignJWT({ iss: OIDC_ISSUER, aud: OIDC_AUDIENCE, sub: "u", scope: "dicom-edge.read" }).setProtectedHeader({ alg: "RS256", kid: key.kid }).sign(key.privateKey);
    await refused(noExp, "the token has no exp claim");
    const hmac = await new SignJWT({ iss: OIDC_ISSUER, aud: OIDC_AUDIENCE, sub: "u" }).setProtectedHeader({ alg: "HS256", kid: key.kid }).setExpirationTime("5m").sign(new TextEncoder().encode("shared"));
    await refused(hmac, /algorithm is not accepted/);
    const forger = await oidcKey(key.kid);
    await refused(await oidcToken(forger, { scope: "dicom-edge.admin" }), "the token's signature does not verify");
  });

  it("an issuer whose keys cannot be fetched is unavailable, not the token's fault", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const result = await authenticate(await oidcToken(key, {}), authEnv({ jwks: "never-published" }));
    expect(result).toMatchObject({ error: "unavailable" });
    expect(logged).toHaveBeenCalledOnce();
    logged.mockRestore();
  });
});

describe("sameDigest", () => {
  it("compares whole digests, any case of the stored one, and unequal lengths as unequal", () => {
    const digest = "ab".repeat(32);
    expect(sameDigest(digest, digest)).toBe(true);
    expect(sameDigest(digest.toUpperCase(), digest)).toBe(true);
    expect(sameDigest(`${"ab".repeat(31)}ac`, digest)).toBe(false);
    expect(sameDigest(digest.slice(1), digest)).toBe(false);
    expect(sameDigest("", digest)).toBe(false);
  });
});
