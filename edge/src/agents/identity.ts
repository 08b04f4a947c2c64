/**
 * Who a DIMSE operation through the tunnel is for, and whether it may run
 * (shared/src/tunnel/identity.ts is the contract): the agent puts the
 * association's identity (PS3.7 D.3.3.7) in the OPEN meta of every store,
 * find, retrieve and fetch stream, and the edge grants the scopes it would
 * grant the same caller on DICOMweb.
 */
import { NOT_AUTHORIZED, OPERATION_SCOPES, type AuthenticateOutcome, type TunnelIdentity } from "@dicom-edge/shared/tunnel/identity";
import { SCOPES, authConfig, authenticate, isAuthFailure, isScope, tokenSha256, type AuthEnv, type Principal, type Scope } from "../auth";
import type { DimseOutcome } from "./operations";

/** What the edge grants an operation: its subject when known, and its scopes. */
export interface Grant {
  subject: string | undefined;
  scopes: readonly Scope[];
}

/** Nobody: an identity missing, malformed or refused has no scope. */
const NOBODY: Grant = { subject: undefined, scopes: [] };

/** The `identity` of an OPEN meta, checked; undefined when missing or malformed. Pure. */
export function parseIdentity(value: unknown): TunnelIdentity | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const identity = value as Record<string, unknown>;
  if (identity.kind === "jwt" && typeof identity.token === "string" && identity.token !== "") return { kind: "jwt", token: identity.token };
  if (identity.kind === "agent" && typeof identity.subject === "string" && Array.isArray(identity.scopes) && identity.scopes.every((s) => typeof s === "string")) {
    return { kind: "agent", subject: identity.subject, scopes: identity.scopes as string[] };
  }
  return undefined;
}

/** The scope operation `kind` needs (echo, authenticate and unknown kinds: none). Pure. */
export function neededScope(kind: string): Scope | undefined {
  return Object.hasOwn(OPERATION_SCOPES, kind) ? OPERATION_SCOPES[kind as keyof typeof OPERATION_SCOPES] : undefined;
}

/**
 * Why an operation that needs `scope` may not run with `grant`, as the
 * DIMSE status the agent answers its peer with (PS3.7 C.5: 0124 Refused:
 * Not Authorized), or undefined when it may. The comment fits Error
 * Comment (LO, 64 characters). Pure.
 */
export function operationRefusal(scope: Scope, grant: Grant): DimseOutcome | undefined {
  if (grant.scopes.includes(scope)) return undefined;
  return { status: NOT_AUTHORIZED, errorComment: `not authorized: needs the ${scope} scope` };
}

/**
 * Verified JWT principals of one AgentHub, briefly: a C-STORE burst of one
 * association carries the same token on every instance. An entry lives
 * until the token's `exp` and at most MAX_AGE_MS, so a revoked token stops
 * working within a minute; entries are keyed by the token's SHA-256.
 */
export class PrincipalCache {
  static readonly MAX_AGE_MS = 60_000;
  static readonly MAX_ENTRIES = 256;
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  get(digest: string, now: number): Principal | undefined {
    const entry = this.entries.get(digest);
    if (entry && entry.until > now) return entry.principal;
    this.entries.delete(digest);
    return undefined;
  }

  set(digest: string, principal: Principal, now: number): void {
    if (this.entries.size >= PrincipalCache.MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(digest, { principal, until: Math.min(principal.expiresAt, now + PrincipalCache.MAX_AGE_MS) });
  }
}

/**
 * The grant of an identity: a JWT is verified exactly as a bearer token
 * (revocation included), the agent's own identity is trusted (the agent
 * proved itself with its key on connect), and anything else is nobody.
 * With AUTH_DISABLED everything is granted, as on HTTP.
 */
export async function grantOf(identity: TunnelIdentity | undefined, env: AuthEnv, cache?: PrincipalCache, now = Date.now()): Promise<Grant> {
  if (authConfig(env).mode === "disabled") return { subject: identity?.kind === "agent" ? identity.subject : undefined, scopes: SCOPES };
  if (!identity) return NOBODY;
  if (identity.kind === "agent") return { subject: identity.subject, scopes: identity.scopes.filter(isScope) };
  const principal = await verifiedPrincipal(identity.token, env, cache, now);
  return principal ? { subject: principal.subject, scopes: principal.scopes } : NOBODY;
}

/**
 * The `authenticate` stream's answer: the agent asks while it decides an
 * A-ASSOCIATE-RQ whose User Identity is a JWT (PS3.7 D.3.3.7, type 5).
 */
export async function authenticateOutcome(token: unknown, env: AuthEnv): Promise<AuthenticateOutcome> {
  if (typeof token !== "string" || token === "") return { ok: false, reason: "no token" };
  if (authConfig(env).mode === "disabled") return { ok: true, subject: "anonymous", scopes: [...SCOPES] };
  const principal = await authenticate(token, env);
  if (isAuthFailure(principal)) return { ok: false, reason: "description" in principal ? principal.description : principal.error };
  return { ok: true, subject: principal.subject, scopes: principal.scopes };
}

async function verifiedPrincipal(token: string, env: AuthEnv, cache: PrincipalCache | undefined, now: number): Promise<Principal | undefined> {
  const digest = cache ? await tokenSha256(token) : "";
  const cached = cache?.get(digest, now);
  if (cached) return cached;
  const principal = await authenticate(token, env, now);
  if (isAuthFailure(principal)) {
    console.warn(`auth: tunnel identity refused: ${"description" in principal ? principal.description : principal.error}`);
    return undefined;
  }
  cache?.set(digest, principal, now);
  return principal;
}
