import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { copiedBody, InstanceCache } from "./cache";

const uids = { study: "1.2.3", series: "1.2.3.4", sop: "1.2.3.4.5" };
const layout = { transferSyntax: "1.2.840.10008.1.2.1", sopClass: "1.2.840.10008.5.1.4.1.1.2", datasetOffset: 4 };

async function text(body: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(body).text();
}

describe("InstanceCache", () => {
  it("keeps a copy written as it passes, with the layout a plan needs, and serves its data set", async () => {
    const cache = new InstanceCache(env.OBJECTS, "https://pacs.example/dicom-web");
    expect(await cache.layout(uids)).toBeNull();
    expect(await cache.dataset(uids)).toBeNull();
    const writer = cache.writer(uids, { ...layout, size: 11 });
    for (const part of ["HEAD", "data", "set"]) await writer.write(new TextEncoder().encode(part));
    await writer.close();
    expect(await cache.layout(uids)).toEqual({ ...layout, size: 11 });
    const dataset = await cache.dataset(uids);
    expect(dataset?.length).toBe(7);
    expect(await text(dataset!.body)).toBe("dataset");
  });

  it("keeps nothing of a copy that was aborted or fell short, and keeps upstreams apart", async () => {
    const cache = new InstanceCache(env.OBJECTS, "https://pacs.example/dicom-web");
    const other = { ...uids, sop: "1.2.3.4.6" };
    const aborted = cache.writer(other, { ...layout, size: 10 });
    await aborted.write(new TextEncoder().encode("HEAD"));
    await aborted.abort(new Error("client gone"));
    expect(await cache.layout(other)).toBeNull();
    const short = cache.writer(other, { ...layout, size: 10 });
    await short.write(new TextEncoder().encode("HEAD"));
    await short.close().catch(() => undefined);
    expect(await cache.layout(other)).toBeNull();
    expect((await env.OBJECTS.list({ prefix: "proxy-cache/" })).objects.every((o) => o.key.endsWith(`${uids.sop}.dcm`))).toBe(true);

    const elsewhere = new InstanceCache(env.OBJECTS, "https://other.example/dicom-web");
    const writer = elsewhere.writer(uids, { ...layout, size: 4 });
    await writer.write(new TextEncoder().encode("HEAD"));
    await writer.close();
    expect(await elsewhere.layout(uids)).toMatchObject({ size: 4 });
    expect(await new InstanceCache(env.OBJECTS, "https://third.example/dicom-web").layout(uids)).toBeNull();
  });

  it("keeps a copy of unknown size (a C-GET's instance) once its body ended, and nothing of one that broke off or was cancelled", async () => {
    const cache = new InstanceCache(env.OBJECTS, "dimse:agent/PACS");
    const source = async function* (fail: boolean) {
      yield new TextEncoder().encode("data");
      if (fail) throw new Error("association lost");
      yield new TextEncoder().encode("set");
    };
    const whole = { ...uids, sop: "1.2.3.4.7" };
    const passed = copiedBody(source(false), cache.writer(whole, layout), { head: new TextEncoder().encode("HEAD") });
    expect(await text(passed)).toBe("dataset");
    expect(await cache.layout(whole)).toEqual({ ...layout, size: 11 });
    expect(await text((await cache.dataset(whole))!.body)).toBe("dataset");

    const broken = { ...uids, sop: "1.2.3.4.8" };
    let released = false;
    const failing = copiedBody(source(true), cache.writer(broken, layout), { release: async () => void (released = true), failure: () => new Error("mapped") });
    await expect(text(failing)).rejects.toThrow("mapped");
    expect(released).toBe(true);
    expect(await cache.layout(broken)).toBeNull();

    const cancelled = copiedBody(source(false), cache.writer(broken, layout));
    const reader = cancelled.getReader();
    await reader.read();
    await reader.cancel();
    expect(await cache.layout(broken)).toBeNull();
  });
});
