import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { admin } from "./admin/routes";
import { connectAgent } from "./agents/connect";
import { sendToAgent } from "./agents/send";
import { backendFor } from "./backends/select";
import { dicomweb } from "./dicomweb/routes";
import { fhirErrorBody, errorResponse as fhirError } from "./fhir/outcome";
import { fhir } from "./fhir/routes";
import { DicomWebError, errorResponse } from "./dicomweb/errors";
import { BackendUnavailable } from "./backends/backend";
import type { Env } from "./env";
import { subscriptions } from "./fhir/subscription/routes";
import { health } from "./health/health";
import { requireAuth, type AuthVariables } from "./auth";
import { under } from "./auth/access";
import { readTimeout } from "./http/read-timeout";

export const app = new Hono<{ Bindings: Env; Variables: AuthVariables }>();

// CORS on every response, errors and 404s included, so a browser viewer
// (OHIF) sees the reason instead of an opaque network error; preflights for
// Authorization and Content-Type are answered here.
app.use(
  "*",
  cors({
    origin: "*",
    allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Accept", "Accept-Encoding"],
    exposeHeaders: ["Content-Type", "Content-Length", "Content-Location", "Location", "Warning", "WWW-Authenticate"],
    maxAge: 86400,
  }),
);

// Never a hang: a read the storage does not answer gets a 503 instead.
app.use("*", readTimeout(15_000));

// Bearer tokens (RFC 6750) and the scope of each route (auth/access.ts);
// after CORS, so preflights need no token, and before every route, so a
// refused request reads and writes nothing.
app.use("*", requireAuth());

// Public for load balancers; agent ids only for an admin (or with auth off).
app.get("/health", (c) => health(c.env, backendFor(c.env), { listAgents: c.var.authDisabled === true || c.var.principal?.scopes.includes("admin") === true }));
app.route("/dicomweb", dicomweb);
// Before /fhir, whose catch-all would answer Subscription requests first.
app.route("/fhir/Subscription", subscriptions);
app.route("/fhir", fhir);
app.route("/admin", admin);
app.get("/agents/:id/connect", (c) => connectAgent(c.req.raw, c.env, c.req.param("id")));
app.post("/agents/:id/send", (c) => sendToAgent(c.req.raw, c.env, c.req.param("id")));

app.notFound((c) => (under(c.req.path, "/fhir") ? fhirErrorBody(404, "no such resource") : errorResponse(404, "no such resource")));

// The one place where failures become responses: the standard's status with
// its reason; anything unexpected is a 500 whose details stay in the log.
app.onError((error, c) => {
  // FHIR answers in OperationOutcomes (a storage timeout included), the rest in DICOM JSON.
  if (under(c.req.path, "/fhir")) return fhirError(error, `${c.req.method} ${c.req.path}`);
  if (error instanceof DicomWebError) return errorResponse(error.status, error.message);
  if (error instanceof BackendUnavailable) return errorResponse(error.httpStatus, error.message);
  if (error instanceof HTTPException) return errorResponse(error.status, error.message);
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed`, error);
  return errorResponse(500, "internal error");
});
