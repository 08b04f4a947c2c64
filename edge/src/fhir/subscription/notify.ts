/**
 * The two queue consumers behind FHIR Subscriptions.
 *
 * STUDY_EVENTS (archive/study-events.ts): one message per study a commit or
 * delete changed. The changes of a batch are merged per study (a burst of
 * C-STOREs to one study is one change), each study is read once from the
 * backend at study level, and every active Subscription whose criteria
 * (criteria.ts: the FHIR search's own plan, keys of the one query engine
 * checked with `matches()`) the study meets gets one message on
 * NOTIFICATIONS. A study is matched as it is after the change; one that is
 * gone, as it was before its delete.
 *
 * NOTIFICATIONS: one rest-hook POST per message (deliver.ts). A failure is
 * retried with exponential backoff (message.retry with a delay); after
 * FAILURE_LIMIT failures in a row the Subscription goes to status error with
 * the last error and the message is dropped; a success resets the count.
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { isQueryError } from "@dicom-edge/shared/query/model";
import { studiesQuery, type StudyEvent } from "../../archive/study-events";
import type { Backend } from "../../backends/backend";
import { meetsCriteria, parseCriteria } from "./criteria";
import { backoffSeconds, deliver, FAILURE_LIMIT } from "./deliver";
import { activeSubscriptions, readSubscription, recordFailure, recordSuccess } from "./store";

/** The message on the NOTIFICATIONS queue: notify this Subscription that this study changed. */
export interface Notification {
  subscription: string;
  study: string;
  /** When the change was committed, ms since the epoch. */
  at: number;
}

/**
 * The ImagingStudy resource of a study as FHIR read returns it, or null when
 * the study is not in the archive (deleted).
 */
export type RenderStudy = (study: string) => Promise<object | null>;

/** Queues allow at most 100 messages per sendBatch. */
const SEND_BATCH = 100;

/**
 * The STUDY_EVENTS consumer. Throws only when the index or the queue fails,
 * and then the whole batch is retried (max_retries in wrangler.toml): a
 * Subscription may then be notified twice, never skipped.
 */
export async function onStudyEvents(batch: MessageBatch<StudyEvent>, backend: Backend, db: D1Database, notifications: Queue<Notification>): Promise<void> {
  const studies = new Map<string, { at: number; before?: DicomJson }>();
  for (const { body } of batch.messages) {
    const seen = studies.get(body.study);
    const before = body.before ?? seen?.before;
    studies.set(body.study, { at: Math.max(body.at, seen?.at ?? 0), ...(before ? { before } : {}) });
  }
  const subscriptions = (await activeSubscriptions(db)).flatMap((s) => {
    const criteria = parseCriteria(s.criteria, s.base);
    // Checked at create; a criteria this code no longer reads is skipped, not fatal.
    if (isQueryError(criteria)) {
      console.error(`Subscription ${s.id}: criteria ${JSON.stringify(s.criteria)} no longer parses: ${criteria.reason}`);
      return [];
    }
    return [{ id: s.id, criteria }];
  });
  if (subscriptions.length === 0) return;

  const current = await backend.search(studiesQuery([...studies.keys()]));
  if (isQueryError(current)) throw new Error(`study search failed: ${current.reason}`);
  const datasets = new Map(current.matches.map((m) => [m.study!, m.dataset]));

  const out: Notification[] = [];
  for (const [study, { at, before }] of studies) {
    const dataset = datasets.get(study) ?? before;
    // Stored, then deleted before this batch ran: its delete event notifies.
    if (!dataset) continue;
    for (const subscription of subscriptions) if (meetsCriteria(subscription.criteria, dataset)) out.push({ subscription: subscription.id, study, at });
  }
  for (let i = 0; i < out.length; i += SEND_BATCH) {
    await notifications.sendBatch(out.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" as const })));
  }
}

/** The NOTIFICATIONS consumer: each message on its own, acked or retried. */
export async function onNotifications(batch: MessageBatch<Notification>, db: D1Database, renderStudy: RenderStudy, retryBaseSeconds: number): Promise<void> {
  await Promise.all(batch.messages.map((message) => notifyOne(message, db, renderStudy, retryBaseSeconds)));
}

async function notifyOne(message: Message<Notification>, db: D1Database, renderStudy: RenderStudy, retryBaseSeconds: number): Promise<void> {
  const { subscription: id, study } = message.body;
  try {
    const subscription = await readSubscription(db, id);
    // Deleted, turned off, or in error since the change was queued: nothing to send.
    if (!subscription || subscription.status !== "active") return message.ack();
    const resource = subscription.payload !== null ? await renderStudy(study) : null;
    const result = await deliver(subscription, resource);
    if (result.ok) {
      await recordSuccess(db, id);
      return message.ack();
    }
    const status = await recordFailure(db, id, result.error, FAILURE_LIMIT, message.attempts >= FAILURE_LIMIT);
    if (status === "active") return message.retry({ delaySeconds: backoffSeconds(message.attempts, retryBaseSeconds) });
    console.warn(`Subscription ${id}: notification for study ${study} given up after ${message.attempts} attempt(s): ${result.error}`);
    message.ack();
  } catch (error) {
    // The index or the renderer failed, not the endpoint: try again later
    // (bounded by the queue's max_retries).
    console.error(`Subscription ${id}: notification for study ${study} failed`, error);
    message.retry({ delaySeconds: backoffSeconds(message.attempts, retryBaseSeconds) });
  }
}
