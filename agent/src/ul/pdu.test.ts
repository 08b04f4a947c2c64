import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ECHOSCU_ASSOCIATE_RQ_HEX, ECHOSCU_C_ECHO_PDATA_HEX, hex } from "./fixtures.testing.ts";
import { PduError, decodePdu, emptyUserInformation, encodePdu, type AssociateRq, type Pdu } from "./pdu.ts";

describe("PDU codec (PS3.8 9.3)", () => {
  it("decodes dcmtk's A-ASSOCIATE-RQ", () => {
    const pdu = decodePdu(hex(ECHOSCU_ASSOCIATE_RQ_HEX)) as AssociateRq;
    expect(pdu.type).toBe("associate-rq");
    expect(pdu.protocolVersion).toBe(1);
    expect(pdu.calledAeTitle).toBe("ANY-SCP");
    expect(pdu.callingAeTitle).toBe("ECHOSCU");
    // dcmtk pads this UID with a trailing space to even length; it is not part of the UID.
    expect(pdu.applicationContext).toBe("1.2.840.10008.3.1.1.1");
    expect(pdu.presentationContexts).toEqual([{ id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"] }]);
    expect(pdu.userInformation.maxLength).toBe(16384);
    expect(pdu.userInformation.implementationClassUid).toBe("1.2.276.0.7230010.3.0.3.6.7");
    expect(pdu.userInformation.implementationVersionName).toBe("OFFIS_DCMTK_367");
  });

  it("decodes a P-DATA-TF", () => {
    const pdu = decodePdu(hex(ECHOSCU_C_ECHO_PDATA_HEX));
    expect(pdu.type).toBe("p-data-tf");
    if (pdu.type !== "p-data-tf") return;
    expect(pdu.pdvs).toHaveLength(1);
    expect(pdu.pdvs[0]).toMatchObject({ contextId: 1, isCommand: true, isLast: true });
    expect(pdu.pdvs[0]!.data.length).toBe(0x46 - 2);
  });

  it("encodes the fixed-size PDUs byte for byte", () => {
    expect(Buffer.from(encodePdu({ type: "release-rq" })).toString("hex")).toBe("05000000000400000000");
    expect(Buffer.from(encodePdu({ type: "release-rp" })).toString("hex")).toBe("06000000000400000000");
    expect(Buffer.from(encodePdu({ type: "abort", source: 2, reason: 6 })).toString("hex")).toBe("07000000000400000206");
    expect(Buffer.from(encodePdu({ type: "associate-rj", result: 1, source: 1, reason: 7 })).toString("hex")).toBe("03000000000400010107");
  });

  it("re-encodes dcmtk's RQ to the same bytes except the UID pad", () => {
    const original = hex(ECHOSCU_ASSOCIATE_RQ_HEX);
    const again = decodePdu(encodePdu(decodePdu(original)));
    expect(again).toEqual(decodePdu(original));
  });

  it("keeps user identity fields as raw bytes, untrimmed", () => {
    const primary = Uint8Array.from([0x20, 0xc3, 0xa9, 0x20, 0x00]); // " é \0": not Latin-1, and spaces kept
    const secondary = Uint8Array.from([0x20, 0x70, 0x20]);
    const rq: AssociateRq = {
      type: "associate-rq",
      protocolVersion: 1,
      calledAeTitle: "EDGE",
      callingAeTitle: "MOD",
      applicationContext: "1.2.840.10008.3.1.1.1",
      presentationContexts: [{ id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"] }],
      userInformation: {
        ...emptyUserInformation(),
        maxLength: 0,
        userIdentityRq: { identityType: 2, positiveResponseRequested: true, primaryField: primary, secondaryField: secondary, raw: new Uint8Array() },
      },
    };
    const back = decodePdu(encodePdu(rq)) as AssociateRq;
    const id = back.userInformation.userIdentityRq!;
    expect(id.identityType).toBe(2);
    expect(id.positiveResponseRequested).toBe(true);
    expect(id.primaryField).toEqual(primary);
    expect(id.secondaryField).toEqual(secondary);
    expect(id.raw.length).toBe(6 + primary.length + secondary.length);
    expect(back.userInformation.maxLength).toBe(0);
  });

  it("rejects malformed PDUs", () => {
    // A-ABORT with a 5-byte body.
    expect(() => decodePdu(hex("0700000000050000000200"))).toThrow(PduError);
    // PDV whose item length overruns the PDU.
    expect(() => decodePdu(hex("04000000000a000000ff0103aabbccdd"))).toThrow(PduError);
    // Zero-length PDV item (shorter than its context id and header).
    expect(() => decodePdu(hex("040000000004" + "00000000"))).toThrow(PduError);
    // RQ whose presentation context has an empty abstract syntax item.
    const rq = Buffer.from(ECHOSCU_ASSOCIATE_RQ_HEX, "hex");
    const at = rq.indexOf(Buffer.from("3000001131", "hex"));
    const broken = Buffer.concat([rq.subarray(0, at), Buffer.from("30000000", "hex"), rq.subarray(at + 4 + 0x11)]);
    broken.writeUInt32BE(broken.length - 6, 2);
    broken.writeUInt16BE(rq.readUInt16BE(at - 8 + 2) - 0x11, at - 8 + 2);
    expect(() => decodePdu(broken)).toThrow(/empty/);
  });

  it("decodes an unknown PDU type to Unknown", () => {
    expect(decodePdu(hex("0900000000020102"))).toEqual({ type: "unknown", pduType: 9, body: Uint8Array.from([1, 2]) });
  });

  it("round-trips A-ASSOCIATE-RQ and P-DATA-TF (property)", () => {
    const uid = fc.stringMatching(/^[12](\.[1-9][0-9]{0,5}){1,8}$/);
    const ae = fc.stringMatching(/^[A-Z0-9_]{1,16}$/);
    const rqArb = fc.record({
      called: ae,
      calling: ae,
      contexts: fc.uniqueArray(fc.record({ id: fc.integer({ min: 0, max: 127 }).map((n) => 2 * n + 1), abstractSyntax: uid, transferSyntaxes: fc.array(uid, { minLength: 1, maxLength: 4 }) }), {
        selector: (c) => c.id,
        maxLength: 8,
      }),
      max: fc.nat(),
      window: fc.option(fc.record({ maxInvoked: fc.nat(0xffff), maxPerformed: fc.nat(0xffff) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(rqArb, (r) => {
        const rq: AssociateRq = {
          type: "associate-rq",
          protocolVersion: 1,
          calledAeTitle: r.called,
          callingAeTitle: r.calling,
          applicationContext: "1.2.840.10008.3.1.1.1",
          presentationContexts: r.contexts,
          userInformation: { ...emptyUserInformation(), maxLength: r.max, ...(r.window ? { asyncOpsWindow: r.window } : {}) },
        };
        expect(decodePdu(encodePdu(rq))).toEqual(rq);
      }),
    );
    const pdvArb = fc.array(
      fc.record({ contextId: fc.nat(255), isCommand: fc.boolean(), isLast: fc.boolean(), data: fc.uint8Array({ maxLength: 64 }) }),
      { minLength: 1, maxLength: 5 },
    );
    fc.assert(
      fc.property(pdvArb, (pdvs) => {
        const pdu: Pdu = { type: "p-data-tf", pdvs };
        expect(decodePdu(encodePdu(pdu))).toEqual(pdu);
      }),
    );
  });
});
