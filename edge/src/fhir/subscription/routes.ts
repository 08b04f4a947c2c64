/**
 * FHIR R4 Subscription (subscription.html), mounted at /fhir/Subscription:
 * create, read, search and delete. Criteria on ImagingStudy, rest-hook
 * channels; notifications are sent by the queue consumers (notify.ts).
 * Errors are OperationOutcomes (../outcome.ts).
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Env } from "../../env";
import { negotiateFormat } from "../format";
import { errorResponse, FHIR_JSON, FhirError, fhirResponse, operationOutcome } from "../outcome";
import type { IssueType } from "../r4";
import { toResource, validateSubscription } from "./resource";
import { deleteSubscription, insertSubscription, readSubscription, searchSubscriptions, type SubscriptionFilter } from "./store";

type Ctx = Context<{ Bindings: Env }>;

/** A Subscription is a few hundred bytes; anything near this is not one. */
const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;
/** R4 id: [A-Za-z0-9\-\.]{1,64}. */
const ID = /^[A-Za-z0-9.-]{1,64}$/;
/** The Subscription search parameters (R4 subscription.html#search), as metadata.ts lists them; _count and _offset page. */
export const SUBSCRIPTION_SEARCH_PARAMS = [
  { name: "_id", type: "token", definition: "http://hl7.org/fhir/SearchParameter/Resource-id" },
  { name: "status", type: "token", definition: "http://hl7.org/fhir/SearchParameter/Subscription-status" },
  { name: "url", type: "uri", definition: "http://hl7.org/fhir/SearchParameter/Subscription-url" },
  { name: "criteria", type: "string", definition: "http://hl7.org/fhir/SearchParameter/Subscription-criteria" },
  { name: "type", type: "token", definition: "http://hl7.org/fhir/SearchParameter/Subscription-type" },
] as const;
const SEARCH_PARAMETERS = [...SUBSCRIPTION_SEARCH_PARAMS.map((p) => p.name), "_count", "_offset"].join(", ");

export const subscriptions = new Hono<{ Bindings: Env }>();

/** An OperationOutcome with a status outside FhirError's (413, 415). */
function refuse(status: number, code: IssueType, message: string): Response {
  return fhirResponse(operationOutcome("error", code, message), status);
}

/** [base]/Subscription of this request (the FHIR base is the request's origin + /fhir). */
function typeUrl(c: Ctx): string {
  return `${new URL(c.req.url).origin}/fhir/Subscription`;
}

// create (R4 http.html#create): the server assigns id and meta, and sets
// status active (R4: "requested" is the client's; the server activates it).
subscriptions.post(
  "/",
  bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => refuse(413, "too-costly", `the body is larger than ${MAX_BODY_BYTES} bytes`) }),
  async (c) => {
    const mediaType = negotiateFormat(new URL(c.req.url), c.req.raw.headers);
    const type = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== FHIR_JSON && type !== "application/json") return refuse(415, "not-supported", `Content-Type must be ${FHIR_JSON}`);
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new FhirError(400, "invalid", "the body is not JSON");
    }
    const input = validateSubscription(body, `${new URL(c.req.url).origin}/fhir`);
    if ("code" in input) throw new FhirError(input.status, input.code, input.message);
    const stored = await insertSubscription(c.env.DB, input);
    const headers = { Location: `${typeUrl(c)}/${stored.id}`, "Last-Modified": new Date(stored.updatedAt).toUTCString() };
    return fhirResponse(toResource(stored), 201, mediaType, headers);
  },
);

subscriptions.get("/:id", async (c) => {
  const mediaType = negotiateFormat(new URL(c.req.url), c.req.raw.headers);
  const id = c.req.param("id");
  const stored = ID.test(id) ? await readSubscription(c.env.DB, id) : null;
  if (!stored) throw new FhirError(404, "not-found", `no Subscription/${id}`);
  return fhirResponse(toResource(stored), 200, mediaType, { "Last-Modified": new Date(stored.updatedAt).toUTCString() });
});

// search (R4 http.html#search): _id, status, url (the endpoint), criteria and
// type; _count and _offset page. Unknown parameters are refused, so a
// misspelt one cannot silently widen the search.
subscriptions.get("/", async (c) => {
  const url = new URL(c.req.url);
  const mediaType = negotiateFormat(url, c.req.raw.headers);
  const filter: SubscriptionFilter = {};
  let count = DEFAULT_COUNT;
  let offset = 0;
  let none = false;
  for (const [name, value] of url.searchParams) {
    switch (name) {
      case "_id":
        filter.id = value;
        break;
      case "status":
        filter.status = value.split(",").map((s) => s.trim());
        break;
      case "url":
        filter.url = value;
        break;
      case "criteria":
        filter.criteria = value;
        break;
      case "type":
        // rest-hook is the only channel type stored.
        if (!value.split(",").includes("rest-hook")) none = true;
        break;
      case "_count":
      case "_offset": {
        if (!/^\d{1,9}$/.test(value)) throw new FhirError(400, "invalid", `${name} must be a non-negative integer`);
        if (name === "_count") count = Math.min(Number(value), MAX_COUNT);
        else offset = Number(value);
        break;
      }
      case "_format":
        break; // negotiateFormat
      default:
        throw new FhirError(400, "not-supported", `"${name}" is not a supported Subscription search parameter (${SEARCH_PARAMETERS})`);
    }
  }
  const { total, subscriptions: found } = none ? { total: 0, subscriptions: [] } : await searchSubscriptions(c.env.DB, filter, { count, offset });
  const page = (at: number) => {
    const link = new URL(url);
    link.searchParams.set("_count", String(count));
    link.searchParams.set("_offset", String(at));
    return link.toString();
  };
  const more = count > 0 && offset + found.length < total;
  const bundle = {
    resourceType: "Bundle",
    type: "searchset",
    total,
    link: [{ relation: "self", url: url.toString() }, ...(more ? [{ relation: "next", url: page(offset + count) }] : [])],
    // FHIR JSON has no empty arrays (R4 json.html).
    ...(found.length > 0 ? { entry: found.map((s) => ({ fullUrl: `${typeUrl(c)}/${s.id}`, resource: toResource(s), search: { mode: "match" } })) } : {}),
  };
  return fhirResponse(bundle, 200, mediaType);
});

// delete (R4 http.html#delete): 204 when it went; 404 when there was none.
subscriptions.delete("/:id", async (c) => {
  const id = c.req.param("id");
  if (!ID.test(id) || !(await deleteSubscription(c.env.DB, id))) throw new FhirError(404, "not-found", `no Subscription/${id}`);
  return new Response(null, { status: 204 });
});

subscriptions.all("/", (c) => {
  throw new FhirError(405, "not-supported", `${c.req.method} is not supported on Subscription`, "GET, HEAD, POST");
});
subscriptions.all("/:id", (c) => {
  throw new FhirError(405, "not-supported", `${c.req.method} is not supported on a Subscription (update is not implemented)`, "GET, HEAD, DELETE");
});
subscriptions.all("*", (c) => {
  throw new FhirError(404, "not-found", `no such resource: ${new URL(c.req.url).pathname}`);
});

subscriptions.onError((error, c) => errorResponse(error, `${c.req.method} ${new URL(c.req.url).pathname}`));
