/**
 * For tests: a Backend whose search is the engine's in-memory matcher over
 * fixed datasets per level, in the order given, with the archive's paging
 * (limit, offset, truncated). Every other method is unused by FHIR reads.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { matches } from "@dicom-edge/shared/query/match";
import type { Level, Query } from "@dicom-edge/shared/query/model";
import type { Backend, SearchResult } from "../../backends/backend";

export interface MemoryBackend extends Backend {
  /** Every query asked, in order. */
  queries: Query[];
}

export function memoryBackend(datasets: Partial<Record<Level, DicomJson[]>>): MemoryBackend {
  const queries: Query[] = [];
  const unused = () => {
    throw new Error("not used by FHIR");
  };
  return {
    queries,
    async search(query: Query): Promise<SearchResult> {
      queries.push(query);
      const all = (datasets[query.level] ?? []).filter((d) => matches(query, d));
      const end = query.limit === undefined ? all.length : query.offset + query.limit;
      return { matches: all.slice(query.offset, end).map((dataset) => ({ dataset })), truncated: end < all.length };
    },
    store: unused,
    instances: unused,
    read: unused,
    dataset: unused,
    metadata: unused,
    delete: unused,
    health: unused,
  };
}
