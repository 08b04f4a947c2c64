import { sweepPending } from "./archive/archive";
import { app } from "./app";
import type { Env } from "./env";

export { AgentHub } from "./agents/agent-hub";

/** Objects older than this whose index commit never came are orphans. */
const PENDING_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    await sweepPending(env.DB, env.OBJECTS, PENDING_MAX_AGE_MS);
  },
} satisfies ExportedHandler<Env>;
