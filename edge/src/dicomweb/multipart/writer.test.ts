import { describe, expect, it } from "vitest";
import { isValidBoundary } from "./content-type.ts";
import { withDicomwebClient } from "./dicomweb-client-harness.ts";
import { PART_READ_BYTES, multipartStream, newBoundary, type MultipartSourcePart } from "./writer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function* each(parts: MultipartSourcePart[]): AsyncGenerator<MultipartSourcePart> {
  yield* parts;
}

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c));
      controller.close();
    },
  });
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe("multipartStream", () => {
  it("writes CRLF delimiters, header lines and a close-delimiter (RFC 2046 5.1.1)", async () => {
    const out = await text(
      multipartStream(
        "B",
        each([
          { headers: { "Content-Type": "application/dicom", "Content-Location": "/studies/1" }, body: enc.encode("one") },
          { headers: { "Content-Type": "application/octet-stream" }, body: streamOf("t", "", "wo") },
        ]),
      ),
    );
    expect(out).toBe(
      "--B\r\nContent-Type: application/dicom\r\nContent-Location: /studies/1\r\n\r\none" +
        "\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\ntwo" +
        "\r\n--B--\r\n",
    );
  });

  it("writes a part without headers and an empty body", async () => {
    expect(await text(multipartStream("B", each([{ headers: {}, body: new Uint8Array(0) }])))).toBe(
      "--B\r\n\r\n\r\n--B--\r\n",
    );
  });

  it("writes only the close-delimiter for no parts", async () => {
    expect(await text(multipartStream("B", each([])))).toBe("--B--\r\n");
  });

  it("opens the next part only when the consumer reads on", async () => {
    const opened: number[] = [];
    async function* parts(): AsyncGenerator<MultipartSourcePart> {
      for (let i = 0; i < 3; i++) {
        opened.push(i);
        yield { headers: {}, body: streamOf(`part${i}`) };
      }
    }
    const reader = multipartStream("B", parts()).getReader();
    await Promise.resolve();
    expect(opened).toEqual([]);
    expect(dec.decode((await reader.read()).value)).toBe("--B\r\n\r\n");
    expect(opened).toEqual([0]);
    expect(dec.decode((await reader.read()).value)).toBe("part0");
    expect(opened).toEqual([0]);
    expect(dec.decode((await reader.read()).value)).toBe("\r\n--B\r\n\r\n");
    expect(opened).toEqual([0, 1]);
    await reader.cancel();
  });

  it("reads a byte stream part (as R2 gives) in PART_READ_BYTES pieces, not chunk by chunk", async () => {
    const { readable, writable } = new IdentityTransformStream();
    const total = PART_READ_BYTES + 1000;
    const writer = writable.getWriter();
    void (async () => {
      for (let at = 0; at < total; at += 4096) await writer.write(new Uint8Array(Math.min(4096, total - at)).fill(at / 4096));
      await writer.close();
    })();
    const reader = multipartStream("B", each([{ headers: {}, body: readable }])).getReader();
    const chunks: Uint8Array[] = [];
    expect(dec.decode((await reader.read()).value)).toBe("--B\r\n\r\n");
    for (;;) {
      const { value } = await reader.read();
      if (value!.length > 0 && dec.decode(value).startsWith("\r\n--B--")) break;
      chunks.push(value!);
    }
    expect(chunks.map((c) => c.length)).toEqual([PART_READ_BYTES, total - PART_READ_BYTES]);
    const body = new Uint8Array(await new Blob(chunks).arrayBuffer());
    expect(body.every((byte, i) => byte === Math.floor(i / 4096))).toBe(true);
  });

  it("errors the output when a part's stream errors, and ends the part source", async () => {
    const boom = new Error("R2 read failed");
    let finalized = false;
    async function* parts(): AsyncGenerator<MultipartSourcePart> {
      try {
        yield {
          headers: {},
          body: new ReadableStream({
            start(controller) {
              controller.enqueue(enc.encode("partial"));
              controller.error(boom);
            },
          }),
        };
        yield { headers: {}, body: enc.encode("never") };
      } finally {
        finalized = true;
      }
    }
    await expect(text(multipartStream("B", parts()))).rejects.toBe(boom);
    expect(finalized).toBe(true);
  });

  it("errors the output when the part source throws", async () => {
    const boom = new Error("index query failed");
    async function* parts(): AsyncGenerator<MultipartSourcePart> {
      yield { headers: {}, body: enc.encode("ok") };
      throw boom;
    }
    await expect(text(multipartStream("B", parts()))).rejects.toBe(boom);
  });

  it("cancels the current part's stream when the consumer cancels", async () => {
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(enc.encode("x"));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = multipartStream("B", each([{ headers: {}, body }])).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel("client went away");
    expect(cancelled).toBe("client went away");
  });

  it("refuses header values that would break the header block, and bad boundaries", async () => {
    await expect(
      text(multipartStream("B", each([{ headers: { "Content-Type": "a/b\r\nX-Injected: 1" }, body: enc.encode("") }]))),
    ).rejects.toThrow(TypeError);
    expect(() => multipartStream("a".repeat(71), each([]))).toThrow(RangeError);
    expect(() => multipartStream("", each([]))).toThrow(RangeError);
  });

  it("is read back by dicomweb-client's multipartDecode", async () => {
    const boundary = newBoundary();
    const bodies = [enc.encode("first instance"), enc.encode(`with \r\n-- inside and --${boundary.slice(0, 9)}`)];
    const wire = new Uint8Array(
      await new Response(
        multipartStream(
          boundary,
          each(bodies.map((body) => ({ headers: { "Content-Type": "application/dicom" }, body }))),
        ),
      ).arrayBuffer(),
    );
    const { result } = await withDicomwebClient(
      (client, request) => client.retrieveSeries({ studyInstanceUID: "1.2", seriesInstanceUID: "1.2.3", request }),
      { contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`, body: wire },
    );
    expect((result as ArrayBuffer[]).map((b) => new Uint8Array(b))).toEqual(bodies);
  });
});

describe("newBoundary", () => {
  it("gives distinct RFC 2046 boundaries", () => {
    const a = newBoundary();
    expect(isValidBoundary(a)).toBe(true);
    expect(a).not.toBe(newBoundary());
  });
});
