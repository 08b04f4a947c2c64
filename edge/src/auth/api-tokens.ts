/**
 * The `api_tokens` table (edge/migrations/0003_auth.sql): one row per edge
 * token, made by the `token` CLI. The edge reads rows to verify tokens, lists
 * and revokes them; it never makes one (that needs the private key).
 */
import { isScope, type TokenRecord } from "./edge-tokens";

interface TokenRow {
  id: string;
  name: string;
  token_sha256: string;
  scopes: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    tokenSha256: row.token_sha256,
    scopes: row.scopes.split(" ").filter(isScope),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** The row of token `id` (its jti), or undefined. */
export async function findToken(db: D1Database, id: string): Promise<TokenRecord | undefined> {
  const row = await db.prepare("SELECT * FROM api_tokens WHERE id = ?1").bind(id).first<TokenRow>();
  return row ? toRecord(row) : undefined;
}

/** Every row, newest first. */
export async function listTokens(db: D1Database): Promise<TokenRecord[]> {
  const { results } = await db.prepare("SELECT * FROM api_tokens ORDER BY created_at DESC, id").all<TokenRow>();
  return results.map(toRecord);
}

/** Revokes token `id` from `now` on (a second revocation keeps the first time); undefined when there is no such row. */
export async function revokeToken(db: D1Database, id: string, now: number): Promise<TokenRecord | undefined> {
  const row = await db.prepare("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 RETURNING *").bind(id, now).first<TokenRow>();
  return row ? toRecord(row) : undefined;
}
