/**
 * Patient.id from the index's identity of a patient, the Patient ID
 * (0010,0020) and its Issuer (0010,0021). FHIR ids are
 * [A-Za-z0-9\-\.]{1,64} (R4 datatypes.html#id), and the id should read like
 * the Patient ID in a URL, so:
 *
 * - letters, digits and "-" stay as they are; every other byte of the UTF-8
 *   form becomes "." and two uppercase hex digits ("PAT_1" -> "PAT.5F1");
 * - an issuer follows after ".-", escaped the same way
 *   ("12345.-HOSP.20A" is 12345 issued by "HOSP A");
 * - an id that would be longer than 64 characters is the escaped start of
 *   the Patient ID, ".h" and 16 hex digits of an FNV-1a hash of the whole
 *   identity; it is found again by a wild card search on that start.
 *
 * Every form but the last decodes without the index. Each identity has
 * exactly one id: decoding accepts only the canonical form.
 */

export interface PatientKey {
  /** Patient ID (0010,0020), never empty. */
  id: string;
  /** Issuer of Patient ID (0010,0021); absent when the index has none. */
  issuer?: string;
}

export type ParsedPatientId = { kind: "key"; key: PatientKey } | { kind: "hashed"; prefix: string; hash: string };

const MAX_ID = 64;
const HASHED_PREFIX_MAX = MAX_ID - 2 - 16;
const PLAIN = /^[A-Za-z0-9-]$/;
const encoder = new TextEncoder();

/** The Patient.id of an identity. */
export function patientResourceId(key: PatientKey): string {
  const full = escape(key.id) + (key.issuer ? `.-${escape(key.issuer)}` : "");
  if (full.length <= MAX_ID) return full;
  let prefix = "";
  for (const ch of key.id) {
    const next = escape(ch);
    if (prefix.length + next.length > HASHED_PREFIX_MAX) break;
    prefix += next;
  }
  return `${prefix}.h${identityHash(key)}`;
}

/** What an id names; undefined when it is not an id this edge gives out. */
export function parsePatientResourceId(id: string): ParsedPatientId | undefined {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
  const hashed = /^(.*)\.h([0-9a-f]{16})$/.exec(id);
  if (hashed) {
    const prefix = unescape(hashed[1]!);
    return prefix !== undefined && escape(prefix) === hashed[1] ? { kind: "hashed", prefix, hash: hashed[2]! } : undefined;
  }
  const separator = id.indexOf(".-");
  const pid = unescape(separator >= 0 ? id.slice(0, separator) : id);
  const issuer = separator >= 0 ? unescape(id.slice(separator + 2)) : undefined;
  if (!pid || (separator >= 0 && !issuer)) return undefined;
  const key: PatientKey = issuer ? { id: pid, issuer } : { id: pid };
  return patientResourceId(key) === id ? { kind: "key", key } : undefined;
}

function escape(text: string): string {
  let out = "";
  for (const ch of text) {
    if (PLAIN.test(ch)) out += ch;
    else for (const byte of encoder.encode(ch)) out += `.${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The text of an escaped run, undefined when it is not one (or not UTF-8). */
function unescape(escaped: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i]!;
    if (ch !== ".") {
      if (!PLAIN.test(ch)) return undefined;
      bytes.push(ch.charCodeAt(0));
      continue;
    }
    const hex = escaped.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** FNV-1a, 64 bits, of the identity's UTF-8 bytes: a lookup check, not a secret. */
function identityHash(key: PatientKey): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of encoder.encode(`${key.id}\u0000${key.issuer ?? ""}`)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
