/**
 * PS3.8 9.2's upper layer state machine (Table 9-10) as a pure function:
 * `next(state, event)` returns the next state and the actions to take.
 * `Association` (association.ts) owns the socket and the timers and applies
 * the actions.
 *
 * Both roles are here. An acceptor walks Sta1 -> Sta2 -> Sta3 -> Sta6 and
 * answers a release (Sta8); a requestor walks Sta1 -> Sta4 -> Sta5 -> Sta6
 * and releases (Sta7). Release collisions (Sta9-Sta12) are folded: only
 * the requestor releases (PS3.7 D.3.3), and when a peer's A-RELEASE-RQ
 * crosses ours we answer it at once (AR-8 then AR-9), so Sta9 is never
 * left waiting for a local answer and Sta10/Sta12 cannot occur.
 */
import type { Abort, AssociateAc, AssociateRj, AssociateRq, Pdu, PDataTf } from "./pdu.ts";
import { AbortReason } from "./pdu-reader.ts";
import type { Rejection } from "./negotiation.ts";

export type StateName =
  | "Sta1" // Idle
  | "Sta2" // Transport connection open, awaiting A-ASSOCIATE-RQ PDU
  | "Sta3" // Awaiting local A-ASSOCIATE response primitive
  | "Sta4" // Awaiting transport connection opening to complete
  | "Sta5" // Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU
  | "Sta6" // Association established, ready for data transfer
  | "Sta7" // Awaiting A-RELEASE-RP PDU
  | "Sta8" // Awaiting local A-RELEASE response primitive
  | "Sta11" // Release collision requestor side: awaiting A-RELEASE-RP PDU
  | "Sta13"; // Awaiting transport connection close

export type ReceivedPdu = Exclude<Pdu, PDataTf> | { type: "p-data-tf" };

/** PS3.8 Table 9-10 events, named by what happened. */
export type UlEvent =
  | { type: "associate-request"; rq: AssociateRq } // Evt1
  | { type: "transport-confirmed"; rq: AssociateRq } // Evt2
  | { type: "transport-connected" } // Evt5
  | { type: "received"; pdu: ReceivedPdu } // Evt3, 4, 6, 10, 12, 13, 16 (unknown type: Evt19)
  | { type: "invalid-pdu"; abortReason: number } // Evt19
  | { type: "accept"; ac: AssociateAc } // Evt7
  | { type: "reject"; rejection: Rejection } // Evt8
  | { type: "release-request" } // Evt11
  | { type: "release-response" } // Evt14
  | { type: "local-abort" } // Evt15
  | { type: "transport-closed" } // Evt17
  | { type: "artim-expired" }; // Evt18

export type UlAction =
  | { type: "send"; pdu: Pdu }
  | { type: "start-artim" }
  | { type: "stop-artim" }
  /** Drop the transport now (AA-2, AA-3, AE-4, AR-3). */
  | { type: "close-transport" }
  /**
   * Flush what was sent and send FIN. After an A-ABORT we also wait for the
   * peer to close, under ARTIM (AA-1, AA-8); ending our side early only
   * speeds up peers that wait for us.
   */
  | { type: "end-transport" }
  | { type: "associate-indication"; rq: AssociateRq }
  /** AE-3 / AE-4: the peer's answer to our A-ASSOCIATE-RQ. */
  | { type: "associate-confirmation"; ac: AssociateAc }
  | { type: "associate-rejected"; rj: AssociateRj }
  /** Pass this P-DATA-TF's PDVs up (DT-2, AR-6). */
  | { type: "deliver-pdata" }
  | { type: "release-indication" }
  /** AR-3: our release was answered. */
  | { type: "release-confirmation" }
  | { type: "abort-indication"; source: number; reason: number }
  | { type: "closed" };

export interface Transition {
  state: StateName;
  actions: UlAction[];
}

function abortPdu(source: number, reason: number): Abort {
  return { type: "abort", source, reason };
}

/** AA-1 / AA-8: send A-ABORT (service-provider), start ARTIM, await close. */
function providerAbort(state: StateName, reason: number): Transition {
  const actions: UlAction[] = [{ type: "send", pdu: abortPdu(2, reason) }];
  if (state !== "Sta2") actions.push({ type: "abort-indication", source: 2, reason });
  actions.push({ type: "start-artim" }, { type: "end-transport" });
  return { state: "Sta13", actions };
}

/** AA-1 with service-user source: our application gave up (idle timeout, shutdown, no answer in time). */
function userAbort(): Transition {
  return {
    state: "Sta13",
    actions: [{ type: "send", pdu: abortPdu(0, 0) }, { type: "abort-indication", source: 0, reason: 0 }, { type: "start-artim" }, { type: "end-transport" }],
  };
}

const closeNow: UlAction[] = [{ type: "close-transport" }, { type: "closed" }];

function received(state: StateName, pdu: ReceivedPdu): Transition {
  const stay: Transition = { state, actions: [] };
  if (state === "Sta1") return stay;
  if (state === "Sta4") return stay; // no transport yet: nothing can arrive
  if (pdu.type === "abort") {
    // AA-2 in Sta2/Sta13 (no association to report), AA-3 elsewhere:
    // close at once, the peer has given up on the association.
    if (state === "Sta2" || state === "Sta13") return { state: "Sta1", actions: [{ type: "stop-artim" }, ...closeNow] };
    // ("closed" clears every timer.)
    return { state: "Sta1", actions: [{ type: "abort-indication", source: pdu.source, reason: pdu.reason }, ...closeNow] };
  }
  if (state === "Sta13") {
    // AA-7 for an A-ASSOCIATE-RQ, AA-6 (ignore) for everything else.
    return pdu.type === "associate-rq" ? { state, actions: [{ type: "send", pdu: abortPdu(2, AbortReason.UnexpectedPdu) }] } : stay;
  }
  if (pdu.type === "unknown") return providerAbort(state, AbortReason.UnrecognizedPdu);
  switch (state) {
    case "Sta2":
      // AE-6: stop ARTIM, issue the A-ASSOCIATE indication.
      if (pdu.type === "associate-rq") return { state: "Sta3", actions: [{ type: "stop-artim" }, { type: "associate-indication", rq: pdu }] };
      break;
    case "Sta5":
      // AE-3 / AE-4.
      if (pdu.type === "associate-ac") return { state: "Sta6", actions: [{ type: "stop-artim" }, { type: "associate-confirmation", ac: pdu }] };
      if (pdu.type === "associate-rj") return { state: "Sta1", actions: [{ type: "stop-artim" }, { type: "associate-rejected", rj: pdu }, ...closeNow] };
      break;
    case "Sta6":
      if (pdu.type === "p-data-tf") return { state, actions: [{ type: "deliver-pdata" }] }; // DT-2
      if (pdu.type === "release-rq") return { state: "Sta8", actions: [{ type: "release-indication" }] }; // AR-2
      break;
    case "Sta7":
      // AR-6: responses still arrive after our A-RELEASE-RQ.
      if (pdu.type === "p-data-tf") return { state, actions: [{ type: "deliver-pdata" }] };
      // AR-3: release confirmed; the requestor closes the transport.
      if (pdu.type === "release-rp") return { state: "Sta1", actions: [{ type: "stop-artim" }, { type: "release-confirmation" }, ...closeNow] };
      // AR-8 then AR-9 at once: a release collision, answered on the spot.
      if (pdu.type === "release-rq") return { state: "Sta11", actions: [{ type: "send", pdu: { type: "release-rp" } }] };
      break;
    case "Sta11":
      if (pdu.type === "release-rp") return { state: "Sta1", actions: [{ type: "stop-artim" }, { type: "release-confirmation" }, ...closeNow] }; // AR-3
      break;
  }
  // Anything else is unexpected here (AA-1 in Sta2, AA-8 elsewhere).
  return providerAbort(state, AbortReason.UnexpectedPdu);
}

export function next(state: StateName, event: UlEvent): Transition {
  const stay: Transition = { state, actions: [] };
  switch (event.type) {
    case "associate-request":
      // AE-1: the caller opens the transport; we wait for it in Sta4.
      return state === "Sta1" ? { state: "Sta4", actions: [] } : stay;

    case "transport-confirmed":
      // AE-2: send A-ASSOCIATE-RQ. ARTIM bounds the wait for the answer:
      // PS3.8 leaves Sta5 untimed, but a peer that never answers must not hold us.
      return state === "Sta4" ? { state: "Sta5", actions: [{ type: "send", pdu: event.rq }, { type: "start-artim" }] } : stay;

    case "transport-connected":
      // AE-5: accept the transport, start ARTIM (PS3.8 9.1.5).
      return state === "Sta1" ? { state: "Sta2", actions: [{ type: "start-artim" }] } : stay;

    case "received":
      return received(state, event.pdu);

    case "invalid-pdu":
      if (state === "Sta1" || state === "Sta4") return stay;
      if (state === "Sta13") return { state, actions: [{ type: "send", pdu: abortPdu(2, event.abortReason) }] }; // AA-7
      return providerAbort(state, event.abortReason); // AA-1 / AA-8

    case "accept":
      // AE-7: send A-ASSOCIATE-AC.
      return state === "Sta3" ? { state: "Sta6", actions: [{ type: "send", pdu: event.ac }] } : stay;

    case "reject": {
      // AE-8: send A-ASSOCIATE-RJ, start ARTIM.
      if (state !== "Sta3") return stay;
      const { result, source, reason } = event.rejection;
      return { state: "Sta13", actions: [{ type: "send", pdu: { type: "associate-rj", result, source, reason } }, { type: "start-artim" }] };
    }

    case "release-request":
      // AR-1: send A-RELEASE-RQ; ARTIM bounds the wait for the RP.
      return state === "Sta6" ? { state: "Sta7", actions: [{ type: "send", pdu: { type: "release-rq" } }, { type: "start-artim" }] } : stay;

    case "release-response":
      // AR-4: send A-RELEASE-RP, start ARTIM.
      return state === "Sta8" ? { state: "Sta13", actions: [{ type: "send", pdu: { type: "release-rp" } }, { type: "start-artim" }] } : stay;

    case "local-abort":
      if (state === "Sta1" || state === "Sta13") return stay;
      // AA-2 in Sta4: no transport to send on yet.
      if (state === "Sta4") return { state: "Sta1", actions: [{ type: "abort-indication", source: 0, reason: 0 }, ...closeNow] };
      return userAbort();

    case "transport-closed":
      if (state === "Sta1") return stay;
      // AR-5 in Sta13; AA-5 in Sta2; AA-4 (A-P-ABORT indication) elsewhere.
      if (state === "Sta13" || state === "Sta2") return { state: "Sta1", actions: [{ type: "stop-artim" }, { type: "closed" }] };
      return { state: "Sta1", actions: [{ type: "abort-indication", source: 2, reason: 0 }, { type: "closed" }] };

    case "artim-expired":
      // AA-2: close the transport.
      if (state === "Sta2" || state === "Sta13") return { state: "Sta1", actions: closeNow };
      // Our own guards on the requestor's waits (Sta5, Sta7, Sta11): give up with A-ABORT.
      if (state === "Sta5" || state === "Sta7" || state === "Sta11") return userAbort();
      return stay;

    default: {
      const never: never = event;
      throw new TypeError(`unknown event ${(never as UlEvent).type}`);
    }
  }
}
