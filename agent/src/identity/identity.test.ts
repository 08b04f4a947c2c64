import type { AuthenticateOutcome } from "@dicom-edge/shared/tunnel/identity";
import { describe, expect, it } from "vitest";
import type { UserIdentityRq } from "../ul/pdu.ts";
import { decideIdentity, IdentityType, type IdentityPolicy } from "./identity.ts";
import { hashPassword } from "./password.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const rq = (identityType: number, primary: string | Uint8Array, secondary = "", positiveResponseRequested = false): UserIdentityRq => {
  const primaryField = typeof primary === "string" ? utf8(primary) : primary;
  return { identityType, positiveResponseRequested, primaryField, secondaryField: utf8(secondary), raw: new Uint8Array(0) };
};

const policy = async (over: Partial<IdentityPolicy> = {}): Promise<IdentityPolicy> => ({
  required: false,
  acceptJwt: true,
  anonymousScopes: ["write"],
  users: [{ username: "Ärztin ", passwordHash: await hashPassword("geheim "), scopes: ["read"] }],
  ...over,
});
const verifier = (answer: AuthenticateOutcome | "unreachable") => async () => answer;
const never = verifier({ ok: false, reason: "not asked" });

describe("decideIdentity (PS3.7 D.3.3.7)", () => {
  it("accepts a username and passcode from the configuration, as sent (UTF-8, not trimmed)", async () => {
    const decision = await decideIdentity(rq(IdentityType.UsernamePasscode, "Ärztin ", "geheim ", true), await policy(), never);
    expect(decision).toEqual({
      accept: { identity: { kind: "agent", subject: "Ärztin ", scopes: ["read"] }, subject: "Ärztin ", scopes: ["read"] },
      serverResponse: new Uint8Array(0),
    });
  });

  it("rejects a wrong passcode, an unknown or trimmed username, and bytes that are not UTF-8", async () => {
    const p = await policy();
    for (const [user, pass] of [["Ärztin ", "geheim"], ["Ärztin", "geheim "], ["nobody", "geheim "]] as const) {
      expect(await decideIdentity(rq(IdentityType.UsernamePasscode, user, pass), p, never)).toMatchObject({ reject: { result: 1, source: 1, reason: 1 } });
    }
    expect(await decideIdentity(rq(IdentityType.UsernamePasscode, Uint8Array.of(0xff, 0xfe), "x"), p, never)).toMatchObject({ reject: { result: 1 } });
  });

  it("has the edge verify a JWT and carries the token itself", async () => {
    const ok = await decideIdentity(rq(IdentityType.Jwt, "a.b.c"), await policy(), verifier({ ok: true, subject: "viewer", scopes: ["read"] }));
    expect(ok).toEqual({ accept: { identity: { kind: "jwt", token: "a.b.c" }, subject: "viewer", scopes: ["read"] } });
    const refused = await decideIdentity(rq(IdentityType.Jwt, "a.b.c"), await policy(), verifier({ ok: false, reason: "expired" }));
    expect(refused).toMatchObject({ reject: { result: 1, source: 1, reason: 1 }, reason: "JWT refused: expired" });
    // The edge could not be asked: transient, the peer may try again.
    const down = await decideIdentity(rq(IdentityType.Jwt, "a.b.c"), await policy(), verifier("unreachable"));
    expect(down).toMatchObject({ reject: { result: 2, source: 3, reason: 1 } });
  });

  it("is anonymous without identity, with a bare username, or with an unsupported type, unless one is required", async () => {
    const anonymous = { accept: { identity: { kind: "agent", subject: "anonymous", scopes: ["write"] }, subject: "anonymous", scopes: ["write"] } };
    expect(await decideIdentity(undefined, await policy(), never)).toEqual(anonymous);
    expect(await decideIdentity(rq(IdentityType.Username, "root"), await policy(), never)).toEqual(anonymous);
    expect(await decideIdentity(rq(IdentityType.Kerberos, "ticket"), await policy(), never)).toEqual(anonymous);
    expect(await decideIdentity(rq(IdentityType.Jwt, "a.b.c"), await policy({ acceptJwt: false }), never)).toEqual(anonymous);
    const required = await policy({ required: true });
    for (const r of [undefined, rq(IdentityType.Username, "root"), rq(IdentityType.Saml, "<x/>")]) {
      expect(await decideIdentity(r, required, never)).toMatchObject({ reject: { result: 1, source: 1, reason: 1 } });
    }
  });
});
