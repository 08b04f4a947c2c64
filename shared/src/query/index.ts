/**
 * The one DICOM query engine: QIDO-RS and C-FIND parse into a Query, FHIR
 * search builds one (build.ts), match.ts matches it in memory, sql.ts
 * compiles it for the D1 index.
 */
export {
  DEFAULT_RETURN_TAGS,
  REQUIRED_MATCHING_KEYS,
  isQueryError,
  isUniversal,
  queryError,
  type AnyOfMatch,
  type Level,
  type Match,
  type Query,
  type QueryError,
  type RangeMatch,
  type SequenceMatch,
  type SingleMatch,
  type UidListMatch,
  type UniversalMatch,
  type WildcardMatch,
} from "./model.ts";
export { DEFAULT_MAX_LIMIT, parseQido, type QidoLevel, type QidoOptions, type QidoScope } from "./qido.ts";
export { parseCFindIdentifier, type CFindOptions } from "./c-find.ts";
export { buildQuery, exactKey, fuzzyNameKey, oneOfKey, rangeKey } from "./build.ts";
export { matches, matchesKey } from "./match.ts";
export {
  D1_MAX_BOUND_PARAMETERS,
  compileQuery,
  compileQueryParts,
  countStatement,
  selectStatement,
  type CompileOptions,
  type SqlParts,
  type SqlStatement,
} from "./sql.ts";
export { returnAttributes } from "./return-keys.ts";
export { indexColumns, type IndexColumnSource } from "./index-columns.ts";
export { fuzzyName, normalizeDate, normalizeDateTime, normalizeTime, personNameString } from "./normalize.ts";
