import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { instance, multipart, STOW_TYPE } from "./instances";

type Dataset = Record<string, { vr: string; Value?: any[] }>;

async function post(body: Uint8Array, path = "/dicomweb/studies", contentType = STOW_TYPE()) {
  const res = await SELF.fetch(`http://edge.test${path}`, { method: "POST", headers: { "Content-Type": contentType }, body });
  const text = await res.text();
  return { res, body: (text ? JSON.parse(text) : undefined) as Dataset };
}

async function stored(study: string) {
  const rows = await env.DB.prepare("SELECT count(*) AS n FROM instances i JOIN studies s ON s.id = i.study_pk WHERE s.study_uid = ?1").bind(study).first<{ n: number }>();
  const objects = await env.OBJECTS.list({ prefix: `studies/${study}/` });
  return { rows: rows?.n ?? 0, objects: objects.objects.length };
}

async function nothingPending() {
  const pending = await env.DB.prepare("SELECT count(*) AS n FROM pending_objects").first<{ n: number }>();
  expect(pending?.n).toBe(0);
}

const reasons = (body: Dataset) => (body["00081198"]?.Value ?? []).map((item: Dataset) => item["00081197"]!.Value![0]);

describe("STOW-RS", () => {
  it("stores an instance: index rows in D1 and the same bytes in R2", async () => {
    const bytes = instance({ study: "1.2.1", sop: "1.2.1.1.1" });
    const { res, body } = await post(multipart([bytes]));
    expect(res.status).toBe(200);
    expect(body["00081190"]!.Value).toEqual(["http://edge.test/dicomweb/studies/1.2.1"]);
    const [item] = body["00081199"]!.Value!;
    expect(item["00081150"].Value).toEqual(["1.2.840.10008.5.1.4.1.1.2"]);
    expect(item["00081155"].Value).toEqual(["1.2.1.1.1"]);
    expect(item["00081190"].Value).toEqual(["http://edge.test/dicomweb/studies/1.2.1/series/1.2.1.1/instances/1.2.1.1.1"]);
    const row = await env.DB.prepare("SELECT object_key AS key, size FROM instances WHERE sop_uid = ?1").bind("1.2.1.1.1").first<{ key: string; size: number }>();
    expect(row!.size).toBe(bytes.byteLength);
    const object = await env.OBJECTS.get(row!.key);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes);
    const study = await env.DB.prepare("SELECT instance_count AS n, series_count AS s, modalities AS m, study_date AS d FROM studies WHERE study_uid = '1.2.1'").first();
    expect(study).toEqual({ n: 1, s: 1, m: "CT", d: "20240102" });
    await nothingPending();
  });

  it("accepts a single application/dicom body and an unquoted boundary", async () => {
    const single = await post(instance({ study: "1.2.2", sop: "1.2.2.1.1" }), "/dicomweb/studies", "application/dicom");
    expect(single.res.status).toBe(200);
    const unquoted = await post(multipart([instance({ study: "1.2.2", sop: "1.2.2.1.2" })], "abc-def"), "/dicomweb/studies", "multipart/related; type=application/dicom; boundary=abc-def");
    expect(unquoted.res.status).toBe(200);
    expect(await stored("1.2.2")).toEqual({ rows: 2, objects: 2 });
  });

  it("is idempotent: a re-sent instance keeps one row and one object", async () => {
    const bytes = instance({ study: "1.2.3", sop: "1.2.3.1.1" });
    for (let i = 0; i < 3; i++) expect((await post(multipart([bytes]))).res.status).toBe(200);
    const twice = await post(multipart([bytes, bytes]));
    expect(twice.res.status).toBe(200);
    expect(await stored("1.2.3")).toEqual({ rows: 1, objects: 1 });
    await nothingPending();
  });

  it("keeps the copy sent last when one request holds an instance twice, whichever upload ends first", async () => {
    // The first copy is the larger one, so its upload tends to end last.
    const first = instance({ study: "1.2.30", sop: "1.2.30.1.1", rows: 256, columns: 256, studyDate: "20200101" });
    const last = instance({ study: "1.2.30", sop: "1.2.30.1.1", studyDate: "20210101" });
    const { res } = await post(multipart([first, last]));
    expect(res.status).toBe(200);
    expect(await stored("1.2.30")).toEqual({ rows: 1, objects: 1 });
    const row = await env.DB.prepare("SELECT object_key AS key FROM instances WHERE sop_uid = '1.2.30.1.1'").first<{ key: string }>();
    expect(new Uint8Array(await (await env.OBJECTS.get(row!.key))!.arrayBuffer())).toEqual(last);
    await nothingPending();
  });

  it("stores many instances of one request, uploaded while the next are read, and answers them in request order", async () => {
    const sops = Array.from({ length: 12 }, (_, k) => `1.2.31.1.${k + 1}`);
    // Sizes vary, so uploads end out of order.
    const { res, body } = await post(multipart(sops.map((sop, k) => instance({ study: "1.2.31", sop, rows: k % 3 === 0 ? 128 : 4, columns: 128 }))));
    expect(res.status).toBe(200);
    expect(body["00081199"]!.Value!.map((item: Dataset) => item["00081155"]!.Value![0])).toEqual(sops);
    expect(await stored("1.2.31")).toEqual({ rows: 12, objects: 12 });
    await nothingPending();
  });

  it("moves an instance re-sent with another study, leaving no empty study behind", async () => {
    await post(multipart([instance({ study: "1.2.4", sop: "1.2.4.1.1" })]));
    await post(multipart([instance({ study: "1.2.5", sop: "1.2.4.1.1" })]));
    expect(await stored("1.2.4")).toEqual({ rows: 0, objects: 0 });
    expect(await stored("1.2.5")).toEqual({ rows: 1, objects: 1 });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM studies WHERE study_uid = '1.2.4'").first()).toEqual({ n: 0 });
  });

  it("fails a part that is not DICOM with 0xC000 and stores nothing", async () => {
    const { res, body } = await post(multipart([new TextEncoder().encode("this is not a DICOM file at all, not even close to 132 bytes long .................................................................")]));
    expect(res.status).toBe(409);
    expect(reasons(body)).toEqual([0xc000]);
    await nothingPending();
  });

  it("fails a truncated instance with 0xC000 and leaves no object", async () => {
    const bytes = instance({ study: "1.2.6", sop: "1.2.6.1.1", rows: 64, columns: 64 });
    const { res, body } = await post(multipart([bytes.subarray(0, bytes.byteLength - 100)]));
    expect(res.status).toBe(409);
    expect(reasons(body)).toEqual([0xc000]);
    expect(body["00081198"]!.Value![0]["00081155"].Value).toEqual(["1.2.6.1.1"]);
    expect(await stored("1.2.6")).toEqual({ rows: 0, objects: 0 });
    await nothingPending();
  });

  it("fails an instance without SOP Instance UID with 0xA900", async () => {
    const { res, body } = await post(multipart([instance({ study: "1.2.7", sop: "1.2.7.1.1", withoutSop: true })]));
    expect(res.status).toBe(409);
    expect(reasons(body)).toEqual([0xa900]);
    expect(await stored("1.2.7")).toEqual({ rows: 0, objects: 0 });
  });

  it("fails an instance of another study than the URL's with 0xA900, stores the rest (202)", async () => {
    const { res, body } = await post(multipart([instance({ study: "1.2.8", sop: "1.2.8.1.1" }), instance({ study: "1.2.9", sop: "1.2.9.1.1" })]), "/dicomweb/studies/1.2.8");
    expect(res.status).toBe(202);
    expect(reasons(body)).toEqual([0xa900]);
    expect(body["00081198"]!.Value![0]["00081155"].Value).toEqual(["1.2.9.1.1"]);
    expect(body["00081199"]!.Value).toHaveLength(1);
    expect(await stored("1.2.8")).toEqual({ rows: 1, objects: 1 });
    expect(await stored("1.2.9")).toEqual({ rows: 0, objects: 0 });
  });

  it("warns with 0xB000 when an indexed attribute had to be coerced", async () => {
    const { res, body } = await post(multipart([instance({ study: "1.2.10", sop: "1.2.10.1.1", studyDate: "2024-01-02" })]));
    expect(res.status).toBe(202);
    expect(body["00081199"]!.Value![0]["00081196"].Value).toEqual([0xb000]);
    expect(await stored("1.2.10")).toEqual({ rows: 1, objects: 1 });
  });

  it("stores nothing when the body has no closing boundary", async () => {
    const body = multipart([instance({ study: "1.2.11", sop: "1.2.11.1.1" }), instance({ study: "1.2.11", sop: "1.2.11.1.2" })], "b0undary", false);
    const { res } = await post(body.subarray(0, body.byteLength - 50));
    expect(res.status).toBe(400);
    expect(await stored("1.2.11")).toEqual({ rows: 0, objects: 0 });
    await nothingPending();
  });

  it("answers 415 for a content type it does not store", async () => {
    for (const type of ["application/json", "multipart/related; type=\"application/dicom+json\"; boundary=x", "text/plain"]) {
      const { res, body } = await post(new Uint8Array([1, 2, 3]), "/dicomweb/studies", type);
      expect(res.status).toBe(415);
      expect(body[0 as any]).toBeDefined();
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
    }
  });

  it("answers 400 for a body without any part", async () => {
    const { res } = await post(new TextEncoder().encode("--b0undary--\r\n"));
    expect(res.status).toBe(400);
  });

  it("streams a large instance to R2 as a multipart upload", async () => {
    const bytes = instance({ study: "1.2.12", sop: "1.2.12.1.1", rows: 1024, columns: 1024, frames: 10 }); // ~20 MiB
    expect(bytes.byteLength).toBeGreaterThan(2 * 8 * 1024 * 1024);
    const { res } = await post(multipart([bytes]));
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT object_key AS key FROM instances WHERE sop_uid = '1.2.12.1.1'").first<{ key: string }>();
    const object = await env.OBJECTS.get(row!.key);
    // Compared by digest: a deep equality of 20 MiB would cost the test runner gigabytes.
    expect(await digest(new Uint8Array(await object!.arrayBuffer()))).toBe(await digest(bytes));
  });
});

async function digest(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
