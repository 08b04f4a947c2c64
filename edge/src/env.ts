/** The Worker's bindings (wrangler.toml). */
export interface Env {
  /** The index: patients, studies, series, instances (edge/migrations). */
  DB: D1Database;
  /** The objects: one Part-10 file per instance, the bytes as received. */
  OBJECTS: R2Bucket;
  VERSION: string;
}
