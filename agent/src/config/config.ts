import { readFile } from "node:fs/promises";
import { parse } from "smol-toml";
import type { DimseUser, IdentityPolicy } from "../identity/identity";
import { isPasswordHash } from "../identity/password";

/**
 * One peer the agent opens associations to: a C-MOVE destination, the
 * target of the edge's SEND, or the PACS of the edge's DIMSE backend.
 * Keyed by its AE title, the Move Destination (0000,0600) a C-MOVE-RQ
 * names (PS3.4 C.4.2.1.4.1).
 */
export interface AeTableEntry {
  title: string;
  host: string;
  port: number;
  /** Reach it over DICOM-TLS (PS3.15 B.9) rather than plain TCP. */
  tls: boolean;
  /** PEM file of the CA its certificate must chain to (TLS); the system store otherwise. */
  ca?: string;
  /** PEM files of our client certificate and key, for peers that require one (TLS). */
  cert?: string;
  key?: string;
  /** Name its certificate must carry, when it is reached by IP address (TLS). */
  servername?: string;
  /**
   * How the edge's WADO-RS retrieves from it as a PACS: "get" (the default)
   * by C-GET (PS3.4 C.4.3), or by C-MOVE when it accepts no Study Root GET
   * context; "move" by C-MOVE to this agent's own AE title (PS3.4 C.4.2),
   * for a PACS that knows the agent as a move destination.
   */
  retrieve?: RetrieveMethod;
}

export type RetrieveMethod = "get" | "move";

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
  /** `[[ae_table]]` in TOML, or DICOMEDGE_AE_TABLE as a JSON array of the same entries. */
  aeTable: AeTableEntry[];
  /** DIMSE User Identity Negotiation (PS3.7 D.3.3.7); users in `[[identity.users]]` or DICOMEDGE_IDENTITY_USERS (JSON). */
  identity: IdentityPolicy;
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
  aeTable: [],
  // Modalities rarely authenticate: by default an association without an
  // identity may store and query, and the AE title checks still apply.
  identity: { required: false, acceptJwt: true, anonymousScopes: ["read", "write"], users: [] },
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
  ["DICOMEDGE_IDENTITY_REQUIRED", "identity", "required"],
  ["DICOMEDGE_IDENTITY_ACCEPT_JWT", "identity", "acceptJwt"],
  ["DICOMEDGE_IDENTITY_ANONYMOUS_SCOPES", "identity", "anonymousScopes"],
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
    const { ae_table: aeTable, ...sections } = file;
    if (aeTable !== undefined) (config as Record<string, unknown>).aeTable = aeTableEntries(aeTable, `${path}: ae_table`);
    for (const [section, values] of Object.entries(sections)) {
      if (!(section in config)) throw new Error(`${path}: unknown section [${section}]`);
      for (const [key, value] of Object.entries(values)) {
        const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        if (!(camel in config[section]!)) throw new Error(`${path}: unknown key ${section}.${key}`);
        config[section]![camel] = value;
      }
    }
  }
  if (env.DICOMEDGE_IDENTITY_USERS !== undefined) {
    try {
      (config.identity as Record<string, unknown>).users = JSON.parse(env.DICOMEDGE_IDENTITY_USERS);
    } catch {
      throw new Error("DICOMEDGE_IDENTITY_USERS must be a JSON array of {username, password_hash, scopes}");
    }
  }
  if (env.DICOMEDGE_AE_TABLE !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.DICOMEDGE_AE_TABLE);
    } catch {
      throw new Error("DICOMEDGE_AE_TABLE must be a JSON array of AE table entries");
    }
    (config as Record<string, unknown>).aeTable = aeTableEntries(parsed, "DICOMEDGE_AE_TABLE");
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

/** PS3.8 9.3.2: an AE title is 1 to 16 characters of the default repertoire, no backslash, not only spaces. */
function isAeTitle(value: unknown): value is string {
  return typeof value === "string" && /^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(value) && value.trim() !== "";
}

const AE_TABLE_KEYS = new Set(["title", "host", "port", "tls", "ca", "cert", "key", "servername", "retrieve"]);

function aeTableEntries(value: unknown, where: string): AeTableEntry[] {
  if (!Array.isArray(value)) throw new Error(`${where} must be a list of entries ([[ae_table]])`);
  const titles = new Set<string>();
  return value.map((raw, i) => {
    const entry = raw as Record<string, unknown>;
    const at = `${where}[${i}]`;
    if (typeof entry !== "object" || entry === null) throw new Error(`${at} must be a table`);
    for (const key of Object.keys(entry)) if (!AE_TABLE_KEYS.has(key)) throw new Error(`${at}: unknown key ${key}`);
    if (!isAeTitle(entry.title)) throw new Error(`${at}: title "${String(entry.title)}" is not a valid AE title`);
    const title = entry.title.trim();
    if (titles.has(title)) throw new Error(`${at}: AE title ${title} appears twice`);
    titles.add(title);
    if (typeof entry.host !== "string" || entry.host === "") throw new Error(`${at}: host is required`);
    if (!Number.isInteger(entry.port) || (entry.port as number) < 1 || (entry.port as number) > 65535) throw new Error(`${at}: port must be an integer from 1 to 65535`);
    const tls = entry.tls ?? false;
    if (typeof tls !== "boolean") throw new Error(`${at}: tls must be true or false`);
    const files: Partial<AeTableEntry> = {};
    for (const key of ["ca", "cert", "key", "servername"] as const) {
      const v = entry[key];
      if (v === undefined) continue;
      if (typeof v !== "string" || v === "") throw new Error(`${at}: ${key} must be a non-empty string`);
      if (!tls) throw new Error(`${at}: ${key} is only meaningful with tls = true`);
      files[key] = v;
    }
    if (Boolean(files.cert) !== Boolean(files.key)) throw new Error(`${at}: cert and key go together`);
    const retrieve = entry.retrieve;
    if (retrieve !== undefined && retrieve !== "get" && retrieve !== "move") throw new Error(`${at}: retrieve must be "get" or "move"`);
    return { title, host: entry.host, port: entry.port as number, tls, ...files, ...(retrieve ? { retrieve } : {}) };
  });
}

const SCOPES = ["read", "write", "delete", "admin"];

function scopeList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string" && SCOPES.includes(s))) {
    throw new Error(`${where} must be a list of scopes (${SCOPES.join(", ")})`);
  }
  return [...new Set(value as string[])];
}

/** [[identity.users]]: snake_case keys as written, checked, and camelCase after. */
function dimseUsers(value: unknown): DimseUser[] {
  if (!Array.isArray(value)) throw new Error("identity.users must be a list of [[identity.users]] entries");
  const names = new Set<string>();
  return value.map((raw, i) => {
    const entry = raw as Record<string, unknown>;
    const at = `identity.users[${i}]`;
    if (typeof entry !== "object" || entry === null) throw new Error(`${at} must be a table`);
    for (const key of Object.keys(entry)) if (!["username", "password_hash", "scopes"].includes(key)) throw new Error(`${at}: unknown key ${key}`);
    // PS3.7 D.3.3.7.1: the username is compared as sent, so it is kept as written: no trimming.
    if (typeof entry.username !== "string" || entry.username === "") throw new Error(`${at}: username is required`);
    if (names.has(entry.username)) throw new Error(`${at}: username ${entry.username} appears twice`);
    names.add(entry.username);
    if (typeof entry.password_hash !== "string" || !isPasswordHash(entry.password_hash)) {
      throw new Error(`${at}: password_hash must be a scrypt hash from \`npm run -s agent:hash-password\`, never the passcode itself`);
    }
    return { username: entry.username, passwordHash: entry.password_hash, scopes: scopeList(entry.scopes, `${at}: scopes`) };
  });
}

function validate(config: AgentConfig): AgentConfig {
  const { dimse, edge, spool, tls } = config;
  for (const key of ["required", "acceptJwt"] as const) {
    if (typeof config.identity[key] !== "boolean") throw new Error(`identity.${key === "acceptJwt" ? "accept_jwt" : key} must be true or false`);
  }
  config.identity = {
    required: config.identity.required,
    acceptJwt: config.identity.acceptJwt,
    anonymousScopes: scopeList(config.identity.anonymousScopes, "identity.anonymous_scopes"),
    users: dimseUsers(config.identity.users),
  };
  if (!isAeTitle(dimse.aeTitle)) throw new Error(`dimse.ae_title "${dimse.aeTitle}" is not a valid AE title`);
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
