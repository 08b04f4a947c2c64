import { describe, expect, it } from "vitest";
import type { Backend, MetadataEntry } from "../../backends/backend";
import { retrieveMetadata } from "./metadata";

const BASE = "http://edge.test/dicomweb";

/** A backend that only lists metadata: `n` instances of about `size` characters of JSON each. */
function backendOf(n: number, size: number): Backend {
  async function* entries(): AsyncGenerator<MetadataEntry> {
    for (let i = 1; i <= n; i++) {
      const sop = `1.2.3.${i}`;
      yield { study: "1.2", series: "1.2.3", sop, json: `{"00080018":{"vr":"UI","Value":["${sop}"]},"00091001":{"vr":"LT","Value":["${"x".repeat(size)}"]},"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"}}` };
    }
  }
  return { metadata: () => entries() } as unknown as Backend;
}

async function chunksOf(res: Response): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body!) chunks.push(chunk);
  return chunks;
}

describe("retrieveMetadata", () => {
  it("joins instances into large chunks of one valid array, stored JSON spliced with absolute BulkDataURIs", async () => {
    const n = 150;
    const res = await retrieveMetadata(new Request(`${BASE}/studies/1.2/metadata`), backendOf(n, 4000), BASE, { study: "1.2" });
    const chunks = await chunksOf(res);
    // ~600 KB: a few chunks, not one per instance.
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan(10);
    const all = JSON.parse(await new Blob(chunks).text()) as Record<string, { Value?: string[]; BulkDataURI?: string }>[];
    expect(all.map((m) => m["00080018"]!.Value![0])).toEqual(Array.from({ length: n }, (_, i) => `1.2.3.${i + 1}`));
    expect(all[41]!["7FE00010"]!.BulkDataURI).toBe(`${BASE}/studies/1.2/series/1.2.3/instances/1.2.3.42/bulkdata/7FE00010`);
  });

  it("writes one instance as a one-element array", async () => {
    const res = await retrieveMetadata(new Request(`${BASE}/studies/1.2/metadata`), backendOf(1, 10), BASE, { study: "1.2" });
    expect(((await res.json()) as unknown[]).length).toBe(1);
  });
});
