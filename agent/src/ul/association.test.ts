import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startDimseServer, type DimseServer } from "../dimse/server.ts";
import { CommandField, encodeCommand } from "../dimse/command.ts";
import { Association } from "./association.ts";
import { negotiate } from "./negotiation.ts";
import { encodePdu, type AssociateRq } from "./pdu.ts";
import { echoAssociateRq, startTestServer } from "../testing/server.ts";

/** A raw TCP peer: sends bytes, records what comes back and when the socket closes. */
async function rawPeer(port: number, send: (socket: net.Socket, received: () => Buffer) => Promise<void>) {
  const socket = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (c) => chunks.push(c));
  socket.on("error", () => undefined);
  const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now())));
  await new Promise((resolve) => socket.once("connect", resolve));
  const started = Date.now();
  await send(socket, () => Buffer.concat(chunks));
  const closedAt = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
  socket.destroy();
  return { received: Buffer.concat(chunks), closeMs: closedAt < 0 ? -1 : closedAt - started };
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ECHO_RQ = echoAssociateRq();

describe("Association on a socket", () => {
  let server: DimseServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async () =>
    (server = await startTestServer());

  /** Associates, then hands over the socket. */
  const associated = async (socket: net.Socket, received: () => Buffer) => {
    socket.write(encodePdu(ECHO_RQ));
    await until(() => received().length >= 6 && received().length >= 6 + received().readUInt32BE(2));
    expect(received()[0]).toBe(0x02);
    return received().length;
  };

  it("answers a 4 GB P-DATA-TF header with A-ABORT at once, and closes", async () => {
    const { port } = await start();
    const t0 = Date.now();
    const { received, closeMs } = await rawPeer(port, async (socket, received) => {
      const acLength = await associated(socket, received);
      socket.write(Buffer.from("0400ffffffff", "hex"));
      await until(() => received().length > acLength);
    });
    const abort = received.subarray(received.length - 10);
    expect(abort.toString("hex")).toBe("07000000000400000206");
    expect(closeMs).toBeGreaterThanOrEqual(0);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("answers a 4 GB A-ASSOCIATE-RQ header with A-ABORT", async () => {
    const { port } = await start();
    const { received, closeMs } = await rawPeer(port, async (socket, received) => {
      socket.write(Buffer.from("0100ffffffff", "hex"));
      await until(() => received().length >= 10);
    });
    expect(received.toString("hex")).toBe("07000000000400000206");
    expect(closeMs).toBeGreaterThanOrEqual(0);
  });

  it("answers a malformed PDU with A-ABORT", async () => {
    const { port } = await start();
    const { received } = await rawPeer(port, async (socket, received) => {
      const acLength = await associated(socket, received);
      // A PDV item that claims more bytes than its P-DATA-TF holds.
      socket.write(Buffer.from("04000000000a" + "000000ff" + "0103" + "00000000", "hex"));
      await until(() => received().length > acLength);
    });
    expect(received.subarray(received.length - 10).toString("hex")).toBe("07000000000400000206");
  });

  it("answers an unknown PDU type with A-ABORT reason 1", async () => {
    const { port } = await start();
    const { received } = await rawPeer(port, async (socket, received) => {
      const acLength = await associated(socket, received);
      socket.write(Buffer.from("0b00000000020000", "hex"));
      await until(() => received().length > acLength);
    });
    expect(received.subarray(received.length - 10).toString("hex")).toBe("07000000000400000201");
  });

  it("closes the socket at once when the peer aborts", async () => {
    const { port } = await start();
    const { closeMs } = await rawPeer(port, async (socket, received) => {
      await associated(socket, received);
      socket.write(encodePdu({ type: "abort", source: 0, reason: 0 }));
    });
    expect(closeMs).toBeGreaterThanOrEqual(0);
    expect(closeMs).toBeLessThan(1000);
  });

  it("closes the transport when no A-ASSOCIATE-RQ arrives within ARTIM", async () => {
    server = await startDimseServer({
      host: "127.0.0.1",
      port: 0,
      aeTitle: "EDGE",
      maxPduLength: 16384,
      artimTimeoutMs: 200,
      handlers: { echo: async () => ({ status: 0 }), store: async () => ({ status: 0 }) },
    });
    const { received, closeMs } = await rawPeer(server.port, async () => undefined);
    expect(received.length).toBe(0);
    expect(closeMs).toBeGreaterThanOrEqual(150);
    expect(closeMs).toBeLessThan(2000);
  });
});

describe("Association: one operation at a time (PS3.7 D.3.3.3 window 1/1)", () => {
  it("holds a pipelined request until the running one has answered, but lets C-CANCEL through", async () => {
    const events: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      new Association(socket, {
        maxPduLength: 16384,
        negotiate: (rq) =>
          negotiate(rq, {
            calledAeTitle: "EDGE",
            abstractSyntaxes: () => true,
            transferSyntaxes: () => true,
            maxPduLength: 16384,
            implementationClassUid: "1.2.3",
            implementationVersionName: "TEST",
          }),
        onMessage: async ({ command }) => {
          const name = command.commandField === CommandField.CCancelRq ? `cancel(${command.messageIdBeingRespondedTo})` : `echo(${command.messageId})`;
          events.push(`start ${name}`);
          if (command.commandField === CommandField.CCancelRq) return undefined;
          await new Promise((r) => setTimeout(r, 150));
          events.push(`end ${name}`);
          return { commandField: CommandField.CEchoRsp, affectedSopClassUid: "1.2.840.10008.1.1", messageIdBeingRespondedTo: command.messageId, status: 0 };
        },
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const pdata = (command: Parameters<typeof encodeCommand>[0]) =>
      encodePdu({ type: "p-data-tf", pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: encodeCommand(command) }] });
    try {
      await rawPeer(port, async (socket, received) => {
        socket.write(encodePdu(ECHO_RQ));
        await until(() => received().length >= 6 && received().length >= 6 + received().readUInt32BE(2));
        socket.write(
          Buffer.concat([
            pdata({ commandField: CommandField.CEchoRq, affectedSopClassUid: "1.2.840.10008.1.1", messageId: 1 }),
            pdata({ commandField: CommandField.CCancelRq, messageIdBeingRespondedTo: 1 }),
            pdata({ commandField: CommandField.CEchoRq, affectedSopClassUid: "1.2.840.10008.1.1", messageId: 2 }),
          ]),
        );
        await until(() => events.length === 5);
        socket.write(encodePdu({ type: "abort", source: 0, reason: 0 }));
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // The C-CANCEL reaches echo 1 while it runs; echo 2 waits for echo 1's response.
    expect(events).toEqual(["start echo(1)", "start cancel(1)", "end echo(1)", "start echo(2)", "end echo(2)"]);
  });
});
