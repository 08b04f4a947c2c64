import type { Backend } from "../backends/backend";
import type { Env } from "../env";

/**
 * GET /health: the version, whether the backend's stores answer (D1 and R2
 * for the archive) and the agents connected now; 503 when a store does not
 * answer, so a load balancer or the agent's C-ECHO sees it. The route is
 * public, so which agents exist is told only when `listAgents` (an admin's
 * token, or auth off); anyone else gets the count.
 */
export async function health(env: Env, backend: Backend, options: { listAgents: boolean }): Promise<Response> {
  const [checks, agents] = await Promise.all([
    backend.health(),
    env.DB.prepare("SELECT agent_id AS id, connected_at AS connectedAt FROM agent_connections ORDER BY agent_id")
      .all<{ id: string; connectedAt: number }>()
      .then((r) => r.results)
      .catch(() => []),
  ]);
  const body = {
    status: checks.ok ? "ok" : "unavailable",
    version: env.VERSION,
    ...checks.checks,
    agents: { connected: agents.length, ...(options.listAgents ? { ids: agents.map((a) => a.id) } : {}) },
  };
  return Response.json(body, { status: checks.ok ? 200 : 503 });
}
