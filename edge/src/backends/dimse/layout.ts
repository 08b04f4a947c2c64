/**
 * WADO-RS frames, bulk data and rendered images through the dimse backend
 * (PS3.18 10.4.1.1.3-5): DIMSE retrieves whole instances only (PS3.4
 * C.4.3), so an instance's layout (its frames' and bulk values' byte
 * ranges) comes from reading it through once, and the bytes of a range from
 * reading it again as far as the range ends. With PROXY_CACHE=r2 both read
 * the R2 copy (one range read for the bytes); without it each is a C-GET at
 * the PACS, so a viewer behind this backend wants the cache.
 */
import { Part10Error, Part10Reader, type Part10Header } from "@dicom-edge/shared/dicom/part10-reader";
import { buildRecord } from "../../archive/record";
import type { RetrievedInstance, StreamingRetrieve } from "../../dicomweb/wado/retrieve-streamed";
import { BackendUnavailable, type Scope, type StoredInstance } from "../backend";
import type { InstanceCache } from "../cache";
import type { AgentPacsLink } from "./link";
import { retrievedAlone } from "./instances";
import { pacsRetrieve } from "./retrieve";

/**
 * One retrieved Part-10 object read to its end through Part10Reader, which
 * keeps the header and lets bulk values pass without holding them. A body
 * that is not DICOM is the PACS's fault: a 502, the rest of it cancelled.
 */
export async function readHeader(instance: RetrievedInstance, pacs: string): Promise<Part10Header> {
  const reader = new Part10Reader();
  const body = instance.body.getReader();
  try {
    for (let chunk = await body.read(); !chunk.done; chunk = await body.read()) reader.write(chunk.value);
    return reader.end();
  } catch (error) {
    await body.cancel().catch(() => undefined);
    if (error instanceof Part10Error) throw new BackendUnavailable(502, `${pacs} sent instance ${instance.sop} that is not DICOM Part-10: ${error.message}`);
    throw error;
  }
}

/** The instances of a scope with their layout, each read through once (from the cache where it has them). */
export async function pacsInstances(source: StreamingRetrieve, scope: Scope, pacs: string): Promise<StoredInstance[]> {
  const instances = await source.retrieveStream(scope);
  if (!instances) return [];
  const found: StoredInstance[] = [];
  for await (const instance of instances) found.push(storedInstance(await readHeader(instance, pacs), pacs, instance.sop));
  return found;
}

/** The archive's index record of a header (record.ts), as the reads of a StoredInstance need it. */
function storedInstance(header: Part10Header, pacs: string, sop: string): StoredInstance {
  const built = buildRecord(header, "");
  if (!built.ok) throw new BackendUnavailable(502, `${pacs} sent instance ${sop} that cannot be read: ${built.message}`);
  const r = built.record;
  return {
    study: r.study,
    series: r.series,
    sop: r.sop,
    sopClass: r.sopClass,
    transferSyntax: r.transferSyntax,
    size: r.size,
    datasetOffset: r.datasetOffset,
    numberOfFrames: r.numberOfFrames,
    frames: r.frames,
    bulk: r.bulk,
    ref: `${r.study}/${r.series}/${r.sop}`,
  };
}

/**
 * The bytes of an instance, whole or one range: from its copy, or by a
 * C-GET of it alone read up to the range's end (the rest cancelled, so the
 * agent sends C-CANCEL). The PACS must send it in the syntax the layout was
 * read in, or the offsets mean nothing: a 502 otherwise. Null when the PACS
 * no longer has it.
 */
export async function pacsRead(
  link: AgentPacsLink,
  cache: InstanceCache | undefined,
  instance: StoredInstance,
  range?: { offset: number; length: number },
): Promise<ReadableStream<Uint8Array> | null> {
  const copy = await cache?.read(instance, range);
  if (copy) return copy;
  const retrieved = await pacsRetrieve(link, { study: instance.study, series: instance.series, instance: instance.sop });
  const first = retrieved && (await retrieved.next());
  if (!retrieved || !first || first.done) return null;
  if (first.value.transferSyntax !== instance.transferSyntax) {
    await first.value.body.cancel();
    await retrieved.return(undefined);
    throw new BackendUnavailable(502, `${link.config.pacs} sent instance ${instance.sop} in ${first.value.transferSyntax}, not in ${instance.transferSyntax} as before`);
  }
  const start = range?.offset ?? 0;
  const end = range ? range.offset + range.length : Infinity;
  const reader = first.value.body.getReader();
  let position = 0;
  const stop = async () => {
    await reader.cancel().catch(() => undefined);
    await retrieved.return(undefined);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          if (position >= end) {
            await stop();
            controller.close();
            return;
          }
          const { done, value } = await reader.read();
          if (done) {
            if (end !== Infinity) throw new BackendUnavailable(502, `${link.config.pacs} sent instance ${instance.sop} shorter than before`);
            // Whole: the C-GET's final response too (a failure there fails the read).
            await retrievedAlone(retrieved, link, instance.sop);
            controller.close();
            return;
          }
          const from = position;
          position += value.byteLength;
          const slice = value.subarray(Math.max(0, start - from), Math.min(value.byteLength, end - from));
          if (slice.byteLength > 0) {
            controller.enqueue(slice);
            return;
          }
        }
      } catch (error) {
        await stop();
        controller.error(error);
      }
    },
    cancel: stop,
  });
}
