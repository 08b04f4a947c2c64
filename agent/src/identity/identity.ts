/**
 * User Identity Negotiation (PS3.7 D.3.3.7) at the agent: what an
 * A-ASSOCIATE-RQ's identity sub-item proves, decided while the association
 * is being accepted, and the scopes the association then carries.
 *
 * - Type 2 (username and passcode): checked here against the scrypt hashes
 *   of the agent's configuration; the agent vouches for the user.
 * - Type 5 (JWT): verified by the edge, exactly as a bearer token on
 *   DICOMweb, through the tunnel's `authenticate` stream; every operation
 *   then carries the token, and the edge checks it again (revocation).
 * - No identity, type 1 (a username proves nothing), and types this agent
 *   does not take (Kerberos, SAML): the association is anonymous, with the
 *   configuration's anonymous scopes, unless an identity is required.
 *
 * The fields are decoded as UTF-8 and never trimmed: PS3.7 D.3.3.7.1 gives
 * them no padding, and a passcode's spaces are part of it.
 */
import type { AuthenticateOutcome, TunnelIdentity } from "@dicom-edge/shared/tunnel/identity";
import type { EdgeLink } from "../store/forward.ts";
import type { Rejection } from "../ul/negotiation.ts";
import type { UserIdentityRq } from "../ul/pdu.ts";
import { verifyPassword } from "./password.ts";

export interface DimseUser {
  username: string;
  passwordHash: string;
  scopes: string[];
}

export interface IdentityPolicy {
  /** Reject associations that prove no identity. */
  required: boolean;
  /** Accept JWTs (type 5), verified by the edge. */
  acceptJwt: boolean;
  /** Scopes of an anonymous association (when not `required`). */
  anonymousScopes: string[];
  users: DimseUser[];
}

/** The association's identity: what travels with each operation, and the scopes the agent enforces itself. */
export interface EstablishedIdentity {
  identity: TunnelIdentity;
  subject: string;
  scopes: string[];
}

export type IdentityDecision =
  | {
      accept: EstablishedIdentity;
      /** PS3.7 D.3.3.7.2: the User Identity sub-item of the A-ASSOCIATE-AC, when the requestor asked for a positive response. */
      serverResponse?: Uint8Array;
    }
  | { reject: Rejection; reason: string };

/** Asks the edge to verify a JWT; "unreachable" when the tunnel is down or does not answer in time. */
export type JwtVerifier = (token: string) => Promise<AuthenticateOutcome | "unreachable">;

/** PS3.7 D.3.3.7.1 User-Identity-Type. */
export const IdentityType = { Username: 1, UsernamePasscode: 2, Kerberos: 3, Saml: 4, Jwt: 5 } as const;

/** PS3.8 Table 9-21: rejected-permanent, service-user, no-reason-given (PS3.7 D.3.3.7 names no more specific reason). */
const REFUSED = { result: 1, source: 1, reason: 1 } as const;
/** Rejected-transient, service-provider (presentation), temporary-congestion: the edge could not be asked; try again. */
const EDGE_UNREACHABLE = { result: 2, source: 3, reason: 1 } as const;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** An empty server response: what types 1 and 2 answer (PS3.7 D.3.3.7.2), and all this agent answers for type 5. */
const EMPTY_RESPONSE = new Uint8Array(0);

export async function decideIdentity(rq: UserIdentityRq | undefined, policy: IdentityPolicy, verifyJwt: JwtVerifier): Promise<IdentityDecision> {
  const accepted = (established: EstablishedIdentity): IdentityDecision =>
    rq?.positiveResponseRequested ? { accept: established, serverResponse: EMPTY_RESPONSE } : { accept: established };
  const anonymous = (why: string): IdentityDecision =>
    policy.required
      ? { reject: REFUSED, reason: `identity required: ${why}` }
      : { accept: { identity: { kind: "agent", subject: "anonymous", scopes: policy.anonymousScopes }, subject: "anonymous", scopes: policy.anonymousScopes } };

  if (!rq) return anonymous("none was offered");
  switch (rq.identityType) {
    case IdentityType.UsernamePasscode: {
      const username = decode(rq.primaryField);
      const passcode = decode(rq.secondaryField);
      if (username === undefined || passcode === undefined) return { reject: REFUSED, reason: "username or passcode is not UTF-8" };
      const user = policy.users.find((u) => u.username === username);
      // An unknown user costs a hash check too, so timing does not tell which usernames exist.
      const ok = await verifyPassword(passcode, user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok) return { reject: REFUSED, reason: `wrong username or passcode for "${username}"` };
      return accepted({ identity: { kind: "agent", subject: username, scopes: user.scopes }, subject: username, scopes: user.scopes });
    }
    case IdentityType.Jwt: {
      if (!policy.acceptJwt) return anonymous("JWTs are not accepted here");
      const token = decode(rq.primaryField);
      if (token === undefined || token === "") return { reject: REFUSED, reason: "the JWT is not UTF-8" };
      const outcome = await verifyJwt(token);
      if (outcome === "unreachable") return { reject: EDGE_UNREACHABLE, reason: "the edge could not verify the JWT" };
      if (!outcome.ok) return { reject: REFUSED, reason: `JWT refused: ${outcome.reason}` };
      return accepted({ identity: { kind: "jwt", token }, subject: outcome.subject, scopes: outcome.scopes });
    }
    case IdentityType.Username:
      return anonymous("a username alone proves nothing");
    default:
      return anonymous(`identity type ${rq.identityType} is not supported`);
  }
}

/** A valid hash of a random passcode, checked against when the username is unknown. */
const DUMMY_HASH = "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** A link whose every stream carries the association's identity (OPEN meta `identity`), for the edge to check. */
export function withIdentity(link: EdgeLink, identity: TunnelIdentity): EdgeLink {
  return { open: (kind, meta = {}) => link.open(kind, { ...meta, identity }) };
}

/**
 * Verifies a JWT at the edge (the `authenticate` stream), within
 * `timeoutMs`: the association waits for the answer, so a tunnel that is
 * down or slow is "unreachable", never a hang.
 */
export function edgeJwtVerifier(link: EdgeLink, timeoutMs: number): JwtVerifier {
  return async (token) => {
    let stream;
    try {
      stream = link.open("authenticate", { token });
    } catch {
      return "unreachable";
    }
    void stream.end().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"unreachable">((resolve) => (timer = setTimeout(() => resolve("unreachable"), timeoutMs)));
    try {
      const answer = await Promise.race([stream.result().then(asOutcome, () => "unreachable" as const), timeout]);
      if (answer === "unreachable" && !stream.closed) stream.reset("cancelled", "no answer in time");
      return answer;
    } finally {
      clearTimeout(timer);
    }
  };
}

function asOutcome(result: unknown): AuthenticateOutcome | "unreachable" {
  const r = result as Partial<{ ok: boolean; subject: unknown; scopes: unknown; reason: unknown }> | undefined;
  if (r?.ok === true && typeof r.subject === "string" && Array.isArray(r.scopes) && r.scopes.every((s) => typeof s === "string")) {
    return { ok: true, subject: r.subject, scopes: r.scopes as string[] };
  }
  if (r?.ok === false) return { ok: false, reason: typeof r.reason === "string" ? r.reason : "refused" };
  return "unreachable";
}
