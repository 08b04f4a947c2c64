// What the edge does in the background (queues, retries, FHIR Subscription
// notifications): a Subscription to be told, and a poll until it happened.
import { startHookReceiver } from "../edge/test/hook-receiver";

/** Polls `what` every 100 ms until `done` holds; fails after `ms` with its last value. */
export async function until<T>(what: () => T | Promise<T>, done: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await what();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms; last: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A FHIR R4 rest-hook Subscription at `base` (POST /fhir/Subscription), active at once; its id. */
export async function subscribe(base: string, criteria: string, endpoint: string): Promise<string> {
  const res = await fetch(`${base}/fhir/Subscription`, {
    method: "POST",
    headers: { "Content-Type": "application/fhir+json" },
    body: JSON.stringify({
      resourceType: "Subscription",
      status: "requested",
      reason: "e2e",
      criteria,
      channel: { type: "rest-hook", endpoint, payload: "application/fhir+json", header: ["Authorization: Bearer e2e-hook-secret"] },
    }),
  });
  if (res.status !== 201) throw new Error(`POST /fhir/Subscription answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { id: string; status: string };
  if (body.status !== "active") throw new Error(`the Subscription is ${body.status}, not active`);
  return body.id;
}

/**
 * What a rest-hook Subscription to `patientId`'s studies at `base` is sent
 * once `store` stored a new study of that patient: the first notification's
 * resource. The Subscription and its receiver go again afterwards.
 */
export async function notificationOfStore(base: string, patientId: string, store: () => Promise<void>): Promise<{ resourceType: string; id: string; numberOfInstances: number }> {
  const receiver = await startHookReceiver();
  try {
    const id = await subscribe(base, `ImagingStudy?patient=Patient/${patientId}`, receiver.url("store"));
    try {
      await store();
      const [notified] = await until(() => receiver.received("store"), (r) => r.length >= 1);
      return JSON.parse(notified!.body) as { resourceType: string; id: string; numberOfInstances: number };
    } finally {
      await fetch(`${base}/fhir/Subscription/${id}`, { method: "DELETE" });
    }
  } finally {
    await receiver.close();
  }
}
