/**
 * The push's place in the queues. It rides on the Subscriptions' queues
 * (fhir/subscription/notify.ts) instead of having its own:
 *
 * - STUDY_EVENTS: for each batch, before the Subscriptions' fan-out, one
 *   FhirPushMessage per study the batch changed goes on NOTIFICATIONS
 *   (`queuePushes`). A failure to queue throws, and the batch is retried
 *   as the Subscriptions' consumer would be (a push may then be queued
 *   twice: harmless, it is idempotent).
 * - NOTIFICATIONS: its messages are Subscription notifications or push
 *   messages (`splitPushMessages`). Each push message is acked on success
 *   and retried on failure with the notifications' backoff
 *   (SUBSCRIPTION_RETRY_BASE_SECONDS, deliver.ts), until PUSH_ATTEMPTS.
 *
 * Push messages of one batch run one after the other: two studies of a new
 * patient pushed at once could both find no Patient and create two.
 */
import type { StudyEvent } from "../../archive/study-events";
import type { Env } from "../../env";
import { backoffSeconds } from "../subscription/deliver";
import { isPushConfigError, pushConfig } from "./config";
import { PushError } from "./errors";
import { pushStudyChange, type StudyChange } from "./push";

/** The message on the NOTIFICATIONS queue that asks for one study's push. */
export interface FhirPushMessage {
  fhirPush: StudyChange["kind"];
  study: string;
  /** When the change was committed, ms since the epoch. */
  at: number;
}

/** Attempts of one push before it is given up (below NOTIFICATIONS' max_retries, the backstop). */
export const PUSH_ATTEMPTS = 8;

/** Queues allow at most 100 messages per sendBatch. */
const SEND_BATCH = 100;

export function isFhirPushMessage(body: unknown): body is FhirPushMessage {
  return typeof body === "object" && body !== null && "fhirPush" in body;
}

/** One push message per study of `events`: "deleted" when its last event in the batch was a delete. */
export function pushMessages(events: readonly StudyEvent[]): FhirPushMessage[] {
  const latest = new Map<string, StudyEvent>();
  for (const event of events) {
    const seen = latest.get(event.study);
    if (!seen || event.at >= seen.at) latest.set(event.study, event);
  }
  return [...latest.values()].map((e) => ({ fhirPush: e.change === "deleted" ? "deleted" : "changed", study: e.study, at: e.at }));
}

/**
 * The STUDY_EVENTS side: queues the pushes of a batch when the push is on.
 * A half-set configuration is logged (each batch) and nothing is queued.
 */
export async function queuePushes(events: readonly StudyEvent[], env: Env): Promise<void> {
  const config = pushConfig(env);
  if (config === undefined) return;
  if (isPushConfigError(config)) {
    console.error(`FHIR push is off: ${config.error}`);
    return;
  }
  const out = pushMessages(events);
  for (let i = 0; i < out.length; i += SEND_BATCH) {
    await env.NOTIFICATIONS.sendBatch(out.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" as const })));
  }
}

/** A NOTIFICATIONS batch cut in two: the push messages, and the rest as a batch of its own. */
export function splitPushMessages<T>(batch: MessageBatch<T | FhirPushMessage>): { pushes: Message<FhirPushMessage>[]; rest: MessageBatch<T> } {
  const pushes: Message<FhirPushMessage>[] = [];
  const others: Message<T>[] = [];
  for (const message of batch.messages) {
    if (isFhirPushMessage(message.body)) pushes.push(message as Message<FhirPushMessage>);
    else others.push(message as Message<T>);
  }
  const rest: MessageBatch<T> = {
    queue: batch.queue,
    metadata: batch.metadata,
    messages: others,
    ackAll: () => others.forEach((m) => m.ack()),
    retryAll: (options) => others.forEach((m) => m.retry(options)),
  };
  return { pushes, rest };
}

/**
 * The NOTIFICATIONS side: each push message on its own, one after the
 * other, one push per study (the push sends the study as it is now, so a
 * second message for it in the same batch has nothing to add).
 */
export async function onFhirPush(messages: readonly Message<FhirPushMessage>[], env: Env, retryBaseSeconds: number): Promise<void> {
  const done = new Map<string, boolean>();
  for (const message of messages) {
    const { study, fhirPush: kind } = message.body;
    const earlier = done.get(study);
    if (earlier !== undefined) {
      if (earlier) message.ack();
      else message.retry({ delaySeconds: backoffSeconds(message.attempts, retryBaseSeconds) });
      continue;
    }
    try {
      const outcome = await pushStudyChange(env, { study, kind });
      if (outcome.kind === "off") console.warn(`FHIR push of study ${study} dropped: FHIR_PUSH_URL is no longer set`);
      done.set(study, true);
      message.ack();
    } catch (error) {
      // A PushError says what went wrong; anything else (the index) is logged whole.
      const known = error instanceof PushError;
      const reason = known ? error.message : String(error);
      const detail = known ? [] : [error];
      // Retrying cannot mend a configuration; a redeploy with a good one pushes the next changes.
      if ((known && error.code === "config") || message.attempts >= PUSH_ATTEMPTS) {
        done.set(study, true);
        console.error(`FHIR push of study ${study} given up after ${message.attempts} attempt(s): ${reason}`, ...detail);
        message.ack();
        continue;
      }
      done.set(study, false);
      const delaySeconds = backoffSeconds(message.attempts, retryBaseSeconds);
      console.error(`FHIR push of study ${study} failed (attempt ${message.attempts}, next in ${delaySeconds} s): ${reason}`, ...detail);
      message.retry({ delaySeconds });
    }
  }
}
