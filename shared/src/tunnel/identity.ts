/**
 * Who a DIMSE operation is for, as the agent established it when the
 * association was accepted (PS3.7 D.3.3.7 User Identity Negotiation). It
 * travels in the OPEN meta (`identity`) of every `store`, `find`,
 * `retrieve` and `fetch` stream, so the edge applies to C-STORE, C-FIND,
 * C-GET and C-MOVE the scopes it applies to DICOMweb:
 * - `jwt`: the peer sent a JWT (type 5); the edge verifies it, per
 *   operation, exactly as a bearer token (revocation included).
 * - `agent`: the agent vouches: a username and passcode (type 2) it checked
 *   against the hashed entries of its own configuration, or an association
 *   without identity, with the scopes its configuration grants those.
 *
 * The `authenticate` stream (the agent opens it while deciding an
 * A-ASSOCIATE-RQ that carries a JWT): OPEN meta `{ token }`, END; RESULT
 * `AuthenticateOutcome`.
 */
export type TunnelIdentity = { kind: "jwt"; token: string } | { kind: "agent"; subject: string; scopes: string[] };

export type AuthenticateOutcome = { ok: true; subject: string; scopes: string[] } | { ok: false; reason: string };

/** The scope each agent operation needs, as its HTTP counterpart does (STOW-RS: write; QIDO-RS, WADO-RS: read). */
export const OPERATION_SCOPES = { echo: undefined, store: "write", find: "read", retrieve: "read", fetch: "read" } as const;

/** PS3.7 C.5: Refused: Not Authorized; what the agent answers when the edge refuses an identity's scope. */
export const NOT_AUTHORIZED = 0x0124;
