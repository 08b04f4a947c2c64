import { agentIds, agentKey } from "../agents/keys";
import { reinstateAgent, revocations, revokeAgent } from "../agents/revocations";
import type { Env } from "../env";

/** One agent as GET /admin/agents lists it; times are ISO 8601. */
export interface AgentStatus {
  id: string;
  /** Has a key in AGENT_KEYS. */
  configured: boolean;
  connected: boolean;
  connectedAt: string | null;
  revoked: boolean;
  revokedAt: string | null;
}

/** The configured agents, and any other id that is connected or revoked, by id. */
export async function agentStatuses(env: Env): Promise<AgentStatus[]> {
  const [connections, revoked] = await Promise.all([
    env.DB.prepare("SELECT agent_id AS id, connected_at AS at FROM agent_connections")
      .all<{ id: string; at: number }>()
      .then((r) => new Map(r.results.map((row) => [row.id, row.at]))),
    revocations(env.DB),
  ]);
  const configured = new Set(agentIds(env));
  const ids = [...new Set([...configured, ...connections.keys(), ...revoked.keys()])].sort();
  return ids.map((id) => ({
    id,
    configured: configured.has(id),
    connected: connections.has(id),
    connectedAt: iso(connections.get(id)),
    revoked: revoked.has(id),
    revokedAt: iso(revoked.get(id)),
  }));
}

/**
 * Revokes agent `id` and cuts its tunnel now: the row first, so a connect
 * racing with this is refused, then the agent's AgentHub closes its socket
 * (agent-hub.ts, `disconnect`). Undefined for an agent AGENT_KEYS does not know.
 */
export async function revokeAndDisconnect(env: Env, id: string, now = Date.now()): Promise<{ revokedAt: string; closed: number } | undefined> {
  if (agentKey(env, id) === undefined) return undefined;
  const at = await revokeAgent(env.DB, id, now);
  const hub = env.AGENT_HUB.get(env.AGENT_HUB.idFromName(id));
  const res = await hub.fetch("https://agent-hub/disconnect", { method: "POST", headers: { "x-agent-id": id } });
  const { closed } = (await res.json()) as { closed: number };
  return { revokedAt: iso(at)!, closed };
}

/** Lets agent `id` connect again; undefined for an agent AGENT_KEYS does not know. */
export async function reinstate(env: Env, id: string): Promise<{ wasRevoked: boolean } | undefined> {
  if (agentKey(env, id) === undefined) return undefined;
  return { wasRevoked: await reinstateAgent(env.DB, id) };
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
