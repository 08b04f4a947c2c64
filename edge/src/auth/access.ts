import type { Scope } from "./edge-tokens";

/**
 * What a request needs before it reaches its route:
 * - public: nothing (/health, for load balancers; CORS preflights never get
 *   this far, the CORS middleware answers them);
 * - agent: the agent's own key, checked by its route (agents/connect.ts);
 * - bearer: a valid token, with `scope` when the route has one. A path no
 *   route serves still needs a token, then answers 404: what exists is not
 *   told to anonymous callers.
 */
export type Access = { kind: "public" } | { kind: "agent" } | { kind: "bearer"; scope?: Scope };

/**
 * The scope of each route, from its method and routing path (Hono's
 * decoded `c.req.path`, so the decision and the routing see the same path):
 * - read: QIDO-RS and WADO-RS (GET, HEAD under /dicomweb, PS3.18 10.4,
 *   10.6), FHIR reads, and POST /agents/{id}/send, a retrieve toward an AE;
 * - write: STOW-RS (POST under /dicomweb, PS3.18 10.5), FHIR writes;
 * - delete: DELETE under /dicomweb and /fhir;
 * - admin: everything under /admin. Pure.
 */
export function accessFor(method: string, path: string): Access {
  if (path === "/health") return { kind: "public" };
  const agent = /^\/agents\/[^/]+\/(connect|send)$/.exec(path);
  if (agent?.[1] === "connect" && method === "GET") return { kind: "agent" };
  if (agent?.[1] === "send" && method === "POST") return { kind: "bearer", scope: "read" };
  if (under(path, "/admin")) return { kind: "bearer", scope: "admin" };
  if (under(path, "/dicomweb") || under(path, "/fhir")) {
    switch (method) {
      case "GET":
      case "HEAD":
        return { kind: "bearer", scope: "read" };
      case "POST":
      case "PUT":
      case "PATCH":
        return { kind: "bearer", scope: "write" };
      case "DELETE":
        return { kind: "bearer", scope: "delete" };
    }
  }
  return { kind: "bearer" };
}

/** Whether `path` is `prefix` or below it. */
export function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}
