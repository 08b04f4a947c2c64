/**
 * The `api_tokens` statements the CLI sends (edge/migrations/0003_auth.sql)
 * and the mappers from their rows. Pure: the SQL is text for
 * `wrangler d1 execute`, every value in it a checked literal.
 */
import { isScope, type Scope, type TokenRecord } from "../src/auth/edge-tokens";
import { sqlInteger, sqlIntegerOrNull, sqlText } from "./sql-literal";

/** What `token list` shows of a row: everything but the hash. */
export type TokenListing = Omit<TokenRecord, "tokenSha256">;

export type TokenStatus = "active" | "expired" | "revoked";

export function insertTokenSql(record: TokenRecord): string {
  return (
    "INSERT INTO api_tokens (id, name, token_sha256, scopes, created_at, expires_at, revoked_at) VALUES (" +
    [
      sqlText(record.id),
      sqlText(record.name),
      sqlText(record.tokenSha256),
      sqlText(record.scopes.join(" ")),
      sqlInteger(record.createdAt),
      sqlInteger(record.expiresAt),
      sqlIntegerOrNull(record.revokedAt),
    ].join(", ") +
    ")"
  );
}

/** Every token, oldest first, without its hash. */
export const LIST_TOKENS_SQL = "SELECT id, name, scopes, created_at, expires_at, revoked_at FROM api_tokens ORDER BY created_at, id";

/**
 * Revokes a token once: a second revoke keeps the first time. Returns the
 * row (none for an unknown id), so one statement tells revoked from unknown.
 */
export function revokeTokenSql(id: string, now: number): string {
  return (
    `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ${sqlInteger(now)}) ` +
    `WHERE id = ${sqlText(id)} RETURNING id, name, scopes, created_at, expires_at, revoked_at`
  );
}

/** The token with this hash if it is still valid at `validAt`, for reusing the local token. */
export function activeTokenByHashSql(tokenSha256: string, validAt: number): string {
  if (!/^[0-9a-f]{64}$/.test(tokenSha256)) throw new TypeError("not a lower-case hex SHA-256");
  return (
    "SELECT id, name, scopes, created_at, expires_at, revoked_at FROM api_tokens " +
    `WHERE token_sha256 = ${sqlText(tokenSha256)} AND revoked_at IS NULL AND expires_at > ${sqlInteger(validAt)}`
  );
}

/** A row of LIST_TOKENS_SQL (or the statements that return the same columns). */
export function tokenListing(row: Record<string, unknown>): TokenListing {
  const scopes = String(row.scopes ?? "").split(" ").filter((s): s is Scope => isScope(s));
  return {
    id: String(row.id),
    name: String(row.name),
    scopes,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null || row.revoked_at === undefined ? null : Number(row.revoked_at),
  };
}

export function tokenStatus(token: Pick<TokenListing, "expiresAt" | "revokedAt">, now: number): TokenStatus {
  if (token.revokedAt !== null) return "revoked";
  return token.expiresAt <= now ? "expired" : "active";
}
