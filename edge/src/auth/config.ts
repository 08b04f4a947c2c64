import type { JSONWebKeySet } from "jose";
import type { Env } from "../env";
import { EDGE_TOKEN_ALG } from "./edge-tokens";
import { isSecureOrLoopback } from "../http/service-url";

/** The bindings authentication reads (env.ts documents each). */
export type AuthBindings = Pick<Env, "TOKEN_PUBLIC_KEYS" | "OIDC_ISSUER" | "OIDC_AUDIENCE" | "OIDC_JWKS_URL" | "OIDC_SCOPE_PREFIX" | "AUTH_DISABLED">;

/** The one value of AUTH_DISABLED that turns authentication off; a typo leaves it on. */
export const AUTH_DISABLED_VALUE = "local-development-only";

/** The edge's own tokens: verified against these public keys, then against their `api_tokens` row. */
export interface EdgeIssuer {
  keys: JSONWebKeySet;
}

/** An external OpenID Connect issuer, whose keys are fetched from `jwksUrl` (auth/oidc-keys.ts). */
export interface OidcIssuer {
  issuer: string;
  audience: string;
  jwksUrl: URL;
  /** "" when scope names are used as they are. */
  scopePrefix: string;
}

/**
 * How this edge authenticates: off (local development), on with one or both
 * issuers, or not usable, with the reason. A setting that is present but
 * wrong is "unconfigured" too, never half-applied: the edge fails closed.
 */
export type AuthConfig =
  | { mode: "disabled" }
  | { mode: "unconfigured"; reason: string }
  | { mode: "on"; edge: EdgeIssuer | undefined; oidc: OidcIssuer | undefined };

export const UNCONFIGURED_REASON =
  "authentication is not configured: set TOKEN_PUBLIC_KEYS (the edge's own tokens) and/or OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL (an OpenID Connect issuer)";

/** Reads the bindings; pure. */
export function authConfig(env: AuthBindings): AuthConfig {
  if (env.AUTH_DISABLED === AUTH_DISABLED_VALUE) return { mode: "disabled" };
  const edge = edgeIssuer(env.TOKEN_PUBLIC_KEYS);
  if (typeof edge === "string") return { mode: "unconfigured", reason: edge };
  const oidc = oidcIssuer(env);
  if (typeof oidc === "string") return { mode: "unconfigured", reason: oidc };
  if (!edge && !oidc) return { mode: "unconfigured", reason: UNCONFIGURED_REASON };
  return { mode: "on", edge, oidc };
}

/** TOKEN_PUBLIC_KEYS as a JWK Set of public ES256 keys with distinct kids; a reason when it is not one. */
function edgeIssuer(raw: string | undefined): EdgeIssuer | undefined | string {
  if (raw === undefined || raw.trim() === "") return undefined;
  let set: unknown;
  try {
    set = JSON.parse(raw);
  } catch {
    return "TOKEN_PUBLIC_KEYS is not JSON: it must be a JWK Set {\"keys\": [...]}";
  }
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return "TOKEN_PUBLIC_KEYS must be a JWK Set {\"keys\": [...]} with at least one key";
  const kids = new Set<string>();
  for (const key of keys as Record<string, unknown>[]) {
    if (typeof key !== "object" || key === null) return "TOKEN_PUBLIC_KEYS: every key must be a JWK object";
    // RFC 7517 4.5: the kid picks the key; without one a token could not name its key.
    if (typeof key.kid !== "string" || key.kid === "") return "TOKEN_PUBLIC_KEYS: every key needs a kid";
    if (kids.has(key.kid)) return `TOKEN_PUBLIC_KEYS: kid ${key.kid} appears twice`;
    kids.add(key.kid);
    // RFC 7518 6.2.2.1: `d` is the private part; the edge must never hold it.
    if ("d" in key) return `TOKEN_PUBLIC_KEYS: key ${key.kid} is a private key; give the public key only`;
    if (key.kty !== "EC" || key.crv !== "P-256") return `TOKEN_PUBLIC_KEYS: key ${key.kid} is not a P-256 EC key (${EDGE_TOKEN_ALG})`;
    if (key.alg !== undefined && key.alg !== EDGE_TOKEN_ALG) return `TOKEN_PUBLIC_KEYS: key ${key.kid} is not for ${EDGE_TOKEN_ALG}`;
  }
  return { keys: { keys: keys as JSONWebKeySet["keys"] } };
}

/** The OIDC_* settings: all three or none; a reason when only some are set or the URL is unsafe. */
function oidcIssuer(env: AuthBindings): OidcIssuer | undefined | string {
  const settings = { OIDC_ISSUER: env.OIDC_ISSUER, OIDC_AUDIENCE: env.OIDC_AUDIENCE, OIDC_JWKS_URL: env.OIDC_JWKS_URL };
  const missing = Object.entries(settings).filter(([, value]) => value === undefined || value.trim() === "");
  if (missing.length === 3) return undefined;
  if (missing.length > 0) return `OpenID Connect is half configured: set ${missing.map(([name]) => name).join(" and ")} too`;
  let jwksUrl: URL;
  try {
    jwksUrl = new URL(env.OIDC_JWKS_URL!);
  } catch {
    return "OIDC_JWKS_URL is not a URL";
  }
  // Keys fetched in the clear could be swapped on the way: https, except on loopback (a local issuer, the tests).
  if (!isSecureOrLoopback(jwksUrl)) {
    return "OIDC_JWKS_URL must be https (http only on 127.0.0.1, [::1] or localhost)";
  }
  return { issuer: env.OIDC_ISSUER!, audience: env.OIDC_AUDIENCE!, jwksUrl, scopePrefix: env.OIDC_SCOPE_PREFIX ?? "" };
}
