// The PACS operations of the DIMSE backend against a real PACS: Orthanc from
// Debian on loopback (e2e/orthanc.ts), with its own storage.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { Status } from "@dicom-edge/shared/dicom/status";
import { buildQuery, exactKey } from "@dicom-edge/shared/query/build";
import { jsonLines } from "@dicom-edge/shared/tunnel/json-lines";
import { isPacsFailure, type PacsFindResult } from "@dicom-edge/shared/tunnel/pacs";
import { ctInstance, randomUid } from "../../../e2e/data/instances.ts";
import { startOrthanc, type Orthanc } from "../../../e2e/orthanc.ts";
import type { AeTableEntry } from "../config/config.ts";
import { datasetOf } from "../testing/part10.ts";
import { freePort } from "../testing/ports.ts";
import { PacsError, type PacsSettings } from "./association.ts";
import { pacsEcho } from "./echo.ts";
import { pacsFind } from "./find.ts";
import { PendingMoves } from "./pending-moves.ts";
import { pacsStore } from "./store.ts";

let orthanc: Orthanc;
let settings: PacsSettings;
/** Takes the TCP connection and never answers the A-ASSOCIATE-RQ: a PACS that hangs. */
let silent: net.Server;
const silentSockets = new Set<net.Socket>();

beforeAll(async () => {
  // Orthanc checks the Called AE Title, so an entry with another title is rejected.
  orthanc = await startOrthanc({ config: { DicomCheckCalledAet: true } });
  const closed = await freePort();
  silent = net.createServer((socket) => void silentSockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const table = new Map<string, AeTableEntry>([
    ["ORTHANC", { title: "ORTHANC", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }],
    ["WRONG", { title: "WRONG", host: "127.0.0.1", port: orthanc.dicomPort, tls: false }],
    ["CLOSED", { title: "CLOSED", host: "127.0.0.1", port: closed, tls: false }],
    ["SILENT", { title: "SILENT", host: "127.0.0.1", port: (silent.address() as net.AddressInfo).port, tls: false }],
  ]);
  settings = { aeTitle: "DICOMEDGE", maxPduLength: 65536, destination: (title) => table.get(title), moves: new PendingMoves("DICOMEDGE") };
}, 60_000);

afterAll(async () => {
  await orthanc?.stop();
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
});

function readPart10(bytes: Uint8Array): DicomJson {
  const reader = new Part10Reader();
  reader.write(bytes);
  return reader.end().dataset;
}

/** The bytes in small pieces, as the tunnel may deliver them. */
async function* pieces(bytes: Uint8Array, size = 100): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function failureOf(work: Promise<unknown>): Promise<PacsError["failure"]> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PacsError);
  return (error as PacsError).failure;
}

async function find(query: Parameters<typeof pacsFind>[1]["query"]): Promise<{ matches: DicomJson[]; result: PacsFindResult }> {
  const lines: Uint8Array[] = [];
  const result = await pacsFind(settings, { pacs: "ORTHANC", timeoutMs: 10_000, query }, async (line) => void lines.push(line), new AbortController().signal);
  const matches: DicomJson[] = [];
  for await (const match of jsonLines((async function* () { yield* lines; })())) matches.push(match as DicomJson);
  return { matches, result };
}

describe("the agent as DIMSE SCU toward a PACS (Orthanc)", () => {
  it("C-ECHO: Success from the PACS; an unknown title, a rejected association and a closed port fail each in their own way", async () => {
    expect(await pacsEcho(settings, { pacs: "ORTHANC", timeoutMs: 10_000 })).toEqual({ status: 0 });
    expect((await failureOf(pacsEcho(settings, { pacs: "NOWHERE", timeoutMs: 10_000 }))).failure).toBe("unknown-pacs");
    const rejected = await failureOf(pacsEcho(settings, { pacs: "WRONG", timeoutMs: 10_000 }));
    expect(rejected.failure).toBe("rejected");
    expect(rejected.message).toMatch(/called AE title not recognized/);
    expect((await failureOf(pacsEcho(settings, { pacs: "CLOSED", timeoutMs: 10_000 }))).failure).toBe("unreachable");
  });

  it("C-STORE: each instance in its own syntax, its status and UIDs back; a foreign study and non-DICOM bytes never reach the PACS", async () => {
    const study = randomUid();
    const series = `${study}.1`;
    const patientId = `PACS-${randomUid().slice(-8)}`;
    const sops = [randomUid(), randomUid(), randomUid()];
    for (const [n, sop] of sops.entries()) {
      const bytes = ctInstance({ patientId, patientName: "Pacs^Test", study, series, sop, number: n + 1 });
      const result = await pacsStore(settings, { pacs: "ORTHANC", timeoutMs: 10_000, study }, pieces(bytes));
      expect(result).toEqual({ status: 0, study, series, sop, sopClass: "1.2.840.10008.5.1.4.1.1.2" });
    }
    const inOrthanc = (await (await fetch(`${orthanc.http}/tools/find`, { method: "POST", body: JSON.stringify({ Level: "Instance", Query: { StudyInstanceUID: study } }) })).json()) as string[];
    expect(inOrthanc).toHaveLength(3);
    // Byte-faithful: the data set Orthanc keeps is the one sent, File Meta Information aside.
    const kept = new Uint8Array(await (await fetch(`${orthanc.http}/instances/${inOrthanc[0]}/file`)).arrayBuffer());
    const keptSop = stringValue(readPart10(kept), "00080018")!;
    const sent = ctInstance({ patientId, patientName: "Pacs^Test", study, series, sop: keptSop, number: sops.indexOf(keptSop) + 1 });
    expect(Buffer.from(datasetOf(kept)).equals(Buffer.from(datasetOf(sent)))).toBe(true);

    const foreign = await pacsStore(settings, { pacs: "ORTHANC", timeoutMs: 10_000, study: randomUid() }, pieces(ctInstance({ patientId, patientName: "Pacs^Test", study, series, sop: randomUid() })));
    expect(!isPacsFailure(foreign) && foreign.status).toBe(Status.DataSetDoesNotMatchSOPClass);
    const garbage = await pacsStore(settings, { pacs: "ORTHANC", timeoutMs: 10_000 }, pieces(new TextEncoder().encode("not a DICOM file at all".repeat(10))));
    expect(!isPacsFailure(garbage) && garbage.status).toBe(Status.CannotUnderstand);
    expect(await (await fetch(`${orthanc.http}/tools/find`, { method: "POST", body: JSON.stringify({ Level: "Instance", Query: { StudyInstanceUID: study } }) })).json()).toHaveLength(3);

    // C-FIND of what was stored: the study by its patient, its instances paged by offset and limit.
    const studies = await find(buildQuery("study", [exactKey("00100020", patientId)]));
    expect(studies.result).toEqual({ status: 0, truncated: false });
    expect(studies.matches.map((m) => stringValue(m, "0020000D"))).toEqual([study]);
    expect(studies.matches[0]!["00080052"]).toBeUndefined();

    // PATIENT level: Patient Root (PS3.4 C.6.1), which Study Root lacks.
    const patients = await find(buildQuery("patient", [exactKey("00100020", patientId)]));
    expect(patients.matches.map((m) => [stringValue(m, "00100020"), stringValue(m, "00100010")])).toEqual([[patientId, "Pacs^Test"]]);

    const instanceQuery = buildQuery("instance", [exactKey("0020000D", study), exactKey("0020000E", series)]);
    const all = await find(instanceQuery);
    expect(all.matches.map((m) => stringValue(m, "00080018")).sort()).toEqual([...sops].sort());
    const firstTwo = await find({ ...instanceQuery, limit: 2 });
    expect(firstTwo.matches).toHaveLength(2);
    expect(firstTwo.result).toEqual({ status: 0, truncated: true });
    const rest = await find({ ...instanceQuery, limit: 5, offset: 1 });
    expect(rest.matches).toHaveLength(2);
    expect(rest.result).toEqual({ status: 0, truncated: false });

    // The association closed on each (released, or aborted after a C-CANCEL): the PACS still answers.
    expect(await pacsEcho(settings, { pacs: "ORTHANC", timeoutMs: 10_000 })).toEqual({ status: 0 });
  });

  it("C-FIND of a PACS that is down is unreachable (the edge's 502), of one that does not answer a timeout (504)", async () => {
    const query = buildQuery("study", []);
    const down = await failureOf(pacsFind(settings, { pacs: "CLOSED", timeoutMs: 5_000, query }, async () => undefined, new AbortController().signal));
    expect(down.failure).toBe("unreachable");
    const started = Date.now();
    const hung = await failureOf(pacsFind(settings, { pacs: "SILENT", timeoutMs: 500, query }, async () => undefined, new AbortController().signal));
    expect(hung.failure).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
