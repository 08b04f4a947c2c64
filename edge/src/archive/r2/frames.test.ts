import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { frames } from "./frames";

async function collect(source: AsyncIterable<Uint8Array>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const frame of source) sizes.push(frame.byteLength);
  return sizes;
}

describe("frames", () => {
  const bytes = new Uint8Array(600_000).map((_, i) => (i * 31) & 0xff);

  it("reads an R2 body in frames of the given size, the last one shorter, bytes unchanged", async () => {
    await env.OBJECTS.put("test/frames", bytes);
    const object = await env.OBJECTS.get("test/frames");
    const out: Uint8Array[] = [];
    for await (const frame of frames(object!.body, 256 * 1024)) out.push(frame);
    expect(out.map((f) => f.byteLength)).toEqual([262_144, 262_144, 75_712]);
    const joined = new Uint8Array(bytes.length);
    let at = 0;
    for (const f of out) (joined.set(f, at), (at += f.byteLength));
    expect(joined).toEqual(bytes);
    await env.OBJECTS.delete("test/frames");
  });

  it("joins the chunks of a stream that is not a byte stream", async () => {
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 300_000), bytes.subarray(300_000)];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });
    expect(await collect(frames(body, 256 * 1024))).toEqual([299_000 + 1000, 300_000]);
  });

  it("cancels the stream when the consumer leaves early", async () => {
    let cancelled = false;
    const body = new ReadableStream({
      type: "bytes",
      pull(controller) {
        controller.enqueue(new Uint8Array(64 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const frame of frames(body, 128 * 1024)) {
      expect(frame.byteLength).toBe(128 * 1024);
      break;
    }
    expect(cancelled).toBe(true);
  });
});
