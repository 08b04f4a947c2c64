import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from "jose";
import { findToken } from "./api-tokens";
import { authConfig, type AuthBindings, type EdgeIssuer, type OidcIssuer } from "./config";
import { EDGE_AUDIENCE, EDGE_ISSUER, EDGE_TOKEN_ALG, tokenSha256, type Scope } from "./edge-tokens";
import type { AuthFailure } from "./failure";
import { KeysUnavailable, oidcKeys } from "./oidc-keys";
import { commonScopes, scopesFromClaims } from "./scopes";

/** Whom a verified token speaks for, and what it may do. */
export interface Principal {
  /** `sub`: an edge token's name, the OIDC user or client. */
  subject: string;
  issuer: "edge" | "oidc";
  scopes: Scope[];
  /** ms since the epoch: when the token stops being valid (its `exp`); for caches. */
  expiresAt: number;
}

/** What authenticate reads: the auth settings and the index (for `api_tokens`). */
export type AuthEnv = AuthBindings & { DB: D1Database };

/** Asymmetric signatures only (RFC 8725 3.1): never `none`, and no HMAC, whose key the issuer would have to share. */
export const OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/** Seconds of clock skew tolerated between the issuer and the edge: `exp`, `nbf`, `iat`, and an edge token row's expiry. */
export const CLOCK_TOLERANCE_S = 30;

/**
 * Verifies a bearer token (RFC 6750) and says whom it is for, or why not.
 * The token's own `iss` picks the issuer among those configured:
 * - the edge's own tokens (iss "dicom-edge", edge-tokens.ts): ES256 only, a
 *   `kid` of TOKEN_PUBLIC_KEYS, iss and aud "dicom-edge", unexpired, and a
 *   row in `api_tokens` with its jti, not revoked nor expired, holding the
 *   SHA-256 of this very token (compared in constant time). The scopes are
 *   those both the token and its row grant. Expiry, in the token and in its
 *   row, allows CLOCK_TOLERANCE_S of skew with the `token` CLI's clock.
 * - the OpenID Connect issuer (OIDC_ISSUER): an asymmetric algorithm, a key
 *   of its JWK Set, its iss, our audience, unexpired; scopes from its claims.
 * The caller decides first whether authentication is on at all (config.ts).
 */
export async function authenticate(token: string, env: AuthEnv, now = Date.now()): Promise<Principal | AuthFailure> {
  const config = authConfig(env);
  if (config.mode === "unconfigured") return { error: "unconfigured", description: config.reason };
  if (config.mode === "disabled") return { error: "unconfigured", description: "authentication is disabled (AUTH_DISABLED)" };
  let header: ProtectedHeaderParameters;
  let claims: JWTPayload;
  try {
    // Unverified: only to choose the issuer and its rules; nothing is trusted before jwtVerify.
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    return invalid("the token is not a JWT");
  }
  if (config.edge && claims.iss === EDGE_ISSUER) return verifyEdgeToken(token, header, config.edge, env.DB, now);
  if (config.oidc && claims.iss === config.oidc.issuer) return verifyOidcToken(token, header, config.oidc);
  return invalid("the token is from an issuer this edge does not trust");
}

async function verifyEdgeToken(token: string, header: ProtectedHeaderParameters, issuer: EdgeIssuer, db: D1Database, now: number): Promise<Principal | AuthFailure> {
  if (header.alg !== EDGE_TOKEN_ALG) return invalid(`the token's algorithm is not accepted (${EDGE_TOKEN_ALG} only)`);
  // jose would take the only key of a one-key set for a token without kid; ours must name theirs.
  if (typeof header.kid !== "string" || !issuer.keys.keys.some((key) => key.kid === header.kid)) return invalid("the token is signed with an unknown key");
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, createLocalJWKSet(issuer.keys), {
      algorithms: [EDGE_TOKEN_ALG],
      issuer: EDGE_ISSUER,
      audience: EDGE_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ["exp", "jti", "sub"],
      currentDate: new Date(now),
    }));
  } catch (error) {
    return joseFailure(error);
  }
  const subject = claims.sub!;
  const record = await findToken(db, claims.jti!);
  // Signed by us, so the subject is known; the row decides whether it still stands.
  if (!record) return invalid("the token is not known to this edge", subject);
  if (record.revokedAt !== null) return invalid("the token was revoked", subject);
  if (record.expiresAt + CLOCK_TOLERANCE_S * 1000 <= now) return invalid("the token expired", subject);
  if (!sameDigest(record.tokenSha256, await tokenSha256(token))) return invalid("the token does not match its record", subject);
  return { subject, issuer: "edge", scopes: commonScopes(scopesFromClaims({ scope: claims.scope }), record.scopes), expiresAt: claims.exp! * 1000 };
}

async function verifyOidcToken(token: string, header: ProtectedHeaderParameters, issuer: OidcIssuer): Promise<Principal | AuthFailure> {
  if (typeof header.alg !== "string" || !OIDC_ALGORITHMS.includes(header.alg)) return invalid("the token's algorithm is not accepted (asymmetric signatures only)");
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, oidcKeys(issuer.jwksUrl), {
      algorithms: OIDC_ALGORITHMS,
      issuer: issuer.issuer,
      audience: issuer.audience,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (error) {
    if (error instanceof KeysUnavailable) {
      console.error("auth: the OpenID Connect issuer's keys are unavailable", error.cause);
      return { error: "unavailable", description: "the identity provider's keys could not be fetched; try again" };
    }
    return joseFailure(error);
  }
  return { subject: claims.sub!, issuer: "oidc", scopes: scopesFromClaims(claims, issuer.scopePrefix), expiresAt: claims.exp! * 1000 };
}

/** jose's verdicts as fixed descriptions: nothing of the token is echoed. */
function joseFailure(error: unknown): AuthFailure {
  if (error instanceof errors.JWTExpired) return invalid("the token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return invalid(`the token has no ${CLAIM_NAMES[error.claim] ?? "required"} claim`);
    switch (error.claim) {
      case "aud":
        return invalid("the token is for another audience");
      case "iss":
        return invalid("the token is from another issuer");
      case "nbf":
        return invalid("the token is not valid yet");
      case "iat":
        return invalid("the token's issue time is not valid");
      default:
        return invalid("the token's claims are not valid");
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("the token's signature does not verify");
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return invalid("the token is signed with an unknown key");
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("the token's algorithm is not accepted");
  if (error instanceof errors.JOSEError) return invalid("the token is not valid");
  throw error;
}

/** jose names the missing claim; ours are only these. */
const CLAIM_NAMES: Record<string, string> = { exp: "exp", jti: "jti", sub: "sub", iss: "iss", aud: "aud" };

/**
 * Equal SHA-256 hex digests, in constant time (the stored one is a
 * credential's fingerprint: no early exit may tell how much matched).
 * Lengths are not secret; unequal ones are simply not equal.
 */
export function sameDigest(stored: string, computed: string): boolean {
  const a = new TextEncoder().encode(stored.toLowerCase());
  const b = new TextEncoder().encode(computed);
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

function invalid(description: string, subject?: string): AuthFailure {
  return subject === undefined ? { error: "invalid_token", description } : { error: "invalid_token", description, subject };
}
