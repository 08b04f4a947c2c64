import { Archive } from "../archive/archive";
import { reportToQueue } from "../archive/study-events";
import type { Env } from "../env";
import type { Backend } from "./backend";

/**
 * The backend the frontends use: the archive (the only one built so far),
 * reporting its study changes to the STUDY_EVENTS queue (FHIR Subscriptions).
 */
export function backendFor(env: Env): Backend {
  return new Archive(env.DB, env.OBJECTS, env.STUDY_EVENTS ? reportToQueue(env.STUDY_EVENTS) : undefined);
}
