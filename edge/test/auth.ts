// Keys, tokens and envs for the auth tests. The default test env has
// AUTH_DISABLED (edge/vitest.config.ts); these tests call the app with a
// variant where auth is on, against the real D1, R2 and Durable Objects.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from "jose";
import { inject } from "vitest";
import { app } from "../src/app";
import { generateSigningKey, mintEdgeToken, tokenSha256, type Scope, type TokenRecord } from "../src/auth/edge-tokens";
import type { Env } from "../src/env";

/** The edge's signing key (the `token` CLI's private half) and a second one, for rotation. */
export const EDGE_KEY = await generateSigningKey("edge-1");
export const EDGE_KEY_2 = await generateSigningKey("edge-2");
/** A key of the same kid that TOKEN_PUBLIC_KEYS does not hold: a forger's. */
export const FORGED_KEY = await generateSigningKey("edge-1");
export const UNKNOWN_KID_KEY = await generateSigningKey("edge-9");

export const TOKEN_PUBLIC_KEYS = JSON.stringify({ keys: [EDGE_KEY.publicJwk, EDGE_KEY_2.publicJwk] });

/** The external OpenID Connect issuer of the tests: Keycloak-like, its JWKS served by edge/test/jwks-server.ts. */
export const OIDC_ISSUER = "https://login.example.test/realms/radiology";
export const OIDC_AUDIENCE = "dicom-edge-api";
export const JWKS_BASE = inject("jwksBase");

export interface OidcKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function oidcKey(kid: string, alg = "RS256"): Promise<OidcKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** Serves `keys` as the JWK Set named `name` (its URL is jwksUrl(name)). */
export async function publishJwks(name: string, keys: OidcKey[]): Promise<void> {
  const res = await fetch(`${JWKS_BASE}/jwks/${name}`, { method: "PUT", body: JSON.stringify({ keys: keys.map((k) => k.publicJwk) }) });
  if (res.status !== 204) throw new Error(`JWKS server: ${res.status}`);
}

export const jwksUrl = (name: string) => `${JWKS_BASE}/jwks/${name}`;

/** How often the Worker fetched the JWK Set `name`. */
export async function jwksFetches(name: string): Promise<number> {
  return ((await (await fetch(`${JWKS_BASE}/fetches/${name}`)).json()) as { count: number }).count;
}

/** An access token of the OIDC issuer: its iss and our audience unless `claims` says otherwise. */
export async function oidcToken(key: OidcKey, claims: JWTPayload, options: { expiresIn?: string | number } = {}): Promise<string> {
  return new SignJWT({ iss: OIDC_ISSUER, aud: OIDC_AUDIENCE, sub: "user-1", ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "at+jwt" })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "5m")
    .sign(key.privateKey);
}

/** The test env with auth on: edge tokens, and the OIDC issuer when `jwks` names a key set. */
export function authEnv(options: { jwks?: string; scopePrefix?: string; edge?: boolean } = {}): Env {
  const variant: Env = { ...(env as unknown as Env), AUTH_DISABLED: undefined };
  if (options.edge !== false) variant.TOKEN_PUBLIC_KEYS = TOKEN_PUBLIC_KEYS;
  if (options.jwks) {
    variant.OIDC_ISSUER = OIDC_ISSUER;
    variant.OIDC_AUDIENCE = OIDC_AUDIENCE;
    variant.OIDC_JWKS_URL = jwksUrl(options.jwks);
    if (options.scopePrefix !== undefined) variant.OIDC_SCOPE_PREFIX = options.scopePrefix;
  }
  return variant;
}

/** Stores the row that makes a token valid, as the `token` CLI does. */
export async function storeRecord(record: TokenRecord): Promise<void> {
  await env.DB.prepare("INSERT INTO api_tokens (id, name, token_sha256, scopes, created_at, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
    .bind(record.id, record.name, record.tokenSha256, record.scopes.join(" "), record.createdAt, record.expiresAt, record.revokedAt)
    .run();
}

/** A valid edge token with `scopes`, its row stored. */
export async function edgeToken(scopes: Scope[], options: { name?: string; expiresInSeconds?: number; now?: number; key?: JWK } = {}): Promise<{ token: string; record: TokenRecord }> {
  const minted = await mintEdgeToken({
    privateJwk: options.key ?? EDGE_KEY.privateJwk,
    name: options.name ?? `tester-${scopes.join("-")}`,
    scopes,
    expiresInSeconds: options.expiresInSeconds ?? 300,
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  await storeRecord(minted.record);
  return minted;
}

/** An edge-signed JWT with any claims and header (wrong aud, iss...), its row stored under its jti. */
export async function customEdgeToken(claims: JWTPayload, header: { kid?: string } = {}, key: JWK = EDGE_KEY.privateJwk): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jti = crypto.randomUUID();
  const token = await new SignJWT({ scope: "read write delete admin", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: header.kid ?? key.kid!, typ: "JWT" })
    .setIssuer((claims.iss as string | undefined) ?? "dicom-edge")
    .setAudience((claims.aud as string | undefined) ?? "dicom-edge")
    .setSubject("custom")
    .setJti(jti)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(await importJWK(key, "ES256"));
  await storeRecord({ id: jti, name: "custom", tokenSha256: await tokenSha256(token), scopes: ["read", "write", "delete", "admin"], createdAt: Date.now(), expiresAt: (now + 300) * 1000, revokedAt: null });
  return token;
}

/** An unsecured JWT (RFC 7519 6, alg "none") claiming to be an edge admin token. */
export function unsecuredToken(claims: JWTPayload = {}): string {
  const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none", kid: "edge-1", typ: "JWT" })}.${b64({ iss: "dicom-edge", aud: "dicom-edge", sub: "mallory", jti: crypto.randomUUID(), scope: "admin", iat: now, exp: now + 300, ...claims })}.`;
}

/** The app as the Worker runs it, with `variant` as its env. */
export async function call(variant: Env, path: string, init: RequestInit = {}, token?: string): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
  const ctx = createExecutionContext();
  const res = await app.request(`http://edge.test${path}`, { ...init, headers }, variant, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** The ErrorComment of a DICOM JSON error body. */
export async function errorComment(res: Response): Promise<string> {
  const body = (await res.json()) as [{ "00000902": { Value: [string] } }];
  return body[0]["00000902"].Value[0];
}
