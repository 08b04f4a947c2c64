import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { accessFor } from "./access";
import { authenticate, type Principal } from "./authenticate";
import { authorizeRequest } from "./authorize";
import { parseAuthorization } from "./bearer";
import { authConfig } from "./config";
import { fhirErrorBody } from "../fhir/outcome";
import { under } from "./access";
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
      await discardBody(c.req.raw);
      return authFailureResponse(result, under(c.req.path, "/fhir") ? fhirErrorBody : undefined);
    }
    c.set("principal", result);
    return next();
  };
}

/** Bodies up to this size are read and dropped before a refusal; larger ones are cancelled. */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * A refused request's body is never used. Small ones are read to the end
 * first: wrangler dev's local proxy answers 503 "worker restarted" when a
 * Worker responds while the request body is still unread, and clients
 * (curl, dicomweb-client) expect to finish sending. A large upload is
 * cancelled after DRAIN_LIMIT bytes rather than received in full.
 */
async function discardBody(request: Request): Promise<void> {
  const body = request.body;
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > DRAIN_LIMIT) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // A body that failed is as good as discarded.
  }
}
