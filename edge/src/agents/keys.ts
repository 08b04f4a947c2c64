import type { Env } from "../env";

/**
 * The agents this edge knows: the AGENT_KEYS secret, a JSON object of agent
 * id to that agent's own HS256 key (connect.ts). Undefined when the secret
 * is not set: then there is no agent, and the tunnel's door is shut.
 */
export function agentKeys(env: Pick<Env, "AGENT_KEYS">): Readonly<Record<string, string>> | undefined {
  if (!env.AGENT_KEYS) return undefined;
  return JSON.parse(env.AGENT_KEYS) as Record<string, string>;
}

/** The key of agent `id`; undefined for an unknown agent. */
export function agentKey(env: Pick<Env, "AGENT_KEYS">, id: string): string | undefined {
  const keys = agentKeys(env);
  return keys && Object.hasOwn(keys, id) ? keys[id] : undefined;
}

/** The configured agent ids, sorted. */
export function agentIds(env: Pick<Env, "AGENT_KEYS">): string[] {
  return Object.keys(agentKeys(env) ?? {}).sort();
}
