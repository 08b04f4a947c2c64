// FHIR R4 Subscription: the REST endpoints, the archive's study change
// reports, the two queue consumers (called directly), and the whole path
// through the Worker's real queues to a real HTTP receiver (hook-receiver.ts).
import { createExecutionContext, createMessageBatch, env, getQueueResult, SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { storeOutcome } from "../src/agents/operations";
import { Archive } from "../src/archive/archive";
import type { StudyChange, StudyEvent } from "../src/archive/study-events";
import { backendFor } from "../src/backends/select";
import { FAILURE_LIMIT } from "../src/fhir/subscription/deliver";
import { onNotifications, onStudyEvents, type Notification, type RenderStudy } from "../src/fhir/subscription/notify";
import worker from "../src/index";
import { instance, multipart, STOW_TYPE } from "./instances";
import { batchOf, fakeQueue, message } from "./queues";

const HOOKS = inject("hookBase");
const BASE = "http://edge.test";
type Json = Record<string, any>;

const hook = (name: string) => `${HOOKS}/hooks/${name}`;
async function received(name: string): Promise<{ headers: Record<string, string>; body: string; status: number }[]> {
  return (await fetch(`${HOOKS}/received/${name}`)).json();
}
async function plan(name: string, fail: number, status = 500): Promise<void> {
  await fetch(`${HOOKS}/plans/${name}`, { method: "PUT", body: JSON.stringify({ fail, status }) });
}
/** Polls until `done` holds or the deadline passes (then fails with what it saw). */
async function until<T>(what: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await what();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function subscription(overrides: Json = {}, channel: Json = {}): Json {
  return {
    resourceType: "Subscription",
    status: "requested",
    reason: "tests",
    criteria: "ImagingStudy",
    ...overrides,
    channel: { type: "rest-hook", endpoint: hook("default"), payload: "application/fhir+json", ...channel },
  };
}

async function create(body: unknown, contentType = "application/fhir+json") {
  const res = await SELF.fetch(`${BASE}/fhir/Subscription`, { method: "POST", headers: { "Content-Type": contentType }, body: JSON.stringify(body) });
  return { res, body: (await res.json()) as Json };
}

async function get(path: string) {
  const res = await SELF.fetch(`${BASE}${path}`);
  return { res, body: (await res.json()) as Json };
}

function expectOutcome(res: Response, body: Json, status: number, diagnostics: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/fhir\+json/);
  expect(body.resourceType).toBe("OperationOutcome");
  expect(body.issue[0].diagnostics).toMatch(diagnostics);
}

describe("Subscription REST", () => {
  it("creates: 201, Location, status active, server id and meta", async () => {
    const { res, body } = await create(subscription({ id: "mine", criteria: "ImagingStudy?modality=CT" }, { header: ["Authorization: Bearer t"] }));
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/fhir\+json/);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("Location")).toBe(`${BASE}/fhir/Subscription/${body.id}`);
    expect(body).toMatchObject({ resourceType: "Subscription", status: "active", reason: "tests", criteria: "ImagingStudy?modality=CT" });
    // The receiver's credentials are kept for the deliveries, never shown again.
    expect(body.channel).toEqual({ type: "rest-hook", endpoint: hook("default"), payload: "application/fhir+json", header: ["Authorization: ***"] });
    expect(JSON.stringify(body)).not.toContain("Bearer t");
    expect(Date.parse(body.meta.lastUpdated)).toBeGreaterThan(Date.now() - 60_000);

    const read = await get(`/fhir/Subscription/${body.id}`);
    expect(read.res.status).toBe(200);
    expect(read.body).toEqual(body);
  });

  it("searches by status, url and criteria, with paging", async () => {
    const a = (await create(subscription({}, { endpoint: hook("search-a") }))).body;
    const b = (await create(subscription({ status: "off", criteria: "ImagingStudy?modality=MR" }, { endpoint: hook("search-b") }))).body;
    const byUrl = await get(`/fhir/Subscription?url=${encodeURIComponent(hook("search-a"))}`);
    expect(byUrl.res.status).toBe(200);
    expect(byUrl.body).toMatchObject({ resourceType: "Bundle", type: "searchset", total: 1 });
    expect(byUrl.body.entry).toEqual([{ fullUrl: `${BASE}/fhir/Subscription/${a.id}`, resource: a, search: { mode: "match" } }]);
    const off = await get("/fhir/Subscription?status=off");
    expect(off.body.entry.map((e: Json) => e.resource.id)).toEqual([b.id]);
    const both = await get("/fhir/Subscription?status=active,off&criteria=imagingstudy?modality=m");
    expect(both.body.total).toBe(1);
    const none = await get(`/fhir/Subscription?url=${encodeURIComponent(hook("nowhere"))}`);
    expect(none.body.total).toBe(0);
    expect(none.body).not.toHaveProperty("entry");

    const all = await get("/fhir/Subscription");
    const page = await get("/fhir/Subscription?_count=1");
    expect(page.body.total).toBe(all.body.total);
    expect(page.body.entry).toHaveLength(1);
    const next = page.body.link.find((l: Json) => l.relation === "next");
    expect(next.url).toContain("_offset=1");
    const second = await get(new URL(next.url).pathname + new URL(next.url).search);
    expect(second.body.entry[0].resource.id).toBe(all.body.entry[1].resource.id);
  });

  it("deletes: 204, then 404", async () => {
    const { body } = await create(subscription());
    const gone = await SELF.fetch(`${BASE}/fhir/Subscription/${body.id}`, { method: "DELETE" });
    expect(gone.status).toBe(204);
    const read = await get(`/fhir/Subscription/${body.id}`);
    expectOutcome(read.res, read.body, 404, /no Subscription/);
    const again = await SELF.fetch(`${BASE}/fhir/Subscription/${body.id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(((await again.json()) as Json).resourceType).toBe("OperationOutcome");
  });

  it.each([
    [subscription({ reason: undefined }), /reason is required/],
    [subscription({ criteria: "Patient" }), /ImagingStudy/],
    [subscription({ criteria: "ImagingStudy?bodysite=head" }), /unknown search parameter "bodysite"/],
    [subscription({}, { type: "email" }), /only rest-hook/],
    [subscription({}, { endpoint: "http://hooks.example/x" }), /https/],
    [subscription({}, { header: ["X-A: 1\r\nX-B: 2"] }), /control characters/],
    [subscription({ resourceType: "Patient" }), /resourceType/],
  ])("refuses an invalid Subscription with 400 and an OperationOutcome (%#)", async (body, diagnostics) => {
    const { res, body: outcome } = await create(body);
    expectOutcome(res, outcome, 400, diagnostics);
  });

  it("refuses what is not FHIR JSON, unknown search parameters and other methods", async () => {
    const text = await create(subscription(), "text/plain");
    expectOutcome(text.res, text.body, 415, /Content-Type/);
    const broken = await SELF.fetch(`${BASE}/fhir/Subscription`, { method: "POST", headers: { "Content-Type": "application/fhir+json" }, body: "{" });
    expectOutcome(broken, (await broken.json()) as Json, 400, /not JSON/);
    const unknown = await get("/fhir/Subscription?name=x");
    expectOutcome(unknown.res, unknown.body, 400, /"name" is not a supported/);
    const put = await SELF.fetch(`${BASE}/fhir/Subscription/abc`, { method: "PUT", headers: { "Content-Type": "application/fhir+json" }, body: "{}" });
    expectOutcome(put, (await put.json()) as Json, 405, /not supported/);
    const xml = await get("/fhir/Subscription?_format=xml");
    expect(xml.res.status).toBe(406);
  });
});

/** Stores instances through the archive with a reporter that records what it is told. */
function recordingArchive() {
  const reports: StudyChange[][] = [];
  const archive = new Archive(env.DB, env.OBJECTS, async (changes) => void reports.push(changes));
  const store = async (...parts: Uint8Array[]) => {
    const tx = archive.store();
    for (const part of parts) {
      const outcome = await tx.add(
        (async function* () {
          yield part;
        })(),
        {},
      );
      expect(outcome.ok).toBe(true);
    }
    await tx.commit();
    return reports.pop();
  };
  return { archive, store, reports };
}

describe("study changes", () => {
  it("reports a study once per commit that changes it, not for an identical re-send", async () => {
    const { store } = recordingArchive();
    const first = instance({ study: "2.25.1001", sop: "2.25.1001.1" });
    const second = instance({ study: "2.25.1001", sop: "2.25.1001.2" });
    expect(await store(first, second)).toEqual([{ study: "2.25.1001", change: "stored" }]);
    expect(await store(first)).toEqual([]);
    expect(await store(first, second)).toEqual([]);
    // The same SOP Instance with other attributes is a change.
    expect(await store(instance({ study: "2.25.1001", sop: "2.25.1001.1", studyDate: "20240303" }))).toEqual([{ study: "2.25.1001", change: "stored" }]);
    // Moved to another study: both change.
    const moved = await store(instance({ study: "2.25.1002", sop: "2.25.1001.2" }));
    expect(moved?.map((c) => c.study).sort()).toEqual(["2.25.1001", "2.25.1002"]);
  });

  it("reports deletes with the study as it was", async () => {
    const { archive, store, reports } = recordingArchive();
    await store(instance({ study: "2.25.1003", sop: "2.25.1003.1" }), instance({ study: "2.25.1003", series: "2.25.1003.9", sop: "2.25.1003.2" }));
    expect(await archive.delete({ study: "2.25.1003", series: "2.25.1003.9" })).toBe(1);
    const [partial] = reports.splice(0);
    expect(partial).toHaveLength(1);
    expect(partial![0]).toMatchObject({ study: "2.25.1003", change: "deleted" });
    expect(partial![0]!.before!["00201208"]!.Value).toEqual([2]);
    expect(await archive.delete({ study: "2.25.1003" })).toBe(1);
    const [whole] = reports.splice(0);
    expect(whole![0]!.before!["0020000D"]!.Value).toEqual(["2.25.1003"]);
    expect(whole![0]!.before!["00100020"]!.Value).toEqual(["PID-1"]);
    // Nothing deleted, nothing reported.
    expect(await archive.delete({ study: "2.25.1003" })).toBe(0);
    expect(reports).toEqual([]);
  });
});

async function subscribe(name: string, criteria = "ImagingStudy", overrides: Json = {}, channel: Json = {}): Promise<string> {
  const { res, body } = await create(subscription({ criteria, ...overrides }, { endpoint: hook(name), ...channel }));
  expect(res.status).toBe(201);
  return body.id;
}

describe("study events consumer", () => {
  beforeEach(async () => {
    await env.DB.prepare("DELETE FROM subscriptions").run();
  });

  it("queues one notification per matching active Subscription and study", async () => {
    const { store } = recordingArchive();
    await store(instance({ study: "2.25.2001", sop: "2.25.2001.1", patientId: "PAT-A" }));
    const all = await subscribe("ev-all");
    const ct = await subscribe("ev-ct", "ImagingStudy?modality=CT&patient=Patient/PAT-A");
    await subscribe("ev-mr", "ImagingStudy?modality=MR");
    await subscribe("ev-other", "ImagingStudy?patient=Patient/PAT-B");
    await subscribe("ev-off", "ImagingStudy", { status: "off" });
    await subscribe("ev-ended", "ImagingStudy", { end: "2020-01-01T00:00:00Z" });
    const { queue, sent } = fakeQueue<Notification>();
    const at = Date.now();
    // Two changes of one study in a batch are one change.
    const events = [message<StudyEvent>({ study: "2.25.2001", change: "stored", at }), message<StudyEvent>({ study: "2.25.2001", change: "stored", at: at + 1 })];
    await onStudyEvents(batchOf("dicom-edge-study-events", events), backendFor(env), env.DB, queue);
    expect(sent.map((n) => n.subscription).sort()).toEqual([all, ct].sort());
    expect(sent.every((n) => n.study === "2.25.2001" && n.at === at + 1)).toBe(true);
  });

  it("matches a deleted study as it was, and skips one that is gone without a trace", async () => {
    const mr = await subscribe("ev-del", "ImagingStudy?modality=MR");
    const { queue, sent } = fakeQueue<Notification>();
    const before = { "0020000D": { vr: "UI", Value: ["2.25.2002"] }, "00080061": { vr: "CS", Value: ["MR"] } };
    await onStudyEvents(
      batchOf("dicom-edge-study-events", [message<StudyEvent>({ study: "2.25.2002", change: "deleted", at: 1, before }), message<StudyEvent>({ study: "2.25.2003", change: "stored", at: 1 })]),
      backendFor(env),
      env.DB,
      queue,
    );
    expect(sent).toEqual([{ subscription: mr, study: "2.25.2002", at: 1 }]);
  });
});

describe("notifications consumer", () => {
  const resource = { resourceType: "ImagingStudy", id: "2.25.3001" };
  const render: RenderStudy = async (study) => (study === "2.25.3001" ? resource : null);
  const state = (id: string) =>
    env.DB.prepare("SELECT status, error, failure_count AS failures FROM subscriptions WHERE id = ?1").bind(id).first<{ status: string; error: string | null; failures: number }>();

  it("POSTs the resource with the channel's headers and acks", async () => {
    const id = await subscribe("n-ok", "ImagingStudy", {}, { header: ["Authorization: Bearer secret", "X-Tenant: a b"] });
    const m = message<Notification>({ subscription: id, study: "2.25.3001", at: 1 });
    await onNotifications(batchOf("dicom-edge-notifications", [m]), env.DB, render, 10);
    expect(m.acked).toBe(true);
    const [got] = await received("n-ok");
    expect(got!.headers["content-type"]).toBe("application/fhir+json");
    expect(got!.headers["authorization"]).toBe("Bearer secret");
    expect(got!.headers["x-tenant"]).toBe("a b");
    expect(JSON.parse(got!.body)).toEqual(resource);
  });

  it("sends an empty body without a payload, and for a study that is gone", async () => {
    const empty = await subscribe("n-empty", "ImagingStudy", {}, { payload: undefined });
    const full = await subscribe("n-gone");
    const messages = [message<Notification>({ subscription: empty, study: "2.25.3001", at: 1 }), message<Notification>({ subscription: full, study: "2.25.9999", at: 1 })];
    await onNotifications(batchOf("dicom-edge-notifications", messages), env.DB, render, 10);
    expect(messages.every((m) => m.acked)).toBe(true);
    expect((await received("n-empty")).map((r) => r.body)).toEqual([""]);
    expect((await received("n-gone")).map((r) => r.body)).toEqual([""]);
  });

  it("retries a failure with backoff, and a success clears the failures", async () => {
    const id = await subscribe("n-retry");
    await plan("n-retry", 2, 503);
    for (const attempt of [1, 2]) {
      const m = message<Notification>({ subscription: id, study: "2.25.3001", at: 1 }, attempt);
      await onNotifications(batchOf("dicom-edge-notifications", [m]), env.DB, render, 10);
      expect(m.acked).toBe(false);
      expect(m.retried).toEqual({ delaySeconds: 10 * 2 ** (attempt - 1) });
      expect(await state(id)).toEqual({ status: "active", error: "the endpoint answered HTTP 503 Service Unavailable", failures: attempt });
    }
    const m = message<Notification>({ subscription: id, study: "2.25.3001", at: 1 }, 3);
    await onNotifications(batchOf("dicom-edge-notifications", [m]), env.DB, render, 10);
    expect(m.acked).toBe(true);
    expect(await state(id)).toEqual({ status: "active", error: null, failures: 0 });
    expect((await received("n-retry")).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it(`sets status error with the last error after ${FAILURE_LIMIT} failures, then sends nothing`, async () => {
    const id = await subscribe("n-dead");
    await plan("n-dead", -1, 500);
    for (let attempt = 1; attempt <= FAILURE_LIMIT; attempt++) {
      const m = message<Notification>({ subscription: id, study: "2.25.3001", at: 1 }, attempt);
      await onNotifications(batchOf("dicom-edge-notifications", [m]), env.DB, render, 10);
      expect(attempt < FAILURE_LIMIT ? m.retried : m.acked).toBeTruthy();
    }
    const { body } = await get(`/fhir/Subscription/${id}`);
    expect(body.status).toBe("error");
    expect(body.error).toBe("the endpoint answered HTTP 500 Internal Server Error");
    const later = message<Notification>({ subscription: id, study: "2.25.3001", at: 1 });
    await onNotifications(batchOf("dicom-edge-notifications", [later]), env.DB, render, 10);
    expect(later.acked).toBe(true);
    expect(await received("n-dead")).toHaveLength(FAILURE_LIMIT);
    const search = await get("/fhir/Subscription?status=error");
    expect(search.body.entry.map((e: Json) => e.resource.id)).toContain(id);
  });

  // workerd logs the refused connection ("Network connection lost") even though the fetch's rejection is handled.
  it("counts an unreachable endpoint as a failure", async () => {
    const id = await subscribe("n-unreachable", "ImagingStudy", {}, { endpoint: "http://127.0.0.1:9/nothing-listens" });
    const m = message<Notification>({ subscription: id, study: "2.25.3001", at: 1 });
    await onNotifications(batchOf("dicom-edge-notifications", [m]), env.DB, render, 10);
    expect(m.retried).toEqual({ delaySeconds: 10 });
    expect((await state(id))!.error).toMatch(/could not be reached/);
  });

  it("drops notifications of deleted Subscriptions", async () => {
    const m = message<Notification>({ subscription: "no-such-subscription", study: "2.25.3001", at: 1 });
    await onNotifications(batchOf("dicom-edge-notifications", [m]), env.DB, render, 10);
    expect(m.acked).toBe(true);
  });

  it("runs as the Worker's queue handler", async () => {
    const id = await subscribe("n-handler");
    const batch = createMessageBatch<Notification>("dicom-edge-notifications", [{ id: "m1", timestamp: new Date(), attempts: 1, body: { subscription: id, study: "2.25.3001", at: 1 } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(await received("n-handler")).toHaveLength(1);
  });
});

describe("through the Worker's queues", () => {
  beforeEach(async () => {
    await env.DB.prepare("DELETE FROM subscriptions").run();
  });

  const stow = async (...parts: Uint8Array[]) => {
    const res = await SELF.fetch(`${BASE}/dicomweb/studies`, { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart(parts) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };

  it("notifies one change per STOW-RS, delete and C-STORE, and retries a failing receiver", async () => {
    const id = await subscribe("live", "ImagingStudy?modality=CT");
    const bytes = instance({ study: "2.25.4001", sop: "2.25.4001.1" });
    await stow(bytes, instance({ study: "2.25.4001", sop: "2.25.4001.2" }));
    const [first] = await until(() => received("live"), (r) => r.length >= 1);
    expect(JSON.parse(first!.body)).toMatchObject({ resourceType: "ImagingStudy" });

    // The receiver fails twice: the third attempt delivers.
    await plan("live", 2, 502);
    await stow(instance({ study: "2.25.4001", sop: "2.25.4001.3" }));
    const retried = await until(() => received("live"), (r) => r.length >= 4);
    expect(retried.map((r) => r.status)).toEqual([200, 502, 502, 200]);
    const { body } = await get(`/fhir/Subscription/${id}`);
    expect(body.status).toBe("active");
    expect(body).not.toHaveProperty("error");

    const deleted = await SELF.fetch(`${BASE}/dicomweb/studies/2.25.4001`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    const last = await until(() => received("live"), (r) => r.length >= 5);
    expect(last[4]!.body).toBe("");

    // C-STORE at the agent lands in the same archive code, and so is one change too.
    const outcome = await storeOutcome(
      backendFor(env),
      (async function* () {
        yield instance({ study: "2.25.4002", sop: "2.25.4002.1" });
      })(),
    );
    expect(outcome.status).toBe(0);
    const stored = await until(() => received("live"), (r) => r.length >= 6);
    expect(JSON.parse(stored[5]!.body)).toMatchObject({ resourceType: "ImagingStudy", id: "2.25.4002" });
  }, 60_000);
});
