/**
 * Checks of what the user types for a token: its name, its scopes and a
 * token id. Each returns the value to use or throws a usage error, so
 * nothing unchecked reaches SQL or a token.
 */
import { SCOPES, isScope, type Scope } from "../src/auth/edge-tokens";
import { usageError } from "./errors";

export const MAX_NAME_LENGTH = 64;

/** Letters, marks, digits, punctuation, symbols and the plain space: no control or format characters. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$/u;

/** A token's name (its `sub`): printable, 1 to 64 characters, no space at either end. */
export function parseName(text: string | undefined): string {
  if (text === undefined || text === "") throw usageError("--name is required: whom the token is for");
  if ([...text].length > MAX_NAME_LENGTH) throw usageError(`--name may be at most ${MAX_NAME_LENGTH} characters`);
  if (!PRINTABLE.test(text)) throw usageError("--name may hold printable characters only (no tabs, newlines or control characters)");
  if (text.trim() !== text) throw usageError("--name may not begin or end with a space");
  return text;
}

/** A comma-separated subset of SCOPES, returned once each and in SCOPES order. */
export function parseScopes(text: string | undefined): Scope[] {
  if (text === undefined || text.trim() === "") throw usageError(`--scope is required: some of ${SCOPES.join(",")}`);
  const given = text.split(",").map((s) => s.trim());
  for (const scope of given) {
    if (!isScope(scope)) throw usageError(`unknown scope ${JSON.stringify(scope)}: --scope takes some of ${SCOPES.join(",")}`);
  }
  return SCOPES.filter((scope) => given.includes(scope));
}

/** A token id as `token list` shows it (a UUID from mintEdgeToken). */
export function parseTokenId(text: string | undefined): string {
  if (text === undefined || text === "") throw usageError("which token? `token revoke ID` (ids are in `token list`)");
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(text)) throw usageError(`${JSON.stringify(text)} is not a token id (ids are in \`token list\`)`);
  return text;
}
