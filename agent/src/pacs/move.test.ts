// `pacs-get` by C-MOVE to the agent itself, against real PACSs on loopback:
// Orthanc (e2e/orthanc.ts) with the agent's listener as a modality, and
// dcmtk's dcmqrscp with C-GET disabled, for the automatic fallback.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ctInstance, randomUid } from "../../../e2e/data/instances.ts";
import { startOrthanc, type Orthanc } from "../../../e2e/orthanc.ts";
import type { AeTableEntry } from "../config/config.ts";
import type { DimseServer } from "../dimse/server.ts";
import { dcmtk } from "../testing/dcmtk.ts";
import { datasetOf } from "../testing/part10.ts";
import { retrieveFrom } from "../testing/pacs-retrieve.ts";
import { freePort } from "../testing/ports.ts";
import { startTestServer } from "../testing/server.ts";
import type { PacsSettings } from "./association.ts";
import { pacsEcho } from "./echo.ts";
import { pacsGet } from "./get.ts";
import { pacsMove } from "./move.ts";
import { PendingMoves } from "./pending-moves.ts";

let orthanc: Orthanc;
let qrscp: ChildProcess;
let dir: string;
let agent: DimseServer;
let settings: PacsSettings;
const logged: string[] = [];
/** What the agent's listener stored as usual, not diverted. */
const stored: string[] = [];

const study = randomUid();
const series = [`${study}.1`, `${study}.2`];
const sops = [randomUid(), randomUid(), randomUid()];
const files = sops.map((sop, n) => ctInstance({ patientId: "MOVE-1", patientName: "Move^Test", study, series: series[n === 2 ? 1 : 0]!, sop, number: n + 1 }));

/** dcmtk's Q/R SCP "QRSCP" without C-GET (PS3.4 C.4.3 is optional): it knows the agent as a move destination. */
async function startQrscp(agentPort: number): Promise<number> {
  const port = await freePort();
  await mkdir(join(dir, "db"));
  const config = join(dir, "dcmqrscp.cfg");
  await writeFile(
    config,
    [
      `NetworkTCPPort = ${port}`,
      "MaxPDUSize = 16384",
      "MaxAssociations = 4",
      "HostTable BEGIN",
      `agent = (DICOMEDGE, 127.0.0.1, ${agentPort})`,
      "HostTable END",
      "VendorTable BEGIN",
      "VendorTable END",
      "AETable BEGIN",
      `QRSCP ${join(dir, "db")} RW (100, 256mb) ANY`,
      "AETable END",
      "",
    ].join("\n"),
  );
  qrscp = spawn("dcmqrscp", ["--disable-get", "-c", config], { env: { ...process.env, TCP_NODELAY: "1" }, stdio: "ignore" });
  for (let i = 0; ; i++) {
    if ((await dcmtk("echoscu", ["-aec", "QRSCP", "127.0.0.1", String(port)])).code === 0) return port;
    if (i > 50 || qrscp.exitCode !== null) throw new Error("dcmqrscp did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dicom-edge-move-"));
  const agentPort = await freePort();
  orthanc = await startOrthanc({ modalities: { DICOMEDGE: ["127.0.0.1", agentPort] } });
  const moves = new PendingMoves("DICOMEDGE");
  agent = await startTestServer({
    aeTitle: "DICOMEDGE",
    port: agentPort,
    handlers: {
      divert: (ctx) => moves.divert(ctx),
      store: async (ctx) => {
        for await (const _ of ctx.dataset);
        stored.push(ctx.sopInstanceUid);
        return { status: 0 };
      },
    },
  });
  const qrscpPort = await startQrscp(agentPort);
  const table = new Map<string, AeTableEntry>([
    ["ORTHANC", { title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false, retrieve: "move" }],
    ["QRSCP", { title: "QRSCP", host: "127.0.0.1", port: qrscpPort, tls: false }],
  ]);
  settings = { aeTitle: "DICOMEDGE", maxPduLength: 16384, destination: (title) => table.get(title), moves, log: (m) => logged.push(m) };
  for (const [n, bytes] of files.entries()) {
    expect((await fetch(`${orthanc.http}/instances`, { method: "POST", body: Buffer.from(bytes) })).status).toBe(200);
    const path = join(dir, `${n}.dcm`);
    await writeFile(path, bytes);
    const sent = await dcmtk("storescu", ["-aec", "QRSCP", "127.0.0.1", String(qrscpPort), path]);
    expect(sent.code, sent.out).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await orthanc?.stop();
  if (qrscp && qrscp.exitCode === null) {
    qrscp.kill("SIGTERM");
    await new Promise((r) => qrscp.once("exit", r));
  }
  await rm(dir, { recursive: true, force: true });
});

/** Runs the retrieve and splits what it wrote back into instances, as the edge does. */
function retrieve(run: typeof pacsGet, pacs: string, scope: { study: string; series?: string; sop?: string }, signal?: AbortSignal, onWrite?: () => void) {
  return retrieveFrom(run, settings, pacs, scope, signal, onWrite);
}

function sentDataset(sop: string): Buffer {
  return Buffer.from(datasetOf(files[sops.indexOf(sop)]!));
}

describe("pacs-get by C-MOVE to the agent's own AE title", () => {
  it("retrieves a study from Orthanc: every instance diverted to the retrieve, its data set as sent, none stored", async () => {
    const { result, instances } = await retrieve(pacsMove, "ORTHANC", { study });
    expect(result).toEqual({ status: 0, completed: 3, failed: 0, warning: 0 });
    expect(instances.map((i) => i.header.sop).sort()).toEqual([...sops].sort());
    for (const instance of instances) {
      expect(instance.header).toMatchObject({ sopClass: "1.2.840.10008.5.1.4.1.1.2", transferSyntax: "1.2.840.10008.1.2.1" });
      expect(Buffer.from(datasetOf(instance.bytes)).equals(sentDataset(instance.header.sop))).toBe(true);
    }
    expect(stored).toEqual([]);
  });

  it("retrieves a series and an instance; an unknown study is Success with nothing, without a C-MOVE", async () => {
    expect((await retrieve(pacsMove, "ORTHANC", { study, series: series[1]! })).instances.map((i) => i.header.sop)).toEqual([sops[2]]);
    const one = await retrieve(pacsMove, "ORTHANC", { study, series: series[0]!, sop: sops[1]! });
    expect(one.result).toEqual({ status: 0, completed: 1, failed: 0, warning: 0 });
    expect(one.instances.map((i) => i.header.sop)).toEqual([sops[1]]);
    expect(await retrieve(pacsMove, "ORTHANC", { study: randomUid() })).toEqual({ result: { status: 0, completed: 0, failed: 0, warning: 0 }, instances: [] });
  });

  it("a RESET (the signal) cancels: C-CANCEL, and the PACS still answers afterwards", async () => {
    const cancel = new AbortController();
    const { result } = await retrieve(pacsMove, "ORTHANC", { study }, cancel.signal, () => cancel.abort());
    expect(result).toMatchObject({ status: 0xfe00 });
    expect(await pacsEcho(settings, { pacs: "ORTHANC", timeoutMs: 10_000 })).toEqual({ status: 0 });
    expect(stored).toEqual([]);
  });

  it("falls back from C-GET to C-MOVE when the PACS accepts no Study Root GET context (dcmqrscp --disable-get)", async () => {
    const { result, instances } = await retrieve(pacsGet, "QRSCP", { study });
    expect(result).toMatchObject({ status: 0, completed: 3, failed: 0 });
    expect(logged).toContain("pacs-get QRSCP: no Study Root GET context accepted, retrieving by C-MOVE to DICOMEDGE");
    expect(instances.map((i) => i.header.sop).sort()).toEqual([...sops].sort());
    for (const instance of instances) expect(Buffer.from(datasetOf(instance.bytes)).equals(sentDataset(instance.header.sop))).toBe(true);
    expect(stored).toEqual([]);
  });
});
