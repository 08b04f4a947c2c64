/**
 * Authentication and authorisation on the edge: bearer tokens (RFC 6750)
 * from the edge's own issuer or an OpenID Connect one, scopes per route,
 * and the one mapping of refusals to HTTP. The agents' own keys are
 * checked apart (agents/connect.ts), and DIMSE identities through the
 * tunnel with the same `authenticate` (agents/identity.ts).
 */
export { accessFor, type Access } from "./access";
export { findToken, listTokens, revokeToken } from "./api-tokens";
export { authenticate, sameDigest, type AuthEnv, type Principal } from "./authenticate";
export { authorizeRequest, permits } from "./authorize";
export { parseAuthorization, type BearerCredentials } from "./bearer";
export { AUTH_DISABLED_VALUE, authConfig, type AuthBindings, type AuthConfig } from "./config";
export { SCOPES, isScope, tokenSha256, type Scope, type TokenRecord } from "./edge-tokens";
export { authFailureResponse, isAuthFailure, logRefusal, type AuthFailure } from "./failure";
export { requireAuth, type AuthVariables } from "./middleware";
export { scopesFromClaims } from "./scopes";
