/**
 * Subscriptions in D1 (edge/migrations/0004_fhir_subscriptions.sql): plain
 * functions over the database, one statement each.
 */
import type { NewSubscription, StoredSubscription, SubscriptionStatus } from "./resource";

interface Row {
  id: string;
  status: SubscriptionStatus;
  criteria: string;
  base: string;
  endpoint: string;
  headers: string;
  payload: string | null;
  error: string | null;
  failureCount: number;
  resource: string;
  updatedAt: number;
  /** Subscription.end, when the client set one. */
  end: string | null;
}

const COLUMNS = `id, status, criteria, base, endpoint, headers, payload, error, failure_count AS failureCount, resource,
  updated_at AS updatedAt, resource->>'end' AS "end"`;

/** A Subscription as the notifier needs it. */
export interface Subscription extends StoredSubscription {
  criteria: string;
  base: string;
  endpoint: string;
  headers: string[];
  payload: string | null;
  failureCount: number;
  end: string | null;
}

function fromRow(row: Row): Subscription {
  return {
    id: row.id,
    status: row.status,
    criteria: row.criteria,
    base: row.base,
    endpoint: row.endpoint,
    headers: JSON.parse(row.headers) as string[],
    payload: row.payload,
    error: row.error,
    failureCount: row.failureCount,
    resource: JSON.parse(row.resource) as Record<string, unknown>,
    updatedAt: row.updatedAt,
    end: row.end,
  };
}

export async function insertSubscription(db: D1Database, input: NewSubscription): Promise<Subscription> {
  const id = crypto.randomUUID();
  const now = Date.now();
  const row = await db
    .prepare(
      `INSERT INTO subscriptions (id, status, criteria, base, endpoint, headers, payload, reason, resource, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) RETURNING ${COLUMNS}`,
    )
    .bind(id, input.status, input.criteria, input.base, input.endpoint, JSON.stringify(input.headers), input.payload, input.reason, JSON.stringify(input.resource), now)
    .first<Row>();
  return fromRow(row!);
}

export async function readSubscription(db: D1Database, id: string): Promise<Subscription | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM subscriptions WHERE id = ?1`).bind(id).first<Row>();
  return row ? fromRow(row) : null;
}

/** The search parameters the store filters on; absent ones match every row. */
export interface SubscriptionFilter {
  id?: string;
  /** Any of these statuses. */
  status?: string[];
  /** channel.endpoint, exactly. */
  url?: string;
  /** The start of the criteria, case-insensitive (a FHIR string search). */
  criteria?: string;
}

/** One page of the matching Subscriptions, oldest first, and how many match in all. */
export async function searchSubscriptions(
  db: D1Database,
  filter: SubscriptionFilter,
  page: { count: number; offset: number },
): Promise<{ total: number; subscriptions: Subscription[] }> {
  const where = `(?1 IS NULL OR id = ?1)
    AND (?2 IS NULL OR status IN (SELECT value FROM json_each(?2)))
    AND (?3 IS NULL OR endpoint = ?3)
    AND (?4 IS NULL OR criteria LIKE ?4 ESCAPE '\\')`;
  const params = [
    filter.id ?? null,
    filter.status ? JSON.stringify(filter.status) : null,
    filter.url ?? null,
    filter.criteria !== undefined ? `${filter.criteria.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null,
  ];
  const [total, rows] = await db.batch<Row | { total: number }>([
    db.prepare(`SELECT count(*) AS total FROM subscriptions WHERE ${where}`).bind(...params),
    db.prepare(`SELECT ${COLUMNS} FROM subscriptions WHERE ${where} ORDER BY created_at, id LIMIT ?5 OFFSET ?6`).bind(...params, page.count, page.offset),
  ]);
  return { total: (total!.results[0] as { total: number }).total, subscriptions: (rows!.results as Row[]).map(fromRow) };
}

/** True when it existed. */
export async function deleteSubscription(db: D1Database, id: string): Promise<boolean> {
  const result = await db.prepare("DELETE FROM subscriptions WHERE id = ?1").bind(id).run();
  return result.meta.changes > 0;
}

/** The Subscriptions a study change may notify: active, and not past their end. */
export async function activeSubscriptions(db: D1Database, now = Date.now()): Promise<Subscription[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM subscriptions WHERE status = 'active'`).all<Row>();
  return results.map(fromRow).filter((s) => s.end === null || Date.parse(s.end) > now);
}

/** A delivered notification: the failures in a row start again from 0, and the error is cleared. */
export async function recordSuccess(db: D1Database, id: string): Promise<void> {
  await db
    .prepare(
      `UPDATE subscriptions SET failure_count = 0, error = NULL, updated_at = ?2
       WHERE id = ?1 AND status = 'active' AND (failure_count > 0 OR error IS NOT NULL)`,
    )
    .bind(id, Date.now())
    .run();
}

/**
 * A failed delivery: counts it and keeps its error (R4 Subscription.error).
 * With `limit` failures in a row, or `giveUp`, the Subscription goes to
 * status error and is notified no more. Returns the status after, or null
 * when it is no longer active (deleted, off, or in error already).
 */
export async function recordFailure(db: D1Database, id: string, error: string, limit: number, giveUp: boolean): Promise<SubscriptionStatus | null> {
  const row = await db
    .prepare(
      `UPDATE subscriptions SET failure_count = failure_count + 1, error = ?2, updated_at = ?3,
         status = CASE WHEN failure_count + 1 >= ?4 OR ?5 THEN 'error' ELSE status END
       WHERE id = ?1 AND status = 'active' RETURNING status`,
    )
    .bind(id, error, Date.now(), limit, giveUp ? 1 : 0)
    .first<{ status: SubscriptionStatus }>();
  return row?.status ?? null;
}
