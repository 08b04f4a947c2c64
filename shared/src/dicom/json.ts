/**
 * The DICOM JSON model (PS3.18 F.2) and small accessors over it.
 */

/** A dataset: keys are tags as 8 uppercase hex digits, e.g. "0020000D". */
export type DicomJson = Record<string, DicomJsonAttribute>;

export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

/** A Person Name value (PS3.18 F.2.2): one string per component group. */
export interface PersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

/** "0020000D" for 0x0020000D. */
export function tagKey(tag: number): string {
  return (tag >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

function keyOf(tag: string | number): string {
  return typeof tag === "number" ? tagKey(tag) : tag.toUpperCase();
}

function firstValue(ds: DicomJson, tag: string | number, index: number): unknown {
  return ds[keyOf(tag)]?.Value?.[index];
}

/** The `index`th value as a string (numbers are formatted), or undefined. */
export function stringValue(ds: DicomJson, tag: string | number, index = 0): string | undefined {
  const value = firstValue(ds, tag, index);
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value && typeof value === "object" && "Alphabetic" in value) return (value as PersonName).Alphabetic;
  return undefined;
}

/** The `index`th value as a finite number (numeric strings are parsed), or undefined. */
export function numberValue(ds: DicomJson, tag: string | number, index = 0): number | undefined {
  const value = firstValue(ds, tag, index);
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The `index`th Person Name value, or undefined. */
export function personName(ds: DicomJson, tag: string | number, index = 0): PersonName | undefined {
  const value = firstValue(ds, tag, index);
  if (value && typeof value === "object") return value as PersonName;
  if (typeof value === "string") return { Alphabetic: value };
  return undefined;
}

/** The items of a sequence attribute (empty when absent or empty). */
export function sequenceItems(ds: DicomJson, tag: string | number): DicomJson[] {
  const value = ds[keyOf(tag)];
  return value?.vr === "SQ" ? ((value.Value ?? []) as DicomJson[]) : [];
}
