/**
 * Token lifetimes as the CLI takes them: a whole number and one unit,
 * `30d`, `12h`, `90m` or `3600s`.
 */
import { usageError } from "./errors";

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/** The longest lifetime accepted (366 days): a token is meant to be replaced, not kept for ever. */
export const MAX_LIFETIME_SECONDS = 366 * 86_400;

/** Seconds in `text`; a usage error for anything else, zero, or more than {@link MAX_LIFETIME_SECONDS}. */
export function parseDuration(text: string): number {
  const match = /^([0-9]{1,9})([dhms])$/.exec(text);
  if (!match) throw usageError(`--expires wants a whole number and a unit (30d, 12h, 90m, 3600s), not ${JSON.stringify(text)}`);
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds <= 0) throw usageError("--expires must be more than zero");
  if (seconds > MAX_LIFETIME_SECONDS) throw usageError(`--expires may be at most 366d (${MAX_LIFETIME_SECONDS}s)`);
  return seconds;
}
