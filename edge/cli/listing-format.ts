/** How `token list` shows tokens: a table for people, JSON for scripts. Never a hash. */
import { tokenStatus, type TokenListing, type TokenStatus } from "./api-tokens";

export interface TokenListingJson {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  status: TokenStatus;
}

/** ISO 8601 to the second: `2026-04-01T12:00:00Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function listingJson(token: TokenListing, now: number): TokenListingJson {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    createdAt: isoSeconds(token.createdAt),
    expiresAt: isoSeconds(token.expiresAt),
    revokedAt: token.revokedAt === null ? null : isoSeconds(token.revokedAt),
    status: tokenStatus(token, now),
  };
}

/** Aligned columns, a header line first. */
export function listingTable(tokens: TokenListing[], now: number): string {
  const header = ["ID", "NAME", "SCOPES", "CREATED", "EXPIRES", "STATUS"];
  const rows = tokens.map((t) => [t.id, t.name, t.scopes.join(","), isoSeconds(t.createdAt), isoSeconds(t.expiresAt), tokenStatus(t, now)]);
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...r[i]!].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - [...c].length)))
      .join("  ");
  return [header, ...rows].map(line).join("\n");
}
