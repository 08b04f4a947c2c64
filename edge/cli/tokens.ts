/**
 * The CLI's token operations on D1: mint and store, list, revoke. The
 * token string exists only in what `createToken` returns; D1 gets its hash.
 */
import type { JWK } from "jose";
import { mintEdgeToken, type Scope, type TokenRecord } from "../src/auth/edge-tokens";
import { LIST_TOKENS_SQL, insertTokenSql, revokeTokenSql, tokenListing, type TokenListing } from "./api-tokens";
import { executeSql, type D1Target } from "./d1";

export interface NewToken {
  name: string;
  scopes: Scope[];
  expiresInSeconds: number;
}

/** Mints a token and stores its row; the caller hands the token out once. */
export async function createToken(target: D1Target, privateJwk: JWK, options: NewToken): Promise<{ token: string; record: TokenRecord }> {
  const minted = await mintEdgeToken({ privateJwk, ...options });
  await executeSql(target, insertTokenSql(minted.record));
  return minted;
}

export async function listTokens(target: D1Target): Promise<TokenListing[]> {
  const [rows = []] = await executeSql(target, LIST_TOKENS_SQL);
  return rows.map(tokenListing);
}

/**
 * Revokes the token `id`: its listing and whether it was revoked before,
 * or null when there is no such token.
 */
export async function revokeToken(target: D1Target, id: string, now = Date.now()): Promise<{ token: TokenListing; alreadyRevoked: boolean } | null> {
  const [rows = []] = await executeSql(target, revokeTokenSql(id, now));
  const row = rows[0];
  if (!row) return null;
  const token = tokenListing(row);
  return { token, alreadyRevoked: token.revokedAt !== now };
}
