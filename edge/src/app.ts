import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { connectAgent } from "./agents/connect";
import { sendToAgent } from "./agents/send";
import { backendFor } from "./backends/select";
import { dicomweb } from "./dicomweb/routes";
import { DicomWebError, errorResponse } from "./dicomweb/errors";
import type { Env } from "./env";
import { health } from "./health/health";
import { readTimeout } from "./http/read-timeout";

export const app = new Hono<{ Bindings: Env }>();

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

app.get("/health", (c) => health(c.env, backendFor(c.env)));
app.route("/dicomweb", dicomweb);
app.get("/agents/:id/connect", (c) => connectAgent(c.req.raw, c.env, c.req.param("id")));
app.post("/agents/:id/send", (c) => sendToAgent(c.req.raw, c.env, c.req.param("id")));

app.notFound(() => errorResponse(404, "no such resource"));

// The one place where failures become responses: the standard's status with
// its reason; anything unexpected is a 500 whose details stay in the log.
app.onError((error, c) => {
  if (error instanceof DicomWebError) return errorResponse(error.status, error.message);
  if (error instanceof HTTPException) return errorResponse(error.status, error.message);
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed`, error);
  return errorResponse(500, "internal error");
});
