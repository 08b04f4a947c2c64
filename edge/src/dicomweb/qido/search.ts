import type { Query } from "@dicom-edge/shared/query/model";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { parseQido, type QidoLevel, type QidoScope } from "@dicom-edge/shared/query/qido";
import type { Backend } from "../../backends/backend";
import { negotiateRequest } from "../accept/accept";
import { DicomWebError } from "../errors";
import { multipartStream, newBoundary } from "../multipart/writer";
import { nativeDicomModel } from "./native-xml";
import { resultDataset } from "./return-attributes";

const JSON_TYPE = "application/dicom+json";
const XML_TYPE = "application/dicom+xml";
/** The most results one response holds; a client pages past it with offset. */
export const MAX_RESULTS = 1000;

/**
 * QIDO-RS Search (PS3.18 10.6): studies, series or instances, all of them
 * or within the study/series of the path. No match is 200 with an empty
 * list (CP-2473; PS3.18 8.3.4.4.1 said 204, and Orthanc's client fails on
 * it). A result cut at `limit` carries a Warning header.
 */
export async function searchForResources(request: Request, backend: Backend, base: string, level: QidoLevel, scope: QidoScope): Promise<Response> {
  const url = new URL(request.url);
  const chosen = negotiateRequest(url, request.headers, [
    { mediaType: JSON_TYPE },
    { mediaType: "application/json" },
    { mediaType: "multipart/related", partType: XML_TYPE },
  ]);
  if (!chosen) throw new DicomWebError(406, `search results are served as ${JSON_TYPE} or multipart/related; type="${XML_TYPE}"`);

  const query = parseQido(url.searchParams, level, scope, { maxLimit: MAX_RESULTS });
  if (isQueryError(query)) throw new DicomWebError(400, query.reason);
  const result = await backend.search(query);
  if (isQueryError(result)) throw new DicomWebError(400, result.reason);

  const scoped = { study: scope.study !== undefined, series: scope.series !== undefined };
  const datasets = result.matches.map((match) => resultDataset(match, query, base, scoped));
  const headers = new Headers();
  for (const warning of warnings(query, result.truncated, url.host)) headers.append("Warning", warning);

  if (chosen.offer.mediaType === "multipart/related") {
    const boundary = newBoundary();
    async function* parts() {
      for (const dataset of datasets) yield { headers: { "Content-Type": `${XML_TYPE}; charset=utf-8` }, body: new TextEncoder().encode(nativeDicomModel(dataset)) };
    }
    headers.set("Content-Type", `multipart/related; type="${XML_TYPE}"; boundary=${boundary}`);
    return new Response(multipartStream(boundary, parts()), { headers });
  }
  headers.set("Content-Type", chosen.offer.mediaType);
  return new Response(JSON.stringify(datasets), { headers });
}

/** PS3.18 8.3.4.4 / 10.6.3.2: Warning 299 for results past the limit and for parameters not honoured. */
function warnings(query: Query, truncated: boolean, host: string): string[] {
  const out = query.warnings.map((text) => `299 ${host} "${text.replaceAll('"', "'")}"`);
  if (truncated) out.push(`299 ${host} "There are additional results that can be requested"`);
  return out;
}
