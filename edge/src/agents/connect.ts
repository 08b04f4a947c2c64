import { jwtVerify } from "jose";
import type { Env } from "../env";

/**
 * GET /agents/{id}/connect: the agent's WebSocket, authenticated with a
 * bearer JWT (HS256) signed with that agent's own key, and handed to the
 * agent's AgentHub Durable Object. Keys come from the AGENT_KEYS secret, a
 * JSON object of agent id to key; with none configured the door is shut.
 */
export async function connectAgent(request: Request, env: Env, agentId: string): Promise<Response> {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("expected a WebSocket upgrade", { status: 426, headers: { Upgrade: "websocket" } });
  }
  const key = agentKey(env, agentId);
  if (key === "unconfigured") return new Response("no agent keys configured: set the AGENT_KEYS secret", { status: 503 });
  const token = /^Bearer (.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!key || !token) return unauthorized("invalid_token", "unknown agent or missing token");
  try {
    // The agent proves its identity: its own key, its id as subject, a short life.
    await jwtVerify(token, new TextEncoder().encode(key), { algorithms: ["HS256"], subject: agentId, maxTokenAge: "10m" });
  } catch (error) {
    console.warn(`agent ${agentId}: token refused (${error instanceof Error ? error.message : "invalid"})`);
    return unauthorized("invalid_token", "token refused");
  }
  const hub = env.AGENT_HUB.get(env.AGENT_HUB.idFromName(agentId));
  const forwarded = new Request(request);
  forwarded.headers.set("x-agent-id", agentId);
  return hub.fetch(forwarded);
}

function agentKey(env: Env, agentId: string): string | undefined | "unconfigured" {
  if (!env.AGENT_KEYS) return "unconfigured";
  const keys = JSON.parse(env.AGENT_KEYS) as Record<string, string>;
  return Object.hasOwn(keys, agentId) ? keys[agentId] : undefined;
}

function unauthorized(error: string, description: string): Response {
  return new Response(description, { status: 401, headers: { "WWW-Authenticate": `Bearer error="${error}", error_description="${description}"` } });
}
