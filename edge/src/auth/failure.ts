import { errorResponse } from "../dicomweb/errors";
import type { Scope } from "./edge-tokens";

/** The realm of every challenge (RFC 7235 2.2). */
export const REALM = "dicom-edge";

/**
 * Why a request is refused, before it becomes HTTP (authFailureResponse).
 * The names are RFC 6750 3.1's error codes where it has one. Descriptions
 * are ours, fixed texts: never the token, nor anything read from it.
 */
export type AuthFailure =
  /** No bearer token (RFC 6750 3.1: no error code then). */
  | { error: "missing" }
  /** An Authorization header for Bearer that does not hold one token. */
  | { error: "invalid_request"; description: string }
  /** Expired, badly signed, another audience or issuer, revoked, unknown... */
  | { error: "invalid_token"; description: string; subject?: string }
  | { error: "insufficient_scope"; scope: Scope; subject: string }
  /** Authenticated, and refused for another reason than a scope (a revoked agent). */
  | { error: "forbidden"; description: string; subject?: string }
  /** Fail closed: no issuer configured, or a setting that is wrong. */
  | { error: "unconfigured"; description: string }
  /** The issuer's keys could not be fetched: not the caller's fault, try again. */
  | { error: "unavailable"; description: string };

export function isAuthFailure(value: object): value is AuthFailure {
  return "error" in value;
}

/**
 * The one place where refusals become HTTP (RFC 6750 3): 401 with a Bearer
 * challenge for a missing, malformed or invalid token, 403 with
 * `scope` for a token without the needed scope, 503 for what the operator
 * must fix or what may pass. The body is the door's own error form:
 * `body` (an OperationOutcome under /fhir), by default the DICOM JSON
 * error of every other edge error (dicomweb/errors.ts).
 *
 * RFC 6750 3.1 suggests 400 for invalid_request; this edge answers 401, so
 * that every refused credential carries the challenge a client re-authenticates on.
 */
export function authFailureResponse(failure: AuthFailure, body: ErrorBody = errorResponse): Response {
  const challenge = (status: 401 | 403, message: string, header: string): Response => {
    const response = body(status, message);
    response.headers.set("WWW-Authenticate", header);
    return response;
  };
  switch (failure.error) {
    case "missing":
      return challenge(401, "a bearer token is required", `Bearer realm="${REALM}"`);
    case "invalid_request":
    case "invalid_token":
      return challenge(401, failure.description, `Bearer realm="${REALM}", error="${failure.error}", error_description="${quotable(failure.description)}"`);
    case "insufficient_scope": {
      const description = `needs the ${failure.scope} scope`;
      return challenge(403, description, `Bearer realm="${REALM}", error="insufficient_scope", error_description="${description}", scope="${failure.scope}"`);
    }
    case "forbidden":
      return body(403, failure.description);
    case "unconfigured":
      return body(503, failure.description);
    case "unavailable": {
      const response = body(503, failure.description);
      response.headers.set("Retry-After", "30");
      return response;
    }
    default:
      return failure satisfies never;
  }
}

/** The status authFailureResponse answers with; for the log line. */
export function statusOf(failure: AuthFailure): 401 | 403 | 503 {
  switch (failure.error) {
    case "missing":
    case "invalid_request":
    case "invalid_token":
      return 401;
    case "insufficient_scope":
    case "forbidden":
      return 403;
    default:
      return 503;
  }
}

/**
 * A refused attempt, for the operator: method, path without its query (a
 * QIDO-RS query can name a patient), why, and the subject when a signature
 * proved it. Never the token nor its header.
 */
export function logRefusal(method: string, path: string, failure: AuthFailure): void {
  const reason = failure.error === "missing" ? "no bearer token" : failure.error === "insufficient_scope" ? `needs the ${failure.scope} scope` : failure.description;
  const subject = "subject" in failure && failure.subject !== undefined ? ` subject=${JSON.stringify(failure.subject)}` : "";
  console.warn(`auth: ${method} ${path} refused ${statusOf(failure)} ${failure.error}: ${reason}${subject}`);
}

/** An error response with a status and a reason, in the door's own form. */
export type ErrorBody = (status: 401 | 403 | 503, message: string) => Response;

/** RFC 6750 3: error_description is %x20-21 / %x23-5B / %x5D-7E; anything else becomes a space. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, " ");
}
