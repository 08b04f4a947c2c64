/**
 * Every request the push sends goes through here: a timeout on each (no
 * push hangs a queue consumer), no redirects followed (a credential goes to
 * the configured URL only), and network failures as PushErrors.
 */
import { PushError } from "./errors";

/** A request the server has not answered by then failed. */
export const PUSH_TIMEOUT_MS = 10_000;

/**
 * fetch with the push's rules. `what` names the request in errors instead
 * of its URL, whose query may hold a Patient ID (logs carry no patient data).
 */
export async function send(url: string, init: RequestInit, what: string, timeoutMs = PUSH_TIMEOUT_MS): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") throw new PushError("timeout", `${what}: no answer within ${timeoutMs / 1000} s`, { cause: error });
    throw new PushError("unreachable", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The start of a body for an error message; the rest is dropped. */
export async function bodyExcerpt(response: Response, limit = 300): Promise<string> {
  const text = await response.text().catch(() => "");
  return text.length > limit ? `${text.slice(0, limit)}...` : text;
}
