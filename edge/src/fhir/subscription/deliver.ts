/**
 * One rest-hook notification (R4 subscription.html#channels): a POST to the
 * channel's endpoint with its headers, the resource as the body when the
 * channel has a payload, an empty body otherwise. Retries belong to the
 * caller (notify.ts); this only says how the attempt went.
 */
import { FHIR_JSON } from "../outcome";
import { parseHeader } from "./resource";

/** A notification that has not answered by then failed. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Failures in a row before a Subscription goes to status error (and a notification is given up). */
export const FAILURE_LIMIT = 5;
/** Queues' longest delay (12 hours). */
const MAX_DELAY_SECONDS = 43_200;
/** Without SUBSCRIPTION_RETRY_BASE_SECONDS. */
export const DEFAULT_RETRY_BASE_SECONDS = 10;

export interface Channel {
  endpoint: string;
  /** "Name: value" each (validated at create). */
  headers: string[];
  /** A mime type: the resource goes in the body; null: an empty body. */
  payload: string | null;
}

export type DeliveryResult = { ok: true } | { ok: false; error: string };

/**
 * POSTs one notification. Success is a 2xx answer; a network error, any
 * other status or no answer within `timeoutMs` is a failure with its reason
 * (never the headers, which may hold credentials).
 */
export async function deliver(channel: Channel, resource: object | null, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<DeliveryResult> {
  const headers = new Headers();
  for (const header of channel.headers) {
    const parsed = parseHeader(header);
    if (parsed) headers.append(parsed[0], parsed[1]);
  }
  headers.set("Content-Type", FHIR_JSON);
  const body = channel.payload !== null && resource !== null ? JSON.stringify(resource) : null;
  let response: Response;
  try {
    response = await fetch(channel.endpoint, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") return { ok: false, error: `no answer from the endpoint within ${timeoutMs / 1000} s` };
    return { ok: false, error: `the endpoint could not be reached: ${error instanceof Error ? error.message : String(error)}` };
  }
  // The answer's body is not needed; cancelling it frees the connection.
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { ok: true };
  return { ok: false, error: `the endpoint answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}` };
}

/** Seconds before retry `attempt + 1` of a notification whose `attempt` (1, 2, ...) failed: base, 2 base, 4 base, ... */
export function backoffSeconds(attempt: number, base: number): number {
  return Math.min(Math.round(base * 2 ** Math.max(0, attempt - 1)), MAX_DELAY_SECONDS);
}

/** SUBSCRIPTION_RETRY_BASE_SECONDS as a number of seconds (0 or more), else the default. */
export function retryBase(value: string | undefined): number {
  const n = value === undefined || value.trim() === "" ? NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_RETRY_BASE_SECONDS;
}
