import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from "jose";

/**
 * The keys of the OpenID Connect issuer, fetched from its JWK Set URL
 * (OpenID Connect Discovery 1.0, `jwks_uri`) and kept at module level, so
 * an isolate fetches them once and every request after verifies from
 * memory. jose refetches when a token names a kid the set lacks (the issuer
 * rotated, OIDC Core 10.1.1), at most once per cooldown, so tokens with
 * made-up kids cannot make the edge hammer the issuer, and every
 * CACHE_MAX_AGE_MS anyway.
 */
const sets = new Map<string, JWTVerifyGetKey>();

/** jose's defaults, stated: 30 s between refetches for unknown kids, 10 min at most between fetches. */
export const COOLDOWN_MS = 30_000;
export const CACHE_MAX_AGE_MS = 10 * 60_000;
/** A JWKS that does not answer fails the request (503) rather than holding it to the read timeout. */
const FETCH_TIMEOUT_MS = 5_000;

/** The issuer's keys could not be fetched or read: the edge's or the issuer's problem, not the token's. */
export class KeysUnavailable extends Error {
  readonly code = "keys-unavailable";
}

/** The key resolver for `url`: jose's remote set, its fetch failures turned into KeysUnavailable. */
export function oidcKeys(url: URL): JWTVerifyGetKey {
  let keys = sets.get(url.href);
  if (!keys) {
    const remote = createRemoteJWKSet(url, { cooldownDuration: COOLDOWN_MS, cacheMaxAge: CACHE_MAX_AGE_MS, timeoutDuration: FETCH_TIMEOUT_MS });
    keys = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        // No key for the kid, or one that does not fit the alg: the token's fault.
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw new KeysUnavailable(`the JWK Set at ${url.href} could not be used`, { cause: error });
      }
    };
    sets.set(url.href, keys);
  }
  return keys;
}
