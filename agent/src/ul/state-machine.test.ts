import { describe, expect, it } from "vitest";
import type { AssociateAc, AssociateRq } from "./pdu.ts";
import { next, type StateName, type UlEvent } from "./state-machine.ts";

const rq = { type: "associate-rq" } as AssociateRq;
const run = (state: StateName, event: UlEvent) => {
  const t = next(state, event);
  return [t.state, t.actions.map((a) => (a.type === "send" ? `send:${a.pdu.type}` : a.type))];
};

describe("next (PS3.8 9.2 Table 9-10, acceptor states)", () => {
  it("walks connect, associate, release, close", () => {
    expect(run("Sta1", { type: "transport-connected" })).toEqual(["Sta2", ["start-artim"]]);
    expect(run("Sta2", { type: "received", pdu: rq })).toEqual(["Sta3", ["stop-artim", "associate-indication"]]);
    expect(run("Sta3", { type: "accept", ac: { type: "associate-ac" } as never })).toEqual(["Sta6", ["send:associate-ac"]]);
    expect(run("Sta6", { type: "received", pdu: { type: "p-data-tf" } })).toEqual(["Sta6", ["deliver-pdata"]]);
    expect(run("Sta6", { type: "received", pdu: { type: "release-rq" } })).toEqual(["Sta8", ["release-indication"]]);
    expect(run("Sta8", { type: "release-response" })).toEqual(["Sta13", ["send:release-rp", "start-artim"]]);
    expect(run("Sta13", { type: "transport-closed" })).toEqual(["Sta1", ["stop-artim", "closed"]]);
  });

  it("rejects, then waits for the close under ARTIM", () => {
    expect(run("Sta3", { type: "reject", rejection: { result: 1, source: 1, reason: 7 } })).toEqual(["Sta13", ["send:associate-rj", "start-artim"]]);
    expect(run("Sta13", { type: "artim-expired" })).toEqual(["Sta1", ["close-transport", "closed"]]);
  });

  it("closes at once on a received A-ABORT", () => {
    expect(run("Sta6", { type: "received", pdu: { type: "abort", source: 0, reason: 0 } })).toEqual(["Sta1", ["abort-indication", "close-transport", "closed"]]);
    expect(run("Sta2", { type: "received", pdu: { type: "abort", source: 0, reason: 0 } })).toEqual(["Sta1", ["stop-artim", "close-transport", "closed"]]);
  });

  it("aborts on invalid and unexpected PDUs", () => {
    expect(run("Sta6", { type: "invalid-pdu", abortReason: 6 })).toEqual(["Sta13", ["send:abort", "abort-indication", "start-artim", "end-transport"]]);
    expect(run("Sta2", { type: "received", pdu: { type: "p-data-tf" } })).toEqual(["Sta13", ["send:abort", "start-artim", "end-transport"]]);
    expect(run("Sta6", { type: "received", pdu: rq })[0]).toBe("Sta13");
    expect(run("Sta8", { type: "received", pdu: { type: "p-data-tf" } })[0]).toBe("Sta13");
    expect(run("Sta13", { type: "received", pdu: { type: "p-data-tf" } })).toEqual(["Sta13", []]);
  });
});

describe("next (PS3.8 9.2 Table 9-10, requestor states)", () => {
  const ac = { type: "associate-ac" } as AssociateAc;

  it("walks request, confirm, release, close", () => {
    expect(run("Sta1", { type: "associate-request", rq })).toEqual(["Sta4", []]);
    expect(run("Sta4", { type: "transport-confirmed", rq })).toEqual(["Sta5", ["send:associate-rq", "start-artim"]]);
    expect(run("Sta5", { type: "received", pdu: ac })).toEqual(["Sta6", ["stop-artim", "associate-confirmation"]]);
    expect(run("Sta6", { type: "release-request" })).toEqual(["Sta7", ["send:release-rq", "start-artim"]]);
    // AR-6: responses still arrive while our release waits.
    expect(run("Sta7", { type: "received", pdu: { type: "p-data-tf" } })).toEqual(["Sta7", ["deliver-pdata"]]);
    expect(run("Sta7", { type: "received", pdu: { type: "release-rp" } })).toEqual(["Sta1", ["stop-artim", "release-confirmation", "close-transport", "closed"]]);
  });

  it("reports a reject and closes (AE-4)", () => {
    expect(run("Sta5", { type: "received", pdu: { type: "associate-rj", result: 1, source: 1, reason: 7 } })).toEqual(["Sta1", ["stop-artim", "associate-rejected", "close-transport", "closed"]]);
  });

  it("answers a release collision at once and still waits for the peer's RP", () => {
    expect(run("Sta7", { type: "received", pdu: { type: "release-rq" } })).toEqual(["Sta11", ["send:release-rp"]]);
    expect(run("Sta11", { type: "received", pdu: { type: "release-rp" } })[0]).toBe("Sta1");
  });

  it("gives up with A-ABORT when the peer never answers the RQ or the release", () => {
    for (const state of ["Sta5", "Sta7", "Sta11"] as const) {
      expect(run(state, { type: "artim-expired" })).toEqual(["Sta13", ["send:abort", "abort-indication", "start-artim", "end-transport"]]);
    }
  });

  it("aborts on what a requestor cannot receive, and closes at once on A-ABORT", () => {
    expect(run("Sta5", { type: "received", pdu: { type: "p-data-tf" } })[0]).toBe("Sta13");
    expect(run("Sta5", { type: "received", pdu: rq })[0]).toBe("Sta13");
    expect(run("Sta7", { type: "received", pdu: ac })[0]).toBe("Sta13");
    expect(run("Sta5", { type: "received", pdu: { type: "abort", source: 2, reason: 0 } })).toEqual(["Sta1", ["abort-indication", "close-transport", "closed"]]);
    expect(run("Sta4", { type: "local-abort" })).toEqual(["Sta1", ["abort-indication", "close-transport", "closed"]]);
  });
});
