import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSigningKeyFile, newKid, publicJwkOf, publicJwkSet, readSigningKey } from "./keys";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "dicom-edge-keys-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("signing key files", () => {
  it("names keys by date and a random suffix", () => {
    expect(newKid(new Date(Date.UTC(2026, 3, 1)))).toMatch(/^20260401-[0-9a-f]{6}$/);
    expect(newKid()).not.toBe(newKid());
  });

  it("writes the private JWK with mode 0600 and reads it back", async () => {
    const file = path.join(dir, "sub", "key.json");
    const { privateJwk, publicJwk } = await createSigningKeyFile(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readSigningKey(file)).toEqual(privateJwk);
    expect(publicJwkOf(privateJwk)).toEqual(publicJwk);
    expect(publicJwk).not.toHaveProperty("d");
  });

  it("keeps an existing file unless forced", async () => {
    const file = path.join(dir, "key.json");
    const first = await createSigningKeyFile(file);
    await expect(createSigningKeyFile(file)).rejects.toThrow(/exists/);
    expect(await readSigningKey(file)).toEqual(first.privateJwk);
    const second = await createSigningKeyFile(file, { force: true });
    expect(second.privateJwk.kid).not.toBe(first.privateJwk.kid);
    expect(await readSigningKey(file)).toEqual(second.privateJwk);
  });

  it("refuses files that are not ES256 private keys", async () => {
    const file = path.join(dir, "key.json");
    await expect(readSigningKey(file)).rejects.toThrow(/token init/);
    await writeFile(file, "not json");
    await expect(readSigningKey(file)).rejects.toThrow(/not a JWK/);
    const { publicJwk } = await createSigningKeyFile(path.join(dir, "other.json"));
    await writeFile(file, JSON.stringify(publicJwk));
    await expect(readSigningKey(file)).rejects.toThrow(/private JWK/);
  });

  it("lists old and new public keys once each, for rotation", async () => {
    const a = await createSigningKeyFile(path.join(dir, "a.json"));
    const b = await createSigningKeyFile(path.join(dir, "b.json"));
    const set = publicJwkSet([a.privateJwk, b.privateJwk, a.privateJwk]);
    expect(set.keys).toEqual([a.publicJwk, b.publicJwk]);
    expect(JSON.stringify(set)).not.toContain('"d"');
    expect(() => publicJwkSet([a.privateJwk, { ...b.privateJwk, kid: a.privateJwk.kid }])).toThrow(/share the kid/);
  });

  it("keeps the key file JSON readable by hand", async () => {
    const file = path.join(dir, "key.json");
    await createSigningKeyFile(file);
    expect(await readFile(file, "utf8")).toMatch(/^\{\n  "kty": "EC"/);
  });
});
