import net from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectTls, TlsConnectError } from "./client.ts";
import { BCP195_CIPHERS, BCP195_MIN_VERSION } from "./profile.ts";
import { createTestPki, type TestPki } from "./test-ca.testing.ts";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki.remove();
});

describe("connectTls (BCP 195 profile)", () => {
  let server: tls.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A local TLS echo server; `options` override its defaults. */
  const listen = async (options: tls.TlsOptions = {}) => {
    const s = tls.createServer({ key: pki.serverKey, cert: pki.serverCert, ...options }, (socket) => {
      socket.on("error", () => undefined);
      socket.pipe(socket);
    });
    s.on("tlsClientError", () => undefined);
    server = s;
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    return (s.address() as { port: number }).port;
  };

  it("connects to a server whose certificate chains to `ca`, with an ECDHE AEAD suite, and carries bytes", async () => {
    const port = await listen();
    const socket = await connectTls({ host: "127.0.0.1", port, ca: pki.ca });
    try {
      expect(socket.authorized).toBe(true);
      expect(["TLSv1.2", "TLSv1.3"]).toContain(socket.getProtocol());
      expect(BCP195_CIPHERS.split(":")).toContain(socket.getCipher().name);
      socket.write("ping");
      const echoed = await new Promise<string>((resolve) => socket.once("data", (d) => resolve(d.toString())));
      expect(echoed).toBe("ping");
    } finally {
      socket.destroy();
    }
  });

  it("negotiates a BCP 195 suite under TLS 1.2 too", async () => {
    const port = await listen({ maxVersion: "TLSv1.2" });
    const socket = await connectTls({ host: "localhost", port, ca: pki.ca });
    try {
      expect(socket.getProtocol()).toBe("TLSv1.2");
      expect(BCP195_CIPHERS.split(":")).toContain(socket.getCipher().name);
      expect(socket.getCipher().name).toMatch(/^ECDHE-ECDSA-(AES\d+-GCM|CHACHA20)/);
    } finally {
      socket.destroy();
    }
  });

  it("refuses a server that only speaks TLS 1.1", async () => {
    // OpenSSL 3 needs security level 0 to even offer TLS 1.1.
    const port = await listen({ minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" });
    const err = await connectTls({ host: "127.0.0.1", port, ca: pki.ca }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsConnectError);
    expect(String((err as Error).cause)).toMatch(/protocol|version/i);
    expect(BCP195_MIN_VERSION).toBe("TLSv1.2");
  });

  it("refuses a server whose certificate is not under `ca`", async () => {
    const port = await listen({ key: pki.otherKey, cert: pki.otherCert });
    const err = await connectTls({ host: "127.0.0.1", port, ca: pki.ca }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsConnectError);
    expect((err as TlsConnectError).code).toBe("ERR_DICOM_TLS_CONNECT");
  });

  it("refuses a server whose certificate names another host", async () => {
    const port = await listen();
    const err = await connectTls({ host: "127.0.0.1", port, ca: pki.ca, servername: "pacs.example.org" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsConnectError);
    expect(String((err as Error).cause)).toMatch(/pacs\.example\.org/);
  });

  it("presents a client certificate to a server that requires one", async () => {
    const port = await listen({ ca: pki.ca, requestCert: true, rejectUnauthorized: true });
    let peer = "";
    server!.on("secureConnection", (s) => (peer = String(s.getPeerCertificate().subject.CN)));
    const socket = await connectTls({ host: "127.0.0.1", port, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    socket.write("x");
    await new Promise((resolve) => socket.once("data", resolve));
    socket.destroy();
    expect(peer).toBe("MODALITY");
  });

  it("times out against a peer that never answers the handshake", async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((s) => void accepted.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      await expect(connectTls({ host: "127.0.0.1", port, ca: pki.ca, timeoutMs: 200 })).rejects.toThrow(/within 200 ms/);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
