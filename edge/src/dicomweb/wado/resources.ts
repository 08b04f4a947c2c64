import type { Backend, Scope, StoredInstance } from "../../backends/backend";
import { DicomWebError } from "../errors";

/** The instances a WADO-RS URL names; 404 when there are none (PS3.18 10.4.3). */
export async function instancesOf(backend: Backend, scope: Scope): Promise<StoredInstance[]> {
  const instances = await backend.instances(scope);
  if (instances.length === 0) throw new DicomWebError(404, `no ${level(scope)} ${scope.instance ?? scope.series ?? scope.study}`);
  return instances;
}

export function level(scope: Scope): "study" | "series" | "instance" {
  return scope.instance !== undefined ? "instance" : scope.series !== undefined ? "series" : "study";
}

/** The URL of an instance under a DICOMweb base, as RetrieveURL and Content-Location name it. */
export function instanceUrl(base: string, i: { study: string; series: string; sop: string }): string {
  return `${base}/studies/${i.study}/series/${i.series}/instances/${i.sop}`;
}

/** The stored bytes of an instance; 404-class failure if the object vanished. */
export async function objectBody(backend: Backend, instance: StoredInstance, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array>> {
  const body = await backend.read(instance, range);
  if (!body) throw new DicomWebError(500, `the object of instance ${instance.sop} is missing from storage`);
  return body;
}
