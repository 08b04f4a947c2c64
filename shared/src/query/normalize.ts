/**
 * Normalized forms of values for matching: the index stores them in extra
 * columns (see index-columns.ts) and the in-memory matcher computes the same
 * forms, so both give one answer.
 */
import type { PersonName } from "../dicom/json.ts";

// Latin letters NFD does not decompose into base letter + combining mark.
const FOLDS: Record<string, string> = {
  Ø: "O", ø: "o", Æ: "AE", æ: "ae", Œ: "OE", œ: "oe", Ł: "L", ł: "l",
  Đ: "D", đ: "d", Ð: "D", ð: "d", Þ: "TH", þ: "th", ı: "i", ß: "ss",
};
const FOLD_CHARS = new RegExp(`[${Object.keys(FOLDS).join("")}]`, "gu");

/**
 * Separators between the searchable parts of a name: PS3.5 6.2.1 component
 * ("^") and group ("=") delimiters, plus the spaces, commas, dots and hyphens
 * people put inside components ("Hans Peter", "Smith-Jones", "Jr.").
 */
const NAME_SEPARATORS = /[\s^=,.\-]+/u;

/** Splits a name into its parts as written (no case or accent folding). */
export function nameParts(pn: string): string[] {
  return pn.split(NAME_SEPARATORS).filter((part) => part !== "");
}

/** Case- and accent-insensitive parts: NFD, combining marks removed, NFC again (Hangul), uppercase. */
export function fuzzyTokens(pn: string): string[] {
  const folded = pn
    .replace(FOLD_CHARS, (ch) => FOLDS[ch] ?? ch)
    .normalize("NFD")
    .replace(/\p{M}+/gu, "")
    .normalize("NFC")
    .toUpperCase();
  return nameParts(folded);
}

/**
 * The form stored for fuzzy Person Name matching (PS3.4 C.2.2.2.1.1 leaves
 * the semantics to the implementation): every component of every component
 * group, folded, between single spaces, with a space at both ends so that
 * `LIKE '% HA%'` finds any component starting with "HA".
 * "Müller^Hans Peter=ミュラー" → " MULLER HANS PETER ミュラー ". "" when there is nothing.
 */
export function fuzzyName(pn: string): string {
  const tokens = fuzzyTokens(pn);
  return tokens.length === 0 ? "" : ` ${tokens.join(" ")} `;
}

/** "Alphabetic=Ideographic=Phonetic" without trailing empty groups (PS3.5 6.2.1). */
export function personNameString(pn: PersonName | string): string {
  if (typeof pn === "string") return pn;
  return [pn.Alphabetic ?? "", pn.Ideographic ?? "", pn.Phonetic ?? ""].join("=").replace(/=+$/, "");
}

/** The Alphabetic group of a PN value or key (PS3.5 6.2.1). */
export function alphabeticKey(pn: string): string {
  return pn.split("=")[0] ?? "";
}

/** Uppercases a-z only: the case folding of SQLite's LIKE and NOCASE, so memory and SQL agree. */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (run) => run.toUpperCase());
}

// PS3.5 Table 6.2-1 TM: HH[MM[SS[.F{1,6}]]]. Colons are the ACR-NEMA form
// still found in old objects; they are dropped before parsing.
const TIME = /^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$/;

/**
 * A TM value as fixed-width "HHMMSS.ffffff", which sorts and compares as
 * text. Missing parts are zeros, or for an upper range bound the largest
 * value they could take ("10" → "105959.999999"), so that "-10" includes
 * 10:30 (PS3.4 C.2.2.2.5.2 "prior to and including"). "" when not a time.
 */
export function normalizeTime(tm: string, bound: "lower" | "upper" = "lower"): string {
  const m = TIME.exec(tm.trim().replace(/:/g, ""));
  if (!m) return "";
  const [, hh, mm, ss, frac] = m;
  if (frac !== undefined && ss === undefined) return "";
  const max = bound === "upper";
  const fill = (part: string | undefined, filler: string) => part ?? (max ? filler : "00");
  const fraction = (frac ?? "").padEnd(6, max ? "9" : "0");
  return `${hh}${fill(mm, "59")}${fill(ss, "59")}.${fraction}`;
}

const DATE = /^(\d{4})\.?(\d{2})\.?(\d{2})$/;

/** A DA value as YYYYMMDD (also from the ACR-NEMA "YYYY.MM.DD" form), "" when not a date. */
export function normalizeDate(da: string): string {
  const m = DATE.exec(da.trim());
  return m ? `${m[1]}${m[2]}${m[3]}` : "";
}

// The largest value of each position of a DT, for padding an upper bound.
const DATE_TIME_MAX = "99991231235959.999999";
const OFFSET = /[+-]\d{4}$/;

/**
 * A DT value without its UTC offset, for text comparison; an upper bound
 * is padded with the largest values ("2024" → "20241231235959.999999").
 * Offsets are not applied: values are compared as written (a documented
 * simplification of PS3.4 C.2.2.2.5.3 d).
 */
export function normalizeDateTime(dt: string, bound: "lower" | "upper" = "lower"): string {
  const local = dt.trim().replace(OFFSET, "");
  return bound === "upper" ? local + DATE_TIME_MAX.slice(local.length) : local;
}
