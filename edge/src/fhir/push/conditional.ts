/**
 * The URLs of FHIR R4 conditional interactions by identifier (http.html
 * 3.1.0.4.3 conditional update, 3.1.0.7.1 conditional delete) and the
 * server id a create or update answers with. Pure.
 */
import type { Identifier } from "../r4";

/**
 * `identifier` search value `system|value` (search.html#token) with
 * "\", "|", "," and "$" in either part escaped by "\" (search.html#escaping).
 */
export function identifierToken(identifier: Pick<Identifier, "system" | "value">): string {
  const escape = (text: string) => text.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return `${escape(identifier.system ?? "")}|${escape(identifier.value ?? "")}`;
}

/** "{type}?identifier=..." relative to the FHIR base. */
export function conditionalPath(type: string, identifier: Pick<Identifier, "system" | "value">): string {
  return `${type}?identifier=${encodeURIComponent(identifierToken(identifier))}`;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * The id the server gave a resource it created or updated: the body's id
 * when it returned the resource, else the id in Location or
 * Content-Location ("[base]/{type}/{id}[/_history/{vid}]", R4 http.html#create).
 */
export function serverId(type: string, body: unknown, location: string | null): string | undefined {
  if (typeof body === "object" && body !== null) {
    const { resourceType, id } = body as { resourceType?: unknown; id?: unknown };
    if (resourceType === type && typeof id === "string" && ID.test(id)) return id;
  }
  if (!location) return undefined;
  let path: string;
  try {
    path = new URL(location, "http://base.invalid/").pathname;
  } catch {
    return undefined;
  }
  const segments = path.split("/").filter((s) => s !== "");
  const at = segments.lastIndexOf(type);
  const id = at >= 0 ? segments[at + 1] : undefined;
  return id !== undefined && ID.test(id) ? id : undefined;
}
