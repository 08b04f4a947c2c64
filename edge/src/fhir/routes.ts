import { Hono, type Context } from "hono";
import { backendFor } from "../backends/select";
import type { Env } from "../env";
import { endpointResource, ENDPOINT_ID } from "./endpoint";
import { negotiateFormat, type FhirMediaType } from "./format";
import { capabilityStatement } from "./metadata";
import { errorResponse, FhirError, fhirResponse } from "./outcome";
import { parseSearch } from "./params";
import { readImagingStudy, readPatient } from "./read";
import type { SearchableType } from "./search-params";
import { searchImagingStudies, searchPatients } from "./searchset";

type Vars = { mediaType: FhirMediaType };
type Ctx = Context<{ Bindings: Env; Variables: Vars }>;

/**
 * FHIR R4 (4.0.1) at /fhir: read and search of Patient and ImagingStudy,
 * read of the one Endpoint, the CapabilityStatement. Read-only: every other
 * interaction on these types is a 405.
 */
export const fhir = new Hono<{ Bindings: Env; Variables: Vars }>();

// The one place where the FHIR frontend's failures become responses.
fhir.onError((error, c) => errorResponse(error, `${c.req.method} ${new URL(c.req.url).pathname}`));

// Content negotiation first, so a 406 comes before any work.
fhir.use("*", async (c, next) => {
  c.set("mediaType", negotiateFormat(new URL(c.req.url), c.req.raw.headers));
  await next();
});

const origin = (c: Ctx) => new URL(c.req.url).origin;
const send = (c: Ctx, body: unknown, headers: Record<string, string> = {}) => fhirResponse(body, 200, c.var.mediaType, headers);

fhir.get("/metadata", (c) => send(c, capabilityStatement(origin(c), c.env.VERSION)));

fhir.get("/Patient", (c) => search(c, "Patient"));
fhir.get("/ImagingStudy", (c) => search(c, "ImagingStudy"));
fhir.get("/Patient/:id", async (c) => send(c, await readPatient(backendFor(c.env, { authorization: c.req.header("Authorization") }), c.req.param("id"))));
fhir.get("/ImagingStudy/:id", async (c) => send(c, await readImagingStudy(backendFor(c.env, { authorization: c.req.header("Authorization") }), c.req.param("id"))));
fhir.get("/Endpoint/:id", (c) => {
  if (c.req.param("id") !== ENDPOINT_ID) throw new FhirError(404, "not-found", `Endpoint/${c.req.param("id")} is not known (the one Endpoint is Endpoint/${ENDPOINT_ID})`);
  return send(c, endpointResource(origin(c)));
});
fhir.get("/Endpoint", () => {
  throw new FhirError(405, "not-supported", "Endpoint supports read only (GET /fhir/Endpoint/dicomweb)", "");
});

// Everything else these types could do (create, update, patch, delete,
// POST _search, history) is not supported here.
for (const type of ["Patient", "ImagingStudy", "Endpoint"]) {
  for (const path of [`/${type}`, `/${type}/*`]) {
    fhir.all(path, (c) => {
      if (c.req.method === "GET" || c.req.method === "HEAD") throw new FhirError(404, "not-supported", `${new URL(c.req.url).pathname} is not supported: ${type} has read and search only`);
      throw new FhirError(405, "not-supported", `${c.req.method} is not supported on ${type}: this server is read-only (read${type === "Endpoint" ? "" : " and search"})`, "GET, HEAD");
    });
  }
}

fhir.all("/:type{[A-Z][A-Za-z]+}/*", (c) => unknownType(c.req.param("type")));
fhir.all("/:type{[A-Z][A-Za-z]+}", (c) => unknownType(c.req.param("type")));
fhir.all("*", (c) => {
  throw new FhirError(404, "not-found", `${new URL(c.req.url).pathname} is not a FHIR interaction of this server (see /fhir/metadata)`);
});

function unknownType(type: string): never {
  throw new FhirError(404, "not-supported", `resource type ${type} is not supported here (Patient, ImagingStudy and Endpoint are; see /fhir/metadata)`);
}

async function search(c: Ctx, type: SearchableType): Promise<Response> {
  const lenient = prefersLenient(c.req.header("prefer"));
  const parsed = parseSearch(type, new URL(c.req.url).searchParams, lenient);
  const context = { backend: backendFor(c.env, { authorization: c.req.header("Authorization") }), base: `${origin(c)}/fhir`, search: parsed };
  const bundle = type === "Patient" ? await searchPatients(context) : await searchImagingStudies(context);
  return send(c, bundle, lenient ? { "Preference-Applied": "handling=lenient" } : {});
}

/** RFC 7240 Prefer with handling=lenient (R4 search.html#errors); strict otherwise. */
function prefersLenient(prefer: string | undefined): boolean {
  return (prefer ?? "").split(/[,;]/).some((p) => p.replace(/\s+/g, "").toLowerCase() === "handling=lenient");
}
