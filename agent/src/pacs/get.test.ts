// `pacs-get` against a real PACS: Orthanc on loopback (e2e/orthanc.ts) with
// its own storage, filled through its REST API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ctInstance, randomUid } from "../../../e2e/data/instances.ts";
import { startOrthanc, type Orthanc } from "../../../e2e/orthanc.ts";
import type { AeTableEntry } from "../config/config.ts";
import { datasetOf } from "../testing/part10.ts";
import { retrieveFrom } from "../testing/pacs-retrieve.ts";
import { freePort } from "../testing/ports.ts";
import { PacsError, type PacsSettings } from "./association.ts";
import { pacsEcho } from "./echo.ts";
import { pacsGet } from "./get.ts";
import { PendingMoves } from "./pending-moves.ts";

let orthanc: Orthanc;
let settings: PacsSettings;

beforeAll(async () => {
  orthanc = await startOrthanc();
  const table = new Map<string, AeTableEntry>([
    ["ORTHANC", { title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }],
    ["CLOSED", { title: "CLOSED", host: "127.0.0.1", port: await freePort(), tls: false }],
  ]);
  settings = { aeTitle: "DICOMEDGE", maxPduLength: 16384, destination: (title) => table.get(title), moves: new PendingMoves("DICOMEDGE") };
}, 60_000);

afterAll(async () => {
  await orthanc?.stop();
});

/** Runs the get and splits what it wrote back into instances, as the edge does. */
function get(scope: { study: string; series?: string; sop?: string }, signal?: AbortSignal, onWrite?: () => void) {
  return retrieveFrom(pacsGet, settings, "ORTHANC", scope, signal, onWrite);
}

async function orthancFile(sop: string): Promise<Uint8Array> {
  const [id] = (await (await fetch(`${orthanc.http}/tools/find`, { method: "POST", body: JSON.stringify({ Level: "Instance", Query: { SOPInstanceUID: sop } }) })).json()) as string[];
  return new Uint8Array(await (await fetch(`${orthanc.http}/instances/${id}/file`)).arrayBuffer());
}

describe("pacs-get: C-GET toward a PACS (Orthanc)", () => {
  const study = randomUid();
  const series = [`${study}.1`, `${study}.2`];
  const sops = [randomUid(), randomUid(), randomUid()];

  beforeAll(async () => {
    for (const [n, sop] of sops.entries()) {
      const bytes = ctInstance({ patientId: "GET-1", patientName: "Get^Test", study, series: series[n === 2 ? 1 : 0]!, sop, number: n + 1 });
      const response = await fetch(`${orthanc.http}/instances`, { method: "POST", body: Buffer.from(bytes) });
      expect(response.status).toBe(200);
    }
  });

  it("retrieves a study: every instance a Part-10 object whose data set is the PACS's, byte for byte", async () => {
    const { result, instances } = await get({ study });
    expect(result).toEqual({ status: 0, completed: 3, failed: 0, warning: 0 });
    expect(instances.map((i) => i.header.sop).sort()).toEqual([...sops].sort());
    for (const instance of instances) {
      expect(instance.header.sopClass).toBe("1.2.840.10008.5.1.4.1.1.2");
      expect(instance.header.transferSyntax).toBe("1.2.840.10008.1.2.1");
      expect(Buffer.from(datasetOf(instance.bytes)).equals(Buffer.from(datasetOf(await orthancFile(instance.header.sop))))).toBe(true);
    }
  });

  it("retrieves a series and an instance; an unknown study is Success with nothing", async () => {
    expect((await get({ study, series: series[1]! })).instances.map((i) => i.header.sop)).toEqual([sops[2]]);
    const one = await get({ study, series: series[0]!, sop: sops[1]! });
    expect(one.result).toEqual({ status: 0, completed: 1, failed: 0, warning: 0 });
    expect(one.instances.map((i) => i.header.sop)).toEqual([sops[1]]);
    expect(await get({ study: randomUid() })).toEqual({ result: { status: 0, completed: 0, failed: 0, warning: 0 }, instances: [] });
  });

  it("a RESET (the signal) cancels: C-CANCEL, and the PACS still answers afterwards", async () => {
    const cancel = new AbortController();
    const { result } = await get({ study }, cancel.signal, () => cancel.abort());
    expect(result).toMatchObject({ status: 0xfe00 });
    expect(await pacsEcho(settings, { pacs: "ORTHANC", timeoutMs: 10_000 })).toEqual({ status: 0 });
  });

  it("a PACS that is down is unreachable", async () => {
    const error = await pacsGet(settings, { pacs: "CLOSED", timeoutMs: 5_000, study }, async () => undefined, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PacsError);
    expect((error as PacsError).failure.failure).toBe("unreachable");
  });
});
