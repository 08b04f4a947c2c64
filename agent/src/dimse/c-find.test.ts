/**
 * C-FIND at the agent: the search through a real tunnel session pair (a
 * scripted edge on the other end), the DIMSE glue with a fake search, and
 * both together under dcmtk's findscu over the agent's own upper layer,
 * dispatched the way the DIMSE server does.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readDataset, writeDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from "@dicom-edge/shared/dicom/transfer-syntax";
import { parseCFindIdentifier } from "@dicom-edge/shared/query/c-find";
import { matches } from "@dicom-edge/shared/query/match";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { returnAttributes } from "@dicom-edge/shared/query/return-keys";
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import { TunnelSession, type TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { afterEach, describe, expect, it } from "vitest";
import { Association } from "../ul/association.ts";
import { backToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import { Cancels, cancelsOf } from "./cancels.ts";
import { negotiate, type NegotiationPolicy } from "../ul/negotiation.ts";
import {
  FindStatus,
  PATIENT_ROOT_FIND,
  STUDY_ROOT_FIND,
  findThroughEdge,
  isFindSopClass,
  performCFind,
  type FindOutcome,
  type FindRequest,
  type FindService,
} from "./c-find.ts";
import { CommandField, type Command } from "./command.ts";

const sessions: TunnelSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close("test over");
});

/** An agent and an edge session back to back, delivering asynchronously and in order like a WebSocket. */
function tunnel(onOpen: (stream: TunnelStream, meta: OpenMeta) => void) {
  const pair = backToBack(onOpen, { edgeCredit: 4096 });
  sessions.push(pair.agent, pair.edge);
  return pair;
}

async function readJson(stream: TunnelStream): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.readable) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Runs a generator to its end: what it yielded and what it returned. */
async function drain<T, R>(gen: AsyncGenerator<T, R, undefined>): Promise<{ yielded: T[]; returned: R }> {
  const yielded: T[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done) return { yielded, returned: next.value };
    yielded.push(next.value);
  }
}

const IDENTIFIER: DicomJson = {
  "00080052": { vr: "CS", Value: ["STUDY"] },
  "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe*" }] },
  "0020000D": { vr: "UI" },
};
const REQUEST: FindRequest = { model: "study", level: "STUDY", identifier: IDENTIFIER, callingAeTitle: "MODALITY" };
const MATCHES: DicomJson[] = [
  { "00080052": { vr: "CS", Value: ["STUDY"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^Jane" }] }, "0020000D": { vr: "UI", Value: ["1.2.1"] } },
  { "00080052": { vr: "CS", Value: ["STUDY"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^John" }] }, "0020000D": { vr: "UI", Value: ["1.2.2"] } },
];

describe("findThroughEdge", () => {
  it("sends the identifier and yields each match as its line arrives, however DATA is cut", async () => {
    let seen: { meta: OpenMeta; identifier: unknown } | undefined;
    const { link } = tunnel((stream, meta) => {
      void (async () => {
        seen = { meta, identifier: await readJson(stream) };
        const text = MATCHES.map((m) => `${JSON.stringify(m)}\n`).join("");
        // Cut inside a line and inside a multi-byte character's neighbourhood.
        for (const piece of [text.slice(0, 10), text.slice(10, 150), text.slice(150)]) await stream.write(Buffer.from(piece));
        stream.sendResult({ status: 0 });
      })();
    });
    const { yielded, returned } = await drain(findThroughEdge(link, REQUEST, new AbortController().signal));
    expect(seen).toEqual({ meta: { kind: "find", model: "study", level: "STUDY", callingAeTitle: "MODALITY" }, identifier: IDENTIFIER });
    expect(yielded).toEqual(MATCHES);
    expect(returned).toEqual({ status: 0 });
  });

  it("passes the edge's failure status on", async () => {
    const { link } = tunnel((stream) => {
      void readJson(stream).then(() => stream.sendResult({ status: 0xa900, errorComment: "bad key" }));
    });
    const { yielded, returned } = await drain(findThroughEdge(link, REQUEST, new AbortController().signal));
    expect(yielded).toEqual([]);
    expect(returned).toEqual({ status: 0xa900, errorComment: "bad key" });
  });

  it("answers A700 when the tunnel is down or breaks mid-way", async () => {
    const down = { open: () => { throw new Error("the tunnel to the edge is down"); } };
    expect((await drain(findThroughEdge(down, REQUEST, new AbortController().signal))).returned).toEqual({ status: FindStatus.OutOfResources, errorComment: "edge unreachable" });

    const { link, agent } = tunnel((stream) => {
      void readJson(stream).then(async () => {
        await stream.write(Buffer.from(`${JSON.stringify(MATCHES[0])}\n`));
        agent.close("socket lost");
      });
    });
    const { yielded, returned } = await drain(findThroughEdge(link, REQUEST, new AbortController().signal));
    expect(yielded).toEqual([MATCHES[0]]);
    expect(returned.status).toBe(FindStatus.OutOfResources);
  });

  it("resets the stream on C-CANCEL, which stops the edge, and returns FE00", async () => {
    let edgeSaw: unknown;
    const { link } = tunnel((stream) => {
      void readJson(stream).then(async () => {
        await stream.write(Buffer.from(`${JSON.stringify(MATCHES[0])}\n`));
        // The edge keeps searching until the agent gives up.
        edgeSaw = await stream.result().catch((e: unknown) => e);
      });
    });
    const cancel = new AbortController();
    const gen = findThroughEdge(link, REQUEST, cancel.signal);
    expect((await gen.next()).value).toEqual(MATCHES[0]);
    cancel.abort();
    expect(await gen.next()).toEqual({ done: true, value: { status: FindStatus.Cancel } });
    await new Promise((r) => setTimeout(r, 10));
    expect(edgeSaw).toMatchObject({ code: "reset", resetCode: "cancelled", remote: true });
  });

  it("refuses a line that is not DICOM JSON with Cxxx", async () => {
    const { link } = tunnel((stream) => {
      void readJson(stream).then(async () => {
        await stream.write(Buffer.from("not json\n"));
        await stream.result().catch(() => undefined);
      });
    });
    expect((await drain(findThroughEdge(link, REQUEST, new AbortController().signal))).returned.status).toBe(FindStatus.UnableToProcess);
  });
});

describe("performCFind", () => {
  const context = { abstractSyntax: STUDY_ROOT_FIND, transferSyntax: EXPLICIT_VR_BIG_ENDIAN };
  const rq = (identifier: Uint8Array | undefined, overrides: Partial<Command> = {}) => ({
    command: { commandField: CommandField.CFindRq, messageId: 7, affectedSopClassUid: STUDY_ROOT_FIND, commandDataSetType: 0, ...overrides },
    context,
    ...(identifier ? { dataset: (async function* () { yield identifier.subarray(0, 5); yield identifier.subarray(5); })() } : {}),
  });
  const fixed = (list: DicomJson[], end: FindOutcome = { status: 0 }): FindService =>
    async function* (request) {
      expect(request).toEqual({ ...REQUEST, model: "study" });
      yield* list;
      return end;
    };

  it("sends one pending response per match, identifiers in the context's syntax, then the final status", async () => {
    const sent: { command: Command; identifier: DicomJson }[] = [];
    const final = await performCFind(rq(writeDataset(IDENTIFIER, EXPLICIT_VR_BIG_ENDIAN)), { callingAeTitle: "MODALITY" }, fixed(MATCHES), new Cancels(), async (command, bytes) => {
      sent.push({ command, identifier: readDataset(bytes, EXPLICIT_VR_BIG_ENDIAN) });
    });
    expect(sent.map((s) => s.identifier)).toEqual(MATCHES);
    expect(sent.map((s) => s.command)).toEqual(
      MATCHES.map(() => ({ commandField: CommandField.CFindRsp, affectedSopClassUid: STUDY_ROOT_FIND, messageIdBeingRespondedTo: 7, status: FindStatus.Pending })),
    );
    expect(final).toEqual({ commandField: CommandField.CFindRsp, affectedSopClassUid: STUDY_ROOT_FIND, messageIdBeingRespondedTo: 7, status: 0 });
  });

  it("gives the search's failure as the final status", async () => {
    const final = await performCFind(rq(writeDataset(IDENTIFIER, EXPLICIT_VR_BIG_ENDIAN)), { callingAeTitle: "MODALITY" }, fixed([], { status: 0xa900, errorComment: "no" }), new Cancels(), async () => {});
    expect(final).toMatchObject({ status: 0xa900, errorComment: "no" });
  });

  it("refuses a context that is not a FIND SOP Class, a missing or undecodable identifier", async () => {
    const never: FindService = async function* () {
      throw new Error("not called");
    };
    const send = async () => {};
    expect(await performCFind(rq(new Uint8Array(0), { affectedSopClassUid: PATIENT_ROOT_FIND }), { callingAeTitle: "M" }, never, new Cancels(), send)).toMatchObject({ status: 0x0122 });
    expect(await performCFind(rq(undefined), { callingAeTitle: "M" }, never, new Cancels(), send)).toMatchObject({ status: FindStatus.UnableToProcess });
    expect(await performCFind(rq(Uint8Array.of(0, 8, 0, 0x52, 0x43)), { callingAeTitle: "M" }, never, new Cancels(), send)).toMatchObject({ status: FindStatus.UnableToProcess });
  });

  it("stops at C-CANCEL: no more pending responses, FE00, and the search is closed", async () => {
    const cancels = cancelsOf({});
    let closed = false;
    const endless: FindService = async function* (_request, signal) {
      try {
        for (let i = 0; !signal.aborted; i++) {
          yield { ...MATCHES[0], "00200010": { vr: "SH", Value: [String(i)] } };
          await new Promise((r) => setTimeout(r, 1));
        }
        return { status: FindStatus.Cancel };
      } finally {
        closed = true;
      }
    };
    let pending = 0;
    const final = await performCFind(rq(writeDataset(IDENTIFIER, EXPLICIT_VR_BIG_ENDIAN)), { callingAeTitle: "MODALITY" }, endless, cancels, async () => {
      if (++pending === 3) cancels.cancel(7);
    });
    expect(pending).toBe(3);
    expect(final).toMatchObject({ status: FindStatus.Cancel, messageIdBeingRespondedTo: 7 });
    expect(closed).toBe(true);
    // A late C-CANCEL for a finished operation is ignored (PS3.7 9.3.2.3).
    cancels.cancel(7);
  });
});

// ---------------------------------------------------------------- with findscu

const run = promisify(execFile);
const ENV = { ...process.env, TCP_NODELAY: "1" };

/** What the DIMSE server does for C-FIND once wired: the same few lines. */
async function startFindScp(search: FindService): Promise<{ port: number; close(): Promise<void> }> {
  const policy: NegotiationPolicy = {
    calledAeTitle: "EDGE",
    abstractSyntaxes: isFindSopClass,
    transferSyntaxes: (_abstract, ts) => transferSyntax(ts) !== undefined,
    maxPduLength: 16384,
    implementationClassUid: "1.2.826.0.1.3680043.10.1544.1",
    implementationVersionName: "DICOMEDGE_01",
  };
  const associations = new Set<Association>();
  const server = net.createServer((socket) => {
    const association: Association = new Association(socket, {
      maxPduLength: 16384,
      negotiate: (request) => negotiate(request, policy),
      onMessage: async (message, a) => {
        switch (message.command.commandField) {
          case CommandField.CFindRq:
            return performCFind(message, a, search, cancelsOf(a), (rsp, identifier) => a.sendMessage(message.context.id, rsp, identifier));
          case CommandField.CCancelRq:
            cancelsOf(a).cancel(message.command.messageIdBeingRespondedTo);
            return undefined;
          default:
            return { commandField: message.command.commandField | 0x8000, messageIdBeingRespondedTo: message.command.messageId ?? 0, status: 0x0211 };
        }
      },
    });
    associations.add(association);
    void association.closed.then(() => associations.delete(association));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...associations].map((a) => a.abort()));
      await stopped;
    },
  };
}

/** An in-memory index searched with the shared engine, so the SCP has something real to answer. */
const INDEX: DicomJson[] = [
  { "00080005": { vr: "CS", Value: ["ISO_IR 192"] }, "00080020": { vr: "DA", Value: ["20240115"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans" }] }, "00100020": { vr: "LO", Value: ["PAT-1"] }, "0020000D": { vr: "UI", Value: ["2.1"] } },
  { "00080020": { vr: "DA", Value: ["20231201"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^Jane" }] }, "00100020": { vr: "LO", Value: ["PAT-2"] }, "0020000D": { vr: "UI", Value: ["2.2"] } },
  { "00080020": { vr: "DA", Value: ["20240301"] }, "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^John" }] }, "00100020": { vr: "LO", Value: ["PAT-3"] }, "0020000D": { vr: "UI", Value: ["2.3"] } },
];
const memorySearch: FindService = async function* (request, signal) {
  const query = parseCFindIdentifier(request.identifier);
  if (isQueryError(query)) return { status: FindStatus.IdentifierDoesNotMatchSOPClass, errorComment: query.reason.slice(0, 64) };
  for (const ds of INDEX) {
    if (signal.aborted) return { status: FindStatus.Cancel };
    if (!matches(query, ds)) continue;
    yield returnAttributes({ ...ds, "00080052": request.identifier["00080052"]! }, query, ["00080052", "00080005"]);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { status: 0 };
};

async function findscu(port: number, args: string[]): Promise<{ code: number; out: string; responses: DicomJson[] }> {
  const dir = await mkdtemp(join(tmpdir(), "findscu-"));
  try {
    let code = 0;
    let out: string;
    try {
      const r = await run("findscu", ["-v", "-aec", "EDGE", "-X", "-od", dir, ...args, "127.0.0.1", String(port)], { env: ENV });
      out = r.stdout + r.stderr;
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      code = typeof err.code === "number" ? err.code : 1;
      out = `${err.stdout ?? ""}${err.stderr ?? ""}`;
    }
    const responses: DicomJson[] = [];
    for (const name of (await readdir(dir)).filter((n) => n.startsWith("rsp")).sort()) {
      const reader = new Part10Reader();
      reader.write(new Uint8Array(await readFile(join(dir, name))));
      responses.push(reader.end().dataset);
    }
    return { code, out, responses };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const name = (ds: DicomJson) => (ds["00100010"]?.Value?.[0] as { Alphabetic?: string } | undefined)?.Alphabetic;

describe("C-FIND with dcmtk findscu", () => {
  let scp: { port: number; close(): Promise<void> } | undefined;
  afterEach(async () => {
    await scp?.close();
    scp = undefined;
  });

  for (const [syntax, option] of [[EXPLICIT_VR_LITTLE_ENDIAN, "-xe"], [EXPLICIT_VR_BIG_ENDIAN, "-xb"], [IMPLICIT_VR_LITTLE_ENDIAN, "-xi"]] as const) {
    it(`Study Root, wild card and date range, in ${syntax}`, async () => {
      scp = await startFindScp(memorySearch);
      const { code, out, responses } = await findscu(scp.port, ["-S", option, "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=*", "-k", "StudyDate=20240101-", "-k", "StudyInstanceUID", "-k", "SpecificCharacterSet"]);
      expect(code, out).toBe(0);
      expect(out).toContain("Received Final Find Response (Success)");
      expect(responses.map(name)).toEqual(["Müller^Hans", "Doe^John"]);
      expect(responses[0]).toMatchObject({
        "00080005": { vr: "CS", Value: ["ISO_IR 192"] },
        "00080052": { vr: "CS", Value: ["STUDY"] },
        "0020000D": { vr: "UI", Value: ["2.1"] },
      });
    });
  }

  it("Patient Root at PATIENT level", async () => {
    scp = await startFindScp(memorySearch);
    const { code, out, responses } = await findscu(scp.port, ["-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName=Doe^J*", "-k", "PatientID"]);
    expect(code, out).toBe(0);
    expect(responses.map((r) => r["00100020"]?.Value?.[0])).toEqual(["PAT-2", "PAT-3"]);
  });

  it("C-CANCEL after the first response ends with Cancel", async () => {
    scp = await startFindScp(memorySearch);
    const { out, responses } = await findscu(scp.port, ["-S", "--cancel", "1", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName"]);
    expect(responses).toHaveLength(1);
    expect(out).toContain("Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)");
  });

  it("an identifier the engine refuses gets A900", async () => {
    scp = await startFindScp(memorySearch);
    const { out, responses } = await findscu(scp.port, ["-S", "-k", "QueryRetrieveLevel=WARD", "-k", "PatientName"]);
    expect(responses).toHaveLength(0);
    expect(out).toContain("Received Final Find Response (Error: DataSetDoesNotMatchSOPClass)");
  });
});
