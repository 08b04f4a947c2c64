import { identity } from "../../archive/record";
import type { RetrievedInstance, StreamingRetrieve } from "../../dicomweb/wado/retrieve-streamed";
import { BackendUnavailable, type MetadataEntry, type Scope } from "../backend";
import { readHeader } from "./layout";

/**
 * WADO-RS Retrieve Metadata (PS3.18 10.4.1.1.2) with the dimse backend:
 * DIMSE has no metadata service, so the instances come by the same C-GET
 * as WADO-RS Retrieve (PS3.4 C.4.3, retrieveStream: its order, its errors, its cache)
 * and each is read once through, keeping its header only. Nothing matched
 * yields nothing (the route's 404).
 */
export async function* pacsMetadata(source: StreamingRetrieve, scope: Scope, pacs: string): AsyncGenerator<MetadataEntry> {
  const instances = await source.retrieveStream(scope);
  if (!instances) return;
  // for-await returns the C-GET's generator (cancelling the retrieve) when this one stops early or throws.
  for await (const instance of instances) yield await instanceMetadata(instance, pacs);
}

/**
 * One retrieved Part-10 object as the archive keeps its metadata (record.ts):
 * the Part10Reader's DICOM JSON (PS3.18 F.2) with BulkDataURIs relative to
 * the instance, read through once (layout.ts readHeader).
 */
export async function instanceMetadata(instance: RetrievedInstance, pacs: string): Promise<MetadataEntry> {
  const { dataset } = await readHeader(instance, pacs);
  const id = identity(dataset);
  if (!id) throw new BackendUnavailable(502, `${pacs} sent instance ${instance.sop} without its Study, Series and SOP Instance UIDs`);
  return { study: id.study, series: id.series, sop: id.sop, json: JSON.stringify(dataset) };
}
