/**
 * Reconnect delays: exponential backoff with full jitter (delay drawn
 * uniformly from [0, min(maxMs, baseMs * 2^attempt))), so a fleet of agents
 * cut off by the same edge outage does not reconnect in lockstep.
 */
export interface BackoffOptions {
  /** Cap of the first attempt's delay; default 500 ms. */
  baseMs?: number;
  /** Cap of every delay; default 30 s. */
  maxMs?: number;
  /** A source in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry), in
 * whole milliseconds. The caller resets `attempt` once a connection held.
 */
export function nextDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 30_000, random = Math.random } = options;
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2 ** n overflows to Infinity long before it matters; min() then picks maxMs.
  const cap = baseMs <= 0 ? 0 : Math.min(maxMs, baseMs * 2 ** n);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * cap);
}
