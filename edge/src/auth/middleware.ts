import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { accessFor } from "./access";
import { authenticate, type Principal } from "./authenticate";
import { authorizeRequest } from "./authorize";
import { parseAuthorization } from "./bearer";
import { authConfig } from "./config";
import { authFailureResponse, isAuthFailure, logRefusal } from "./failure";

/** What the middleware leaves for the routes. */
export interface AuthVariables {
  /** The caller, when it presented a valid token (on a public route, only then). */
  principal?: Principal;
  /** AUTH_DISABLED: every route is open. */
  authDisabled?: boolean;
}

/**
 * Authentication and authorisation of every route (access.ts says which
 * scope each needs): applied after CORS, whose preflights carry no token,
 * and before the routes, so a refused request reads and writes nothing.
 * Public routes take an optional token: a valid one makes its principal
 * known (/health shows agent ids to admins), a bad one is ignored there.
 */
export function requireAuth(): MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> {
  return async (c, next) => {
    const access = accessFor(c.req.method, c.req.path);
    if (access.kind === "agent") return next();
    const config = authConfig(c.env);
    if (config.mode === "disabled") {
      c.set("authDisabled", true);
      return next();
    }
    const authorization = c.req.header("authorization") ?? null;
    if (access.kind === "public") {
      const credentials = parseAuthorization(authorization);
      if (config.mode === "on" && credentials.kind === "token") {
        const principal = await authenticate(credentials.token, c.env);
        if (!isAuthFailure(principal)) c.set("principal", principal);
      }
      return next();
    }
    const result = config.mode === "on" ? await authorizeRequest(authorization, access.scope, c.env) : { error: "unconfigured" as const, description: config.reason };
    if (isAuthFailure(result)) {
      logRefusal(c.req.method, c.req.path, result);
      return authFailureResponse(result);
    }
    c.set("principal", result);
    return next();
  };
}
