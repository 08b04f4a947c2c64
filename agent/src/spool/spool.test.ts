import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Status } from "@dicom-edge/shared/dicom/status";
import { backToBack, type BackToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { instanceKey, Spool } from "./spool";

const text = new TextDecoder();
async function* bytesOf(value: string) {
  yield new TextEncoder().encode(value);
}

let dir: string | undefined;
let tunnel: BackToBack | undefined;
let spool: Spool | undefined;
afterEach(async () => {
  await spool?.stop();
  tunnel?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  spool = tunnel = dir = undefined;
});

/**
 * A spool draining into an edge that answers each store with `answer(body)`
 * after `delay(body)` ms, recording what it received and how many stores
 * of the same body prefix ("<sop>:") ran at once.
 */
async function start(answer: (body: string) => number, delay: (body: string) => number = () => 5) {
  dir = await mkdtemp(join(tmpdir(), "dicom-edge-spool-test-"));
  const received: string[] = [];
  const running = new Map<string, number>();
  let overlap = 0;
  let parallel = 0;
  let maxParallel = 0;
  tunnel = backToBack((stream: TunnelStream) => {
    void (async () => {
      let body = "";
      for await (const chunk of stream.readable) body += text.decode(chunk);
      const sop = body.split(":")[0]!;
      running.set(sop, (running.get(sop) ?? 0) + 1);
      if (running.get(sop)! > 1) overlap++;
      maxParallel = Math.max(maxParallel, ++parallel);
      await new Promise((r) => setTimeout(r, delay(body)));
      parallel--;
      running.set(sop, running.get(sop)! - 1);
      received.push(body);
      stream.sendResult({ status: answer(body) });
    })();
  });
  const link = { open: tunnel.link.open, connected: true };
  spool = new Spool(dir, link);
  await spool.init();
  return { received, overlap: () => overlap, maxParallel: () => maxParallel, dir };
}

async function until(check: () => Promise<boolean> | boolean) {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await check()).toBe(true);
}

describe("Spool", () => {
  it("acknowledges once on disk, then drains every instance to the edge, several at once", async () => {
    const edge = await start(() => Status.Success);
    for (let k = 0; k < 12; k++) expect(await spool!.accept(`1.2.${k}`, bytesOf(`1.2.${k}:v1`))).toEqual({ status: Status.Success });
    expect(await spool!.pending()).toBe(12);
    spool!.start();
    await until(async () => (await spool!.pending()) === 0);
    expect(edge.received.sort()).toEqual(Array.from({ length: 12 }, (_, k) => `1.2.${k}:v1`).sort());
    expect(edge.maxParallel()).toBeGreaterThan(1);
  });

  it("drains the versions of one instance one after another, in the order they arrived", async () => {
    // The first version is slow at the edge: a later one must not overtake it.
    const edge = await start(() => Status.Success, (body) => (body.endsWith("v1") ? 50 : 1));
    for (const version of ["v1", "v2", "v3"]) await spool!.accept("1.2.9", bytesOf(`1.2.9:${version}`));
    await spool!.accept("1.2.10", bytesOf("1.2.10:v1"));
    spool!.start();
    await until(async () => (await spool!.pending()) === 0);
    expect(edge.received.filter((b) => b.startsWith("1.2.9:"))).toEqual(["1.2.9:v1", "1.2.9:v2", "1.2.9:v3"]);
    expect(edge.overlap()).toBe(0);
  });

  it("keeps what the edge cannot take for now, and moves what it refuses for good to failed/", async () => {
    let busy = true;
    const edge = await start((body) => (body.startsWith("1.2.2") ? Status.CannotUnderstand : busy ? Status.OutOfResources : Status.Success));
    await spool!.accept("1.2.1", bytesOf("1.2.1:v1"));
    await spool!.accept("1.2.2", bytesOf("1.2.2:v1"));
    spool!.start();
    await until(() => edge.received.length >= 1);
    busy = false;
    spool!.notifyConnected();
    await until(async () => (await spool!.pending()) === 0);
    expect(await readdir(join(edge.dir, "failed"))).toHaveLength(1);
    expect(edge.received).toContain("1.2.1:v1");
  });

  it("names instances by a stable 8-digit hex key", () => {
    expect(instanceKey("1.2.3")).toMatch(/^[0-9a-f]{8}$/);
    expect(instanceKey("1.2.3")).toBe(instanceKey("1.2.3"));
    expect(instanceKey("1.2.3")).not.toBe(instanceKey("1.2.4"));
  });
});
