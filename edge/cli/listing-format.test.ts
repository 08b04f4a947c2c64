import { describe, expect, it } from "vitest";
import { isoSeconds, listingJson, listingTable } from "./listing-format";

const token = { id: "t-1", name: "viewer", scopes: ["read" as const], createdAt: Date.UTC(2026, 3, 1), expiresAt: Date.UTC(2026, 4, 1), revokedAt: null };

describe("token list output", () => {
  it("writes times to the second", () => {
    expect(isoSeconds(Date.UTC(2026, 3, 1, 12, 0, 0, 999))).toBe("2026-04-01T12:00:00Z");
  });

  it("gives scripts JSON with a status", () => {
    expect(listingJson(token, Date.UTC(2026, 3, 2))).toEqual({
      id: "t-1",
      name: "viewer",
      scopes: ["read"],
      createdAt: "2026-04-01T00:00:00Z",
      expiresAt: "2026-05-01T00:00:00Z",
      revokedAt: null,
      status: "active",
    });
  });

  it("aligns the table", () => {
    const table = listingTable([token, { ...token, id: "t-22", name: "ci", revokedAt: Date.UTC(2026, 3, 3) }], Date.UTC(2026, 3, 2));
    expect(table.split("\n")).toEqual([
      "ID    NAME    SCOPES  CREATED               EXPIRES               STATUS",
      "t-1   viewer  read    2026-04-01T00:00:00Z  2026-05-01T00:00:00Z  active",
      "t-22  ci      read    2026-04-01T00:00:00Z  2026-05-01T00:00:00Z  revoked",
    ]);
  });
});
