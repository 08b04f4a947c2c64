import { describe, expect, it } from "vitest";
import { hashPassword, isPasswordHash, verifyPassword } from "./password.ts";

describe("scrypt passcode hashes", () => {
  it("verifies the passcode it hashed and nothing else, spaces and accents included", async () => {
    const hash = await hashPassword(" Pässword 1 ");
    expect(isPasswordHash(hash)).toBe(true);
    expect(hash).not.toContain("Pässword");
    expect(await verifyPassword(" Pässword 1 ", hash)).toBe(true);
    // Not trimmed, not case-folded.
    expect(await verifyPassword("Pässword 1", hash)).toBe(false);
    expect(await verifyPassword(" pässword 1 ", hash)).toBe(false);
    // The same text in another Unicode normal form is the same passcode.
    expect(await verifyPassword(" Pa\u0308ssword 1 ", hash)).toBe(true);
  });

  it("salts: the same passcode hashes differently each time", async () => {
    expect(await hashPassword("x")).not.toBe(await hashPassword("x"));
  });

  it("refuses what is not one of its hashes", async () => {
    for (const bad of ["", "secret", "$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"]) {
      expect(isPasswordHash(bad)).toBe(false);
      expect(await verifyPassword("secret", bad)).toBe(false);
    }
  });
});
