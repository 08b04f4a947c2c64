import { authenticate, type AuthEnv, type Principal } from "./authenticate";
import { parseAuthorization } from "./bearer";
import type { Scope } from "./edge-tokens";
import { isAuthFailure, type AuthFailure } from "./failure";

/**
 * A request's Authorization header against what its route needs: the
 * principal when the token is valid and grants `scope` (any valid token when
 * `scope` is undefined), else why not. Authentication must be on
 * (config.ts); the middleware decides that.
 */
export async function authorizeRequest(authorization: string | null, scope: Scope | undefined, env: AuthEnv): Promise<Principal | AuthFailure> {
  const credentials = parseAuthorization(authorization);
  if (credentials.kind === "none") return { error: "missing" };
  if (credentials.kind === "malformed") return { error: "invalid_request", description: credentials.reason };
  const principal = await authenticate(credentials.token, env);
  if (isAuthFailure(principal)) return principal;
  return permits(principal, scope) ? principal : { error: "insufficient_scope", scope: scope!, subject: principal.subject };
}

/** Whether `principal` holds `scope`; no scope needed, any principal. Scopes do not imply each other: admin is not read. */
export function permits(principal: Principal, scope: Scope | undefined): boolean {
  return scope === undefined || principal.scopes.includes(scope);
}
