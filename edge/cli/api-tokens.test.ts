import { describe, expect, it } from "vitest";
import type { TokenRecord } from "../src/auth/edge-tokens";
import { LIST_TOKENS_SQL, activeTokenByHashSql, insertTokenSql, revokeTokenSql, tokenListing, tokenStatus } from "./api-tokens";

const record: TokenRecord = {
  id: "939ca76a-865a-4ed1-9516-0a228d8714bd",
  name: "O'Brien",
  tokenSha256: "a".repeat(64),
  scopes: ["read", "write"],
  createdAt: 1_767_225_600_000,
  expiresAt: 1_769_817_600_000,
  revokedAt: null,
};

describe("api_tokens SQL", () => {
  it("inserts a row with quoted text and integer times", () => {
    expect(insertTokenSql(record)).toBe(
      "INSERT INTO api_tokens (id, name, token_sha256, scopes, created_at, expires_at, revoked_at) VALUES (" +
        `'939ca76a-865a-4ed1-9516-0a228d8714bd', 'O''Brien', '${"a".repeat(64)}', 'read write', 1767225600000, 1769817600000, NULL)`,
    );
  });

  it("lists without the hash", () => {
    expect(LIST_TOKENS_SQL).not.toMatch(/token_sha256|\*/);
  });

  it("revokes once, keeping the first time, and returns the row", () => {
    expect(revokeTokenSql("x'; --", 42)).toBe(
      "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, 42) WHERE id = 'x''; --' RETURNING id, name, scopes, created_at, expires_at, revoked_at",
    );
    expect(() => revokeTokenSql("x", 1.5)).toThrow(TypeError);
  });

  it("finds a valid token by a hex hash only", () => {
    expect(activeTokenByHashSql("b".repeat(64), 10)).toContain(`token_sha256 = '${"b".repeat(64)}' AND revoked_at IS NULL AND expires_at > 10`);
    expect(() => activeTokenByHashSql("' OR 1=1 --", 10)).toThrow(TypeError);
  });
});

describe("rows", () => {
  it("maps a row and drops unknown scopes", () => {
    expect(tokenListing({ id: "t", name: "n", scopes: "read admin bogus", created_at: 1, expires_at: 2, revoked_at: null })).toEqual({
      id: "t",
      name: "n",
      scopes: ["read", "admin"],
      createdAt: 1,
      expiresAt: 2,
      revokedAt: null,
    });
  });

  it("tells active, expired and revoked apart", () => {
    expect(tokenStatus({ expiresAt: 100, revokedAt: null }, 99)).toBe("active");
    expect(tokenStatus({ expiresAt: 100, revokedAt: null }, 100)).toBe("expired");
    expect(tokenStatus({ expiresAt: 100, revokedAt: 50 }, 10)).toBe("revoked");
    expect(tokenStatus({ expiresAt: 100, revokedAt: 50 }, 200)).toBe("revoked");
  });
});
