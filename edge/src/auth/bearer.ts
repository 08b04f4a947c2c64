/**
 * What an Authorization header carries for this edge (RFC 6750 2.1):
 * `Bearer <b64token>`, the scheme case-insensitive (RFC 9110 11.1).
 * - none: no header, or another scheme (Basic...): RFC 6750 3.1 says such a
 *   request "lacks any authentication information" for us, so the answer is
 *   the bare challenge, without an error code.
 * - malformed: the Bearer scheme without one well-formed b64token.
 * - token: the token, unchecked.
 */
export type BearerCredentials = { kind: "none" } | { kind: "malformed"; reason: string } | { kind: "token"; token: string };

/** RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Parses the header value; pure. Header values arrive trimmed (Fetch), so only inner spaces matter. */
export function parseAuthorization(header: string | null | undefined): BearerCredentials {
  if (header === null || header === undefined || header.trim() === "") return { kind: "none" };
  // RFC 9110 11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ].
  const match = /^([^\s]+)(?:[ \t]+(.*))?$/s.exec(header.trim());
  if (!match || match[1]!.toLowerCase() !== "bearer") return { kind: "none" };
  const token = match[2];
  if (token === undefined || token === "") return { kind: "malformed", reason: "the Bearer scheme without a token" };
  if (!B64TOKEN.test(token)) return { kind: "malformed", reason: "the bearer token is not one b64token (RFC 6750 2.1)" };
  return { kind: "token", token };
}
