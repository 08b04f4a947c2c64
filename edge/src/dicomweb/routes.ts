import { Hono, type Context } from "hono";
import type { Backend, Scope } from "../backends/backend";
import { backendFor } from "../backends/select";
import type { Env } from "../env";
import { deleteResource } from "./delete/delete";
import { isRelaying, relayed } from "./relay";
import { searchForResources } from "./qido/search";
import { storeInstances } from "./stow/stow";
import { retrieveBulkdata } from "./wado/bulkdata";
import { retrieveFrames } from "./wado/frames";
import { retrieveMetadata } from "./wado/metadata";
import { retrieveRendered } from "./wado/rendered";
import { retrieveInstances } from "./wado/retrieve";
import { isStreamingRetrieve, retrieveStreamed } from "./wado/retrieve-streamed";

type Ctx = Context<{ Bindings: Env }>;

/** The DICOMweb base URL of a request, from its own origin (PS3.18 8.2). */
function baseOf(c: Ctx): string {
  return `${new URL(c.req.url).origin}/dicomweb`;
}

function scopeOf(c: Ctx): Scope {
  const { study, series, instance } = c.req.param() as Record<string, string | undefined>;
  return { study: study!, ...(series ? { series } : {}), ...(instance ? { instance } : {}) };
}

function withBackend(handler: (c: Ctx, backend: Backend) => Promise<Response>) {
  return (c: Ctx) => handler(c, backendFor(c.env, { authorization: c.req.header("Authorization") }));
}

/** WADO-RS: served from the archive, or relayed to the upstream DICOMweb server (relay.ts). */
function retrieving(handler: (c: Ctx, backend: Backend) => Promise<Response>) {
  return withBackend((c, backend) => (isRelaying(backend) ? relayed(c.req.raw, backend, baseOf(c)) : handler(c, backend)));
}

/** Retrieve Study/Series/Instance: relayed, streamed from a backend that sends instances as they come (retrieve-streamed.ts), or from the archive. */
function retrievingInstances(c: Ctx, backend: Backend): Promise<Response> {
  if (isRelaying(backend)) return relayed(c.req.raw, backend, baseOf(c));
  if (isStreamingRetrieve(backend)) return retrieveStreamed(c.req.raw, backend, scopeOf(c));
  return retrieveInstances(c.req.raw, backend, baseOf(c), scopeOf(c));
}

/** The Studies Service (PS3.18 10): STOW-RS, WADO-RS, QIDO-RS and delete. */
export const dicomweb = new Hono<{ Bindings: Env }>();

const STUDY = "/studies/:study";
const SERIES = `${STUDY}/series/:series`;
const INSTANCE = `${SERIES}/instances/:instance`;

// QIDO-RS (PS3.18 10.6.1, Table 10.6.1-1): every level, across the archive or within the path.
dicomweb.get("/studies", withBackend((c, b) => searchForResources(c.req.raw, b, baseOf(c), "study", {})));
dicomweb.get("/series", withBackend((c, b) => searchForResources(c.req.raw, b, baseOf(c), "series", {})));
dicomweb.get("/instances", withBackend((c, b) => searchForResources(c.req.raw, b, baseOf(c), "instance", {})));
dicomweb.get(`${STUDY}/series`, withBackend((c, b) => searchForResources(c.req.raw, b, baseOf(c), "series", scopeOf(c))));
dicomweb.get(`${STUDY}/instances`, withBackend((c, b) => searchForResources(c.req.raw, b, baseOf(c), "instance", scopeOf(c))));
dicomweb.get(`${SERIES}/instances`, withBackend((c, b) => searchForResources(c.req.raw, b, baseOf(c), "instance", scopeOf(c))));

dicomweb.post("/studies", withBackend((c, b) => storeInstances(c.req.raw, b, baseOf(c))));
dicomweb.post(STUDY, withBackend((c, b) => storeInstances(c.req.raw, b, baseOf(c), c.req.param("study"))));

for (const path of [STUDY, SERIES, INSTANCE]) {
  dicomweb.get(path, withBackend(retrievingInstances));
  dicomweb.get(`${path}/metadata`, retrieving((c, b) => retrieveMetadata(c.req.raw, b, baseOf(c), scopeOf(c))));
  dicomweb.get(`${path}/thumbnail`, retrieving((c, b) => retrieveRendered(c.req.raw, b, scopeOf(c), "thumbnail")));
  dicomweb.delete(path, withBackend((c, b) => deleteResource(b, scopeOf(c))));
}
dicomweb.get(`${INSTANCE}/rendered`, retrieving((c, b) => retrieveRendered(c.req.raw, b, scopeOf(c), "rendered")));
dicomweb.get(`${INSTANCE}/frames/:frames`, retrieving((c, b) => retrieveFrames(c.req.raw, b, baseOf(c), scopeOf(c) as Required<Scope>, c.req.param("frames")!)));
dicomweb.get(`${INSTANCE}/frames/:frames/rendered`, retrieving((c, b) => retrieveRendered(c.req.raw, b, scopeOf(c), "rendered", c.req.param("frames")!)));
dicomweb.get(`${INSTANCE}/frames/:frames/thumbnail`, retrieving((c, b) => retrieveRendered(c.req.raw, b, scopeOf(c), "thumbnail", c.req.param("frames")!)));
dicomweb.get(`${INSTANCE}/bulkdata/:path{.+}`, retrieving((c, b) => retrieveBulkdata(c.req.raw, b, baseOf(c), scopeOf(c) as Required<Scope>, c.req.param("path")!)));
