import { frames } from "../../archive/r2/frames";
import { isSecureOrLoopback } from "../../http/service-url";
import { BackendUnavailable } from "../backend";

/** How much of an upstream's body is read at once (see `call`). */
const BODY_PIECE = 256 * 1024;

/** How the edge authenticates to the upstream DICOMweb server. */
export type UpstreamAuth =
  | { kind: "none" }
  /** A token of the edge's own (DICOMWEB_UPSTREAM_TOKEN). */
  | { kind: "bearer"; token: string }
  | { kind: "basic"; username: string; password: string }
  /** The caller's own Authorization header, where the upstream trusts the same issuer. */
  | { kind: "forward" };

export interface UpstreamConfig {
  /** The upstream's DICOMweb base URL, without a trailing slash. */
  base: string;
  auth: UpstreamAuth;
  /** For each call: until the response's headers, or between two chunks of its body. */
  timeoutMs: number;
}

/** What the dicomweb backend reads from the Worker's env (env.ts documents each). */
export interface UpstreamEnv {
  DICOMWEB_UPSTREAM_URL?: string;
  DICOMWEB_UPSTREAM_AUTH?: string;
  DICOMWEB_UPSTREAM_TOKEN?: string;
  DICOMWEB_UPSTREAM_USERNAME?: string;
  DICOMWEB_UPSTREAM_PASSWORD?: string;
  BACKEND_TIMEOUT_SECONDS?: string;
}

const DEFAULT_TIMEOUT_SECONDS = 30;

/** The upstream's settings, or what is wrong with them. Pure. */
export function upstreamConfig(env: UpstreamEnv): UpstreamConfig | string {
  if (!env.DICOMWEB_UPSTREAM_URL) return "BACKEND is dicomweb but DICOMWEB_UPSTREAM_URL is not set";
  let url: URL;
  try {
    url = new URL(env.DICOMWEB_UPSTREAM_URL);
  } catch {
    return "DICOMWEB_UPSTREAM_URL is not a URL";
  }
  if (!isSecureOrLoopback(url)) return "DICOMWEB_UPSTREAM_URL must be https (http only on 127.0.0.1, [::1] or localhost)";
  if (url.search || url.hash || url.username) return "DICOMWEB_UPSTREAM_URL must not hold a query, fragment or credentials";
  const seconds = env.BACKEND_TIMEOUT_SECONDS === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(env.BACKEND_TIMEOUT_SECONDS);
  if (!Number.isFinite(seconds) || seconds <= 0) return "BACKEND_TIMEOUT_SECONDS must be a number of seconds above 0";
  const auth = authOf(env);
  if (typeof auth === "string") return auth;
  return { base: url.href.replace(/\/+$/, ""), auth, timeoutMs: seconds * 1000 };
}

function authOf(env: UpstreamEnv): UpstreamAuth | string {
  switch (env.DICOMWEB_UPSTREAM_AUTH ?? "none") {
    case "none":
      return { kind: "none" };
    case "forward":
      return { kind: "forward" };
    case "bearer":
      return env.DICOMWEB_UPSTREAM_TOKEN ? { kind: "bearer", token: env.DICOMWEB_UPSTREAM_TOKEN } : "DICOMWEB_UPSTREAM_AUTH is bearer but DICOMWEB_UPSTREAM_TOKEN is not set";
    case "basic":
      return env.DICOMWEB_UPSTREAM_USERNAME && env.DICOMWEB_UPSTREAM_PASSWORD
        ? { kind: "basic", username: env.DICOMWEB_UPSTREAM_USERNAME, password: env.DICOMWEB_UPSTREAM_PASSWORD }
        : "DICOMWEB_UPSTREAM_AUTH is basic but DICOMWEB_UPSTREAM_USERNAME or DICOMWEB_UPSTREAM_PASSWORD is not set";
    default:
      return "DICOMWEB_UPSTREAM_AUTH must be none, bearer, basic or forward";
  }
}

/**
 * Calls to the upstream DICOMweb server: its credentials on every request,
 * a timeout on every wait (the headers, then each chunk of the body), and
 * every transport failure or 5xx as BackendUnavailable (502, 504 for a
 * timeout) naming the upstream's answer. `fetcher` is the Worker's fetch,
 * or an mTLS certificate binding's, which presents a client certificate.
 */
export class Upstream {
  constructor(
    private readonly config: UpstreamConfig,
    /** The caller's Authorization header, for "forward". */
    private readonly callerAuthorization: string | undefined,
    private readonly fetcher: (request: Request) => Promise<Response> = (request) => fetch(request),
  ) {}

  /**
   * `path` below the base (with its query). A 4xx comes back for the
   * caller to map; the body of any answer streams under the timeout.
   */
  async call(path: string, init: { method?: string; headers?: Record<string, string>; body?: ReadableStream<Uint8Array> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const authorization = this.authorization();
    if (authorization) headers.set("Authorization", authorization);
    const abort = new AbortController();
    const what = `${init.method ?? "GET"} ${this.config.base}${path.split("?")[0]}`;
    let timer = setTimeout(() => abort.abort(), this.config.timeoutMs);
    let response: Response;
    try {
      response = await this.fetcher(
        new Request(`${this.config.base}${path}`, { method: init.method ?? "GET", headers, signal: abort.signal, ...(init.body ? { body: init.body, duplex: "half" } : {}) } as RequestInit),
      );
    } catch (error) {
      clearTimeout(timer);
      if (abort.signal.aborted) throw new BackendUnavailable(504, `the upstream DICOMweb server did not answer ${what} within ${this.config.timeoutMs / 1000} s`);
      throw new BackendUnavailable(502, `the upstream DICOMweb server could not be reached for ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
    clearTimeout(timer);
    if (response.status >= 500) {
      const text = (await response.text().catch(() => "")).slice(0, 200);
      throw new BackendUnavailable(502, `the upstream DICOMweb server answered ${what} with ${response.status}${text ? `: ${text}` : ""}`);
    }
    if (!response.body) return response;
    // The body may stall after the headers: each piece must come within the timeout too. Read in
    // pieces of BODY_PIECE (frames): one JavaScript pull each, not one per network chunk.
    const pieces = frames(response.body, BODY_PIECE);
    const timeoutMs = this.config.timeoutMs;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        timer = setTimeout(() => abort.abort(), timeoutMs);
        try {
          const { done, value } = await pieces.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch {
          controller.error(new BackendUnavailable(abort.signal.aborted ? 504 : 502, `the upstream DICOMweb server's answer to ${what} broke off`));
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: async () => void (await pieces.return()),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  }

  private authorization(): string | undefined {
    const auth = this.config.auth;
    switch (auth.kind) {
      case "none":
        return undefined;
      case "forward":
        return this.callerAuthorization;
      case "bearer":
        return `Bearer ${auth.token}`;
      case "basic":
        // RFC 7617 2.1: user-id and password as UTF-8, then base64.
        return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${auth.username}:${auth.password}`)))}`;
    }
  }
}
