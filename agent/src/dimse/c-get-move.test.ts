import { once } from "node:events";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { encodeDataset, type Element } from "@dicom-edge/shared/dicom/testing/encode";
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import { jsonLine } from "@dicom-edge/shared/tunnel/json-lines";
import type { RetrieveItem, RetrievePlan } from "@dicom-edge/shared/tunnel/retrieve";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AeTableEntry } from "../config/config.ts";
import { dcmtk, startStorescp, type Storescp } from "../testing/dcmtk.ts";
import { writtenDatasets } from "../testing/part10.ts";
import { startTestServer } from "../testing/server.ts";
import { backToBack, type BackToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import type { DimseServer } from "./server.ts";
import { associateRq } from "../retrieve/destination.ts";
import { Association } from "../ul/association.ts";
import { STUDY_ROOT_GET, type RetrieveService } from "./c-get-move.ts";
import { CommandField, type Command } from "./command.ts";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";

interface Stored {
  item: RetrieveItem;
  dataset: Uint8Array;
  /** The test edge sends half the bytes, then reports a failed read. */
  failMidway?: boolean;
}

function instance(study: string, n: number, transferSyntax = EXPLICIT_LE, extra: Partial<Stored> = {}): Stored {
  const sop = `${study}.1.${n}`;
  // Big enough to span several PDUs; a private tag and odd padding must come back as they are.
  const pixels = new Uint8Array(96 * 1024).map((_, i) => (i * 7 + n) & 0xff);
  const elements: Element[] = [
    { tag: 0x00080016, vr: "UI", value: CT },
    { tag: 0x00080018, vr: "UI", value: sop },
    { tag: 0x00100020, vr: "LO", value: "PAT-1 " },
    { tag: 0x0020000d, vr: "UI", value: study },
    { tag: 0x0020000e, vr: "UI", value: `${study}.1` },
    { tag: 0x00200013, vr: "IS", value: String(n) },
    { tag: 0x00090010, vr: "LO", value: "EDGE TEST" },
    { tag: 0x00091001, vr: "OB", value: Uint8Array.of(1, 2, 3, 4) },
    transferSyntax === EXPLICIT_LE
      ? { tag: 0x7fe00010, vr: "OW", value: pixels }
      : { tag: 0x7fe00010, vr: "OB", value: { fragments: [Uint8Array.of(0xff, 0xd8, 0xff, 0xd9)] } },
  ];
  const dataset = encodeDataset(elements, { explicitVR: true, littleEndian: true });
  return { item: { study, series: `${study}.1`, sop, sopClass: CT, transferSyntax, size: dataset.length }, dataset, ...extra };
}

const STUDY = "1.2.826.0.1.3680043.10.99.100";
const BROKEN_STUDY = "1.2.826.0.1.3680043.10.99.200";
const STORED: Stored[] = [
  instance(STUDY, 1),
  instance(STUDY, 2),
  instance(STUDY, 3),
  // Neither getscu nor storescp accept JPEG by default: a sub-operation with no context.
  instance(STUDY, 4, JPEG_BASELINE),
  instance(BROKEN_STUDY, 1),
  instance(BROKEN_STUDY, 2, EXPLICIT_LE, { failMidway: true }),
  instance(BROKEN_STUDY, 3),
];

/** A test edge: answers `retrieve` by Study Instance UID and `fetch` with the stored bytes, `delayMs` per fetch. */
function testEdge(options: { delayMs?: number } = {}) {
  const fetches: string[] = [];
  const serve = async (stream: TunnelStream, meta: OpenMeta) => {
    if (meta.kind === "retrieve") {
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream.readable) chunks.push(chunk);
      const identifier = JSON.parse(Buffer.concat(chunks).toString("utf8")) as DicomJson;
      const study = identifier["0020000D"]?.Value?.[0];
      if (typeof study !== "string") return stream.sendResult({ status: 0xa900, errorComment: "no Study Instance UID" });
      const matched = STORED.filter((s) => s.item.study === study).map((s) => s.item);
      const plan: RetrievePlan = { count: matched.length, contexts: [...new Set(matched.map((i) => `${i.sopClass}|${i.transferSyntax}`))].map((p) => p.split("|") as [string, string]) };
      await stream.write(jsonLine(plan));
      for (const item of matched) await stream.write(jsonLine(item));
      return stream.sendResult({ status: 0 });
    }
    if (meta.kind === "fetch") {
      fetches.push(String(meta.sop));
      const stored = STORED.find((s) => s.item.sop === meta.sop);
      if (!stored) return stream.sendResult({ status: 0x0110, errorComment: "instance no longer stored" });
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const end = stored.failMidway ? stored.dataset.length >> 1 : stored.dataset.length;
      for (let at = 0; at < end; at += 16 * 1024) await stream.write(stored.dataset.subarray(at, Math.min(end, at + 16 * 1024)));
      return stream.sendResult(stored.failMidway ? { status: 0x0110, errorComment: "R2 read failed" } : { status: 0 });
    }
    stream.reset("unknown-kind", String(meta.kind));
  };
  return { fetches, onOpen: (stream: TunnelStream, meta: OpenMeta) => void serve(stream, meta).catch(() => undefined) };
}

let destination: Storescp;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-retrieve-"));
  destination = await startStorescp("STORESCP", dir);
});
afterAll(async () => {
  await destination.stop();
  await rm(dir, { recursive: true, force: true });
});

let server: DimseServer | undefined;
let tunnel: BackToBack | undefined;
afterEach(async () => {
  await server?.close();
  tunnel?.close();
  server = undefined;
  tunnel = undefined;
  for (const f of await readdir(dir)) await rm(join(dir, f), { recursive: true, force: true });
});

async function startScp(edge: ReturnType<typeof testEdge>, table: AeTableEntry[] = [{ title: "STORESCP", host: "127.0.0.1", port: destination.port, tls: false }]) {
  tunnel = backToBack(edge.onOpen);
  const link = tunnel.link;
  const retrieve: RetrieveService = {
    link,
    aeTitle: "EDGE",
    maxPduLength: 16384,
    timeoutMs: 5000,
    destination: (title) => table.find((e) => e.title === title),
  };
  server = await startTestServer({ handlers: { retrieve } });
  return server.port;
}

const studyKeys = (study: string) => ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${study}`];

describe("C-GET SCP (PS3.4 C.4.3) with dcmtk getscu", () => {
  it("sends each instance on the same association, byte for byte, and counts the one no context can carry as failed", async () => {
    const port = await startScp(testEdge());
    const { code, out } = await dcmtk("getscu", ["-v", "-aec", "EDGE", "+B", "-od", dir, ...studyKeys(STUDY), "127.0.0.1", String(port)]);
    expect(code, out).toBe(0);
    const files = await writtenDatasets(dir);
    expect([...files.keys()].sort()).toEqual([`${STUDY}.1.1`, `${STUDY}.1.2`, `${STUDY}.1.3`]);
    for (const stored of STORED.filter((s) => files.has(s.item.sop))) expect(Buffer.compare(files.get(stored.item.sop)!, stored.dataset)).toBe(0);
    // The final C-GET-RSP: B000, 3 completed, 1 failed (PS3.4 C.4.3.1.4), after a pending response per sub-operation.
    expect(out.match(/Received C-GET Response \(Pending\)/g)).toHaveLength(4);
    expect(out).toMatch(/Received C-GET Response \(Warning: SubOperationsCompleteOneOrMoreFailures\)/);
    expect(out).toMatch(/Completed Suboperations\s*:\s*3/);
    expect(out).toMatch(/Failed Suboperations\s*:\s*1/);
    // PS3.4 C.4.3.3 wants the Failed SOP Instance UID List in that response's identifier.
    // getscu 3.6.7 never reads it and then finds it in the way of its A-RELEASE-RQ
    // ("DUL P-Data PDU arrived"); dcmqrscp sends it too, so this is getscu's quirk.
  });

  it("answers an identifier without a study with the edge's refusal, and still serves the association", async () => {
    const port = await startScp(testEdge());
    const { out } = await dcmtk("getscu", ["-v", "-aec", "EDGE", "-od", dir, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=PAT-1", "127.0.0.1", String(port)]);
    expect(out).toMatch(/C-GET Response \(Error: DataSetDoesNotMatchSOPClass\)/);
    const echo = await dcmtk("echoscu", ["-aec", "EDGE", "127.0.0.1", String(port)]);
    expect(echo.code, echo.out).toBe(0);
  });
});

describe("C-MOVE SCP (PS3.4 C.4.2) with dcmtk movescu and a storescp destination", () => {
  it("opens an association to the destination of the AE table and sends the stored bytes unchanged", async () => {
    const edge = testEdge();
    const port = await startScp(edge);
    const { out } = await dcmtk("movescu", ["-v", "-aec", "EDGE", "-aem", "STORESCP", ...studyKeys(STUDY), "127.0.0.1", String(port)]);
    expect(out).toMatch(/Final Move Response \(Warning: SubOperationsCompleteOneOrMoreFailures\)/);
    const files = await writtenDatasets(dir);
    expect([...files.keys()].sort()).toEqual([`${STUDY}.1.1`, `${STUDY}.1.2`, `${STUDY}.1.3`]);
    for (const stored of STORED.filter((s) => files.has(s.item.sop))) expect(Buffer.compare(files.get(stored.item.sop)!, stored.dataset)).toBe(0);
    expect(out.match(/Received Move Response \d+ \(Pending\)/g)).toHaveLength(4);
    // The JPEG instance was never fetched: no context for it, so no bytes were asked for.
    expect(edge.fetches).not.toContain(`${STUDY}.1.4`);
  });

  it("refuses a destination missing from the AE table with A801", async () => {
    const port = await startScp(testEdge());
    const { out } = await dcmtk("movescu", ["-v", "-aec", "EDGE", "-aem", "NOWHERE", ...studyKeys(STUDY), "127.0.0.1", String(port)]);
    expect(out).toMatch(/Final Move Response \(Refused: MoveDestinationUnknown\)/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("stops on C-CANCEL: final FE00, the rest left in Remaining", async () => {
    const port = await startScp(testEdge({ delayMs: 300 }));
    const { out } = await dcmtk("movescu", ["-v", "-aec", "EDGE", "-aem", "STORESCP", "--cancel", "1", ...studyKeys(STUDY), "127.0.0.1", String(port)]);
    expect(out).toMatch(/Final Move Response \(Cancel/);
    // The first store completed before movescu's C-CANCEL; at most the one in flight when it came followed.
    const files = await readdir(dir);
    expect(files.length).toBeGreaterThanOrEqual(1);
    expect(files.length).toBeLessThanOrEqual(2);
  });

  it("fails every sub-operation with A702 when the destination cannot be reached", async () => {
    const port = await startScp(testEdge(), [{ title: "STORESCP", host: "127.0.0.1", port: 1, tls: false }]);
    const { out } = await dcmtk("movescu", ["-v", "-aec", "EDGE", "-aem", "STORESCP", ...studyKeys(STUDY), "127.0.0.1", String(port)]);
    expect(out).toMatch(/Final Move Response \(Refused: OutOfResourcesSubOperations\)/);
  });

  it("aborts the destination association when the archive fails mid-instance, never sending a truncated data set as whole", async () => {
    const port = await startScp(testEdge());
    const { out } = await dcmtk("movescu", ["-v", "-aec", "EDGE", "-aem", "STORESCP", ...studyKeys(BROKEN_STUDY), "127.0.0.1", String(port)]);
    expect(out).toMatch(/Final Move Response \(Refused: OutOfResourcesSubOperations\)/);
    const files = await writtenDatasets(dir);
    expect([...files.keys()]).toEqual([`${BROKEN_STUDY}.1.1`]);
    const echo = await dcmtk("echoscu", ["-aec", "EDGE", "127.0.0.1", String(port)]);
    expect(echo.code, echo.out).toBe(0);
  });
});

describe("C-GET cancel and counts, with the agent's own requestor as the SCU", () => {
  it("reports Remaining/Completed/Failed/Warning in each pending response and stops on C-CANCEL with FE00", async () => {
    const port = await startScp(testEdge({ delayMs: 150 }));
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    const rq = associateRq("EDGE", { callingAeTitle: "GETTER", contexts: [[STUDY_ROOT_GET, EXPLICIT_LE], [CT, EXPLICIT_LE]], maxPduLength: 16384 });
    // PS3.7 D.3.3.4: we take the SCP role for CT Image Storage, to receive the sub-operations.
    rq.userInformation.roleSelections = [{ sopClassUid: CT, scuRole: 0, scpRole: 1 }];
    const received: string[] = [];
    const association: Association = new Association(socket, {
      maxPduLength: 16384,
      request: rq,
      onMessage: async ({ command, dataset }) => {
        for await (const _ of dataset ?? []) void _;
        received.push(command.affectedSopInstanceUid ?? "");
        // Cancel when the second instance comes (PS3.7 9.3.3.3: C-CANCEL-RQ names the C-GET's Message ID).
        if (received.length === 2) void association.sendMessage(1, { commandField: CommandField.CCancelRq, messageIdBeingRespondedTo: 7 });
        return { commandField: CommandField.CStoreRsp, affectedSopClassUid: CT, messageIdBeingRespondedTo: command.messageId ?? 0, affectedSopInstanceUid: command.affectedSopInstanceUid ?? "", status: 0 };
      },
    });
    await association.established;
    expect(association.associateAc?.userInformation.roleSelections).toEqual([{ sopClassUid: CT, scuRole: 0, scpRole: 1 }]);
    const pending: Command[] = [];
    const identifier = writeDataset({ "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI", Value: [STUDY] } }, EXPLICIT_LE);
    const final = await association.request(1, { commandField: CommandField.CGetRq, affectedSopClassUid: STUDY_ROOT_GET, messageId: 7, priority: 0 }, identifier, (r) => void pending.push(r.command));
    await association.release();
    // One pending response, for the store that finished before the cancel; none after it (PS3.4 C.4.3.1.4).
    expect(pending).toEqual([expect.objectContaining({ status: 0xff00, numberOfRemainingSuboperations: 3, numberOfCompletedSuboperations: 1, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 })]);
    // The store in flight finishes; the two not started stay in Remaining (PS3.4 C.4.3.3).
    expect(final.command).toMatchObject({ commandField: CommandField.CGetRsp, status: 0xfe00, numberOfRemainingSuboperations: 2, numberOfCompletedSuboperations: 2, numberOfFailedSuboperations: 0 });
    expect(received).toEqual([`${STUDY}.1.1`, `${STUDY}.1.2`]);
  });

  it("aborts an association whose peer sends another request during a C-GET: held, it would wait on the responses behind it", async () => {
    const port = await startScp(testEdge({ delayMs: 100 }));
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    const rq = associateRq("EDGE", { callingAeTitle: "GETTER", contexts: [[STUDY_ROOT_GET, EXPLICIT_LE], [CT, EXPLICIT_LE], ["1.2.840.10008.1.1", EXPLICIT_LE]], maxPduLength: 16384 });
    rq.userInformation.roleSelections = [{ sopClassUid: CT, scuRole: 0, scpRole: 1 }];
    const association: Association = new Association(socket, {
      maxPduLength: 16384,
      request: rq,
      onMessage: async ({ command, dataset }) => {
        for await (const _ of dataset ?? []) void _;
        return { commandField: CommandField.CStoreRsp, affectedSopClassUid: CT, messageIdBeingRespondedTo: command.messageId ?? 0, status: 0 };
      },
    });
    await association.established;
    const identifier = writeDataset({ "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI", Value: [STUDY] } }, EXPLICIT_LE);
    const get = association.request(1, { commandField: CommandField.CGetRq, affectedSopClassUid: STUDY_ROOT_GET, messageId: 1, priority: 0 }, identifier);
    const echo = association.request(5, { commandField: CommandField.CEchoRq, affectedSopClassUid: "1.2.840.10008.1.1", messageId: 2 });
    await expect(get).rejects.toThrow(/aborted/);
    await expect(echo).rejects.toThrow(/aborted/);
    await association.closed;
  });

  it("aborts a C-GET whose peer never answers a C-STORE sub-operation, after the idle timeout", async () => {
    tunnel = backToBack(testEdge().onOpen);
    server = await startTestServer({ idleTimeoutMs: 1000, handlers: { retrieve: { link: tunnel.link, aeTitle: "EDGE", maxPduLength: 16384, destination: () => undefined } } });
    const socket = net.connect(server.port, "127.0.0.1");
    await once(socket, "connect");
    const rq = associateRq("EDGE", { callingAeTitle: "GETTER", contexts: [[STUDY_ROOT_GET, EXPLICIT_LE], [CT, EXPLICIT_LE]], maxPduLength: 16384 });
    rq.userInformation.roleSelections = [{ sopClassUid: CT, scuRole: 0, scpRole: 1 }];
    const stores: string[] = [];
    const association: Association = new Association(socket, {
      maxPduLength: 16384,
      request: rq,
      // Takes the sub-operation's bytes and never answers.
      onMessage: async ({ command, dataset }) => {
        for await (const _ of dataset ?? []) void _;
        stores.push(command.affectedSopInstanceUid ?? "");
        return new Promise<never>(() => undefined);
      },
    });
    await association.established;
    const identifier = writeDataset({ "00080052": { vr: "CS", Value: ["STUDY"] }, "0020000D": { vr: "UI", Value: [STUDY] } }, EXPLICIT_LE);
    const started = Date.now();
    const get = association.request(1, { commandField: CommandField.CGetRq, affectedSopClassUid: STUDY_ROOT_GET, messageId: 1, priority: 0 }, identifier);
    await expect(get).rejects.toThrow(/aborted/);
    expect(stores).toEqual([`${STUDY}.1.1`]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
