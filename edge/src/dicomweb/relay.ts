import { reasonOf } from "../backends/dicomweb/dicomweb-backend";
import { DicomWebError, type DicomWebStatus } from "./errors";
import { rewriteBulkDataUris } from "./relay-rewrite";

/** What a backend in front of another DICOMweb server offers: WADO-RS passed on as it is. */
export interface Relaying {
  relay(request: Request, path: string): Promise<Response>;
}

export function isRelaying(backend: object): backend is Relaying {
  return typeof (backend as Partial<Relaying>).relay === "function";
}

/** Upstream refusals that mean the same here; any other 4xx is the upstream's failure (502). */
const PASSED_ON = new Set<DicomWebStatus>([400, 404, 406, 409, 413, 415]);

/**
 * WADO-RS (retrieve, metadata, frames, rendered, bulk data) through an
 * upstream DICOMweb server: the request's path below the base, its query
 * and Accept go on; the answer streams back with its media type. The
 * upstream's URLs in metadata become this edge's (`base`), so a client
 * fetches bulk data here too (relay-rewrite.ts). Refusals become this frontend's own errors.
 */
export async function relayed(request: Request, backend: Relaying, base: string): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname.slice(url.pathname.indexOf("/dicomweb") + "/dicomweb".length) + url.search;
  const response = await backend.relay(request, path);
  if (response.status >= 400) {
    const reason = `the upstream DICOMweb server answered ${response.status}: ${reasonOf(await response.text())}`;
    throw new DicomWebError(PASSED_ON.has(response.status as DicomWebStatus) ? (response.status as DicomWebStatus) : 502, reason);
  }
  const headers = new Headers();
  for (const name of ["Content-Type", "Warning", "Content-Location"]) {
    const value = response.headers.get(name);
    if (value) headers.set(name, value);
  }
  let body = response.body;
  if (body && /json/i.test(response.headers.get("Content-Type") ?? "")) body = body.pipeThrough(rewriteBulkDataUris(base));
  else if (response.headers.get("Content-Length")) headers.set("Content-Length", response.headers.get("Content-Length")!);
  return new Response(body, { status: response.status, headers });
}
