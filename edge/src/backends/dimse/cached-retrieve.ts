/**
 * WADO-RS retrieve through the dimse backend with PROXY_CACHE=r2: a scope
 * whose instances are all cached (by the PACS's own listing, a C-FIND) is
 * served from R2 without a C-GET; otherwise the scope's C-GET runs as
 * without a cache and each instance it brings is copied as it passes.
 */
import type { RetrieveItem } from "@dicom-edge/shared/tunnel/retrieve";
import type { RetrievedInstance } from "../../dicomweb/wado/retrieve-streamed";
import { BackendUnavailable, type Scope } from "../backend";
import { copiedBody, type InstanceCache } from "../cache";
import { splitFileMeta } from "../file-meta";
import type { AgentPacsLink } from "./link";
import { pacsRetrieve } from "./retrieve";

/** HEAD requests to R2 at once while the cache is checked. */
const LOOKUPS = 8;

export async function cachedRetrieve(
  link: AgentPacsLink,
  cache: InstanceCache,
  scope: Scope,
  list: (scope: Scope) => Promise<RetrieveItem[]>,
): Promise<AsyncGenerator<RetrievedInstance> | undefined> {
  const items = await list(scope);
  if (items.length === 0) return undefined;
  if (await allCached(cache, items)) return fromCache(cache, items);
  const live = await pacsRetrieve(link, scope);
  return live && copying(live, cache, items);
}

async function allCached(cache: InstanceCache, items: readonly RetrieveItem[]): Promise<boolean> {
  for (let at = 0; at < items.length; at += LOOKUPS) {
    const layouts = await Promise.all(items.slice(at, at + LOOKUPS).map((item) => cache.layout(item)));
    if (layouts.some((layout) => layout === null)) return false;
  }
  return true;
}

/** The copies, one after the other; one gone meanwhile (nothing evicts them, but a bucket can be emptied) ends the response early. */
async function* fromCache(cache: InstanceCache, items: readonly RetrieveItem[]): AsyncGenerator<RetrievedInstance> {
  for (const item of items) {
    const copy = await cache.object(item);
    if (!copy) throw new BackendUnavailable(502, `the cached copy of ${item.sop} went away during the retrieve`);
    yield { sopClass: copy.layout.sopClass, sop: item.sop, transferSyntax: copy.layout.transferSyntax, body: copy.body };
  }
}

/**
 * The C-GET's instances as they come, each copied to the cache on its way
 * (the whole Part-10 object the agent framed). A C-STORE sub-operation
 * names its SOP Instance, not its series: the listing does; one it did
 * not list passes uncopied.
 */
async function* copying(live: AsyncGenerator<RetrievedInstance>, cache: InstanceCache, items: readonly RetrieveItem[]): AsyncGenerator<RetrievedInstance> {
  const listed = new Map(items.map((item) => [item.sop, item]));
  for await (const instance of live) {
    const split = await splitFileMeta(instance.body);
    const uids = listed.get(instance.sop);
    const copy = uids && cache.writer(uids, { transferSyntax: instance.transferSyntax, sopClass: instance.sopClass, datasetOffset: split.datasetOffset });
    const whole = (async function* () {
      yield split.head;
      yield* split.dataset;
    })();
    yield { ...instance, body: copiedBody(whole, copy) };
  }
}
