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

  // Authentication (edge/src/auth). Every route but /health and the agents'
  // own WebSocket needs a bearer token (RFC 6750) from one of two issuers,
  // chosen by the token's `iss`; with neither configured those routes answer
  // 503 and say what to set (fail closed).

  /**
   * The edge's own tokens (`token` CLI, edge/src/auth/edge-tokens.ts): a JSON
   * JWK Set `{"keys": [...]}` of public ES256 keys, each with its `kid`.
   * Several keys during a rotation: tokens signed with any of them verify.
   * Public keys only; a private key (`d`) here is refused.
   */
  TOKEN_PUBLIC_KEYS?: string;
  /** An external OpenID Connect issuer (Keycloak, Entra ID): its `iss`, exactly as in its tokens. */
  OIDC_ISSUER?: string;
  /** The `aud` its tokens must carry for this edge (Entra: the API's application ID URI or client id). */
  OIDC_AUDIENCE?: string;
  /** Its JWK Set URL (`jwks_uri` of its discovery document); https, or http on loopback only. */
  OIDC_JWKS_URL?: string;
  /**
   * Optional: the prefix of its scope names, e.g. "dicom-edge." so that
   * "dicom-edge.read" grants read. Scopes come from `scope`, `scp` (Entra
   * delegated) or `roles` (Entra app roles).
   */
  OIDC_SCOPE_PREFIX?: string;
  /**
   * Exactly "local-development-only" turns authentication off (`npm start`,
   * the tests); any other value is ignored. Never set it on a deployed Worker.
   */
  AUTH_DISABLED?: string;
}
