/**
 * The `agent_revocations` table (edge/migrations/0003_auth.sql): agents
 * whose credential an admin revoked. A revoked agent keeps its key in
 * AGENT_KEYS (rotating a secret takes a deploy); this row is what refuses
 * its tunnel at once, and deleting it lets the agent back in.
 */

/** When agent `id` was revoked (ms since the epoch), or undefined when it is not. */
export async function revokedAt(db: D1Database, id: string): Promise<number | undefined> {
  const row = await db.prepare("SELECT revoked_at AS at FROM agent_revocations WHERE agent_id = ?1").bind(id).first<{ at: number }>();
  return row?.at;
}

/** Revokes agent `id` from `now` on; a second revocation keeps the first time. Returns the time in force. */
export async function revokeAgent(db: D1Database, id: string, now: number): Promise<number> {
  const row = await db
    .prepare("INSERT INTO agent_revocations (agent_id, revoked_at) VALUES (?1, ?2) ON CONFLICT (agent_id) DO UPDATE SET revoked_at = revoked_at RETURNING revoked_at AS at")
    .bind(id, now)
    .first<{ at: number }>();
  return row!.at;
}

/** Lets agent `id` connect again; true when it was revoked. */
export async function reinstateAgent(db: D1Database, id: string): Promise<boolean> {
  const result = await db.prepare("DELETE FROM agent_revocations WHERE agent_id = ?1").bind(id).run();
  return result.meta.changes > 0;
}

/** Every revocation, by agent id. */
export async function revocations(db: D1Database): Promise<Map<string, number>> {
  const { results } = await db.prepare("SELECT agent_id AS id, revoked_at AS at FROM agent_revocations").all<{ id: string; at: number }>();
  return new Map(results.map((row) => [row.id, row.at]));
}
