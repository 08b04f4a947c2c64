import { describe, expect, it } from "vitest";
import { Uploads } from "./uploads";

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((ok, fail) => ((resolve = ok), (reject = fail)));
  return { promise, resolve, reject };
}

describe("Uploads", () => {
  it("lets the caller go on while fewer than the limit run, and waits for one to end at the limit", async () => {
    const uploads = new Uploads(2);
    const [a, b] = [deferred(), deferred()];
    await uploads.add(a.promise);
    let added = false;
    const adding = uploads.add(b.promise).then(() => (added = true));
    await Promise.resolve();
    expect(added).toBe(false);
    a.reject(new Error("failed upload"));
    await adding;
    expect(added).toBe(true);
    b.resolve();
    await uploads.settle();
  });

  it("settles once every upload ended, failed ones included", async () => {
    const uploads = new Uploads(4);
    const runs = [deferred(), deferred(), deferred()];
    for (const run of runs) await uploads.add(run.promise);
    let settled = false;
    const settling = uploads.settle().then(() => (settled = true));
    runs[0]!.resolve();
    runs[1]!.reject(new Error("x"));
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(false);
    runs[2]!.resolve();
    await settling;
    expect(settled).toBe(true);
  });
});
