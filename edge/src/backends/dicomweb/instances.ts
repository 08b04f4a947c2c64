import { numberValue, stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { Part10Error } from "@dicom-edge/shared/dicom/part10-reader";
import { multipartRelated } from "../../dicomweb/multipart/content-type";
import { MultipartError, readMultipart } from "../../dicomweb/multipart/reader";
import { BackendUnavailable, type InstanceDataset, type InstanceUids, type Scope, type StoredInstance } from "../backend";
import { copiedBody, type InstanceCache } from "../cache";
import { splitFileMeta, type SplitObject } from "../file-meta";
import type { Upstream } from "./upstream";

/**
 * An upstream DICOMweb server's instances one by one, as C-GET, C-MOVE and
 * SEND need them: which instances a scope holds (QIDO-RS), each one's
 * transfer syntax and layout, and its data set bytes (WADO-RS). QIDO-RS
 * need not return a transfer syntax (Orthanc's does not), so both come from
 * the stored object itself: its WADO-RS part, read up to the end of its File
 * Meta group (PS3.10 7.1).
 */

/** PS3.18 8.7.3.3.2: the instance as stored, whatever its syntax, as one Part-10 part. */
const AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*';
/** Instances per QIDO-RS request (PS3.18 8.3.4.4: limit and offset). */
const SEARCH_PAGE = 500;
/** Instance headers read from the upstream at once while a plan is made. */
const HEADER_READS = 4;

/** What QIDO-RS tells of one instance. */
interface Listed extends InstanceUids {
  sopClass?: string;
  numberOfFrames: number | null;
}

/** The instances of a scope with their stored layout; one that went away upstream meanwhile is left out. */
export async function upstreamInstances(upstream: Upstream, scope: Scope, cache?: InstanceCache): Promise<StoredInstance[]> {
  const listed = await search(upstream, scope);
  const found = await bounded(listed, HEADER_READS, (instance) => layoutOf(upstream, instance, cache));
  return found.filter((instance): instance is StoredInstance => instance !== null);
}

/**
 * One instance's data set, File Meta Information excluded; null when the
 * upstream does not have it. With a cache: from its copy, or from the
 * upstream while a copy is written as the bytes pass (only whole objects
 * become copies).
 */
export async function upstreamDataset(upstream: Upstream, uids: InstanceUids, cache?: InstanceCache): Promise<InstanceDataset | null> {
  const cached = await cache?.dataset(uids);
  if (cached) return cached;
  const opened = await open(upstream, uids);
  if (!opened) return null;
  const { split, partLength, close } = opened;
  const copy =
    cache && split.sopClass !== undefined
      ? cache.writer(uids, { transferSyntax: split.transferSyntax, sopClass: split.sopClass, datasetOffset: split.datasetOffset, ...(partLength !== undefined ? { size: partLength } : {}) })
      : undefined;
  const body = copiedBody(split.dataset, copy, { head: split.head, end: close, release: close, failure: (error) => unavailable(error, uids) });
  // The part's Content-Length (Orthanc sends one) fixes the data set's; the multipart reader holds the part to it as well.
  const { transferSyntax } = split;
  return partLength === undefined ? { body, transferSyntax } : { body, length: partLength - split.datasetOffset, transferSyntax };
}

/** QIDO-RS at the instance level of the scope, every page (PS3.18 10.6.1). */
async function search(upstream: Upstream, scope: Scope): Promise<Listed[]> {
  const path = `/studies/${scope.study}${scope.series ? `/series/${scope.series}` : ""}/instances`;
  const listed: Listed[] = [];
  for (let offset = 0; ; offset += SEARCH_PAGE) {
    const params = new URLSearchParams({ includefield: "0020000E", limit: String(SEARCH_PAGE), offset: String(offset) });
    params.append("includefield", "00080016");
    params.append("includefield", "00280008");
    if (scope.instance) params.set("SOPInstanceUID", scope.instance);
    const response = await upstream.call(`${path}?${params}`, { headers: { Accept: "application/dicom+json" } });
    // PS3.18 8.3.4.4.1 before CP-2473: no match may be 204; a study it does not know may be 404.
    if (response.status === 204 || response.status === 404) {
      await response.body?.cancel();
      return listed;
    }
    const text = await response.text();
    if (response.status !== 200) throw new BackendUnavailable(502, `the upstream DICOMweb server answered the instance search with ${response.status}`);
    let datasets: DicomJson[];
    try {
      datasets = text ? (JSON.parse(text) as DicomJson[]) : [];
      if (!Array.isArray(datasets)) throw new Error("not an array");
    } catch {
      throw new BackendUnavailable(502, "the upstream DICOMweb server answered the instance search with something other than DICOM JSON");
    }
    for (const dataset of datasets) {
      const series = stringValue(dataset, "0020000E") ?? scope.series;
      const sop = stringValue(dataset, "00080018");
      if (series === undefined || sop === undefined) continue;
      const sopClass = stringValue(dataset, "00080016");
      listed.push({ study: scope.study, series, sop, ...(sopClass ? { sopClass } : {}), numberOfFrames: numberValue(dataset, "00280008") ?? null });
    }
    if (datasets.length < SEARCH_PAGE) return listed;
  }
}

/**
 * One instance's transfer syntax and layout, from its File Meta group. Its
 * size is the part's Content-Length; an upstream that sends none has the
 * part read to its end to count it, since the agent is told each data set's
 * size before it asks for the bytes (shared/src/tunnel/retrieve.ts).
 */
async function layoutOf(upstream: Upstream, listed: Listed, cache?: InstanceCache): Promise<StoredInstance | null> {
  const cached = await cache?.layout(listed);
  if (cached) return storedInstance(listed, cached.sopClass, cached.transferSyntax, cached.size, cached.datasetOffset);
  const opened = await open(upstream, listed);
  if (!opened) return null;
  const { split, partLength, close } = opened;
  let size = partLength;
  try {
    if (size === undefined) {
      size = split.datasetOffset;
      for await (const chunk of split.dataset) size += chunk.byteLength;
    }
  } catch (error) {
    throw unavailable(error, listed);
  } finally {
    await close();
  }
  const sopClass = listed.sopClass ?? split.sopClass;
  // The agent proposes a presentation context per SOP Class (PS3.4 C.4.3.3.1): without one the instance cannot be sent.
  if (sopClass === undefined) throw new BackendUnavailable(502, `the upstream DICOMweb server gives no SOP Class UID for instance ${listed.sop}`);
  return storedInstance(listed, sopClass, split.transferSyntax, size, split.datasetOffset);
}

function storedInstance(listed: Listed, sopClass: string, transferSyntax: string, size: number, datasetOffset: number): StoredInstance {
  return {
    study: listed.study,
    series: listed.series,
    sop: listed.sop,
    sopClass,
    transferSyntax,
    size,
    datasetOffset,
    numberOfFrames: listed.numberOfFrames,
    // Frame and bulk data ranges are the upstream's to know: WADO-RS is relayed there (dicomweb/relay.ts).
    frames: null,
    bulk: {},
    ref: instancePath(listed),
  };
}

/** WADO-RS of the instance as stored, read up to the end of its File Meta group; null for a 404. `close` drops the rest. */
async function open(upstream: Upstream, uids: InstanceUids): Promise<{ split: SplitObject; partLength?: number; close: () => Promise<void> } | null> {
  const response = await upstream.call(instancePath(uids), { headers: { Accept: AS_STORED } });
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  const related = multipartRelated(response.headers.get("Content-Type"));
  if (response.status !== 200 || !related || !response.body) {
    await response.body?.cancel();
    throw new BackendUnavailable(502, `the upstream DICOMweb server answered WADO-RS of instance ${uids.sop} with ${response.status}${related ? "" : ", not multipart/related"}`);
  }
  const parts = readMultipart(response.body, related.boundary);
  const close = async () => {
    await parts.return();
  };
  try {
    const first = await parts.next();
    if (first.done) throw new BackendUnavailable(502, `the upstream DICOMweb server sent no part for instance ${uids.sop}`);
    const split = await splitFileMeta(first.value.body);
    return first.value.contentLength === undefined ? { split, close } : { split, partLength: first.value.contentLength, close };
  } catch (error) {
    await close();
    throw unavailable(error, uids);
  }
}

/** A broken answer of the upstream is its failure (502); a BackendUnavailable (a timeout, 504) stays as it is. */
function unavailable(error: unknown, uids: InstanceUids): unknown {
  if (error instanceof MultipartError || error instanceof Part10Error) {
    return new BackendUnavailable(502, `the upstream DICOMweb server sent instance ${uids.sop} broken: ${error.message}`);
  }
  return error;
}

function instancePath(uids: InstanceUids): string {
  return `/studies/${uids.study}/series/${uids.series}/instances/${uids.sop}`;
}

/** `work` over `items`, at most `limit` at once, results in the items' order; the first failure fails all and starts no more. */
async function bounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
