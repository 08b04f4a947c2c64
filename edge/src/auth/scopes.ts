import type { JWTPayload } from "jose";
import { SCOPES, isScope, type Scope } from "./edge-tokens";

/**
 * The edge's scopes a token grants, from the claims issuers put them in:
 * `scope`, a space-separated string (RFC 8693 4.2, RFC 9068 2.2.3; the
 * edge's own tokens, Keycloak), `scp`, a string or an array (Entra ID
 * delegated permissions), and `roles`, an array (Entra ID app roles).
 * With a prefix ("dicom-edge.") only names that carry it count, so another
 * application's "read" grants nothing here. Unknown names are ignored; the
 * result is in SCOPES order, without duplicates. Pure.
 */
export function scopesFromClaims(claims: JWTPayload, prefix = ""): Scope[] {
  const names = [...words(claims.scope), ...words(claims.scp), ...words(claims.roles)];
  const granted = new Set<Scope>();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const scope = name.slice(prefix.length);
    if (isScope(scope)) granted.add(scope);
  }
  return SCOPES.filter((scope) => granted.has(scope));
}

/** The scopes of both lists (an edge token's claim and its row), in SCOPES order. */
export function commonScopes(a: readonly string[], b: readonly string[]): Scope[] {
  return SCOPES.filter((scope) => a.includes(scope) && b.includes(scope));
}

function words(claim: unknown): string[] {
  if (typeof claim === "string") return claim.split(" ").filter((word) => word !== "");
  if (Array.isArray(claim)) return claim.filter((word): word is string => typeof word === "string");
  return [];
}
