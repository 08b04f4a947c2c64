/**
 * The edge's own bearer tokens: ES256 JWTs signed by an operator's private
 * key (kept off the edge), whose public half the edge knows from
 * TOKEN_PUBLIC_KEYS. A token is valid only while its row in `api_tokens`
 * exists, matches its SHA-256 and is not revoked, so the edge can list and
 * revoke tokens without ever holding one. Used by the edge to verify and
 * by the `token` CLI (edge/cli/token.ts) to make them: Web APIs and jose
 * only, so it runs in workerd and Node alike.
 */
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

/** `iss` and `aud` of every edge token. */
export const EDGE_ISSUER = "dicom-edge";
export const EDGE_AUDIENCE = "dicom-edge";
export const EDGE_TOKEN_ALG = "ES256";

export const SCOPES = ["read", "write", "delete", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** An `api_tokens` row (edge/migrations/0003_auth.sql). */
export interface TokenRecord {
  id: string;
  name: string;
  tokenSha256: string;
  scopes: Scope[];
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** A new signing key pair: the private JWK for the operator, the public JWK for TOKEN_PUBLIC_KEYS. */
export async function generateSigningKey(kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(EDGE_TOKEN_ALG, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: EDGE_TOKEN_ALG, use: "sig" };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: EDGE_TOKEN_ALG, use: "sig" };
  return { privateJwk, publicJwk };
}

/** Lower-case hex SHA-256 of the token string, as `api_tokens.token_sha256` holds it. */
export async function tokenSha256(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface MintOptions {
  privateJwk: JWK;
  /** Whom the token is for: a person, a viewer, a script (its `sub`). */
  name: string;
  scopes: Scope[];
  expiresInSeconds: number;
  /** ms since the epoch; defaults to now. */
  now?: number;
}

/** Signs a new token and the row that makes it valid; the caller stores the row and hands out the token once. */
export async function mintEdgeToken(options: MintOptions): Promise<{ token: string; record: TokenRecord }> {
  if (!options.privateJwk.kid) throw new TypeError("the signing key needs a kid");
  if (options.scopes.length === 0 || !options.scopes.every(isScope)) throw new TypeError(`scopes must be some of ${SCOPES.join(", ")}`);
  if (!Number.isInteger(options.expiresInSeconds) || options.expiresInSeconds <= 0) throw new TypeError("expiresInSeconds must be a positive integer");
  const now = options.now ?? Date.now();
  const id = crypto.randomUUID();
  const iat = Math.floor(now / 1000);
  const key = await importJWK(options.privateJwk, EDGE_TOKEN_ALG);
  const token = await new SignJWT({ scope: options.scopes.join(" ") })
    .setProtectedHeader({ alg: EDGE_TOKEN_ALG, kid: options.privateJwk.kid, typ: "JWT" })
    .setIssuer(EDGE_ISSUER)
    .setAudience(EDGE_AUDIENCE)
    .setSubject(options.name)
    .setJti(id)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.expiresInSeconds)
    .sign(key);
  return {
    token,
    record: {
      id,
      name: options.name,
      tokenSha256: await tokenSha256(token),
      scopes: [...options.scopes],
      createdAt: now,
      expiresAt: (iat + options.expiresInSeconds) * 1000,
      revokedAt: null,
    },
  };
}
