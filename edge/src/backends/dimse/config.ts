import { agentKey } from "../../agents/keys";
import { isAeTitle } from "../../agents/send";
import type { Env } from "../../env";

/** Where the DIMSE backend's operations go: a PACS of one agent's AE table. */
export interface DimseConfig {
  /** The agent whose tunnel carries them (DIMSE_AGENT). */
  agent: string;
  /** The PACS's AE title in that agent's AE table (DIMSE_PACS). */
  pacs: string;
  /** Each wait on the PACS: connect, association, every response (BACKEND_TIMEOUT_SECONDS). */
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_SECONDS = 30;

/** The DIMSE backend's settings, or what is wrong with them. Pure. */
export function dimseConfig(env: Pick<Env, "AGENT_KEYS" | "DIMSE_AGENT" | "DIMSE_PACS" | "BACKEND_TIMEOUT_SECONDS">): DimseConfig | string {
  if (!env.DIMSE_AGENT) return "BACKEND is dimse but DIMSE_AGENT is not set";
  if (agentKey(env, env.DIMSE_AGENT) === undefined) return `DIMSE_AGENT ${env.DIMSE_AGENT} is not an agent of AGENT_KEYS`;
  if (!env.DIMSE_PACS) return "BACKEND is dimse but DIMSE_PACS is not set";
  if (!isAeTitle(env.DIMSE_PACS)) return "DIMSE_PACS must be an AE title: 1 to 16 characters, no backslash or control characters (PS3.5 6.2)";
  const seconds = env.BACKEND_TIMEOUT_SECONDS === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(env.BACKEND_TIMEOUT_SECONDS);
  if (!Number.isFinite(seconds) || seconds <= 0) return "BACKEND_TIMEOUT_SECONDS must be a number of seconds above 0";
  return { agent: env.DIMSE_AGENT, pacs: env.DIMSE_PACS.trim(), timeoutMs: seconds * 1000 };
}
