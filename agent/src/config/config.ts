import { readFile } from "node:fs/promises";
import { parse } from "smol-toml";

/** How a C-STORE is acknowledged (issue: Acknowledgement). */
export type AckMode = "edge" | "spool";

export interface AgentConfig {
  dimse: {
    aeTitle: string;
    host: string;
    port: number;
    /** false: DICOM-TLS only (PS3.15 B.9). */
    plain: boolean;
    maxPduLength: number;
    maxAssociations: number;
    /** Calling AE titles allowed to associate; empty: any. */
    acceptedCallingAeTitles: string[];
    artimTimeoutMs: number;
    idleTimeoutMs: number;
  };
  /** DICOM-TLS beside (or instead of) the plain port; off when port is 0 and no cert is set. */
  tls: { port: number; cert: string; key: string; ca: string; requireClientCertificate: boolean };
  edge: { url: string; agentId: string; agentKey: string };
  spool: { dir: string; ackMode: AckMode };
}

export const DEFAULTS: AgentConfig = {
  dimse: {
    aeTitle: "DICOMEDGE",
    host: "127.0.0.1",
    port: 11112,
    plain: true,
    maxPduLength: 65536,
    maxAssociations: 32,
    acceptedCallingAeTitles: [],
    artimTimeoutMs: 30_000,
    idleTimeoutMs: 300_000,
  },
  tls: { port: 2762, cert: "", key: "", ca: "", requireClientCertificate: false },
  edge: { url: "http://127.0.0.1:8787", agentId: "local", agentKey: "" },
  spool: { dir: "./spool", ackMode: "edge" },
};

/** Every key can be set from the environment, for tests and systemd units. */
const ENVIRONMENT: [name: string, section: keyof AgentConfig, key: string][] = [
  ["DICOMEDGE_AE_TITLE", "dimse", "aeTitle"],
  ["DICOMEDGE_DIMSE_HOST", "dimse", "host"],
  ["DICOMEDGE_DIMSE_PORT", "dimse", "port"],
  ["DICOMEDGE_MAX_PDU_LENGTH", "dimse", "maxPduLength"],
  ["DICOMEDGE_MAX_ASSOCIATIONS", "dimse", "maxAssociations"],
  ["DICOMEDGE_PLAIN", "dimse", "plain"],
  ["DICOMEDGE_ACCEPTED_CALLING_AE_TITLES", "dimse", "acceptedCallingAeTitles"],
  ["DICOMEDGE_ARTIM_TIMEOUT_MS", "dimse", "artimTimeoutMs"],
  ["DICOMEDGE_IDLE_TIMEOUT_MS", "dimse", "idleTimeoutMs"],
  ["DICOMEDGE_TLS_PORT", "tls", "port"],
  ["DICOMEDGE_TLS_CERT", "tls", "cert"],
  ["DICOMEDGE_TLS_KEY", "tls", "key"],
  ["DICOMEDGE_TLS_CA", "tls", "ca"],
  ["DICOMEDGE_TLS_REQUIRE_CLIENT_CERTIFICATE", "tls", "requireClientCertificate"],
  ["DICOMEDGE_EDGE_URL", "edge", "url"],
  ["DICOMEDGE_AGENT_ID", "edge", "agentId"],
  ["DICOMEDGE_AGENT_KEY", "edge", "agentKey"],
  ["DICOMEDGE_SPOOL_DIR", "spool", "dir"],
  ["DICOMEDGE_ACK_MODE", "spool", "ackMode"],
];

/**
 * The agent's configuration: defaults, then the TOML file (`--config path`,
 * with sections [dimse], [edge], [spool] and the keys above in snake_case),
 * then the environment. Invalid values stop the agent with a message that
 * names the key.
 */
export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<AgentConfig> {
  const config = structuredClone(DEFAULTS) as unknown as Record<string, Record<string, unknown>>;
  if (path) {
    const file = parse(await readFile(path, "utf8")) as Record<string, Record<string, unknown>>;
    for (const [section, values] of Object.entries(file)) {
      if (!(section in config)) throw new Error(`${path}: unknown section [${section}]`);
      for (const [key, value] of Object.entries(values)) {
        const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        if (!(camel in config[section]!)) throw new Error(`${path}: unknown key ${section}.${key}`);
        config[section]![camel] = value;
      }
    }
  }
  for (const [name, section, key] of ENVIRONMENT) {
    const value = env[name];
    if (value !== undefined) config[section]![key] = fromEnvironment(value, (DEFAULTS[section] as Record<string, unknown>)[key]);
  }
  return validate(config as unknown as AgentConfig);
}

/** An environment string as the type of the key's default: number, boolean, or comma-separated list. */
function fromEnvironment(value: string, like: unknown): unknown {
  if (typeof like === "number") return Number(value);
  if (typeof like === "boolean") return value === "true" || value === "1";
  if (Array.isArray(like)) return value.split(",").map((s) => s.trim()).filter(Boolean);
  return value;
}

function validate(config: AgentConfig): AgentConfig {
  const { dimse, edge, spool, tls } = config;
  // PS3.8 9.3.2: an AE title is 1 to 16 characters of the default repertoire, no backslash.
  if (!/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(dimse.aeTitle) || dimse.aeTitle.trim() === "") throw new Error(`dimse.ae_title "${dimse.aeTitle}" is not a valid AE title`);
  for (const [key, value, min, max] of [
    ["dimse.port", dimse.port, 0, 65535],
    ["dimse.max_pdu_length", dimse.maxPduLength, 4096, 16 * 1024 * 1024],
    ["dimse.max_associations", dimse.maxAssociations, 1, 1000],
    ["dimse.artim_timeout_ms", dimse.artimTimeoutMs, 100, 600_000],
    ["dimse.idle_timeout_ms", dimse.idleTimeoutMs, 1000, 86_400_000],
    ["tls.port", tls.port, 0, 65535],
  ] as const) {
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${key} must be an integer from ${min} to ${max}`);
  }
  if (!/^(https?|wss?):\/\//.test(edge.url)) throw new Error(`edge.url "${edge.url}" must be an http(s) or ws(s) URL`);
  if (!edge.agentKey) throw new Error("edge.agent_key is required: the key the edge knows this agent by (AGENT_KEYS)");
  if (spool.ackMode !== "edge" && spool.ackMode !== "spool") throw new Error(`spool.ack_mode must be "edge" or "spool"`);
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new Error("tls.cert and tls.key go together");
  if (tls.requireClientCertificate && !tls.ca) throw new Error("tls.require_client_certificate needs tls.ca, the CA client certificates are checked against");
  if (!dimse.plain && !tls.cert) throw new Error("dimse.plain = false needs tls.cert and tls.key: the agent would listen nowhere");
  return config;
}
