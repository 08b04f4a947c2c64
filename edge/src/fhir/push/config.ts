/**
 * The push's settings from the Worker's env (env.ts documents each): where
 * the external FHIR server is and how to authenticate to it. Pure.
 *
 * - FHIR_PUSH_URL unset: no push.
 * - FHIR_PUSH_TOKEN_URL + FHIR_PUSH_CLIENT_ID + FHIR_PUSH_CLIENT_SECRET
 *   (+ FHIR_PUSH_SCOPE): OAuth 2.0 client credentials (RFC 6749 4.4).
 * - FHIR_PUSH_BEARER: a static bearer token (RFC 6750).
 * - neither: requests without an Authorization header.
 *
 * Anything half set, both kinds at once, or a URL that would send a
 * credential in the clear is a PushConfigError: the push stays off and
 * says why, rather than guessing.
 */
import type { Env } from "../../env";
import { isSecureOrLoopback } from "../../http/service-url";

export type PushBindings = Pick<
  Env,
  "FHIR_PUSH_URL" | "FHIR_PUSH_TOKEN_URL" | "FHIR_PUSH_CLIENT_ID" | "FHIR_PUSH_CLIENT_SECRET" | "FHIR_PUSH_SCOPE" | "FHIR_PUSH_BEARER"
>;

export interface ClientCredentials {
  kind: "client-credentials";
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** RFC 6749 3.3, sent as given; absent: the server's default scope. */
  scope?: string;
}

export type PushAuth = { kind: "none" } | { kind: "bearer"; token: string } | ClientCredentials;

export interface PushConfig {
  /** The FHIR base URL, without a trailing slash. */
  base: string;
  auth: PushAuth;
}

/** Why the push is off although FHIR_PUSH_URL is set. */
export interface PushConfigError {
  error: string;
}

const CLIENT_CREDENTIALS = ["FHIR_PUSH_TOKEN_URL", "FHIR_PUSH_CLIENT_ID", "FHIR_PUSH_CLIENT_SECRET"] as const;

/** The push's settings; undefined when FHIR_PUSH_URL is not set (no push). */
export function pushConfig(env: PushBindings): PushConfig | PushConfigError | undefined {
  const value = (name: keyof PushBindings) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const base = value("FHIR_PUSH_URL");
  const credentials = CLIENT_CREDENTIALS.map((name) => [name, value(name)] as const);
  const bearer = value("FHIR_PUSH_BEARER");
  const someCredentials = credentials.some(([, v]) => v !== undefined) || value("FHIR_PUSH_SCOPE") !== undefined;
  if (!base) {
    if (someCredentials || bearer) return { error: "credentials are set but FHIR_PUSH_URL is not" };
    return undefined;
  }
  const baseError = urlError("FHIR_PUSH_URL", base);
  if (baseError) return { error: baseError };
  if (someCredentials && bearer) return { error: "set either FHIR_PUSH_BEARER or FHIR_PUSH_TOKEN_URL, FHIR_PUSH_CLIENT_ID and FHIR_PUSH_CLIENT_SECRET, not both" };
  if (someCredentials) {
    const missing = credentials.filter(([, v]) => v === undefined).map(([name]) => name);
    if (missing.length > 0) return { error: `client credentials are half configured: set ${missing.join(" and ")} too` };
    const [tokenUrl, clientId, clientSecret] = credentials.map(([, v]) => v!) as [string, string, string];
    const tokenError = urlError("FHIR_PUSH_TOKEN_URL", tokenUrl, true);
    if (tokenError) return { error: tokenError };
    const scope = value("FHIR_PUSH_SCOPE");
    return { base: base.replace(/\/+$/, ""), auth: { kind: "client-credentials", tokenUrl, clientId, clientSecret, ...(scope && { scope }) } };
  }
  return { base: base.replace(/\/+$/, ""), auth: bearer ? { kind: "bearer", token: bearer } : { kind: "none" } };
}

export function isPushConfigError(value: PushConfig | PushConfigError | undefined): value is PushConfigError {
  return value !== undefined && "error" in value;
}

/**
 * Credentials and patient data must not travel in the clear: https, or
 * http on loopback only (a local server, the tests).
 */
function urlError(name: string, text: string, queryAllowed = false): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${name} is not a URL`;
  }
  if (isSecureOrLoopback(url)) {
    if (url.hash || (url.search && !queryAllowed)) return `${name} must not have a ${url.hash ? "fragment" : "query"}`;
    return undefined;
  }
  return `${name} must be https (http only on 127.0.0.1, [::1] or localhost)`;
}
