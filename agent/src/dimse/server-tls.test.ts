/**
 * DICOM-TLS (PS3.15 B.9, BCP 195 profile) against dcmtk 3.6.7's
 * `echoscu`/`storescu +tls`, with a throwaway CA made by `openssl`.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import tls from "node:tls";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "../tls/test-ca.testing.ts";
import { encodePdu } from "../ul/pdu.ts";
import type { AssociationContext, DimseServer, DimseServerOptions } from "./server.ts";
import { dcmtk } from "../testing/dcmtk.ts";
import { echoAssociateRq, startTestServer } from "../testing/server.ts";

const SAMPLES = "/usr/lib/python3/dist-packages/pydicom/data/test_files";


let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki.remove();
});

const ECHO_RQ = echoAssociateRq();

describe("DICOM-TLS listener", () => {
  let server: DimseServer | undefined;
  const echoes: AssociationContext[] = [];
  const logs: string[] = [];
  afterEach(async () => {
    await server?.close();
    server = undefined;
    echoes.length = 0;
    logs.length = 0;
  });
  const start = async (overrides: Partial<DimseServerOptions> = {}) =>
    (server = await startTestServer({
      maxPduLength: 65536,
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requireClientCertificate: true, port: 0 },
      handlers: { echo: async (ctx) => (echoes.push(ctx), { status: 0 }), store: async () => ({ status: 0 }) },
      log: (m) => logs.push(m),
      ...overrides,
    }));
  /** echoscu over TLS with our client certificate, a foreign one, or none (+tla). */
  const echoTls = (port: number, cert: "client" | "other" | "none" = "client") =>
    dcmtk("echoscu", [
      ...(cert === "none" ? ["+tla"] : ["+tls", cert === "client" ? pki.files.clientKey : pki.files.otherKey, cert === "client" ? pki.files.clientCert : pki.files.otherCert, "-pw"]),
      "+cf",
      pki.files.ca,
      "-aet",
      "MODALITY",
      "-aec",
      "EDGE",
      "127.0.0.1",
      String(port),
    ]);

  it("echoscu +tls with a client certificate: the association runs like a plain one, and the handler sees the TLS peer", async () => {
    const s = await start();
    expect(s.tlsPort).toBeGreaterThan(0);
    expect(s.tlsPort).not.toBe(s.port);
    const r = await echoTls(s.tlsPort!);
    expect(r.code, r.out).toBe(0);
    expect(echoes).toHaveLength(1);
    expect(echoes[0]!.callingAeTitle).toBe("MODALITY");
    expect(["TLSv1.2", "TLSv1.3"]).toContain(echoes[0]!.tls?.protocol);
    expect(echoes[0]!.tls?.cipher).toMatch(/^(TLS_AES_|TLS_CHACHA20_|ECDHE-(ECDSA|RSA)-(AES\d+-GCM|CHACHA20))/);
    expect(echoes[0]!.tls?.clientCertificateSubject).toBe("CN=MODALITY");
    // The plain listener runs beside it, and its associations carry no TLS peer.
    const plain = await dcmtk("echoscu", ["-aec", "EDGE", "127.0.0.1", String(s.port)]);
    expect(plain.code, plain.out).toBe(0);
    expect(echoes[1]!.tls).toBeUndefined();
  });

  it("storescu +tls: the data set arrives byte for byte", async () => {
    const received: Buffer[] = [];
    const s = await start({
      handlers: {
        echo: async () => ({ status: 0 }),
        store: async (ctx) => {
          for await (const c of ctx.dataset) received.push(Buffer.from(c));
          return { status: 0 };
        },
      },
    });
    const file = `${SAMPLES}/MR_small_bigendian.dcm`;
    const r = await dcmtk("storescu", ["+tls", pki.files.clientKey, pki.files.clientCert, "-pw", "+cf", pki.files.ca, "-R", "-xb", "-aec", "EDGE", "127.0.0.1", String(s.tlsPort), file]);
    expect(r.code, r.out).toBe(0);
    const { readFile } = await import("node:fs/promises");
    const part10 = await readFile(file);
    const dataset = part10.subarray(144 + part10.readUInt32LE(140));
    expect(Buffer.concat(received).equals(dataset)).toBe(true);
  });

  it("refuses a client without a certificate, or with one from another CA, and keeps serving", async () => {
    const s = await start();
    const anonymous = await echoTls(s.tlsPort!, "none");
    expect(anonymous.code).not.toBe(0);
    const foreign = await echoTls(s.tlsPort!, "other");
    expect(foreign.code).not.toBe(0);
    expect(echoes).toHaveLength(0);
    expect(logs.filter((l) => l.includes("tls-handshake-failed")).length).toBeGreaterThanOrEqual(2);
    const ok = await echoTls(s.tlsPort!);
    expect(ok.code, ok.out).toBe(0);
  });

  it("without requireClientCertificate, a client without a certificate is served", async () => {
    const s = await start({ tls: { cert: pki.serverCert, key: pki.serverKey, port: 0 } });
    const r = await echoTls(s.tlsPort!, "none");
    expect(r.code, r.out).toBe(0);
    expect(echoes[0]!.tls?.clientCertificateSubject).toBeUndefined();
  });

  it("plain DICOM sent to the TLS port: no DICOM answer, socket destroyed within a second, listener goes on", async () => {
    const s = await start();
    const socket = net.connect(s.tlsPort!, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    const t0 = Date.now();
    socket.write(encodePdu(ECHO_RQ));
    await new Promise((resolve) => socket.once("close", resolve));
    expect(Date.now() - t0).toBeLessThan(1000);
    const received = Buffer.concat(chunks);
    // At most a TLS alert record (content type 21, RFC 8446 5.1): never an A-ASSOCIATE-AC/RJ/A-ABORT.
    if (received.length > 0) expect(received[0]).toBe(0x15);
    expect(logs.some((l) => l.includes("tls-handshake-failed"))).toBe(true);
    const r = await echoTls(s.tlsPort!);
    expect(r.code, r.out).toBe(0);
  });

  it("refuses TLS 1.1 and suites outside BCP 195", async () => {
    const s = await start({ tls: { cert: pki.serverCert, key: pki.serverKey, port: 0 } });
    const attempt = (options: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: "127.0.0.1", port: s.tlsPort!, ca: pki.ca, ...options });
        socket.once("secureConnect", () => (socket.destroy(), resolve("connected")));
        socket.once("error", (e) => resolve(e.message));
      });
    expect(await attempt({ minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" })).toMatch(/protocol|version/i);
    // CBC without forward secrecy (RFC 9325 4.1 says no), and TLS 1.2 only so TLS 1.3 suites cannot rescue it.
    expect(await attempt({ maxVersion: "TLSv1.2", ciphers: "AES128-SHA:ECDHE-ECDSA-AES128-SHA" })).toMatch(/handshake failure|no shared cipher|alert/i);
    expect(await attempt({ maxVersion: "TLSv1.2" })).toBe("connected");
    const r = await echoTls(s.tlsPort!, "none");
    expect(r.code, r.out).toBe(0);
  });

  it("with plain: false there is only the TLS listener", async () => {
    const s = await start({ plain: false });
    expect(s.port).toBe(s.tlsPort);
    const r = await echoTls(s.tlsPort!);
    expect(r.code, r.out).toBe(0);
  });

  it("a stalled handshake is dropped after ARTIM, and close() does not wait for it", async () => {
    const s = await start({ artimTimeoutMs: 300 });
    const socket = net.connect(s.tlsPort!, "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    const t0 = Date.now();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(2000);
    // A second one, still handshaking when the server closes.
    const pending = net.connect(s.tlsPort!, "127.0.0.1");
    pending.on("error", () => undefined);
    await new Promise((resolve) => pending.once("connect", resolve));
    const c0 = Date.now();
    await server!.close();
    server = undefined;
    expect(Date.now() - c0).toBeLessThan(250);
    pending.destroy();
  });

  it("requireClientCertificate without ca is a configuration error", async () => {
    await expect(start({ tls: { cert: pki.serverCert, key: pki.serverKey, requireClientCertificate: true, port: 0 } })).rejects.toThrow(/needs tls.ca/);
  });
});
