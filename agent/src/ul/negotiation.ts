/**
 * Association acceptance as a pure function: an A-ASSOCIATE-RQ and a policy
 * in, an A-ASSOCIATE-AC or the A-ASSOCIATE-RJ parameters out
 * (PS3.8 9.3.3-9.3.4, PS3.7 D.3.3).
 */
import {
  DICOM_APPLICATION_CONTEXT,
  emptyUserInformation,
  type AssociateAc,
  type AssociateRq,
  type PresentationContextAc,
  type RoleSelection,
} from "./pdu.ts";

export interface NegotiationPolicy {
  calledAeTitle: string;
  /** When given, only these calling AE titles may associate. */
  acceptedCallingAeTitles?: readonly string[];
  abstractSyntaxes: (abstractSyntax: string) => boolean;
  transferSyntaxes: (abstractSyntax: string, transferSyntax: string) => boolean;
  /**
   * Whether the requestor may take the SCP role for this SOP Class when it
   * proposes so (PS3.7 D.3.3.4): a C-GET SCU receiving our C-STORE
   * sub-operations (PS3.4 C.4.3.3). Default: never.
   */
  requestorMayBeScp?: (abstractSyntax: string) => boolean;
  /** Our Maximum Length for received P-DATA-TF (PS3.8 D.1). */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string;
}

/** A-ASSOCIATE-RJ parameters, PS3.8 9.3.4 Table 9-21. */
export interface Rejection {
  /** 1 rejected-permanent, 2 rejected-transient. */
  result: 1 | 2;
  /** 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation). */
  source: 1 | 2 | 3;
  reason: number;
}

/** Table 9-21 combinations this module and its callers use. */
export const Reject = {
  /** Source 1 reason 1: no-reason-given. */
  noReasonGiven: { result: 1, source: 1, reason: 1 },
  /** Source 1 reason 2: application-context-name-not-supported. */
  applicationContextNotSupported: { result: 1, source: 1, reason: 2 },
  /** Source 1 reason 3: calling-AE-title-not-recognized. */
  callingAeTitleNotRecognized: { result: 1, source: 1, reason: 3 },
  /** Source 1 reason 7: called-AE-title-not-recognized. */
  calledAeTitleNotRecognized: { result: 1, source: 1, reason: 7 },
  /** Source 2 reason 2: protocol-version-not-supported. */
  protocolVersionNotSupported: { result: 1, source: 2, reason: 2 },
  /** Source 3 reason 2: local-limit-exceeded; transient, the peer may retry later. */
  localLimitExceeded: { result: 2, source: 3, reason: 2 },
} as const satisfies Record<string, Rejection>;

/** What was agreed on an accepted presentation context. */
export interface AcceptedContext {
  id: number;
  abstractSyntax: string;
  transferSyntax: string;
  /**
   * The requestor accepted the SCP role for this SOP Class (PS3.7 D.3.3.4),
   * so the acceptor may send it requests here: C-STORE sub-operations of a
   * C-GET. False under the default roles.
   */
  requestorIsScp?: boolean;
}

export type NegotiationResult =
  | {
      accept: AssociateAc;
      /** Accepted contexts by id. */
      contexts: ReadonlyMap<number, AcceptedContext>;
      /** The peer's Maximum Length: the largest P-DATA-TF we may send; 0 means no limit (PS3.8 D.1.1). */
      peerMaxPduLength: number;
    }
  | { reject: Rejection };

/** PS3.8 Table 9-18 results. */
const Result = { Acceptance: 0, AbstractSyntaxNotSupported: 3, TransferSyntaxesNotSupported: 4 } as const;

export function negotiate(rq: AssociateRq, policy: NegotiationPolicy): NegotiationResult {
  // PS3.8 9.3.2: bit 0 of the protocol version is version 1, the only one.
  if ((rq.protocolVersion & 0x0001) === 0) return { reject: Reject.protocolVersionNotSupported };
  // Titles compare without their non-significant spaces (PS3.5 6.2, AE);
  // the codec already trimmed them.
  if (rq.calledAeTitle !== policy.calledAeTitle.trim()) return { reject: Reject.calledAeTitleNotRecognized };
  if (policy.acceptedCallingAeTitles && !policy.acceptedCallingAeTitles.some((t) => t.trim() === rq.callingAeTitle)) {
    return { reject: Reject.callingAeTitleNotRecognized };
  }
  if (rq.applicationContext !== DICOM_APPLICATION_CONTEXT) return { reject: Reject.applicationContextNotSupported };

  const contexts = new Map<number, AcceptedContext>();
  const results: PresentationContextAc[] = [];
  for (const pc of rq.presentationContexts) {
    // A repeated id is ambiguous for every PDV that names it; answer the
    // first proposal only (PS3.8 9.3.2.2: ids are unique within an RQ).
    if (results.some((r) => r.id === pc.id)) continue;
    if (!policy.abstractSyntaxes(pc.abstractSyntax)) {
      results.push({ id: pc.id, result: Result.AbstractSyntaxNotSupported, transferSyntax: pc.transferSyntaxes[0]! });
      continue;
    }
    // The proposer lists syntaxes in its order of preference; honour it
    // (PS3.8 9.3.2.2 leaves the choice to the acceptor).
    const ts = pc.transferSyntaxes.find((t) => policy.transferSyntaxes(pc.abstractSyntax, t));
    if (ts === undefined) {
      results.push({ id: pc.id, result: Result.TransferSyntaxesNotSupported, transferSyntax: pc.transferSyntaxes[0]! });
      continue;
    }
    results.push({ id: pc.id, result: Result.Acceptance, transferSyntax: ts });
    contexts.set(pc.id, { id: pc.id, abstractSyntax: pc.abstractSyntax, transferSyntax: ts });
  }

  // PS3.7 D.3.3.4: answer each role proposal for a SOP Class we accepted;
  // the acceptor may only keep or refuse (0) a proposed role. The SCU role
  // is kept as proposed: we serve it anyway.
  const roleSelections: RoleSelection[] = [];
  for (const proposal of rq.userInformation.roleSelections) {
    const accepted = [...contexts.values()].filter((c) => c.abstractSyntax === proposal.sopClassUid);
    if (accepted.length === 0 || roleSelections.some((r) => r.sopClassUid === proposal.sopClassUid)) continue;
    const scp = proposal.scpRole === 1 && (policy.requestorMayBeScp?.(proposal.sopClassUid) ?? false);
    roleSelections.push({ sopClassUid: proposal.sopClassUid, scuRole: proposal.scuRole === 1 ? 1 : 0, scpRole: scp ? 1 : 0 });
    if (scp) for (const context of accepted) context.requestorIsScp = true;
  }

  // PS3.8 allows an AC with every context rejected, but such an association
  // can carry nothing and the peer only learns it after a release round
  // trip. We reject it instead, as dcmtk's SCPs do ("no acceptable
  // presentation contexts", rejected-permanent, service-user,
  // no-reason-given: Table 9-21 has no more specific reason).
  if (contexts.size === 0) return { reject: Reject.noReasonGiven };

  const userInformation = emptyUserInformation();
  userInformation.maxLength = policy.maxPduLength;
  userInformation.implementationClassUid = policy.implementationClassUid;
  userInformation.implementationVersionName = policy.implementationVersionName;
  // PS3.7 D.3.3.3: answer a proposed window; we perform one operation at a
  // time, so 1/1 whatever was asked (the acceptor may only lower it).
  if (rq.userInformation.asyncOpsWindow) userInformation.asyncOpsWindow = { maxInvoked: 1, maxPerformed: 1 };
  userInformation.roleSelections = roleSelections;
  // Extended negotiation (D.3.3.5) and user identity (D.3.3.7) are not
  // answered: an absent answer means no extended behaviour and no server
  // response, which every requester must accept.

  return {
    accept: {
      type: "associate-ac",
      protocolVersion: 1,
      calledAeTitle: rq.calledAeTitle,
      callingAeTitle: rq.callingAeTitle,
      applicationContext: DICOM_APPLICATION_CONTEXT,
      presentationContexts: results,
      userInformation,
    },
    contexts,
    peerMaxPduLength: rq.userInformation.maxLength ?? 0,
  };
}

/**
 * The requestor's view of an A-ASSOCIATE-AC (PS3.8 9.3.3.2): the contexts
 * we proposed that the acceptor accepted (result 0), with the transfer
 * syntax it chose, which must be one we offered. Anything else in the AC
 * (an id we never proposed, a syntax we did not offer) is not a context.
 */
export function acceptedContexts(rq: AssociateRq, ac: AssociateAc): Map<number, AcceptedContext> {
  const contexts = new Map<number, AcceptedContext>();
  for (const answer of ac.presentationContexts) {
    if (answer.result !== Result.Acceptance) continue;
    const proposed = rq.presentationContexts.find((pc) => pc.id === answer.id);
    if (!proposed || !proposed.transferSyntaxes.includes(answer.transferSyntax)) continue;
    contexts.set(answer.id, { id: answer.id, abstractSyntax: proposed.abstractSyntax, transferSyntax: answer.transferSyntax });
  }
  return contexts;
}
