/**
 * One FHIR request to the external server with the configured
 * authentication: no header, the static bearer token, or a client
 * credentials token (token.ts). A 401 with a client credentials token gets
 * one more try with a new token (it may have been revoked or expired
 * early); a second 401, or a 401 for a static token, is the answer.
 */
import { FHIR_JSON } from "../outcome";
import type { PushConfig } from "./config";
import { accessToken, forgetToken } from "./token";
import { send } from "./http";

export interface FhirRequest {
  method: "PUT" | "DELETE" | "GET";
  /** Relative to the base: "Patient?identifier=...". */
  path: string;
  body?: object;
  /** For error messages and logs, instead of the path (which may hold a Patient ID). */
  what: string;
}

export async function fhirRequest(config: PushConfig, request: FhirRequest): Promise<Response> {
  const url = `${config.base}/${request.path}`;
  const headers = new Headers({ Accept: FHIR_JSON });
  if (request.body) {
    headers.set("Content-Type", FHIR_JSON);
    // R4 http.html#ops: ask for the resource in the answer (its server id is needed).
    headers.set("Prefer", "return=representation");
  }
  const body = request.body ? JSON.stringify(request.body) : null;
  const auth = config.auth;
  if (auth.kind === "bearer") headers.set("Authorization", `Bearer ${auth.token}`);
  if (auth.kind !== "client-credentials") return send(url, { method: request.method, headers, body }, request.what);

  const token = await accessToken(auth);
  headers.set("Authorization", `Bearer ${token}`);
  const first = await send(url, { method: request.method, headers, body }, request.what);
  if (first.status !== 401) return first;
  await first.body?.cancel().catch(() => undefined);
  forgetToken(auth, token);
  headers.set("Authorization", `Bearer ${await accessToken(auth)}`);
  return send(url, { method: request.method, headers, body }, request.what);
}
