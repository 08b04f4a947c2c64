/** Where the repository is, so the CLI finds wrangler.toml and node_modules from any working directory. */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
