import { describe, expect, it } from "vitest";
import { rewriteBulkDataUris } from "./relay-rewrite";

const encoder = new TextEncoder();

async function run(chunks: Uint8Array[], base: string): Promise<string> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Response(source.pipeThrough(rewriteBulkDataUris(base))).text();
}

describe("rewriteBulkDataUris", () => {
  const base = "https://edge.example/dicomweb";
  const upstream = "http://127.0.0.1/dicom-web";
  const text =
    `[{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Müller^Zoë"}]},` +
    `"7FE00010":{"vr":"OW","BulkDataURI":"${upstream}/studies/1/series/2/instances/3/bulk/7FE00010"},` +
    `"00091010":{"vr":"OB","BulkDataURI":"relative/no-studies"},` +
    // Pretty-printed, as Orthanc writes it.
    `"00091011" : { "vr" : "OB", "BulkDataURI" : "${upstream}/studies/1/series/2/instances/3/bulk/00091011" }}]`;
  const expected = text.replaceAll(`${upstream}/studies/`, `${base}/studies/`);

  it("names the edge in every BulkDataURI, wherever the chunks split the text", async () => {
    const bytes = encoder.encode(text);
    expect(expected).not.toBe(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await run([bytes.slice(0, cut), bytes.slice(cut)], base)).toBe(expected);
    }
  });

  it("passes the rest unchanged one byte at a time, multi-byte characters included", async () => {
    expect(await run([...encoder.encode(text)].map((b) => new Uint8Array([b])), base)).toBe(expected);
  });

  it("passes a body without BulkDataURIs unchanged", async () => {
    const plain = '[{"00080018":{"vr":"UI","Value":["1.2.3"]}}]';
    expect(await run([encoder.encode(plain)], base)).toBe(plain);
  });
});
