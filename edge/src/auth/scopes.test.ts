import { describe, expect, it } from "vitest";
import { commonScopes, scopesFromClaims } from "./scopes";

describe("scopesFromClaims", () => {
  it("reads `scope` (space-separated), `scp` (string or array) and `roles` (array), in SCOPES order", () => {
    expect(scopesFromClaims({ scope: "write  read openid" })).toEqual(["read", "write"]);
    expect(scopesFromClaims({ scp: "delete read" })).toEqual(["read", "delete"]);
    expect(scopesFromClaims({ scp: ["admin", "read"] })).toEqual(["read", "admin"]);
    expect(scopesFromClaims({ roles: ["write", 7, null] })).toEqual(["write"]);
    expect(scopesFromClaims({ scope: "read", scp: "read", roles: ["read", "admin"] })).toEqual(["read", "admin"]);
  });

  it("with a prefix, only prefixed names count (Entra ID: dicom-edge.read)", () => {
    expect(scopesFromClaims({ scp: "dicom-edge.read dicom-edge.write read admin", roles: ["dicom-edge.admin"] }, "dicom-edge.")).toEqual(["read", "write", "admin"]);
    expect(scopesFromClaims({ scope: "read write" }, "dicom-edge.")).toEqual([]);
  });

  it("grants nothing for unknown names, other types, or no claim", () => {
    expect(scopesFromClaims({})).toEqual([]);
    expect(scopesFromClaims({ scope: "READ Read reader" })).toEqual([]);
    expect(scopesFromClaims({ scp: 5, roles: { admin: true } })).toEqual([]);
  });

  it("commonScopes: what both the token and its row grant", () => {
    expect(commonScopes(["read", "write", "admin"], ["admin", "read"])).toEqual(["read", "admin"]);
    expect(commonScopes(["read"], [])).toEqual([]);
  });
});
