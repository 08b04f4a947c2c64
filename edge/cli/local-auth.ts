/**
 * Auth for the local stack (`npm start`, scripts/start.mjs): the local
 * signing key, the TOKEN_PUBLIC_KEYS that wrangler dev is given, and one
 * all-scopes token in `.wrangler/local-token`, the one place a local token
 * is kept. A token that is still good is reused, so restarts neither
 * change it nor pile up rows.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { decodeProtectedHeader } from "jose";
import { SCOPES, tokenSha256 } from "../src/auth/edge-tokens";
import { activeTokenByHashSql } from "./api-tokens";
import { DEFAULT_CONFIG, executeSql, type D1Target } from "./d1";
import { DEFAULT_KEY_FILE, loadOrCreateSigningKey, publicJwkSet } from "./keys";
import { repoRoot } from "./repo";
import { createToken } from "./tokens";

export const LOCAL_TOKEN_FILE = path.join(repoRoot, ".wrangler", "local-token");
export const LOCAL_TOKEN_NAME = "local";
const LIFETIME_SECONDS = 30 * 86_400;
/** A token with less than this left is replaced rather than reused. */
const MIN_REMAINING_MS = 86_400_000;

export interface LocalAuth {
  /** The JSON for `--var TOKEN_PUBLIC_KEYS:...`. */
  publicKeys: string;
  keyFile: string;
  keyCreated: boolean;
  tokenFile: string;
  tokenCreated: boolean;
  tokenExpiresAt: number;
}

/** Run after the local migrations and before wrangler dev (one writer on the local D1 at a time). */
export async function prepareLocalAuth(options: { target?: D1Target; keyFile?: string; tokenFile?: string } = {}): Promise<LocalAuth> {
  const target = options.target ?? { remote: false, config: DEFAULT_CONFIG };
  const keyFile = options.keyFile ?? DEFAULT_KEY_FILE;
  const tokenFile = options.tokenFile ?? LOCAL_TOKEN_FILE;
  const { privateJwk, created: keyCreated } = await loadOrCreateSigningKey(keyFile);
  const publicKeys = JSON.stringify(publicJwkSet([privateJwk]));

  const kept = await reusableToken(target, tokenFile, privateJwk.kid!);
  if (kept) return { publicKeys, keyFile, keyCreated, tokenFile, tokenCreated: false, tokenExpiresAt: kept.expiresAt };

  const { token, record } = await createToken(target, privateJwk, { name: LOCAL_TOKEN_NAME, scopes: [...SCOPES], expiresInSeconds: LIFETIME_SECONDS });
  await mkdir(path.dirname(tokenFile), { recursive: true });
  await rm(tokenFile, { force: true });
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600, flag: "wx" });
  return { publicKeys, keyFile, keyCreated, tokenFile, tokenCreated: true, tokenExpiresAt: record.expiresAt };
}

/** The token in `file` if the current key signed it and its row is valid for another day. */
async function reusableToken(target: D1Target, file: string, kid: string): Promise<{ expiresAt: number } | null> {
  if (!existsSync(file)) return null;
  const token = (await readFile(file, "utf8")).trim();
  try {
    if (decodeProtectedHeader(token).kid !== kid) return null;
  } catch {
    return null;
  }
  const [rows = []] = await executeSql(target, activeTokenByHashSql(await tokenSha256(token), Date.now() + MIN_REMAINING_MS));
  const row = rows[0];
  return row ? { expiresAt: Number(row.expires_at) } : null;
}
