// What the benchmark prints and writes.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(import.meta.url), "../..");

/** The p-th percentile (nearest rank), rounded to 0.1. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}

export const median = (values: number[]) => percentile(values, 50);

/** One case's figure for both archives. */
export interface Comparison {
  case: string;
  unit: string;
  edge: number;
  orthanc: number;
  /** Bound on edge / orthanc: at least it when higher is better, at most it when lower is. */
  target?: number | undefined;
  better: "higher" | "lower";
}

export type Row = Record<string, string | number>;

/** ratio = dicom-edge / Orthanc; "met" holds the target against it. */
export function compareRows(comparisons: Comparison[]): Row[] {
  return comparisons.map((c) => {
    const ratio = c.edge / c.orthanc;
    const target = c.target === undefined ? "" : `${c.better === "higher" ? ">=" : "<="} ${c.target}x`;
    const met = c.target === undefined ? "" : (c.better === "higher" ? ratio >= c.target : ratio <= c.target) ? "yes" : "NO";
    return { case: c.case, unit: c.unit, "dicom-edge": String(c.edge), Orthanc: String(c.orthanc), ratio: `${ratio.toFixed(2)}x`, target, met };
  });
}

export function printTable(rows: Row[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(" | ")} |`;
  console.log(line(columns));
  console.log(`|${width.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))));
}
