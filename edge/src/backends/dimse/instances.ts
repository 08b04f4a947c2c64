/**
 * A PACS's instances one by one, as the agents' C-GET, C-MOVE and SEND
 * need them (agents/retrieve.ts): which instances a scope holds and of
 * which SOP Class, by an IMAGE level C-FIND (PS3.4 C.6.2.1.2), and each
 * one's data set by a C-GET of that instance alone (C.4.3). Its transfer
 * syntax is the presentation context the PACS sends it on, known only with
 * the bytes: the plan carries none and the fetch announces it.
 */
import { stringValue } from "@dicom-edge/shared/dicom/json";
import { Part10Error } from "@dicom-edge/shared/dicom/part10-reader";
import { isQueryError, type Match, type Query, type QueryError } from "@dicom-edge/shared/query/model";
import type { RetrieveItem } from "@dicom-edge/shared/tunnel/retrieve";
import { BackendUnavailable, type InstanceDataset, type InstanceUids, type Scope, type SearchResult } from "../backend";
import { copiedBody, type InstanceCache } from "../cache";
import { splitFileMeta } from "../file-meta";
import type { RetrievedInstance } from "../../dicomweb/wado/retrieve-streamed";
import type { AgentPacsLink } from "./link";
import { pacsRetrieve } from "./retrieve";

/** The Study Root query for the instances of a scope: its UIDs as single value keys (PS3.4 C.2.2.2.1). */
export function instanceQuery(scope: Scope): Query {
  const uid = (tag: string, value: string): Match => ({ kind: "single", tag, vr: "UI", value });
  return {
    level: "instance",
    matches: [
      uid("0020000D", scope.study),
      ...(scope.series !== undefined ? [uid("0020000E", scope.series)] : []),
      ...(scope.instance !== undefined ? [uid("00080018", scope.instance)] : []),
    ],
    // SOP Class UID is asked at this level always (shared/src/query/to-c-find.ts).
    includeFields: [],
    fuzzy: false,
    offset: 0,
    warnings: [],
  };
}

/** The instances a C-FIND found, in its order; one without its SOP Class cannot be offered a presentation context. */
export async function pacsRetrieveItems(search: (query: Query) => Promise<SearchResult | QueryError>, scope: Scope, pacs: string): Promise<RetrieveItem[]> {
  const result = await search(instanceQuery(scope));
  if (isQueryError(result)) throw new BackendUnavailable(502, `${pacs} refused the C-FIND for the instances to retrieve: ${result.reason}`);
  return result.matches.map((match) => {
    const series = match.series ?? scope.series;
    const sopClass = stringValue(match.dataset, "00080016");
    if (match.sop === undefined || series === undefined || sopClass === undefined) {
      throw new BackendUnavailable(502, `${pacs} answered the C-FIND for the instances to retrieve without their Series, SOP Instance and SOP Class UIDs`);
    }
    return { study: scope.study, series, sop: match.sop, sopClass };
  });
}

/**
 * The end of a C-GET of one instance, after its bytes: its RESULT, where a
 * failure (a second instance, a broken stream) fails the read.
 */
export async function retrievedAlone(retrieved: AsyncGenerator<RetrievedInstance>, link: AgentPacsLink, sop: string): Promise<void> {
  const after = await retrieved.next();
  if (!after.done) {
    await retrieved.return(undefined);
    throw new BackendUnavailable(502, `${link.config.pacs} sent more than instance ${sop} for its C-GET`);
  }
}

/**
 * One instance's data set, File Meta Information excluded, by a C-GET of
 * it alone; null when the PACS has no such instance. Read to its end, the
 * C-GET's final response is awaited too: a failure there errors the body.
 * With a cache: from its copy, or from the PACS while a copy is written.
 */
export async function pacsDataset(link: AgentPacsLink, uids: InstanceUids, cache?: InstanceCache): Promise<InstanceDataset | null> {
  const cached = await cache?.dataset(uids);
  if (cached) return cached;
  const retrieved = await pacsRetrieve(link, { study: uids.study, series: uids.series, instance: uids.sop });
  if (!retrieved) return null;
  const first = await retrieved.next();
  if (first.done) return null;
  const { sopClass, transferSyntax } = first.value;
  let split;
  try {
    split = await splitFileMeta(first.value.body);
  } catch (error) {
    await retrieved.return(undefined);
    if (error instanceof Part10Error) throw new BackendUnavailable(502, `agent ${link.config.agent} sent instance ${uids.sop} without a File Meta group: ${error.message}`);
    throw error;
  }
  const copy = cache?.writer(uids, { transferSyntax, sopClass, datasetOffset: split.datasetOffset });
  const body = copiedBody(split.dataset, copy, {
    head: split.head,
    end: () => retrievedAlone(retrieved, link, uids.sop),
    release: async () => void (await retrieved.return(undefined)),
  });
  return { body, transferSyntax };
}
