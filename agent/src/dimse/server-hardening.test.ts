/**
 * What the SCP answers to hostile or broken peers, byte for byte, and that
 * it keeps serving: every case ends with a normal dcmtk `echoscu`
 * association. Bad input is sent over raw sockets.
 *
 * Expected answers (PS3.8 9.3.4 Table 9-21 for A-ASSOCIATE-RJ, 9.3.8
 * Table 9-26 for A-ABORT): `07 00 00000004 00 00 <source> <reason>` and
 * `03 00 00000004 00 <result> <source> <reason>`.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { decodePduBody, emptyUserInformation, encodePdu, type AssociateAc, type AssociateRq } from "../ul/pdu.ts";
import { CommandField, decodeCommand, encodeCommand, type Command } from "./command.ts";
import type { DimseServer, DimseServerOptions } from "./server.ts";
import { dcmtk } from "../testing/dcmtk.ts";
import { echoAssociateRq, startTestServer } from "../testing/server.ts";



const VERIFICATION = "1.2.840.10008.1.1";
const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";
const IMPLICIT_LE = "1.2.840.10008.1.2";

/** Verification and CT Image Storage, both Implicit VR Little Endian. */
const rq = (overrides: Partial<AssociateRq> = {}): AssociateRq =>
  echoAssociateRq({
    presentationContexts: [
      { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
    ],
    ...overrides,
  });

const abortHex = (source: number, reason: number) => `0700000000040000${source.toString(16).padStart(2, "0")}${reason.toString(16).padStart(2, "0")}`;
const rejectHex = (result: number, source: number, reason: number) =>
  `03000000000400${[result, source, reason].map((n) => n.toString(16).padStart(2, "0")).join("")}`;

/** One P-DATA-TF with one command PDV. */
function commandPData(contextId: number, command: Command): Uint8Array {
  return encodePdu({ type: "p-data-tf", pdvs: [{ contextId, isCommand: true, isLast: true, data: encodeCommand(command) }] });
}

const echoRq = (messageId: number): Command => ({ commandField: CommandField.CEchoRq, affectedSopClassUid: VERIFICATION, messageId });

/** A raw TCP peer that records what it receives and when the socket closes. */
class RawPeer {
  private chunks: Buffer[] = [];
  closedAt: number | undefined;
  readonly closed: Promise<void>;
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (c) => this.chunks.push(c));
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => socket.on("close", () => ((this.closedAt = Date.now()), resolve())));
  }
  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    return new RawPeer(socket);
  }
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** Complete PDUs received so far, as hex. */
  pdus(): Buffer[] {
    const out: Buffer[] = [];
    const b = this.received;
    for (let at = 0; at + 6 <= b.length; ) {
      const end = at + 6 + b.readUInt32BE(at + 2);
      if (end > b.length) break;
      out.push(b.subarray(at, end));
      at = end;
    }
    return out;
  }
  async waitPdus(n: number, ms = 3000): Promise<Buffer[]> {
    await until(() => this.pdus().length >= n, ms);
    return this.pdus();
  }
  /** Ms from `since` until the socket closed, or -1 when it stayed open for `ms`. */
  async closeMs(since: number, ms = 3000): Promise<number> {
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, ms))]);
    return this.closedAt === undefined ? -1 : this.closedAt - since;
  }
  /** Sends an A-ASSOCIATE-RQ and returns the answer PDU. */
  async associate(request: AssociateRq = rq()): Promise<Buffer> {
    this.socket.write(encodePdu(request));
    return (await this.waitPdus(1))[0]!;
  }
  destroy(): void {
    this.socket.destroy();
  }
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("SCP hardening", () => {
  let server: DimseServer | undefined;
  const peers: RawPeer[] = [];
  const logs: string[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await server?.close();
    server = undefined;
    logs.length = 0;
  });
  const start = async (overrides: Partial<DimseServerOptions> = {}) =>
    (server = await startTestServer({ log: (m) => logs.push(m), ...overrides }));
  const peer = async () => {
    const p = await RawPeer.connect(server!.port);
    peers.push(p);
    return p;
  };
  const associatedPeer = async () => {
    const p = await peer();
    expect((await p.associate())[0]).toBe(0x02);
    return p;
  };
  /** The agent is still fine: a normal dcmtk association succeeds. */
  const echoscuWorks = async (args: string[] = []) => {
    const r = await dcmtk("echoscu", ["-aet", "MODALITY", "-aec", "EDGE", ...args, "127.0.0.1", String(server!.port)]);
    expect(r.code, r.out).toBe(0);
  };

  it("a P-DATA-TF one byte over our maximum: A-ABORT (2, 6) at once, then close", async () => {
    await start();
    const p = await associatedPeer();
    const t0 = Date.now();
    p.socket.write(Buffer.from("040000004001", "hex")); // 16385
    const pdus = await p.waitPdus(2);
    expect(pdus[1]!.toString("hex")).toBe(abortHex(2, 6));
    expect(await p.closeMs(t0)).toBeLessThan(1000);
    await echoscuWorks();
  });

  it("a 4 GB P-DATA-TF announcement: A-ABORT (2, 6) and close within a second, nothing of it buffered", async () => {
    await start();
    const p = await associatedPeer();
    const before = process.memoryUsage().rss;
    const t0 = Date.now();
    p.socket.write(Buffer.from("0400ffffffff", "hex"));
    p.socket.write(Buffer.alloc(1024 * 1024, 0xab)); // body bytes that must be dropped, not kept
    const pdus = await p.waitPdus(2);
    expect(pdus[1]!.toString("hex")).toBe(abortHex(2, 6));
    const closeMs = await p.closeMs(t0);
    expect(closeMs).toBeGreaterThanOrEqual(0);
    expect(closeMs).toBeLessThan(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect(p.pdus()).toHaveLength(2);
    await echoscuWorks();
  });

  it("malformed PDUs: A-ABORT (2, 6), before and after association", async () => {
    await start();
    const t0 = Date.now();
    // A PDV item that claims more bytes than its P-DATA-TF holds.
    const a = await associatedPeer();
    a.socket.write(Buffer.from("04000000000a" + "000000ff" + "0103" + "00000000", "hex"));
    expect((await a.waitPdus(2))[1]!.toString("hex")).toBe(abortHex(2, 6));
    // An A-ASSOCIATE-RQ without its application context item (PS3.8 9.3.2).
    const rqBytes = Buffer.from(encodePdu(rq()));
    const withoutContext = Buffer.concat([rqBytes.subarray(0, 74), rqBytes.subarray(74 + 4 + rqBytes.readUInt16BE(76))]);
    withoutContext.writeUInt32BE(withoutContext.length - 6, 2);
    const b = await peer();
    b.socket.write(withoutContext);
    expect((await b.waitPdus(1))[0]!.toString("hex")).toBe(abortHex(2, 6));
    // An A-RELEASE-RQ whose length is not 4 (PS3.8 9.3.6).
    const c = await associatedPeer();
    c.socket.write(Buffer.from("05000000000500000000ff", "hex"));
    expect((await c.waitPdus(2))[1]!.toString("hex")).toBe(abortHex(2, 6));
    for (const [i, p] of [a, b, c].entries()) expect(await p.closeMs(t0), `peer ${i}`).toBeGreaterThanOrEqual(0);
    await echoscuWorks();
  });

  it("unknown PDU type: A-ABORT (2, 1), before and after association", async () => {
    await start();
    const a = await associatedPeer();
    a.socket.write(Buffer.from("0b00000000020000", "hex"));
    expect((await a.waitPdus(2))[1]!.toString("hex")).toBe(abortHex(2, 1));
    const b = await peer();
    b.socket.write(Buffer.from("0b00000000020000", "hex"));
    expect((await b.waitPdus(1))[0]!.toString("hex")).toBe(abortHex(2, 1));
    await echoscuWorks();
  });

  it("a truncated A-ASSOCIATE-RQ, then the peer closes: nothing sent, socket closed", async () => {
    await start();
    const p = await peer();
    const bytes = encodePdu(rq());
    const t0 = Date.now();
    p.socket.end(bytes.subarray(0, 40));
    expect(await p.closeMs(t0)).toBeGreaterThanOrEqual(0);
    expect(p.received.length).toBe(0);
    await echoscuWorks();
  });

  it("a data set cut off mid-PDU when the peer goes away: the store handler sees an error, never a complete instance", async () => {
    let outcome = "";
    await start({
      handlers: {
        echo: async () => ({ status: 0 }),
        store: async (ctx) => {
          try {
            for await (const _ of ctx.dataset);
            outcome = "complete";
          } catch (e) {
            outcome = `error: ${(e as Error).message}`;
          }
          return { status: 0 };
        },
      },
    });
    const p = await associatedPeer();
    p.socket.write(commandPData(3, { commandField: CommandField.CStoreRq, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: "1.2.3", messageId: 1, priority: 0, commandDataSetType: 0 }));
    // A P-DATA-TF announcing a 1000-byte PDV, of which 100 bytes come.
    p.socket.write(Buffer.concat([Buffer.from("04000000" + "03ee" + "000003ea" + "0302", "hex"), Buffer.alloc(100)]));
    await new Promise((r) => setTimeout(r, 50));
    p.destroy();
    await until(() => outcome !== "");
    expect(outcome).toMatch(/^error: /);
    await echoscuWorks();
  });

  it("no acceptable presentation context: A-ASSOCIATE-RJ (1, 1, 1)", async () => {
    await start();
    const p = await peer();
    const answer = await p.associate(rq({ presentationContexts: [{ id: 1, abstractSyntax: "1.2.3.4.5.6", transferSyntaxes: [IMPLICIT_LE] }] }));
    expect(answer.toString("hex")).toBe(rejectHex(1, 1, 1));
    await echoscuWorks();
  });

  it("the peer's A-ABORT: the socket closes at once", async () => {
    await start();
    const p = await associatedPeer();
    const t0 = Date.now();
    p.socket.write(encodePdu({ type: "abort", source: 0, reason: 0 }));
    const ms = await p.closeMs(t0);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(500);
    expect(p.pdus()).toHaveLength(1); // the AC only: an A-ABORT is never answered
    await echoscuWorks();
  });

  it("ARTIM: a connection that sends nothing is closed after the configured timeout", async () => {
    await start({ artimTimeoutMs: 200 });
    const p = await peer();
    const ms = await p.closeMs(Date.now());
    expect(ms).toBeGreaterThanOrEqual(180);
    expect(ms).toBeLessThan(1500);
    expect(p.received.length).toBe(0);
    await echoscuWorks();
  });

  it("idle timeout: an established association with no activity gets A-ABORT (0, 0) and is closed", async () => {
    await start({ idleTimeoutMs: 300 });
    const p = await associatedPeer();
    const t0 = Date.now();
    const pdus = await p.waitPdus(2, 3000);
    expect(pdus[1]!.toString("hex")).toBe(abortHex(0, 0));
    const ms = await p.closeMs(t0);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1500);
    await echoscuWorks();
  });

  it("maxAssociations: the (N+1)th concurrent association gets A-ASSOCIATE-RJ (2, 3, 2), and a freed slot is usable again", async () => {
    await start({ maxAssociations: 2 });
    const held = [await associatedPeer(), await associatedPeer()];
    const third = await peer();
    expect((await third.associate()).toString("hex")).toBe(rejectHex(2, 3, 2));
    const refused = await dcmtk("echoscu", ["-v", "-aec", "EDGE", "127.0.0.1", String(server!.port)]);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/Association Rejected/i);
    expect(refused.out).toMatch(/Local Limit Exceeded/i);
    // Release one (PS3.8 9.3.6/9.3.7) and the next association is accepted.
    held[0]!.socket.write(encodePdu({ type: "release-rq" }));
    expect((await held[0]!.waitPdus(2))[1]!.toString("hex")).toBe("06000000000400000000");
    held[0]!.socket.end();
    await held[0]!.closed;
    await echoscuWorks();
  });

  it("called AE title must be ours: A-ASSOCIATE-RJ (1, 1, 7)", async () => {
    await start();
    const p = await peer();
    expect((await p.associate(rq({ calledAeTitle: "WRONG" }))).toString("hex")).toBe(rejectHex(1, 1, 7));
    const r = await dcmtk("echoscu", ["-v", "-aet", "MODALITY", "-aec", "WRONG", "127.0.0.1", String(server!.port)]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Called AE Title Not Recognized/i);
    await echoscuWorks();
  });

  it("acceptedCallingAeTitles: another calling AE title gets A-ASSOCIATE-RJ (1, 1, 3)", async () => {
    await start({ acceptedCallingAeTitles: ["MODALITY"] });
    const p = await peer();
    expect((await p.associate(rq({ callingAeTitle: "INTRUDER" }))).toString("hex")).toBe(rejectHex(1, 1, 3));
    const r = await dcmtk("echoscu", ["-v", "-aet", "INTRUDER", "-aec", "EDGE", "127.0.0.1", String(server!.port)]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Calling AE Title Not Recognized/i);
    await echoscuWorks(); // -aet MODALITY
  });

  it("memory stays bounded whatever the peer announces: a 4 GB P-DATA-TF trickled to a handler that does not read", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // maxPduLength 0: "no limit" (PS3.8 D.1.1), so the 4 GB P-DATA-TF is legal and only streaming bounds memory.
    await start({ maxPduLength: 0, handlers: { echo: async () => ({ status: 0 }), store: async () => (await held, { status: 0 }) } });
    const p = await associatedPeer();
    p.socket.write(commandPData(3, { commandField: CommandField.CStoreRq, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: "1.2.3", messageId: 1, priority: 0, commandDataSetType: 0 }));
    // PDU length 0xffffffff; one PDV of 0xffffffff - 4 (item length) carrying 0xffffffff - 6 data bytes, not last.
    p.socket.write(Buffer.from("0400ffffffff" + "fffffffb" + "0300", "hex"));
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const chunk = Buffer.alloc(256 * 1024, 0x5a);
    let sent = 0;
    const deadline = Date.now() + 3000;
    // Write while the socket drains; stop once it has not drained for 500 ms (the agent stopped reading) or after 3 s.
    while (Date.now() < deadline && sent < 512 * 1024 * 1024) {
      if (!p.socket.write(chunk)) {
        const drained = await Promise.race([new Promise<boolean>((r) => p.socket.once("drain", () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
        if (!drained) break;
      }
      sent += chunk.length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    // The agent reads about one data set buffer (1 MiB) plus socket buffers, then pauses the socket.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
    release();
    p.destroy();
    await echoscuWorks();
  });

  it("asynchronous operations window: a proposal of (5, 5) is answered (1, 1)", async () => {
    await start();
    const p = await peer();
    const answer = await p.associate(rq({ userInformation: { ...emptyUserInformation(), maxLength: 16384, asyncOpsWindow: { maxInvoked: 5, maxPerformed: 5 } } }));
    const ac = decodePduBody(answer[0]!, answer.subarray(6)) as AssociateAc;
    expect(ac.type).toBe("associate-ac");
    expect(ac.userInformation.asyncOpsWindow).toEqual({ maxInvoked: 1, maxPerformed: 1 });
    // No proposal, no answer (PS3.7 D.3.3.3: absent means the default of 1/1).
    const q = await peer();
    const plain = await q.associate();
    expect((decodePduBody(plain[0]!, plain.subarray(6)) as AssociateAc).userInformation.asyncOpsWindow).toBeUndefined();
    await echoscuWorks();
  });

  it("pipelined requests run one at a time and are answered in order", async () => {
    let active = 0;
    let peak = 0;
    await start({
      handlers: {
        echo: async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 100));
          active--;
          return { status: 0 };
        },
        store: async () => ({ status: 0 }),
      },
    });
    const p = await associatedPeer();
    p.socket.write(Buffer.concat([commandPData(1, echoRq(1)), commandPData(1, echoRq(2)), commandPData(1, echoRq(3))]));
    const pdus = await p.waitPdus(4);
    const responses = pdus.slice(1).map((pdu) => decodeCommand(pdu.subarray(12)));
    expect(responses.map((r) => [r.commandField, r.messageIdBeingRespondedTo, r.status])).toEqual([
      [CommandField.CEchoRsp, 1, 0],
      [CommandField.CEchoRsp, 2, 0],
      [CommandField.CEchoRsp, 3, 0],
    ]);
    expect(peak).toBe(1);
    await echoscuWorks();
  });
});
