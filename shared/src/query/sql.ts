/**
 * Compiles a Query into one parameterised SELECT for D1 (SQLite 3.4x with
 * JSON1) over the index of edge/migrations/0001_index.sql and 0002_query.sql.
 *
 * Matching follows PS3.4 C.2.2.2 with the semantics of match.ts:
 * - exact and wild card matching are case-sensitive (`=`, `GLOB`) except for
 *   PN, where C.2.2.2.1 allows case-insensitive matching (`COLLATE NOCASE`,
 *   `LIKE ... ESCAPE '\'`, both ASCII-only in SQLite, as asciiUpper is);
 * - fuzzy PN matching uses the folded columns that index-columns.ts fills;
 * - TM compares the fixed-width form of normalize.ts;
 * - an attribute with several values matches when one does (C.2.2.3), which
 *   for attributes kept as DICOM JSON is an EXISTS over json_each;
 * - every list is ONE bound parameter, a JSON array read with json_each, so
 *   a query stays under D1's 100 bound parameters whatever its lists hold.
 */
import { PATIENT_LEVEL, SERIES_LEVEL, STUDY_LEVEL } from "../dicom/levels.ts";
import { describeTag, lowerOf, upperOf } from "./keys.ts";
import { isQueryError, isUniversal, queryError, type Level, type Match, type Query, type QueryError } from "./model.ts";
import { alphabeticKey, fuzzyTokens, nameParts, normalizeTime } from "./normalize.ts";

/** D1 refuses statements with more bound parameters than this. */
export const D1_MAX_BOUND_PARAMETERS = 100;

export interface CompileOptions {
  /** The select list; by default the primary key of the query level (`st.id`, `se.id`, ...). */
  select?: string;
}

/** A statement split into parts, so the caller can also COUNT what LIMIT cuts off. */
export interface SqlParts {
  select: string;
  from: string;
  /** Conditions joined by AND; empty when everything matches. */
  where: string[];
  orderBy: string;
  /** Bound parameters of `where`, in order. */
  params: unknown[];
  limit?: number;
  offset: number;
}

export interface SqlStatement {
  sql: string;
  params: unknown[];
}

type Alias = "p" | "st" | "se" | "i";

const LEVELS: Record<Level, { from: string; aliases: readonly Alias[]; select: string; orderBy: string }> = {
  patient: { from: "patients p", aliases: ["p"], select: "p.id", orderBy: "p.patient_name, p.id" },
  study: {
    from: "studies st JOIN patients p ON p.id = st.patient_pk",
    aliases: ["p", "st"],
    select: "st.id",
    // Newest first. st.id DESC too, so the whole order can walk the
    // studies_date_time index backwards without a sort.
    orderBy: "st.study_date DESC, st.study_time_norm DESC, st.id DESC",
  },
  series: {
    from: "series se JOIN studies st ON st.id = se.study_pk JOIN patients p ON p.id = st.patient_pk",
    aliases: ["p", "st", "se"],
    select: "se.id",
    orderBy: "se.series_number, se.id",
  },
  instance: {
    from: "instances i JOIN series se ON se.id = i.series_pk JOIN studies st ON st.id = i.study_pk JOIN patients p ON p.id = st.patient_pk",
    aliases: ["p", "st", "se", "i"],
    select: "i.id",
    orderBy: "i.instance_number, i.id",
  },
};

interface Column {
  alias: Alias;
  column: string;
  /** The fuzzyName() form of a PN column (0002_query.sql). */
  fuzzy?: string;
  /** The normalizeTime() form of a TM column (0002_query.sql). */
  time?: string;
}

// Attributes with a column of their own (0001_index.sql).
const COLUMNS: Record<string, Column> = {
  "00100010": { alias: "p", column: "p.patient_name", fuzzy: "p.patient_name_fuzzy" },
  "00100020": { alias: "p", column: "p.patient_id" },
  "00100021": { alias: "p", column: "p.issuer" },
  "00100030": { alias: "p", column: "p.birth_date" },
  "00100040": { alias: "p", column: "p.sex" },
  "00080020": { alias: "st", column: "st.study_date" },
  "00080030": { alias: "st", column: "st.study_time", time: "st.study_time_norm" },
  "00080050": { alias: "st", column: "st.accession_number" },
  "00080090": { alias: "st", column: "st.referring_physician_name", fuzzy: "st.referring_physician_fuzzy" },
  "00081030": { alias: "st", column: "st.study_description" },
  "0020000D": { alias: "st", column: "st.study_uid" },
  "00200010": { alias: "st", column: "st.study_id" },
  "00201206": { alias: "st", column: "st.series_count" },
  "00201208": { alias: "st", column: "st.instance_count" },
  "00080060": { alias: "se", column: "se.modality" },
  "0020000E": { alias: "se", column: "se.series_uid" },
  "00200011": { alias: "se", column: "se.series_number" },
  "0008103E": { alias: "se", column: "se.series_description" },
  "00400244": { alias: "se", column: "se.performed_start_date" },
  "00400245": { alias: "se", column: "se.performed_start_time", time: "se.performed_start_time_norm" },
  "00201209": { alias: "se", column: "se.instance_count" },
  "00080016": { alias: "i", column: "i.sop_class_uid" },
  "00080018": { alias: "i", column: "i.sop_uid" },
  "00200013": { alias: "i", column: "i.instance_number" },
  "00280010": { alias: "i", column: "i.rows" },
  "00280011": { alias: "i", column: "i.columns" },
  "00280008": { alias: "i", column: "i.number_of_frames" },
};

const MODALITIES_IN_STUDY = "00080061";
const TIMEZONE_OFFSET = "00080201";

// Attributes kept in a level's `attributes` JSON (levels.ts); the lowest
// level wins for the few kept at two levels.
const JSON_ALIAS = new Map<string, Alias>([
  ...STUDY_LEVEL.map((t) => [t, "st"] as const),
  ...SERIES_LEVEL.map((t) => [t, "se"] as const),
  ...PATIENT_LEVEL.map((t) => [t, "p"] as const),
]);

const TAG = /^[0-9A-F]{8}$/;

/** The statement's parts; a QueryError for a key the index cannot match (PS3.18 10.6.1.2 lets us refuse it). */
export function compileQueryParts(query: Query, options: CompileOptions = {}): SqlParts | QueryError {
  const level = LEVELS[query.level];
  const ctx: Context = { level: query.level, aliases: level.aliases, params: [], nextAlias: 1 };
  const where: string[] = [];
  for (const match of query.matches) {
    const condition = compileTopLevel(match, ctx);
    if (isQueryError(condition)) return condition;
    if (condition !== undefined) where.push(condition);
  }
  const pagingParams = query.limit !== undefined ? 2 : query.offset > 0 ? 1 : 0;
  if (ctx.params.length + pagingParams > D1_MAX_BOUND_PARAMETERS) {
    return queryError(`the query needs ${ctx.params.length + pagingParams} bound parameters; at most ${D1_MAX_BOUND_PARAMETERS} are possible`);
  }
  return {
    select: options.select ?? level.select,
    from: level.from,
    where,
    orderBy: level.orderBy,
    params: ctx.params,
    ...(query.limit !== undefined && { limit: query.limit }),
    offset: query.offset,
  };
}

/** The whole SELECT with ORDER BY, LIMIT and OFFSET. */
export function compileQuery(query: Query, options: CompileOptions = {}): SqlStatement | QueryError {
  const parts = compileQueryParts(query, options);
  return isQueryError(parts) ? parts : selectStatement(parts);
}

export function selectStatement(parts: SqlParts): SqlStatement {
  const params = [...parts.params];
  let sql = `SELECT ${parts.select} FROM ${parts.from}${whereClause(parts.where)} ORDER BY ${parts.orderBy}`;
  if (parts.limit !== undefined) {
    sql += " LIMIT ? OFFSET ?";
    params.push(parts.limit, parts.offset);
  } else if (parts.offset > 0) {
    // SQLite has no OFFSET without LIMIT; a negative LIMIT means none.
    sql += " LIMIT -1 OFFSET ?";
    params.push(parts.offset);
  }
  return { sql, params };
}

/** How many rows match, ignoring LIMIT and OFFSET (for the Warning of a cut-off result, PS3.18 10.6.3.2). */
export function countStatement(parts: SqlParts): SqlStatement {
  return { sql: `SELECT COUNT(*) AS count FROM ${parts.from}${whereClause(parts.where)}`, params: [...parts.params] };
}

function whereClause(where: readonly string[]): string {
  return where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
}

interface Context {
  level: Level;
  aliases: readonly Alias[];
  params: unknown[];
  nextAlias: number;
}

function bind(ctx: Context, value: unknown): string {
  ctx.params.push(value);
  return "?";
}

function unsupported(match: Match, why = ""): QueryError {
  return queryError(`matching on ${describeTag(match.tag)} is not supported${why}`);
}

function compileTopLevel(match: Match, ctx: Context): string | undefined | QueryError {
  if (!TAG.test(match.tag)) return queryError(`"${match.tag}" is not a tag of 8 uppercase hex digits`);
  if (isUniversal(match)) return undefined;
  const atLevel = ` at ${ctx.level} level`;
  if (match.tag === TIMEZONE_OFFSET) {
    // PS3.4 C.2.2.2.5.2: it would shift the times of the query, which the index does not do.
    return unsupported(match, " (it would change how times are matched, PS3.4 C.2.2.2.5.2)");
  }
  if (match.tag === MODALITIES_IN_STUDY) {
    if (!ctx.aliases.includes("st")) return unsupported(match, atLevel);
    // PS3.4 C.3.4: the distinct Modality values of the study's series, read
    // from the series through the series(study_pk, modality) index.
    const condition = valueCondition(match, { value: "se2.modality" }, ctx);
    if (isQueryError(condition)) return condition;
    return `EXISTS (SELECT 1 FROM series se2 WHERE se2.study_pk = st.id AND ${condition})`;
  }
  const column = COLUMNS[match.tag];
  if (column) {
    if (!ctx.aliases.includes(column.alias)) return unsupported(match, atLevel);
    if (match.kind === "sequence") return unsupported(match, " as a sequence");
    return valueCondition(match, {
      value: column.column,
      ...(column.time && { time: column.time }),
      ...(column.fuzzy && { fuzzy: { expr: column.fuzzy, folded: true } }),
    }, ctx);
  }
  const alias = JSON_ALIAS.get(match.tag);
  if (!alias) return unsupported(match);
  if (!ctx.aliases.includes(alias)) return unsupported(match, atLevel);
  return jsonCondition(match, `${alias}.attributes`, ctx);
}

/**
 * A key on an attribute inside DICOM JSON (`container` is a level's
 * `attributes` or a sequence item): EXISTS one value, or for a sequence
 * one item, that matches (PS3.4 C.2.2.3, C.2.2.2.6).
 */
function jsonCondition(match: Match, container: string, ctx: Context): string | undefined | QueryError {
  if (!TAG.test(match.tag)) return queryError(`"${match.tag}" is not a tag of 8 uppercase hex digits`);
  if (isUniversal(match)) return undefined;
  const j = `j${ctx.nextAlias++}`;
  // The tag is checked above, so it can stand in the path literal.
  const source = `json_each(${container}, '$."${match.tag}".Value') ${j}`;
  if (match.kind === "sequence") {
    const conditions: string[] = [];
    for (const item of match.items) {
      const condition = jsonCondition(item, `${j}.value`, ctx);
      if (isQueryError(condition)) return condition;
      if (condition !== undefined) conditions.push(condition);
    }
    return `EXISTS (SELECT 1 FROM ${source} WHERE ${conditions.join(" AND ")})`;
  }
  const condition = valueCondition(match, jsonTarget(match.vr, `${j}.value`), ctx);
  if (isQueryError(condition)) return condition;
  return `EXISTS (SELECT 1 FROM ${source} WHERE ${condition})`;
}

/** SQL expressions for one value, in the forms the match kinds compare. */
interface Target {
  /** The value; for PN its Alphabetic group. */
  value: string;
  /** TM as normalizeTime() gives it. */
  time?: string;
  /** DT without its UTC offset. */
  dateTime?: string;
  /** The name's parts between spaces; `folded` when case and accents are already folded (fuzzyName). */
  fuzzy?: { expr: string; folded: boolean };
}

function jsonTarget(vr: string, element: string): Target {
  switch (vr) {
    case "PN": {
      const group = (g: string) => `coalesce(json_extract(${element}, '$.${g}'), '')`;
      // Without a folded column: the parts of every group, matched by LIKE,
      // which ignores ASCII case but not accents.
      const all = `${group("Alphabetic")} || ' ' || ${group("Ideographic")} || ' ' || ${group("Phonetic")}`;
      const spaced = ["^", "=", ",", ".", "-"].reduce((e, sep) => `replace(${e}, '${sep}', ' ')`, all);
      return { value: `json_extract(${element}, '$.Alphabetic')`, fuzzy: { expr: `(' ' || ${spaced} || ' ')`, folded: false } };
    }
    case "TM":
      return { value: element, time: sqlNormalizeTime(element) };
    case "DT":
      return { value: element, dateTime: `(CASE WHEN length(${element}) > 5 AND substr(${element}, -5, 1) IN ('+', '-') THEN substr(${element}, 1, length(${element}) - 5) ELSE ${element} END)` };
    default:
      return { value: element };
  }
}

/** normalizeTime() in SQL, for TM values that have no normalized column. */
function sqlNormalizeTime(expr: string): string {
  const t = `replace(${expr}, ':', '')`;
  const dot = `instr(${t}, '.')`;
  return (
    `(CASE WHEN ${dot} > 0 ` +
    `THEN substr(substr(${t}, 1, ${dot} - 1) || '000000', 1, 6) || substr(substr(${t}, ${dot}) || '000000', 1, 7) ` +
    `ELSE substr(${t} || '000000', 1, 6) || '.000000' END)`
  );
}

function valueCondition(match: Match, target: Target, ctx: Context): string | undefined | QueryError {
  const { vr } = match;
  switch (match.kind) {
    case "universal":
      return undefined;
    case "sequence":
      return unsupported(match, " as a sequence");
    case "single":
      if (vr === "PN") {
        if (match.fuzzy && target.fuzzy) return fuzzyCondition(String(match.value), target.fuzzy, ctx);
        return `${target.value} = ${bind(ctx, alphabeticKey(String(match.value)))} COLLATE NOCASE`;
      }
      if (vr === "TM") return `${target.time ?? target.value} = ${bind(ctx, normalizeTime(String(match.value)))}`;
      return `${target.value} = ${bind(ctx, match.value)}`;
    case "wildcard":
      if (vr === "PN") {
        if (match.fuzzy && target.fuzzy) return fuzzyCondition(match.pattern, target.fuzzy, ctx);
        return `${target.value} LIKE ${bind(ctx, likePattern(alphabeticKey(match.pattern)))} ESCAPE '\\'`;
      }
      // GLOB: case-sensitive as C.2.2.2.4 requires, and "*"/"?" are its own wild cards.
      return `${target.value} GLOB ${bind(ctx, globPattern(match.pattern))}`;
    case "range": {
      const expr = vr === "TM" ? (target.time ?? target.value) : vr === "DT" ? (target.dateTime ?? target.value) : target.value;
      if (vr !== "DA" && vr !== "TM" && vr !== "DT") return unsupported(match, ` with a range (VR ${vr})`);
      const conditions: string[] = [];
      // Without a lower bound, '' (an absent value) must still not match.
      conditions.push(match.from !== undefined ? `${expr} >= ${bind(ctx, lowerOf(vr, match.from))}` : `${expr} > ''`);
      if (match.to !== undefined) conditions.push(`${expr} <= ${bind(ctx, upperOf(vr, match.to))}`);
      return conditions.join(" AND ");
    }
    case "uid-list":
      return `${target.value} IN (SELECT k.value FROM json_each(${bind(ctx, JSON.stringify(match.uids))}) k)`;
    case "any-of": {
      if (vr === "PN") {
        const keys = match.values.map((v) => alphabeticKey(String(v)));
        return `${target.value} COLLATE NOCASE IN (SELECT k.value FROM json_each(${bind(ctx, JSON.stringify(keys))}) k)`;
      }
      if (vr === "TM") {
        const keys = match.values.map((v) => normalizeTime(String(v)));
        return `${target.time ?? target.value} IN (SELECT k.value FROM json_each(${bind(ctx, JSON.stringify(keys))}) k)`;
      }
      return `${target.value} IN (SELECT k.value FROM json_each(${bind(ctx, JSON.stringify(match.values))}) k)`;
    }
  }
}

/**
 * Fuzzy PN (PS3.4 C.2.2.2.1.1, implementation-defined): each part of the
 * key begins a part of the name: `LIKE '% PART%'` on the space-separated form.
 */
function fuzzyCondition(key: string, target: { expr: string; folded: boolean }, ctx: Context): string {
  const parts = (target.folded ? fuzzyTokens(key) : nameParts(key)).filter((p) => !/^\*+$/.test(p));
  if (parts.length === 0) return `trim(${target.expr}) <> ''`;
  return parts.map((part) => `${target.expr} LIKE ${bind(ctx, `% ${likePattern(part)}%`)} ESCAPE '\\'`).join(" AND ");
}

/** A C.2.2.2.4 pattern for LIKE ... ESCAPE '\': the key's own %, _ and \ are escaped. */
export function likePattern(pattern: string): string {
  let out = "";
  for (const ch of pattern) {
    if (ch === "*") out += "%";
    else if (ch === "?") out += "_";
    else if (ch === "%" || ch === "_" || ch === "\\") out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** A C.2.2.2.4 pattern for GLOB: "*" and "?" are GLOB's own; "[" opens a class there, so it becomes "[[]". */
export function globPattern(pattern: string): string {
  return pattern.replace(/\[/g, "[[]");
}
