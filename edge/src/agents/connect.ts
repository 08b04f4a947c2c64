import { jwtVerify } from "jose";
import { authFailureResponse, logRefusal, parseAuthorization, type AuthFailure } from "../auth";
import { errorResponse } from "../dicomweb/errors";
import type { Env } from "../env";
import { agentKey, agentKeys } from "./keys";
import { revokedAt } from "./revocations";

/**
 * GET /agents/{id}/connect: the agent's WebSocket, authenticated with a
 * bearer JWT (HS256) signed with that agent's own key, and handed to the
 * agent's AgentHub Durable Object. Keys come from the AGENT_KEYS secret, a
 * JSON object of agent id to key; with none configured the door is shut.
 * Each agent has its own key and its id is the token's subject, so agent A's
 * URL refuses B's token. A revoked agent (POST /admin/agents/{id}/revoke) is
 * refused with 403 even with a valid token. AUTH_DISABLED does not apply here.
 */
export async function connectAgent(request: Request, env: Env, agentId: string): Promise<Response> {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("expected a WebSocket upgrade", { status: 426, headers: { Upgrade: "websocket" } });
  }
  if (!agentKeys(env)) return errorResponse(503, "no agent keys configured: set the AGENT_KEYS secret");
  const refusal = await admitAgent(request.headers.get("authorization"), env, agentId);
  if (refusal) {
    logRefusal(request.method, `/agents/${agentId}/connect`, refusal);
    return authFailureResponse(refusal);
  }
  const hub = env.AGENT_HUB.get(env.AGENT_HUB.idFromName(agentId));
  const forwarded = new Request(request);
  forwarded.headers.set("x-agent-id", agentId);
  return hub.fetch(forwarded);
}

/** Why agent `agentId` may not connect with this Authorization header; undefined when it may. */
async function admitAgent(authorization: string | null, env: Env, agentId: string): Promise<AuthFailure | undefined> {
  const credentials = parseAuthorization(authorization);
  if (credentials.kind === "none") return { error: "missing" };
  if (credentials.kind === "malformed") return { error: "invalid_request", description: credentials.reason };
  const key = agentKey(env, agentId);
  if (key === undefined) return { error: "invalid_token", description: "unknown agent or token refused" };
  try {
    // The agent proves its identity: its own key (HMAC, verified by WebCrypto), its id as subject, a short life.
    await jwtVerify(credentials.token, new TextEncoder().encode(key), { algorithms: ["HS256"], subject: agentId, maxTokenAge: "10m" });
  } catch {
    // The same answer as an unknown agent: a caller learns nothing about which ids exist.
    return { error: "invalid_token", description: "unknown agent or token refused" };
  }
  const revoked = await revokedAt(env.DB, agentId);
  if (revoked !== undefined) return { error: "forbidden", description: `agent ${agentId} is revoked since ${new Date(revoked).toISOString()}`, subject: agentId };
  return undefined;
}
