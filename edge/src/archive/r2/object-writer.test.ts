import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ObjectWriter } from "./object-writer";

describe("ObjectWriter ready gate", () => {
  it("uploads nothing before `ready` settles, then the whole object", async () => {
    let open!: () => void;
    const ready = new Promise<void>((resolve) => (open = resolve));
    const writer = new ObjectWriter(env.OBJECTS, "gate/ok", ready);
    await writer.write(new Uint8Array([1, 2, 3]));
    const closing = writer.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await env.OBJECTS.head("gate/ok")).toBeNull();
    open();
    await closing;
    expect(new Uint8Array(await (await env.OBJECTS.get("gate/ok"))!.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("a rejected `ready` fails the upload, and abort leaves nothing", async () => {
    const writer = new ObjectWriter(env.OBJECTS, "gate/failed", Promise.reject(new Error("pending row not written")));
    await writer.write(new Uint8Array(16));
    await expect(writer.close()).rejects.toThrow("pending row not written");
    await writer.abort();
    expect(await env.OBJECTS.head("gate/failed")).toBeNull();
  });
});
