/**
 * The Subscription resource (FHIR R4, subscription.html): what a create
 * accepts, and the resource a read returns. Pure.
 */
import { FHIR_JSON } from "../outcome";
import type { IssueType } from "../r4";
import { parseCriteria } from "./criteria";
import { isSecureOrLoopback } from "../../http/service-url";

/** R4 SubscriptionStatus: the server moves requested to active, and active to error after repeated failures. */
export type SubscriptionStatus = "requested" | "active" | "error" | "off";

/** A validated create: what the server stores. */
export interface NewSubscription {
  /** active, or off when the client asked for it. */
  status: "active" | "off";
  criteria: string;
  /** The FHIR base the criteria is read against. */
  base: string;
  endpoint: string;
  /** channel.header, each "Name: value". */
  headers: string[];
  /** channel.payload: the resource goes in the body; null: empty notifications. */
  payload: typeof FHIR_JSON | null;
  reason: string;
  /** The resource as sent, without what the server sets (id, meta, status, error). */
  resource: Record<string, unknown>;
}

/** A create refused: 400 with an OperationOutcome of this issue type. */
export interface Invalid {
  status: 400;
  code: IssueType;
  message: string;
}

const invalid = (message: string, code: IssueType = "invalid"): Invalid => ({ status: 400, code, message });

/** Hosts where a plain-http endpoint is allowed: the machine itself (local development, tests). */
/** RFC 9110 5.1 field-name (a token), then ":", then the value. */
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$/s;
/** Field values: visible Latin-1 characters, spaces and tabs (RFC 9110 5.5, and what Headers accepts); no CR, LF, NUL or other controls. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the notifier sets itself, or that would change how the request is framed. */
const RESERVED_HEADERS = new Set(["content-type", "content-length", "transfer-encoding", "host", "connection", "upgrade", "te", "trailer", "keep-alive", "expect"]);
const MAX_HEADERS = 20;
const MAX_HEADER_LENGTH = 4096;
const MAX_ENDPOINT_LENGTH = 2048;

/**
 * Checks a create's body (R4 Subscription: status, reason, criteria and
 * channel.type are required); `fhirBase` is this server's, for the criteria.
 */
export function validateSubscription(body: unknown, fhirBase: string): NewSubscription | Invalid {
  if (!isObject(body)) return invalid("the body must be a JSON object");
  if (body.resourceType !== "Subscription") return invalid(`resourceType must be "Subscription", not ${JSON.stringify(body.resourceType)}`);

  const status = body.status;
  if (status === undefined) return invalid("status is required");
  if (status === "error") return invalid('status "error" is set by the server, not by a client');
  if (status !== "requested" && status !== "active" && status !== "off") return invalid(`status ${JSON.stringify(status)} is not requested, active or off`);

  if (body.reason === undefined) return invalid("reason is required (R4)");
  if (typeof body.reason !== "string" || body.reason.trim() === "") return invalid("reason must be a non-empty string");

  if (body.criteria === undefined) return invalid("criteria is required");
  if (typeof body.criteria !== "string") return invalid("criteria must be a string");
  const criteria = parseCriteria(body.criteria, fhirBase);
  if ("reason" in criteria) return invalid(criteria.reason, "not-supported");

  if (body.end !== undefined && (typeof body.end !== "string" || Number.isNaN(Date.parse(body.end)))) return invalid("end must be an instant");

  const channel = body.channel;
  if (!isObject(channel)) return invalid("channel is required");
  if (channel.type !== "rest-hook") return invalid(`channel.type ${JSON.stringify(channel.type)} is not supported: only rest-hook`, "not-supported");

  const endpoint = checkEndpoint(channel.endpoint);
  if (typeof endpoint === "object") return endpoint;

  let payload: NewSubscription["payload"] = null;
  if (channel.payload !== undefined) {
    if (channel.payload !== FHIR_JSON) return invalid(`channel.payload ${JSON.stringify(channel.payload)} is not supported: ${FHIR_JSON}, or none for empty notifications`, "not-supported");
    payload = FHIR_JSON;
  }

  const headers = checkHeaders(channel.header);
  if (!Array.isArray(headers)) return headers;

  const { id: _id, meta: _meta, status: _status, error: _error, ...resource } = body;
  return { status: status === "off" ? "off" : "active", criteria: body.criteria, base: fhirBase, endpoint, headers, payload, reason: body.reason, resource };
}

/** https anywhere; http only on loopback, so local development and tests can listen. */
function checkEndpoint(value: unknown): string | Invalid {
  if (typeof value !== "string" || value === "") return invalid("channel.endpoint is required for rest-hook");
  if (value.length > MAX_ENDPOINT_LENGTH) return invalid(`channel.endpoint is longer than ${MAX_ENDPOINT_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(`channel.endpoint ${JSON.stringify(value)} is not an absolute URL`);
  }
  if (url.username || url.password) return invalid("channel.endpoint must not hold credentials: send them in channel.header");
  if (isSecureOrLoopback(url)) return value;
  return invalid("channel.endpoint must be https (http only for 127.0.0.1 or localhost)");
}

/** channel.header: "Name: value" strings, nothing that could add a header or split the request. */
function checkHeaders(value: unknown): string[] | Invalid {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return invalid("channel.header must be an array of strings");
  if (value.length > MAX_HEADERS) return invalid(`channel.header holds more than ${MAX_HEADERS} headers`);
  const headers: string[] = [];
  for (const header of value) {
    if (typeof header !== "string") return invalid("channel.header must be an array of strings");
    if (header.length > MAX_HEADER_LENGTH) return invalid(`a channel.header is longer than ${MAX_HEADER_LENGTH} characters`);
    const parsed = parseHeader(header);
    if (!parsed) return invalid(`channel.header ${JSON.stringify(header)} is not "Name: value" without control characters (CR, LF)`);
    if (RESERVED_HEADERS.has(parsed[0].toLowerCase())) return invalid(`channel.header may not set ${parsed[0]}`);
    headers.push(header);
  }
  return headers;
}

/** "Name: value" to [name, value]; undefined when it is not one header line. */
export function parseHeader(header: string): [string, string] | undefined {
  const match = HEADER.exec(header);
  if (!match || !HEADER_VALUE.test(match[2]!)) return undefined;
  return [match[1]!, match[2]!.trim()];
}

/** The stored state of a Subscription (edge/migrations/0004_fhir_subscriptions.sql). */
export interface StoredSubscription {
  id: string;
  status: SubscriptionStatus;
  error: string | null;
  resource: Record<string, unknown>;
  updatedAt: number;
}

/**
 * The resource a read returns: as stored, with the server's id, meta,
 * status and error, and the channel's header values masked: they usually
 * carry the receiver's credentials, which a reader of Subscriptions (read
 * scope) must not learn. The deliveries use the stored values.
 */
export function toResource(stored: StoredSubscription): Record<string, unknown> {
  const { resourceType: _, ...rest } = stored.resource;
  const channel = isObject(rest.channel) ? rest.channel : undefined;
  const header = Array.isArray(channel?.header) ? (channel.header as string[]).map(maskHeader) : undefined;
  return {
    resourceType: "Subscription",
    id: stored.id,
    meta: { lastUpdated: new Date(stored.updatedAt).toISOString() },
    ...rest,
    ...(channel && header ? { channel: { ...channel, header } } : {}),
    status: stored.status,
    ...(stored.error !== null ? { error: stored.error } : {}),
  };
}

/** "Authorization: Bearer abc" -> "Authorization: ***". */
function maskHeader(header: string): string {
  const parsed = parseHeader(header);
  return parsed ? `${parsed[0]}: ***` : "***";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
