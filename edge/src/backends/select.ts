import { Archive } from "../archive/archive";
import type { Env } from "../env";
import type { Backend } from "./backend";

/** The backend the frontends use: the archive (the only one built so far). */
export function backendFor(env: Env): Backend {
  return new Archive(env.DB, env.OBJECTS);
}
