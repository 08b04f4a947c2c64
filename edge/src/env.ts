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

  // The backend (edge/src/backends/select.ts): where DICOMweb, FHIR and the
  // agents' operations go. "archive" (default): this edge's D1 and R2.
  // "dicomweb": an existing DICOMweb server; the edge keeps nothing.
  // "dimse": a hospital PACS reached through a connected agent (DIMSE_AGENT,
  // DIMSE_PACS); the edge keeps nothing either.

  BACKEND?: string;
  /** The upstream's DICOMweb base URL (https, or http on loopback only), e.g. "https://pacs.example/dicom-web". */
  DICOMWEB_UPSTREAM_URL?: string;
  /** none (default), bearer (DICOMWEB_UPSTREAM_TOKEN), basic (USERNAME and PASSWORD) or forward (the caller's own Authorization header). */
  DICOMWEB_UPSTREAM_AUTH?: string;
  /** Secret: the bearer token for "bearer". */
  DICOMWEB_UPSTREAM_TOKEN?: string;
  DICOMWEB_UPSTREAM_USERNAME?: string;
  /** Secret. */
  DICOMWEB_UPSTREAM_PASSWORD?: string;
  /** Optional [[mtls_certificates]] binding: the client certificate the upstream asks for. */
  DICOMWEB_UPSTREAM_MTLS?: Fetcher;
  /**
   * dicomweb: "r2" keeps a copy of each instance C-GET, C-MOVE or SEND read
   * from the upstream in OBJECTS (under proxy-cache/), so the next read of
   * it goes there instead; "off" (the default) keeps nothing.
   */
  PROXY_CACHE?: string;
  /**
   * dimse: the id of the agent (a key of AGENT_KEYS) whose tunnel reaches the
   * PACS; while it is not connected the backend answers 503.
   */
  DIMSE_AGENT?: string;
  /**
   * dimse: the PACS's AE title, an entry of that agent's AE table (its
   * `[[ae_table]]`: host, port, DICOM-TLS), e.g. "PACS". The agent calls it
   * with its own AE title as the Calling AE Title.
   */
  DIMSE_PACS?: string;
  /**
   * Seconds each call to the upstream may wait (dicomweb: for its headers,
   * then for each piece of its body; dimse: to connect and associate, then
   * for each DIMSE response). Default 30; past it, 504.
   */
  BACKEND_TIMEOUT_SECONDS?: string;

  // FHIR Subscriptions (edge/src/fhir/subscription).

  /** One message per study a commit or delete changed (archive/study-events.ts). */
  STUDY_EVENTS: Queue<import("./archive/study-events").StudyEvent>;
  /**
   * One message per rest-hook notification to deliver, retried with backoff;
   * and one per study to push to an external FHIR server (fhir/push/queue.ts).
   */
  NOTIFICATIONS: Queue<import("./fhir/subscription/notify").Notification | import("./fhir/push/queue").FhirPushMessage>;
  /**
   * Seconds before the first retry of a failed notification; each later one
   * waits twice as long. Default 10; the e2e stack sets 1.
   */
  SUBSCRIPTION_RETRY_BASE_SECONDS?: string;

  // Push to an external FHIR server (edge/src/fhir/push): after each study
  // change, conditional create/update of the Patient (by identifier) and
  // ImagingStudy (by Study Instance UID) there, or the ImagingStudy's
  // conditional delete. Off without FHIR_PUSH_URL; a half-set configuration
  // is logged and leaves it off. Pushes ride on the NOTIFICATIONS queue and
  // are retried with its backoff (SUBSCRIPTION_RETRY_BASE_SECONDS).

  /** The external server's FHIR base URL (https, or http on loopback only), e.g. "https://fhir.example/R4". */
  FHIR_PUSH_URL?: string;
  /**
   * OAuth 2.0 client credentials (RFC 6749 4.4), all three together: the
   * token endpoint, and the client id and secret sent to it by HTTP Basic
   * (2.3.1). The token is kept until shortly before it expires.
   */
  FHIR_PUSH_TOKEN_URL?: string;
  FHIR_PUSH_CLIENT_ID?: string;
  /** Secret. */
  FHIR_PUSH_CLIENT_SECRET?: string;
  /** Optional with client credentials: the scope to ask for, e.g. "system/*.write". */
  FHIR_PUSH_SCOPE?: string;
  /** Secret: a static bearer token instead of client credentials. */
  FHIR_PUSH_BEARER?: string;

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
