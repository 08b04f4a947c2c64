/**
 * OAuth 2.0 client credentials (RFC 6749 4.4) for the push: the access
 * token is asked for with a form body `grant_type=client_credentials`
 * (+ `scope`), the client authenticated by HTTP Basic (2.3.1), and kept in
 * this isolate until shortly before its `expires_in` runs out. Concurrent
 * pushes share one token request. A token the FHIR server refuses is
 * forgotten (`forgetToken`) so the next request asks for a new one.
 */
import type { ClientCredentials } from "./config";
import { PushError } from "./errors";
import { bodyExcerpt, send } from "./http";

export interface AccessToken {
  token: string;
  /** ms since the epoch; the token is not used past `expiresAt - refreshMargin`. */
  expiresAt: number;
}

/** Without expires_in (RFC 6749 5.1 only recommends it): reuse a token this long, ms. */
export const DEFAULT_LIFETIME_MS = 5 * 60 * 1000;
/** Refresh this long before expiry: a tenth of the lifetime, at most a minute. */
export const MAX_REFRESH_MARGIN_MS = 60 * 1000;

/** Per isolate: a token (or the request for one) per client. */
const cache = new Map<string, { pending: Promise<AccessToken> } | { token: AccessToken; refreshAt: number }>();

/**
 * The Authorization value of RFC 6749 2.3.1: Basic (RFC 7617) of the client
 * id and secret, each form-urlencoded first (Appendix B).
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
  const bytes = new TextEncoder().encode(pair);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** application/x-www-form-urlencoded of one value (spaces as "+"). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** The token of a successful token response (RFC 6749 5.1), or why it is not one. */
export function parseTokenResponse(body: unknown, now: number): AccessToken | string {
  if (typeof body !== "object" || body === null) return "the token response is not a JSON object";
  const { access_token: token, token_type: type, expires_in: expiresIn } = body as Record<string, unknown>;
  if (typeof token !== "string" || token === "") return "the token response has no access_token";
  // RFC 6749 7.1 / RFC 6750: only bearer tokens can be sent as "Bearer"; the type is case-insensitive.
  if (typeof type !== "string" || type.toLowerCase() !== "bearer") return `the token type is ${JSON.stringify(type)}, not Bearer`;
  const seconds = typeof expiresIn === "string" ? Number(expiresIn) : expiresIn;
  const lifetime = typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_LIFETIME_MS;
  return { token, expiresAt: now + lifetime };
}

/** When to stop using a token got at `now`: shortly before it expires. */
export function refreshTime(token: AccessToken, now: number): number {
  const lifetime = token.expiresAt - now;
  return token.expiresAt - Math.min(MAX_REFRESH_MARGIN_MS, lifetime / 10);
}

/** An access token for these credentials: the cached one while fresh, else a new one. */
export async function accessToken(credentials: ClientCredentials, clock: () => number = Date.now): Promise<string> {
  const key = cacheKey(credentials);
  const entry = cache.get(key);
  if (entry && "token" in entry && clock() < entry.refreshAt) return entry.token.token;
  if (entry && "pending" in entry) return (await entry.pending).token;
  // The lifetime counts from before the request: the token is not kept past its expiry.
  const askedAt = clock();
  const pending = requestToken(credentials, askedAt);
  cache.set(key, { pending });
  try {
    const token = await pending;
    cache.set(key, { token, refreshAt: refreshTime(token, askedAt) });
    return token.token;
  } catch (error) {
    // A refusal is not cached: the next push asks again (the queue's backoff paces it).
    const current = cache.get(key);
    if (current && "pending" in current && current.pending === pending) cache.delete(key);
    throw error;
  }
}

/** Drops `token` from the cache (the FHIR server refused it), unless a newer one replaced it already. */
export function forgetToken(credentials: ClientCredentials, token: string): void {
  const key = cacheKey(credentials);
  const entry = cache.get(key);
  if (entry && "token" in entry && entry.token.token === token) cache.delete(key);
}

/** For tests: forget every token. */
export function clearTokenCache(): void {
  cache.clear();
}

async function requestToken(credentials: ClientCredentials, askedAt: number): Promise<AccessToken> {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (credentials.scope) form.set("scope", credentials.scope);
  const what = "the token request";
  const response = await send(
    credentials.tokenUrl,
    {
      method: "POST",
      headers: { Authorization: basicAuthorization(credentials.clientId, credentials.clientSecret), "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: form.toString(),
    },
    what,
  );
  if (response.status !== 200) {
    // RFC 6749 5.2: {"error": "invalid_client", "error_description": ...}
    const excerpt = await bodyExcerpt(response);
    let reason = excerpt;
    try {
      const { error, error_description: description } = JSON.parse(excerpt) as { error?: unknown; error_description?: unknown };
      if (typeof error === "string") reason = typeof description === "string" ? `${error}: ${description}` : error;
    } catch {
      // not JSON: the excerpt as it is
    }
    throw new PushError("token", `the token endpoint answered HTTP ${response.status}${reason ? ` (${reason})` : ""}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new PushError("token", "the token response is not JSON", { cause: error });
  }
  const token = parseTokenResponse(body, askedAt);
  if (typeof token === "string") throw new PushError("token", token);
  return token;
}

function cacheKey(c: ClientCredentials): string {
  return JSON.stringify([c.tokenUrl, c.clientId, c.scope ?? ""]);
}
