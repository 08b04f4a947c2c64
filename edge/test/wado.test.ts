import { env, SELF } from "cloudflare:test";
import { encodePart10 } from "@dicom-edge/shared/dicom/testing/encode";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { multipartRelated } from "../src/dicomweb/multipart/content-type";
import { readMultipart } from "../src/dicomweb/multipart/reader";
import { CT, instance, multipart, STOW_TYPE } from "./instances";

const BASE = "http://edge.test/dicomweb";
const STUDY = "1.3.1";
const SERIES = "1.3.1.1";
const url = (sop: string, rest = "") => `${BASE}/studies/${STUDY}/series/${SERIES}/instances/${sop}${rest}`;

async function parts(res: Response) {
  const boundary = multipartRelated(res.headers.get("content-type"))!.boundary;
  const out: { type: string | null; bytes: Uint8Array }[] = [];
  for await (const part of readMultipart(res.body!, boundary)) {
    const chunks: Uint8Array[] = [];
    for await (const c of part.body) chunks.push(c.slice());
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) bytes.set(c, (at += c.byteLength) - c.byteLength);
    out.push({ type: part.headers.get("content-type"), bytes });
  }
  return out;
}

const mf = instance({ study: STUDY, series: SERIES, sop: "1.3.1.1.1", frames: 3 });
const deflated = instance({ study: STUDY, series: SERIES, sop: "1.3.1.1.2", frames: 2, transferSyntax: "1.2.840.10008.1.2.1.99" });
const jpeg2000 = encodePart10({
  transferSyntaxUID: "1.2.840.10008.1.2.4.90",
  sopClassUID: CT,
  sopInstanceUID: "1.3.1.1.3",
  elements: [
    { tag: 0x00080016, vr: "UI", value: CT },
    { tag: 0x00080018, vr: "UI", value: "1.3.1.1.3" },
    { tag: 0x0020000d, vr: "UI", value: STUDY },
    { tag: 0x0020000e, vr: "UI", value: SERIES },
    { tag: 0x00280004, vr: "CS", value: "MONOCHROME2" },
    { tag: 0x00280010, vr: "US", value: 4 },
    { tag: 0x00280011, vr: "US", value: 4 },
    { tag: 0x00280100, vr: "US", value: 16 },
    { tag: 0x7fe00010, vr: "OB", value: { fragments: [new Uint8Array([0xff, 0x4f, 0xff, 0x51, 1, 2, 3, 4])] } },
  ],
});

beforeAll(async () => {
  const res = await SELF.fetch(`${BASE}/studies`, { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart([mf, deflated, jpeg2000]) });
  expect(res.status).toBe(200);
});

/** Pixel k of frame f as the test instance writes it. */
function framePixels(f: number): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let k = 0; k < 16; k++) view.setUint16(k * 2, f * 1000 + k, true);
  return out;
}

describe("WADO-RS", () => {
  it("retrieves an instance as multipart/related application/dicom, the stored bytes", async () => {
    const res = await SELF.fetch(url("1.3.1.1.1"), { headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    const [part] = await parts(res);
    expect(part!.type).toBe("application/dicom; transfer-syntax=1.2.840.10008.1.2.1");
    expect(part!.bytes).toEqual(mf);
  });

  it("answers 406 for a media type or transfer syntax it cannot serve, with CORS", async () => {
    for (const accept of ["image/png", 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50', "application/dicom+json"]) {
      const res = await SELF.fetch(url("1.3.1.1.1"), { headers: { Accept: accept, Origin: "http://viewer.test" } });
      expect(res.status, accept).toBe(406);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      const body = (await res.json()) as Record<string, { Value: string[] }>[];
      expect(body[0]!["00000902"]!.Value[0]).toMatch(/not transcoded|not/);
    }
  });

  it("defaults to the stored bytes with no Accept or */*", async () => {
    for (const headers of [{}, { Accept: "*/*" }] as Record<string, string>[]) {
      const res = await SELF.fetch(url("1.3.1.1.2"), { headers });
      expect(res.status).toBe(200);
      const [part] = await parts(res);
      expect(part!.bytes).toEqual(deflated);
    }
  });

  it("answers a CORS preflight for a bearer token", async () => {
    const res = await SELF.fetch(url("1.3.1.1.1", "/metadata"), {
      method: "OPTIONS",
      headers: { Origin: "http://viewer.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("serves native frames, also of a deflated instance, named Explicit VR Little Endian", async () => {
    for (const sop of ["1.3.1.1.1", "1.3.1.1.2"]) {
      const res = await SELF.fetch(url(sop, "/frames/2,1"), { headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" } });
      expect(res.status, sop).toBe(200);
      const got = await parts(res);
      expect(got.map((p) => p.type)).toEqual(Array(2).fill("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"));
      expect(got[0]!.bytes).toEqual(framePixels(1));
      expect(got[1]!.bytes).toEqual(framePixels(0));
    }
  });

  it("serves an encapsulated frame as its compressed media type, and 400/404 for bad frame lists", async () => {
    const res = await SELF.fetch(url("1.3.1.1.3", "/frames/1"), { headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" } });
    const [frame] = await parts(res);
    expect(frame!.type).toBe("image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90");
    expect(frame!.bytes).toEqual(new Uint8Array([0xff, 0x4f, 0xff, 0x51, 1, 2, 3, 4]));
    expect((await SELF.fetch(url("1.3.1.1.1", "/frames/0"))).status).toBe(400);
    expect((await SELF.fetch(url("1.3.1.1.1", "/frames/a"))).status).toBe(400);
    expect((await SELF.fetch(url("1.3.1.1.1", "/frames/4"))).status).toBe(404);
  });

  it("serves metadata with BulkDataURIs absolute to the request's origin", async () => {
    const res = await SELF.fetch(`http://other.host:8080/dicomweb/studies/${STUDY}/metadata`);
    expect(res.status).toBe(200);
    const all = (await res.json()) as Record<string, { BulkDataURI?: string; Value?: unknown[] }>[];
    expect(all).toHaveLength(3);
    const first = all.find((m) => m["00080018"]!.Value![0] === "1.3.1.1.1")!;
    expect(first["7FE00010"]!.BulkDataURI).toBe(`http://other.host:8080/dicomweb/studies/${STUDY}/series/${SERIES}/instances/1.3.1.1.1/bulkdata/7FE00010`);
    expect(first["00091001"]!.Value).toEqual(["private value"]);
    const bulk = await SELF.fetch(first["7FE00010"]!.BulkDataURI!.replace("http://other.host:8080", "http://edge.test"), { headers: { Accept: "application/octet-stream" } });
    expect(bulk.headers.get("content-type")).toBe("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1");
    const bytes = new Uint8Array(await bulk.arrayBuffer());
    expect(bytes.byteLength).toBe(96);
    expect(bytes.subarray(32, 64)).toEqual(framePixels(1));
  });

  it("renders a frame as PNG and JPEG, and answers 406 for JPEG 2000", async () => {
    const png = await SELF.fetch(url("1.3.1.1.1", "/frames/2/rendered?window=1007,16"), { headers: { Accept: "image/png" } });
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect([...new Uint8Array(await png.arrayBuffer()).subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    const jpeg = await SELF.fetch(url("1.3.1.1.1", "/thumbnail"));
    expect(jpeg.headers.get("content-type")).toBe("image/jpeg");
    expect([...new Uint8Array(await jpeg.arrayBuffer()).subarray(0, 2)]).toEqual([0xff, 0xd8]);
    const study = await SELF.fetch(`${BASE}/studies/${STUDY}/thumbnail`, { headers: { Accept: "image/png" } });
    expect(study.status).toBe(200);
    const j2k = await SELF.fetch(url("1.3.1.1.3", "/rendered"));
    expect(j2k.status).toBe(406);
  });

  it("answers 404 for what is not stored", async () => {
    expect((await SELF.fetch(`${BASE}/studies/9.9.9`)).status).toBe(404);
    expect((await SELF.fetch(`${BASE}/studies/9.9.9/metadata`)).status).toBe(404);
    expect((await SELF.fetch(url("9.9", "/frames/1"))).status).toBe(404);
  });
});

describe("DELETE, health and the sweep", () => {
  it("deletes an instance, then the study: rows and objects together", async () => {
    const res = await SELF.fetch(url("1.3.1.1.3"), { method: "DELETE" });
    expect(res.status).toBe(204);
    expect((await SELF.fetch(url("1.3.1.1.3"))).status).toBe(404);
    const counts = await env.DB.prepare("SELECT instance_count AS n FROM studies WHERE study_uid = ?1").bind(STUDY).first();
    expect(counts).toEqual({ n: 2 });
    expect((await SELF.fetch(`${BASE}/studies/${STUDY}`, { method: "DELETE" })).status).toBe(204);
    expect((await env.OBJECTS.list({ prefix: `studies/${STUDY}/` })).objects).toHaveLength(0);
    for (const table of ["instances", "instance_metadata", "series", "studies", "patients"]) {
      expect(await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first(), table).toEqual({ n: 0 });
    }
    expect((await SELF.fetch(`${BASE}/studies/${STUDY}`, { method: "DELETE" })).status).toBe(404);
  });

  it("reports health: version, D1, R2 and agents", async () => {
    const res = await SELF.fetch("http://edge.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: env.VERSION, d1: { ok: true }, r2: { ok: true }, agents: { connected: 0, ids: [] } });
  });

  it("sweeps objects whose index commit never came", async () => {
    await env.OBJECTS.put("studies/orphan/x.dcm", "half");
    await env.DB.prepare("INSERT INTO pending_objects (object_key, created_at) VALUES ('studies/orphan/x.dcm', 0)").run();
    await env.OBJECTS.put("studies/fresh/y.dcm", "uploading");
    await env.DB.prepare("INSERT INTO pending_objects (object_key, created_at) VALUES ('studies/fresh/y.dcm', ?1)").bind(Date.now()).run();
    await worker.scheduled({ cron: "17 * * * *", scheduledTime: Date.now(), noRetry() {} } as ScheduledController, env);
    expect(await env.OBJECTS.head("studies/orphan/x.dcm")).toBeNull();
    expect(await env.OBJECTS.head("studies/fresh/y.dcm")).not.toBeNull();
    expect(await env.DB.prepare("SELECT object_key AS k FROM pending_objects").all().then((r) => r.results)).toEqual([{ k: "studies/fresh/y.dcm" }]);
  });
});
