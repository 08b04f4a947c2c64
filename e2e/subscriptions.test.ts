// FHIR R4 Subscriptions on the real stack (wrangler dev, its local queues):
// a rest-hook receiver started here on loopback sees one notification per
// study change (STOW-RS, delete; an identical re-send is no change), the
// edge retries when it fails, and a receiver that always fails turns the
// Subscription to status error. The stack is shared with the other e2e
// files, so every Subscription here is limited to this file's own patients.
import { Fhir } from "fhir";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startHookReceiver, type HookReceiver, type Received } from "../edge/test/hook-receiver";
import { ctInstance, randomUid } from "./data/instances";
import { stow } from "./dicomweb";
import { subscribe as subscribeAt, until } from "./notifications";

const base = inject("base");
/** Study events wait up to 2 s for a batch, notifications 1 s (wrangler.toml): a change is delivered well within this. */
const QUIET_MS = 5_000;

let receiver: HookReceiver;
const created: string[] = [];

beforeAll(async () => {
  receiver = await startHookReceiver();
});
afterAll(async () => {
  for (const id of created) await fetch(`${base}/fhir/Subscription/${id}`, { method: "DELETE" });
  await receiver?.close();
});

const uid = randomUid;

function ct(patientId: string, study: string, sop: string, description = "subscription e2e"): Uint8Array {
  return ctInstance({ patientId, patientName: "Hook^Test", study, series: `${study}.1`, sop, description });
}

async function store(...instances: Uint8Array[]): Promise<void> {
  const res = await stow(base, instances);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

/** A Subscription to this patient's studies, notifying hook `name`; returns its id. */
async function subscribe(name: string, patientId: string): Promise<string> {
  const id = await subscribeAt(base, `ImagingStudy?patient=Patient/${patientId}&modality=CT`, receiver.url(name));
  created.push(id);
  return id;
}

/** The Subscription as the edge serves it, checked against the R4 definitions each time it is read. */
async function subscription(id: string): Promise<{ status: string; error?: string }> {
  const resource = (await (await fetch(`${base}/fhir/Subscription/${id}`)).json()) as { resourceType: string; status: string; error?: string };
  const errors = validator.validate(resource, { errorOnUnexpected: true }).messages.filter((m) => m.severity === "error" || m.severity === "fatal");
  expect(errors, JSON.stringify(errors)).toEqual([]);
  return resource;
}

const validator = new Fhir();

const notifications = (hook: string, n: number) => until(() => receiver.received(hook), (r) => r.length >= n);

/** Waits QUIET_MS and checks that nothing more came. */
async function noMore(hook: string, n: number): Promise<void> {
  await new Promise((r) => setTimeout(r, QUIET_MS));
  expect(receiver.received(hook)).toHaveLength(n);
}

const resourceOf = (r: Received) => JSON.parse(r.body) as { resourceType: string; id: string; numberOfInstances: number; description?: string; subject: { reference: string } };

// Each test has its own patient and hook: they run side by side (about 30 s, not 60).
describe.concurrent("FHIR Subscription rest-hook", () => {
  it("one notification per study change: STOW-RS, a change, delete; none for an identical re-send", async () => {
    const patient = `SUBS-${crypto.randomUUID().slice(0, 8)}`;
    await subscribe("changes", patient);
    const study = uid();
    const first = ct(patient, study, `${study}.1.1`);

    await store(first, ct(patient, study, `${study}.1.2`));
    const [created] = await notifications("changes", 1);
    expect(created!.headers["content-type"]).toBe("application/fhir+json");
    expect(created!.headers["authorization"]).toBe("Bearer e2e-hook-secret");
    expect(resourceOf(created!)).toMatchObject({ resourceType: "ImagingStudy", id: study, numberOfInstances: 2, subject: { reference: `Patient/${patient}` } });

    // The same instance again: stored idempotently, nothing changed, nothing sent.
    await store(first);
    await noMore("changes", 1);

    // The same SOP Instance with other attributes is a change of the study.
    await store(ct(patient, study, `${study}.1.1`, "corrected"));
    const changed = await notifications("changes", 2);
    expect(resourceOf(changed[1]!)).toMatchObject({ id: study, numberOfInstances: 2, description: "corrected" });

    const deleted = await fetch(`${base}/dicomweb/studies/${study}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    const gone = await notifications("changes", 3);
    // R4 rest-hook: the resource no longer exists, so the notification has no body.
    expect(gone[2]!.body).toBe("");
    await noMore("changes", 3);
    expect(receiver.received("changes").map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it("retries with backoff when the receiver fails, then delivers", async () => {
    const patient = `SUBS-${crypto.randomUUID().slice(0, 8)}`;
    const id = await subscribe("flaky", patient);
    receiver.plan("flaky", { fail: 2, status: 503 });
    const study = uid();
    await store(ct(patient, study, `${study}.1.1`));
    const got = await notifications("flaky", 3);
    expect(got.map((r) => r.status)).toEqual([503, 503, 200]);
    // SUBSCRIPTION_RETRY_BASE_SECONDS=1 (e2e/stack.ts): 1 s, then 2 s.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(900);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(1900);
    expect(resourceOf(got[2]!).id).toBe(study);
    expect(await subscription(id)).toMatchObject({ status: "active" });
    expect(await subscription(id)).not.toHaveProperty("error");
    await noMore("flaky", 3);
  });

  it("a receiver that always fails turns the Subscription to status error, with the error", async () => {
    const patient = `SUBS-${crypto.randomUUID().slice(0, 8)}`;
    const id = await subscribe("down", patient);
    receiver.plan("down", { fail: -1, status: 500 });
    const study = uid();
    await store(ct(patient, study, `${study}.1.1`));
    const failed = await until(() => subscription(id), (s) => s.status === "error", 45_000);
    expect(failed.error).toBe("the endpoint answered HTTP 500 Internal Server Error");
    // Five attempts (1 + retries after 1, 2, 4, 8 s), then no more.
    expect(receiver.received("down")).toHaveLength(5);
    const search = (await (await fetch(`${base}/fhir/Subscription?status=error&url=${encodeURIComponent(receiver.url("down"))}`)).json()) as { total: number };
    expect(search.total).toBe(1);
    // In error it is notified no more.
    await store(ct(patient, study, `${study}.1.2`));
    await noMore("down", 5);
  });
});
