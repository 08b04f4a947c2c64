/**
 * Passcodes of the agent's DIMSE users (PS3.7 D.3.3.7, identity type 2)
 * are kept only as scrypt hashes (RFC 7914) in the configuration, in the
 * PHC string format: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, salt
 * and hash base64 without padding. Verification compares in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const KEY_LENGTH = 32;
/** N = 2^15, r = 8, p = 1: about 32 MiB and 50-100 ms per check, OWASP's floor for scrypt. */
const DEFAULT = { ln: 15, r: 8, p: 1 };

function derive(password: string, salt: Buffer, options: ScryptOptions, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, length, { ...options, maxmem: 256 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, { N: 2 ** DEFAULT.ln, r: DEFAULT.r, p: DEFAULT.p }, KEY_LENGTH);
  return `$scrypt$ln=${DEFAULT.ln},r=${DEFAULT.r},p=${DEFAULT.p}$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{16,})$/;

/** Whether `hash` is a hash this module can check. */
export function isPasswordHash(hash: string): boolean {
  const m = FORMAT.exec(hash);
  return m !== null && Number(m[1]) >= 10 && Number(m[1]) <= 20;
}

/** True when `password` matches `hash`; false for any mismatch or unreadable hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = FORMAT.exec(hash);
  if (!m || !isPasswordHash(hash)) return false;
  const expected = Buffer.from(m[5]!, "base64url");
  const actual = await derive(password, Buffer.from(m[4]!, "base64url"), { N: 2 ** Number(m[1]), r: Number(m[2]), p: Number(m[3]) }, expected.length);
  return timingSafeEqual(actual, expected);
}
