import { describe, expect, it } from "vitest";
import { ECHOSCU_ASSOCIATE_RQ_HEX, hex } from "./fixtures.testing.ts";
import { acceptedContexts, negotiate, type NegotiationPolicy } from "./negotiation.ts";
import { decodePdu, emptyUserInformation, type AssociateRq } from "./pdu.ts";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const policy: NegotiationPolicy = {
  calledAeTitle: "EDGE",
  abstractSyntaxes: (uid) => uid === CT || uid === "1.2.840.10008.1.1",
  transferSyntaxes: (_a, ts) => ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.90"].includes(ts),
  maxPduLength: 65536,
  implementationClassUid: "2.25.1",
  implementationVersionName: "TEST",
};

function rq(over: Partial<AssociateRq> = {}): AssociateRq {
  return {
    type: "associate-rq",
    protocolVersion: 1,
    calledAeTitle: "EDGE",
    callingAeTitle: "MOD",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [
      { id: 1, abstractSyntax: CT, transferSyntaxes: ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.1"] },
      { id: 3, abstractSyntax: "1.2.3.4", transferSyntaxes: ["1.2.840.10008.1.2"] },
      { id: 5, abstractSyntax: CT, transferSyntaxes: ["1.2.840.10008.1.2.4.50"] },
    ],
    userInformation: { ...emptyUserInformation(), maxLength: 16384, asyncOpsWindow: { maxInvoked: 8, maxPerformed: 8 } },
    ...over,
  };
}

describe("negotiate (PS3.8 9.3.3, PS3.7 D.3.3)", () => {
  it("accepts, choosing the proposer's first supported syntax", () => {
    const r = negotiate(rq(), policy);
    if (!("accept" in r)) throw new Error("rejected");
    expect(r.accept.presentationContexts).toEqual([
      { id: 1, result: 0, transferSyntax: "1.2.840.10008.1.2.4.90" },
      { id: 3, result: 3, transferSyntax: "1.2.840.10008.1.2" },
      { id: 5, result: 4, transferSyntax: "1.2.840.10008.1.2.4.50" },
    ]);
    expect([...r.contexts.keys()]).toEqual([1]);
    expect(r.peerMaxPduLength).toBe(16384);
    expect(r.accept.userInformation).toMatchObject({ maxLength: 65536, implementationClassUid: "2.25.1", implementationVersionName: "TEST", asyncOpsWindow: { maxInvoked: 1, maxPerformed: 1 } });
  });

  it("does not answer an async window that was not proposed", () => {
    const r = negotiate(rq({ userInformation: { ...emptyUserInformation(), maxLength: 0 } }), policy);
    if (!("accept" in r)) throw new Error("rejected");
    expect(r.accept.userInformation.asyncOpsWindow).toBeUndefined();
    expect(r.peerMaxPduLength).toBe(0);
  });

  it("rejects with the Table 9-21 reasons", () => {
    expect(negotiate(rq({ calledAeTitle: "WRONG" }), policy)).toEqual({ reject: { result: 1, source: 1, reason: 7 } });
    expect(negotiate(rq({ applicationContext: "1.2.3" }), policy)).toEqual({ reject: { result: 1, source: 1, reason: 2 } });
    expect(negotiate(rq(), { ...policy, acceptedCallingAeTitles: ["OTHER"] })).toEqual({ reject: { result: 1, source: 1, reason: 3 } });
    expect(negotiate(rq({ protocolVersion: 2 }), policy)).toEqual({ reject: { result: 1, source: 2, reason: 2 } });
    expect(negotiate(rq({ presentationContexts: [{ id: 1, abstractSyntax: "1.2.3", transferSyntaxes: ["1.2.840.10008.1.2"] }] }), policy)).toEqual({
      reject: { result: 1, source: 1, reason: 1 },
    });
  });

  it("accepts dcmtk's echo RQ when the called title matches", () => {
    const r = negotiate(decodePdu(hex(ECHOSCU_ASSOCIATE_RQ_HEX)) as AssociateRq, { ...policy, calledAeTitle: "ANY-SCP " });
    expect("accept" in r).toBe(true);
  });
});

describe("role selection (PS3.7 D.3.3.4)", () => {
  const withRoles = (roleSelections: AssociateRq["userInformation"]["roleSelections"]) =>
    rq({ userInformation: { ...emptyUserInformation(), maxLength: 16384, roleSelections } });

  it("grants the SCP role the policy allows, answers only SOP Classes it accepted, and marks their contexts", () => {
    const r = negotiate(
      withRoles([
        { sopClassUid: CT, scuRole: 0, scpRole: 1 },
        { sopClassUid: "1.2.3.4", scuRole: 0, scpRole: 1 },
      ]),
      { ...policy, requestorMayBeScp: (uid) => uid === CT },
    );
    if (!("accept" in r)) throw new Error("rejected");
    expect(r.accept.userInformation.roleSelections).toEqual([{ sopClassUid: CT, scuRole: 0, scpRole: 1 }]);
    expect(r.contexts.get(1)?.requestorIsScp).toBe(true);
  });

  it("refuses the SCP role (answers 0) when the policy does not allow it: default roles stay", () => {
    const r = negotiate(withRoles([{ sopClassUid: CT, scuRole: 1, scpRole: 1 }]), policy);
    if (!("accept" in r)) throw new Error("rejected");
    expect(r.accept.userInformation.roleSelections).toEqual([{ sopClassUid: CT, scuRole: 1, scpRole: 0 }]);
    expect(r.contexts.get(1)?.requestorIsScp).toBeUndefined();
  });
});

describe("acceptedContexts (PS3.8 9.3.3.2, requestor side)", () => {
  it("keeps accepted contexts with a syntax we offered, by id, and drops everything else", () => {
    const request = rq();
    const ac = {
      type: "associate-ac" as const,
      protocolVersion: 1,
      calledAeTitle: "EDGE",
      callingAeTitle: "MOD",
      applicationContext: "1.2.840.10008.3.1.1.1",
      presentationContexts: [
        { id: 1, result: 0 as const, transferSyntax: "1.2.840.10008.1.2.1" },
        { id: 3, result: 3 as const, transferSyntax: "1.2.840.10008.1.2" },
        // Accepted in a syntax we never offered for it: not a usable context.
        { id: 5, result: 0 as const, transferSyntax: "1.2.840.10008.1.2.1" },
        // An id we never proposed.
        { id: 7, result: 0 as const, transferSyntax: "1.2.840.10008.1.2" },
      ],
      userInformation: emptyUserInformation(),
    };
    expect([...acceptedContexts(request, ac).values()]).toEqual([{ id: 1, abstractSyntax: CT, transferSyntax: "1.2.840.10008.1.2.1" }]);
  });
});
