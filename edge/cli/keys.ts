/**
 * The operator's signing keys: ES256 private JWKs kept in files (mode 0600,
 * never on the edge), and the JWK Set of their public halves that the edge
 * is given as TOKEN_PUBLIC_KEYS.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { JWK } from "jose";
import { generateSigningKey } from "../src/auth/edge-tokens";
import { CliError } from "./errors";
import { repoRoot } from "./repo";

/** The local stack's signing key (`npm start` makes it); pass `--key` for any other. */
export const DEFAULT_KEY_FILE = path.join(repoRoot, ".wrangler", "token-signing-key.json");

/** What TOKEN_PUBLIC_KEYS holds. */
export interface JwkSet {
  keys: JWK[];
}

/** A key id that sorts by date and does not repeat: `20260401-3f9a1c`. */
export function newKid(now = new Date()): string {
  return `${now.toISOString().slice(0, 10).replaceAll("-", "")}-${randomBytes(3).toString("hex")}`;
}

/**
 * Makes a signing key and writes its private JWK to `file` (mode 0600).
 * An existing file is kept unless `force`: tokens signed by that key stop
 * verifying once the edge no longer lists its public half.
 */
export async function createSigningKeyFile(file: string, options: { force?: boolean } = {}): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  if (existsSync(file) && !options.force) {
    throw new CliError(`${file} exists; keeping it (--force replaces it, and ends every token it signed)`);
  }
  const { privateJwk, publicJwk } = await generateSigningKey(newKid());
  await mkdir(path.dirname(file), { recursive: true });
  if (options.force) await rm(file, { force: true });
  // "wx": never write through a file that appeared meanwhile; the mode holds only for a new file.
  await writeFile(file, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  return { privateJwk, publicJwk };
}

/** The private JWK in `file`, checked to be an ES256 signing key with a kid. */
export async function readSigningKey(file: string): Promise<JWK> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, "utf8")) as JWK;
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new CliError(missing ? `no signing key at ${file} (make one with \`token init\`)` : `${file} is not a JWK`, 1, { cause });
  }
  if (jwk?.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.d !== "string" || typeof jwk.x !== "string" || typeof jwk.y !== "string" || typeof jwk.kid !== "string") {
    throw new CliError(`${file} is not an ES256 private JWK with a kid (as \`token init\` writes)`);
  }
  const { mode } = await stat(file);
  if (mode & 0o077) console.error(`warning: ${file} can be read by other users: chmod 600 it`);
  return jwk;
}

/** The public half of an EC private JWK: the curve point, never `d`. */
export function publicJwkOf(privateJwk: JWK): JWK {
  const { kty, crv, x, y, kid, alg, use } = privateJwk;
  return { kty, crv, x, y, kid, alg: alg ?? "ES256", use: use ?? "sig" };
}

/** TOKEN_PUBLIC_KEYS for these private keys (old and new ones while rotating); one entry per kid. */
export function publicJwkSet(privateJwks: JWK[]): JwkSet {
  const keys = new Map<string, JWK>();
  for (const jwk of privateJwks) {
    const pub = publicJwkOf(jwk);
    const seen = keys.get(pub.kid!);
    if (seen && (seen.x !== pub.x || seen.y !== pub.y)) throw new CliError(`two different keys share the kid ${pub.kid}`);
    keys.set(pub.kid!, pub);
  }
  return { keys: [...keys.values()] };
}

/** The key in `file`, made first if there is none (the local stack). */
export async function loadOrCreateSigningKey(file: string): Promise<{ privateJwk: JWK; created: boolean }> {
  if (existsSync(file)) return { privateJwk: await readSigningKey(file), created: false };
  const { privateJwk } = await createSigningKeyFile(file);
  return { privateJwk, created: true };
}
