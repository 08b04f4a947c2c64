/**
 * A FHIR date search value (R4 search.html#date) as a DA range of the one
 * query engine (PS3.4 C.2.2.2.5): the value is a period (a year, month or
 * day) and the prefix says how the target's day relates to it. Days only:
 * DICOM dates have no time (and the study's time is a separate attribute the
 * engine cannot range over together with the date). Pure.
 */
import { FhirError } from "./outcome";

export type DateBounds = { from?: string; to?: string };

const DATE = /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$/;
const PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/;
const DAY_MS = 86_400_000;

/** Inclusive YYYYMMDD bounds of the days `value` selects, or a 400 FhirError. */
export function dateBounds(name: string, value: string): DateBounds {
  const prefix = PREFIX.exec(value)?.[1] ?? "eq";
  const date = PREFIX.test(value) ? value.slice(2) : value;
  if (prefix === "ne" || prefix === "ap") {
    throw new FhirError(400, "not-supported", `${name}: the prefix ${prefix} is not supported (eq, gt, ge, lt, le, sa, eb are)`);
  }
  const m = DATE.exec(date);
  if (!m) {
    const why = /^\d{4}-\d{2}-\d{2}T/.test(date) ? "times are not supported, only YYYY, YYYY-MM or YYYY-MM-DD" : "not a date YYYY, YYYY-MM or YYYY-MM-DD";
    throw new FhirError(400, /T/.test(date) ? "not-supported" : "invalid", `${name}: "${value}": ${why}`);
  }
  const [year, month, day] = [Number(m[1]), m[2] ? Number(m[2]) : undefined, m[3] ? Number(m[3]) : undefined];
  const start = utc(year, (month ?? 1) - 1, day ?? 1);
  if (day !== undefined && new Date(start).getUTCDate() !== day) throw new FhirError(400, "invalid", `${name}: "${value}" is not a date`);
  // The first day after the period.
  const end = day !== undefined ? start + DAY_MS : month !== undefined ? utc(year, month, 1) : utc(year + 1, 0, 1);
  switch (prefix) {
    case "eq":
      return { from: da(start), to: da(end - DAY_MS) };
    case "ge":
      return { from: da(start) };
    case "le":
      return { to: da(end - DAY_MS) };
    // A day is after (before) the period when it starts after it ends (ends before it starts): gt and sa agree for days.
    case "gt":
    case "sa":
      return { from: da(end) };
    default: // lt, eb
      return { to: da(start - DAY_MS) };
  }
}

/** Date.UTC without its reading of years 0-99 as 1900-1999. */
function utc(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  return d.getTime();
}

function da(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCFullYear()).padStart(4, "0")}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
}
