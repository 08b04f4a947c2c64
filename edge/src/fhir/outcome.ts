/**
 * FHIR errors: the HTTP status and OperationOutcome of every refusal of the
 * FHIR frontend (R4 http.html, search.html 3.1.1.4), mapped to a response
 * in one place, as dicomweb/errors.ts does for DICOMweb.
 */
import { HTTPException } from "hono/http-exception";
import { DicomWebError } from "../dicomweb/errors";
import type { IssueSeverity, IssueType, OperationOutcome } from "./r4";
import { BackendUnavailable } from "../backends/backend";

/** FHIR's JSON media type (R4 http.html#mime). */
export const FHIR_JSON = "application/fhir+json";

/** The statuses the FHIR frontend answers errors with. */
export type FhirStatus = 400 | 401 | 403 | 404 | 405 | 406 | 500 | 502 | 503 | 504;

/** A request the FHIR frontend refuses; routes.ts turns it into a response. */
export class FhirError extends Error {
  constructor(
    readonly status: FhirStatus,
    readonly code: IssueType,
    message: string,
    /** For 405: the methods the resource allows (RFC 9110 15.5.6). */
    readonly allow?: string,
  ) {
    super(message);
  }
}

export function operationOutcome(severity: IssueSeverity, code: IssueType, diagnostics: string): OperationOutcome {
  return { resourceType: "OperationOutcome", issue: [{ severity, code, diagnostics }] };
}

/** JSON of a FHIR resource with FHIR's media type (or application/json when that was asked for). */
export function fhirResponse(body: unknown, status = 200, mediaType = FHIR_JSON, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": `${mediaType}; charset=utf-8`, ...headers } });
}

/**
 * The one mapping of failures to FHIR responses: a FhirError as it says;
 * DICOMweb's and hono's HTTP errors (a storage timeout is a 503) with their
 * status; anything else a 500 whose details stay in the log.
 */
export function errorResponse(error: unknown, where: string): Response {
  const known = asFhirError(error);
  if (!known) console.error(`${where} failed`, error);
  const { status, code, message, allow } = known ?? new FhirError(500, "exception", "internal error");
  return fhirResponse(operationOutcome(status >= 500 ? "fatal" : "error", code, message), status, FHIR_JSON, allow ? { Allow: allow } : {});
}

/** An error of another part of the edge (authentication, a timeout, no route) as the FHIR frontend says it. */
export function fhirErrorBody(status: number, message: string): Response {
  return errorResponse(byStatus(status, message) ?? new FhirError(500, "exception", message), "fhir");
}

function asFhirError(error: unknown): FhirError | undefined {
  if (error instanceof FhirError) return error;
  if (error instanceof DicomWebError || error instanceof HTTPException) return byStatus(error.status, error.message);
  if (error instanceof BackendUnavailable) return new FhirError(error.httpStatus, error.httpStatus === 504 ? "timeout" : "transient", error.message);
  return undefined;
}

/** R4 OperationOutcome issue types for the HTTP statuses other parts of the edge answer with. */
function byStatus(status: number, message: string): FhirError | undefined {
  if (status === 503) return new FhirError(503, "transient", message);
  if (status === 401) return new FhirError(401, "login", message);
  if (status === 403) return new FhirError(403, "forbidden", message);
  if (status === 404) return new FhirError(404, "not-found", message);
  if (status === 400) return new FhirError(400, "invalid", message);
  return undefined;
}
