import { encodeDataset } from "@dicom-edge/shared/dicom/testing/encode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AeTableEntry } from "../config/config.ts";
import { CommandField } from "../dimse/command.ts";
import type { DimseServer, StoreContext } from "../dimse/server.ts";
import { startTestServer } from "../testing/server.ts";
import { createTestPki, type TestPki } from "../tls/test-ca.testing.ts";
import { AssociationRejectedError } from "../ul/association.ts";
import { associateRq, openAssociation } from "./destination.ts";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const DATASET = encodeDataset(
  [
    { tag: 0x00080016, vr: "UI", value: CT },
    { tag: 0x00080018, vr: "UI", value: "1.2.3.4" },
    { tag: 0x00091001, vr: "OB", value: new Uint8Array(40_000).map((_, i) => i & 0xff) },
  ],
  { explicitVR: true, littleEndian: true },
);

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki.remove();
});

let server: DimseServer | undefined;
const stored: { ctx: StoreContext; bytes: Buffer }[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  stored.length = 0;
});

const store = async (ctx: StoreContext) => {
  const chunks: Uint8Array[] = [];
  for await (const chunk of ctx.dataset) chunks.push(chunk);
  stored.push({ ctx, bytes: Buffer.concat(chunks) });
  return { status: 0 };
};

/** One C-STORE of DATASET on a fresh association to `entry`, then release. */
async function storeOnce(entry: AeTableEntry) {
  const association = await openAssociation(entry, { callingAeTitle: "DICOMEDGE", contexts: [[CT, EXPLICIT_LE]], maxPduLength: 16384, timeoutMs: 5000 });
  const response = await association.request(
    1,
    { commandField: CommandField.CStoreRq, affectedSopClassUid: CT, messageId: association.nextMessageId(), priority: 0, affectedSopInstanceUid: "1.2.3.4" },
    DATASET,
  );
  await association.release();
  expect(association.state).toBe("Sta1");
  return response.command;
}

describe("associateRq", () => {
  it("proposes one context per pair, odd ids in order, one transfer syntax each", () => {
    const rq = associateRq("PACS", { callingAeTitle: "DICOMEDGE", contexts: [[CT, EXPLICIT_LE], [CT, "1.2.840.10008.1.2.4.50"]], maxPduLength: 16384 });
    expect(rq.presentationContexts).toEqual([
      { id: 1, abstractSyntax: CT, transferSyntaxes: [EXPLICIT_LE] },
      { id: 3, abstractSyntax: CT, transferSyntaxes: ["1.2.840.10008.1.2.4.50"] },
    ]);
    expect(rq.calledAeTitle).toBe("PACS");
    expect(rq.userInformation.maxLength).toBe(16384);
    expect(() => associateRq("PACS", { callingAeTitle: "X", contexts: [], maxPduLength: 16384 })).toThrow(RangeError);
  });
});

describe("openAssociation (requestor)", () => {
  it("associates, stores the bytes as given, and releases", async () => {
    server = await startTestServer({ handlers: { store } });
    const response = await storeOnce({ title: "EDGE", host: "127.0.0.1", port: server.port, tls: false });
    expect(response).toMatchObject({ commandField: CommandField.CStoreRsp, status: 0 });
    expect(stored).toHaveLength(1);
    expect(stored[0]!.ctx).toMatchObject({ callingAeTitle: "DICOMEDGE", sopClassUid: CT, transferSyntaxUid: EXPLICIT_LE });
    expect(Buffer.compare(stored[0]!.bytes, DATASET)).toBe(0);
  });

  it("rejects with the peer's A-ASSOCIATE-RJ reason", async () => {
    server = await startTestServer({ handlers: { store } });
    const error = await openAssociation({ title: "SOMEONE", host: "127.0.0.1", port: server.port, tls: false }, { callingAeTitle: "DICOMEDGE", contexts: [[CT, EXPLICIT_LE]], maxPduLength: 16384 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssociationRejectedError);
    // PS3.8 Table 9-21: rejected-permanent, service-user, called-AE-title-not-recognized.
    expect((error as AssociationRejectedError).rejection).toMatchObject({ result: 1, source: 1, reason: 7 });
  });

  it("reaches a DICOM-TLS destination with its CA and our client certificate (PS3.15 B.9)", async () => {
    server = await startTestServer({
      plain: false,
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requireClientCertificate: true, port: 0 },
      handlers: { store },
    });
    const entry: AeTableEntry = { title: "EDGE", host: "127.0.0.1", port: server.tlsPort!, tls: true, ca: pki.files.ca, cert: pki.files.clientCert, key: pki.files.clientKey };
    expect(await storeOnce(entry)).toMatchObject({ status: 0 });
    expect(Buffer.compare(stored[0]!.bytes, DATASET)).toBe(0);
    // Without our certificate, or trusting another CA, nothing is sent.
    const { cert: _cert, key: _key, ...anonymous } = entry;
    await expect(storeOnce(anonymous)).rejects.toThrow();
    await expect(storeOnce({ ...entry, ca: pki.files.otherCert })).rejects.toThrow(/TLS/);
    expect(stored).toHaveLength(1);
  });
});
