/**
 * The BCP 195 TLS Secure Transport Connection Profile of PS3.15 B.9, as
 * `node:tls` options: one place, shared by the DICOM-TLS listener and by
 * outgoing connections (`client.ts`), so both ends of the agent offer the
 * same protocol versions and cipher suites.
 */
import type { SecureContextOptions } from "node:tls";

/** PS3.15 B.9 / BCP 195 (RFC 9325 3.1.1): TLS 1.2 or later, never SSL or TLS 1.0/1.1. */
export const BCP195_MIN_VERSION = "TLSv1.2" as const;

/**
 * BCP 195 recommended suites (RFC 9325 4.2; PS3.15 B.9 lists the same
 * ECDHE AEAD suites): forward secrecy from ECDHE, authenticated encryption
 * from AES-GCM or ChaCha20-Poly1305, for both RSA and ECDSA certificates.
 * Strongest first, which `honorCipherOrder` makes binding on a server.
 * The TLS 1.3 suites (all AEAD with ephemeral key exchange, RFC 8446 9.1)
 * are named too: Node applies the `TLS_*` names to TLS 1.3 and the rest to
 * TLS 1.2. DHE and CBC suites are left out on purpose: BCP 195 only
 * tolerates them, and every dcmtk profile since 3.6.7 offers the ECDHE ones.
 */
export const BCP195_CIPHERS = [
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_AES_128_GCM_SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
].join(":");

/** PEM text or bytes, as `node:tls` takes them. */
export type Pem = string | Buffer;

/** The version and cipher part of the profile, common to servers and clients. */
export function bcp195ContextOptions(): Pick<SecureContextOptions, "minVersion" | "ciphers"> {
  return { minVersion: BCP195_MIN_VERSION, ciphers: BCP195_CIPHERS };
}
