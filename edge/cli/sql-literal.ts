/**
 * SQL literals for statements sent as text (`wrangler d1 execute --command`
 * has no bound parameters): strings single-quoted with quotes doubled,
 * numbers only as safe integers.
 */

/** `'text'` with every `'` doubled; NUL, which SQLite would cut the text at, is refused. */
export function sqlText(value: string): string {
  if (typeof value !== "string") throw new TypeError("sqlText takes a string");
  if (value.includes("\0")) throw new TypeError("a SQL string literal cannot hold NUL");
  return `'${value.replaceAll("'", "''")}'`;
}

/** A safe integer written in decimal; anything else is a bug in the caller. */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`not a safe integer for SQL: ${String(value)}`);
  return String(value);
}

/** NULL or the integer. */
export function sqlIntegerOrNull(value: number | null): string {
  return value === null ? "NULL" : sqlInteger(value);
}
