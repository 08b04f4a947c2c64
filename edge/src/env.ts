/** The Worker's bindings (wrangler.toml). */
export interface Env {
  /** The index: patients, studies, series, instances (edge/migrations). */
  DB: D1Database;
  /** The objects: one Part-10 file per instance, the bytes as received. */
  OBJECTS: R2Bucket;
  VERSION: string;
  /** One AgentHub Durable Object per on-prem agent (edge/src/agents). */
  AGENT_HUB: DurableObjectNamespace<import("./agents/agent-hub").AgentHub>;
  /** Secret: JSON object of agent id to its HS256 key. */
  AGENT_KEYS?: string;
}
