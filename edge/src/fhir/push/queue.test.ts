// The push's queue messages: made from STUDY_EVENTS batches, taken out of
// NOTIFICATIONS batches, acked or retried; pushes go to the test FHIR
// server (edge/test/fhir-server.ts).
import { createExecutionContext, createMessageBatch, env, getQueueResult, SELF } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { instance, multipart, STOW_TYPE } from "../../../test/instances";
import type { StudyEvent } from "../../archive/study-events";
import type { Env } from "../../env";
import worker from "../../index";
import type { Notification } from "../subscription/notify";
import { onFhirPush, PUSH_ATTEMPTS, pushMessages, queuePushes, splitPushMessages, type FhirPushMessage } from "./queue";
import { clearTokenCache } from "./token";
import { batchOf, fakeQueue, message } from "../../../test/queues";

const FHIR = inject("fhirServer");
const PUSH_ENV = { FHIR_PUSH_URL: FHIR.base, FHIR_PUSH_TOKEN_URL: FHIR.tokenUrl, FHIR_PUSH_CLIENT_ID: FHIR.clientId, FHIR_PUSH_CLIENT_SECRET: FHIR.clientSecret };

/** An env whose NOTIFICATIONS keeps what is sent to it. */
function withQueue(vars: Record<string, string>) {
  const { queue, sent } = fakeQueue<unknown>();
  return { env: { ...env, ...vars, NOTIFICATIONS: queue } as unknown as Env, sent };
}

async function studiesOnServer(uid: string): Promise<unknown[]> {
  const res = await fetch(`${FHIR.base}/ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${uid}`)}`, { headers: { Authorization: `Bearer ${FHIR.token}` } });
  return ((await res.json()) as { entry?: unknown[] }).entry ?? [];
}

async function stow(uid: string) {
  const res = await SELF.fetch("http://edge.test/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart([instance({ study: uid, sop: `${uid}.1.1`, patientId: `Q-${uid}` })]) });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

beforeEach(() => clearTokenCache());

describe("pushMessages", () => {
  it("is one message per study, the kind of its latest event", () => {
    const events: StudyEvent[] = [
      { study: "1", change: "stored", at: 1 },
      { study: "2", change: "stored", at: 1 },
      { study: "1", change: "deleted", at: 3 },
      { study: "2", change: "deleted", at: 2 },
      { study: "2", change: "stored", at: 4 },
    ];
    expect(pushMessages(events)).toEqual([
      { fhirPush: "deleted", study: "1", at: 3 },
      { fhirPush: "changed", study: "2", at: 4 },
    ]);
  });
});

describe("queuePushes", () => {
  const events: StudyEvent[] = [{ study: "2.25.9201", change: "stored", at: 5 }];

  it("queues them on NOTIFICATIONS when the push is on", async () => {
    const { env: e, sent } = withQueue(PUSH_ENV);
    await queuePushes(events, e);
    expect(sent).toEqual([{ fhirPush: "changed", study: "2.25.9201", at: 5 }]);
  });

  it("queues nothing when it is off, and logs a half-set configuration", async () => {
    const off = withQueue({});
    await queuePushes(events, off.env);
    const half = withQueue({ FHIR_PUSH_URL: FHIR.base, FHIR_PUSH_TOKEN_URL: FHIR.tokenUrl });
    await queuePushes(events, half.env);
    expect([...off.sent, ...half.sent]).toEqual([]);
  });
});

describe("splitPushMessages", () => {
  it("takes the push messages out and leaves the notifications as a batch", () => {
    const push = message<FhirPushMessage>({ fhirPush: "changed", study: "1", at: 1 });
    const note = message<Notification>({ subscription: "s", study: "1", at: 1 });
    const batch = batchOf<Notification | FhirPushMessage>("q", [note, push]);
    const { pushes, rest } = splitPushMessages<Notification>(batch);
    expect(pushes).toEqual([push]);
    expect(rest.messages).toEqual([note]);
    expect(rest.queue).toBe("q");
    rest.ackAll();
    expect(note.acked).toBe(true);
    expect(push.acked).toBe(false);
  });
});

describe("onFhirPush", () => {
  const pushEnv = { ...env, ...PUSH_ENV } as Env;

  it("acks a push that went through, and one message per study", async () => {
    await stow("2.25.9202");
    const a = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9202", at: 1 });
    const b = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9202", at: 2 });
    await onFhirPush([a, b], pushEnv, 10);
    expect([a.acked, b.acked]).toEqual([true, true]);
    expect(await studiesOnServer("2.25.9202")).toHaveLength(1);
  });

  it("retries a failed push with the notifications' backoff, and gives up after PUSH_ATTEMPTS", async () => {
    await stow("2.25.9203");
    const wrong = { ...pushEnv, FHIR_PUSH_CLIENT_SECRET: "wrong" } as Env;
    const first = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9203", at: 1 });
    const again = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9203", at: 1 });
    const third = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9203", at: 1 }, 3);
    await onFhirPush([first, again], wrong, 10);
    await onFhirPush([third], wrong, 10);
    expect([first.retried, again.retried, third.retried]).toEqual([{ delaySeconds: 10 }, { delaySeconds: 10 }, { delaySeconds: 40 }]);
    const last = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9203", at: 1 }, PUSH_ATTEMPTS);
    await onFhirPush([last], wrong, 10);
    expect(last.acked).toBe(true);
    expect(last.retried).toBeUndefined();
    expect(await studiesOnServer("2.25.9203")).toEqual([]);
  });

  it("acks without retrying when the configuration is half set or gone", async () => {
    const half = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9204", at: 1 });
    await onFhirPush([half], { ...env, FHIR_PUSH_URL: FHIR.base, FHIR_PUSH_CLIENT_ID: "x" } as Env, 10);
    const off = message<FhirPushMessage>({ fhirPush: "changed", study: "2.25.9204", at: 1 });
    await onFhirPush([off], env as Env, 10);
    expect([half.acked, half.retried, off.acked, off.retried]).toEqual([true, undefined, true, undefined]);
  });
});

describe("the Worker's queue handler", () => {
  it("pushes the push messages of a NOTIFICATIONS batch", async () => {
    await stow("2.25.9205");
    const batch = createMessageBatch<FhirPushMessage>("dicom-edge-notifications", [{ id: "p1", timestamp: new Date(), attempts: 1, body: { fhirPush: "changed", study: "2.25.9205", at: 1 } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, ...PUSH_ENV } as Env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["p1"]);
    expect(await studiesOnServer("2.25.9205")).toHaveLength(1);
  });

  it("queues a push per study of a STUDY_EVENTS batch", async () => {
    const { env: e, sent } = withQueue(PUSH_ENV);
    const batch = createMessageBatch<StudyEvent>("dicom-edge-study-events", [{ id: "e1", timestamp: new Date(), attempts: 1, body: { study: "2.25.9206", change: "stored", at: 7 } }]);
    await worker.queue(batch, e);
    expect(sent).toEqual([{ fhirPush: "changed", study: "2.25.9206", at: 7 }]);
  });
});
