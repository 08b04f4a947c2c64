import { sweepPending } from "./archive/archive";
import type { StudyEvent } from "./archive/study-events";
import { app } from "./app";
import { backendFor } from "./backends/select";
import type { Env } from "./env";
import { retryBase } from "./fhir/subscription/deliver";
import { onNotifications, onStudyEvents, type Notification } from "./fhir/subscription/notify";
import { renderStudyWith } from "./fhir/subscription/render";
import { onFhirPush, queuePushes, splitPushMessages, type FhirPushMessage } from "./fhir/push";

export { AgentHub } from "./agents/agent-hub";

/** Objects older than this whose index commit never came are orphans. */
const PENDING_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** The queues of wrangler.toml, by name (a consumer is told which queue a batch came from). */
const QUEUES = { studyEvents: "dicom-edge-study-events", notifications: "dicom-edge-notifications" } as const;

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    await sweepPending(env.DB, env.OBJECTS, PENDING_MAX_AGE_MS);
  },
  // FHIR Subscriptions (edge/src/fhir/subscription/notify.ts) and the FHIR push (edge/src/fhir/push).
  async queue(batch: MessageBatch, env: Env): Promise<void> {
    switch (batch.queue) {
      case QUEUES.studyEvents:
        // FHIR push (fhir/push/queue.ts): its messages go on NOTIFICATIONS first.
        await queuePushes((batch as MessageBatch<StudyEvent>).messages.map((m) => m.body), env);
        return onStudyEvents(batch as MessageBatch<StudyEvent>, backendFor(env), env.DB, env.NOTIFICATIONS);
      case QUEUES.notifications: {
        // FHIR push messages share this queue (fhir/push/queue.ts); the rest are the Subscriptions'.
        const { pushes, rest } = splitPushMessages(batch as MessageBatch<Notification | FhirPushMessage>);
        const retryBaseSeconds = retryBase(env.SUBSCRIPTION_RETRY_BASE_SECONDS);
        await Promise.all([onFhirPush(pushes, env, retryBaseSeconds), onNotifications(rest, env.DB, renderStudyWith(backendFor(env)), retryBaseSeconds)]);
        return;
      }
      default:
        throw new Error(`no consumer for queue ${batch.queue}`);
    }
  },
} satisfies ExportedHandler<Env>;
