import type { TokenRecord } from "../auth";

/** One token as the admin routes show it: its row without the hash; times are ISO 8601. */
export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  created: string;
  expires: string;
  revoked: string | null;
}

/** A row for the admin: never `token_sha256`, which would let one test guesses offline. */
export function tokenView(record: TokenRecord): TokenView {
  return {
    id: record.id,
    name: record.name,
    scopes: record.scopes,
    created: new Date(record.createdAt).toISOString(),
    expires: new Date(record.expiresAt).toISOString(),
    revoked: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
  };
}
