import { Status } from "@dicom-edge/shared/dicom/status";
import { queryError, type Query, type QueryError } from "@dicom-edge/shared/query/model";
import type { RetrieveItem } from "@dicom-edge/shared/tunnel/retrieve";
import { PACS_ECHO, PACS_FIND, isPacsFailure, parsePacsFindResult, parsePacsResult } from "@dicom-edge/shared/tunnel/pacs";
import type { RetrievedInstance, StreamingRetrieve } from "../../dicomweb/wado/retrieve-streamed";
import { BackendUnavailable, type Backend, type InstanceDataset, type InstanceUids, type RetrieveLister, type Scope, type SearchResult, type StoredInstance, type StoreTransaction } from "../backend";
import type { InstanceCache } from "../cache";
import type { StudyChangeReporter } from "../../archive/study-events";
import { matchesOf, reportingStore } from "../proxied";
import { cachedRetrieve } from "./cached-retrieve";
import { statusText, unavailableFor } from "./failures";
import type { AgentPacsLink } from "./link";
import { pacsDataset, pacsRetrieveItems } from "./instances";
import { pacsInstances, pacsRead } from "./layout";
import { pacsMetadata } from "./metadata";
import { pacsRetrieve } from "./retrieve";
import { PacsStore } from "./store";

/** PS3.4 C.4.1.1.4: Matching terminated due to Cancel (the agent cancels once `limit` matches came). */
const CANCEL = 0xfe00;

/**
 * The edge in front of a hospital PACS reached through a connected agent
 * (BACKEND=dimse): QIDO-RS and the agents' C-FIND become a C-FIND at the
 * PACS, STOW-RS and C-STORE a C-STORE, WADO-RS Retrieve Study/Series/
 * Instance, metadata, frames and bulk data a C-GET (or a C-MOVE to the
 * agent, its AE table's choice), the agents' C-GET, C-MOVE and SEND a
 * C-FIND for the plan and a C-GET per instance, C-ECHO and /health a
 * C-ECHO; the agent acts as the SCU on an association of its own
 * (agents/pacs.ts, agent/src/pacs). The edge keeps nothing but, with
 * PROXY_CACHE=r2, copies of what it retrieved.
 */
export class DimseBackend implements Backend, StreamingRetrieve, RetrieveLister {
  /** WADO-RS frames, bulk data and rendered: each instance's layout read through once (layout.ts). */
  instances(scope: Scope): Promise<StoredInstance[]> {
    return pacsInstances(this, scope, this.pacs);
  }

  read(instance: StoredInstance, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array> | null> {
    return pacsRead(this.link, this.cache, instance, range);
  }

  /** WADO-RS Retrieve Metadata (PS3.18 10.4.1.1.2): the instances of a C-GET at the PACS, each read for its header. */
  metadata(scope: Scope) {
    return pacsMetadata(this, scope, this.pacs);
  }

  constructor(
    private readonly link: AgentPacsLink,
    /** PROXY_CACHE=r2: copies of the instances retrieved (backends/cache.ts). */
    private readonly cache?: InstanceCache,
    /** Told which studies a store changed (FHIR Subscriptions); what changes at the PACS directly is not seen. */
    private readonly report?: StudyChangeReporter,
  ) {}

  private get pacs(): string {
    return this.link.config.pacs;
  }

  /** The one query engine's Query as a C-FIND at the PACS (PS3.4 C.4.1); the PACS matches. */
  async search(query: Query): Promise<SearchResult | QueryError> {
    const answer = await this.link.call("find", { kind: PACS_FIND, query });
    const result = parsePacsFindResult(answer.result);
    if (!result) throw new BackendUnavailable(502, `agent ${this.link.config.agent} answered the C-FIND without a status`);
    if (isPacsFailure(result)) {
      // A key no C-FIND identifier can carry is the caller's request to fix.
      if (result.failure === "bad-request") return queryError(result.message);
      throw unavailableFor(result);
    }
    // PS3.4 C.4.1.1.4: A900 "Identifier does not match SOP Class" refuses the query itself.
    if ((result.status & 0xff00) === 0xa900) return queryError(`${this.pacs} refused the C-FIND: ${statusText(result.status, result.errorComment)}`);
    if (result.status !== Status.Success && result.status !== CANCEL) {
      throw new BackendUnavailable(502, `${this.pacs} answered the C-FIND with ${statusText(result.status, result.errorComment)}`);
    }
    return {
      matches: matchesOf(answer.matches ?? [], query.level),
      truncated: result.truncated,
    };
  }

  /** WADO-RS Retrieve Study/Series/Instance as a C-GET at the PACS (PS3.4 C.4.3), instances streamed as they come. */
  retrieveStream(scope: Scope): Promise<AsyncGenerator<RetrievedInstance> | undefined> {
    if (this.cache) return cachedRetrieve(this.link, this.cache, scope, (listed) => this.retrieveItems(listed));
    return pacsRetrieve(this.link, scope);
  }

  /** The agents' C-GET, C-MOVE and SEND: what to retrieve by an IMAGE level C-FIND (instances.ts). */
  retrieveItems(scope: Scope): Promise<RetrieveItem[]> {
    return pacsRetrieveItems((query) => this.search(query), scope, this.pacs);
  }

  /** Each instance of those by a C-GET of it alone. */
  dataset(uids: InstanceUids): Promise<InstanceDataset | null> {
    return pacsDataset(this.link, uids, this.cache);
  }

  store(): StoreTransaction {
    return reportingStore(new PacsStore(this.link), this.report);
  }

  /** C-ECHO and /health: the PACS answers a C-ECHO (PS3.7 9.1.5) through the agent. */
  async health(): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; error?: string }> }> {
    try {
      const result = parsePacsResult((await this.link.call("echo", { kind: PACS_ECHO })).result);
      if (!result) return unhealthy(`agent ${this.link.config.agent} answered the C-ECHO without a status`);
      if (isPacsFailure(result)) return unhealthy(result.message);
      if (result.status !== Status.Success) return unhealthy(`${this.pacs} answered the C-ECHO with ${statusText(result.status, result.errorComment)}`);
      return { ok: true, checks: { pacs: { ok: true } } };
    } catch (error) {
      return unhealthy(error instanceof Error ? error.message : String(error));
    }
  }

  delete(_scope: Scope): Promise<number> {
    return Promise.reject(new BackendUnavailable(503, "delete is not available with the dimse backend: DIMSE has no delete service"));
  }
}

function unhealthy(error: string): { ok: false; checks: Record<string, { ok: boolean; error?: string }> } {
  return { ok: false, checks: { pacs: { ok: false, error } } };
}
