import { stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { isQueryError, queryError, type Query, type QueryError } from "@dicom-edge/shared/query/model";
import { toQido } from "@dicom-edge/shared/query/to-qido";
import { BackendUnavailable, type Backend, type InstanceDataset, type InstanceUids, type Scope, type SearchResult, type StoredInstance, type StoreTransaction } from "../backend";
import { studiesQuery, type StudyChangeReporter } from "../../archive/study-events";
import { matchesOf, refusedReads, reportingStore } from "../proxied";
import type { InstanceCache } from "../cache";
import { upstreamDataset, upstreamInstances } from "./instances";
import { UpstreamStore } from "./store";
import type { Upstream } from "./upstream";

/**
 * The edge in front of an existing DICOMweb server (BACKEND=dicomweb): each
 * operation maps onto the same service upstream (QIDO-RS to QIDO-RS,
 * STOW-RS to STOW-RS, WADO-RS relayed), so a modality's C-STORE, C-FIND,
 * C-GET and C-MOVE through the agent reach that server too. The edge keeps
 * nothing.
 */
export class DicomWebBackend implements Backend {
  // WADO-RS is relayed to the upstream (dicomweb/relay.ts), which knows the
  // byte ranges and metadata of what it stores; the edge reads none of them.
  private readonly refused = refusedReads("the dicomweb backend relays WADO-RS to the upstream rather than reading instances itself");
  readonly read = this.refused.read;
  readonly metadata = this.refused.metadata;

  constructor(
    private readonly upstream: Upstream,
    /** PROXY_CACHE=r2: copies of the instances C-GET, C-MOVE and SEND read (cache.ts). */
    private readonly cache?: InstanceCache,
    /** Told which studies a store or delete through the edge changed (FHIR Subscriptions); changes made upstream directly are not seen. */
    private readonly report?: StudyChangeReporter,
  ) {}

  /** For C-GET, C-MOVE and SEND: QIDO-RS of the scope, and each instance's syntax and layout from its own File Meta group. */
  instances(scope: Scope): Promise<StoredInstance[]> {
    return upstreamInstances(this.upstream, scope, this.cache);
  }

  /** The WADO-RS part of the instance as stored, past its File Meta group. */
  dataset(uids: InstanceUids): Promise<InstanceDataset | null> {
    return upstreamDataset(this.upstream, uids, this.cache);
  }

  /** The one query engine's Query, sent on as QIDO-RS; the upstream matches. */
  async search(query: Query): Promise<SearchResult | QueryError> {
    const request = toQido(query);
    if (isQueryError(request)) return request;
    const response = await this.upstream.call(`${request.path}?${request.params}`, { headers: { Accept: "application/dicom+json" } });
    // PS3.18 8.3.4.4.1 before CP-2473: no match may be 204.
    if (response.status === 204) return { matches: [], truncated: false };
    const text = await response.text();
    if (response.status === 400) return queryError(`the upstream DICOMweb server refused the search: ${reasonOf(text)}`);
    if (response.status !== 200) throw new BackendUnavailable(502, `the upstream DICOMweb server answered the search with ${response.status}: ${reasonOf(text)}`);
    let datasets: DicomJson[];
    try {
      datasets = text ? (JSON.parse(text) as DicomJson[]) : [];
      if (!Array.isArray(datasets)) throw new Error("not an array");
    } catch {
      throw new BackendUnavailable(502, "the upstream DICOMweb server answered the search with something other than DICOM JSON");
    }
    const warning = response.headers.get("Warning") ?? "";
    return {
      matches: matchesOf(datasets, query.level),
      // PS3.18 10.6.3.2: the upstream says when there are more results past its limit.
      truncated: /additional results/i.test(warning) || (query.limit !== undefined && datasets.length >= query.limit),
    };
  }

  store(): StoreTransaction {
    return reportingStore(new UpstreamStore(this.upstream), this.report);
  }

  /**
   * A WADO-RS request sent on with its path, query and Accept; the
   * upstream's answer (a 5xx already mapped to BackendUnavailable), its body
   * streaming, for the DICOMweb frontend to pass on (dicomweb/relay.ts).
   */
  relay(request: Request, path: string): Promise<Response> {
    const accept = request.headers.get("Accept");
    return this.upstream.call(path, { method: request.method, ...(accept ? { headers: { Accept: accept } } : {}) });
  }

  async delete(scope: Scope): Promise<number> {
    // The study as it was, for subscriptions to match once it is gone.
    const before = this.report ? await this.search(studiesQuery([scope.study])) : undefined;
    // PS3.18 has no delete service; the edge's own DELETE is relayed as such, and fails as the upstream does.
    const response = await this.upstream.call(scopePath(scope), { method: "DELETE" });
    await response.body?.cancel();
    if (response.status === 404) return 0;
    if (response.status >= 400) throw new BackendUnavailable(502, `the upstream DICOMweb server refused the delete with ${response.status}`);
    const dataset = before && !isQueryError(before) ? before.matches[0]?.dataset : undefined;
    await this.report?.([{ study: scope.study, change: "deleted", ...(dataset ? { before: dataset } : {}) }]);
    return 1;
  }

  /** C-ECHO and /health: the upstream answers a one-result study search. */
  async health(): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; error?: string }> }> {
    try {
      const response = await this.upstream.call("/studies?limit=1", { headers: { Accept: "application/dicom+json" } });
      await response.body?.cancel();
      const ok = response.status === 200 || response.status === 204;
      return { ok, checks: { upstream: ok ? { ok } : { ok, error: `QIDO-RS answered ${response.status}` } } };
    } catch (error) {
      return { ok: false, checks: { upstream: { ok: false, error: error instanceof Error ? error.message : String(error) } } };
    }
  }

}


function scopePath(scope: Scope): string {
  return `/studies/${scope.study}${scope.series ? `/series/${scope.series}` : ""}${scope.instance ? `/instances/${scope.instance}` : ""}`;
}

/** The upstream's error text (DICOM JSON ErrorComment, or its first words). */
export function reasonOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    const comment = first && typeof first === "object" ? stringValue(first as DicomJson, "00000902") : undefined;
    if (comment) return comment;
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 200) || "no reason given";
}
