import { concat } from "@dicom-edge/shared/bytes";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { multipartRelated } from "./content-type.ts";
import { withDicomwebClient } from "./dicomweb-client-harness.ts";
import { MultipartError, readMultipart, type MultipartErrorCode } from "./reader.ts";
import { multipartStream } from "./writer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(...pieces: (string | Uint8Array)[]): Uint8Array {
  return concat(pieces.map((p) => (typeof p === "string" ? enc.encode(p) : p)));
}

/** A stream handing out `chunks` one per pull, recording pulls and cancels. */
function source(chunks: Uint8Array[]) {
  const log = { pulls: 0, cancelled: false };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        log.pulls++;
        const chunk = chunks[i++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
      cancel() {
        log.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, log };
}

function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(data.subarray(at, cut));
    at = cut;
  }
  out.push(data.subarray(at));
  return out;
}

function every(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

interface ReadPart {
  headers: Record<string, string>;
  contentLength?: number;
  body: Uint8Array;
}

async function readAll(chunks: Uint8Array[], boundary: string): Promise<ReadPart[]> {
  const parts: ReadPart[] = [];
  for await (const part of readMultipart(source(chunks).stream, boundary)) {
    const pieces: Uint8Array[] = [];
    for await (const piece of part.body) pieces.push(piece);
    const read: ReadPart = { headers: Object.fromEntries(part.headers), body: bytes(...pieces) };
    if (part.contentLength !== undefined) read.contentLength = part.contentLength;
    parts.push(read);
  }
  return parts;
}

async function failure(run: () => Promise<unknown>): Promise<MultipartErrorCode> {
  try {
    await run();
  } catch (e) {
    if (e instanceof MultipartError) return e.code;
    throw e;
  }
  throw new Error("expected a MultipartError");
}

/** Bytes that look like DICOM: a preamble, "DICM", and binary noise with CR, LF and dashes. */
function fakeInstance(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  if (length > 132) out.set(enc.encode("DICM"), 128);
  return out;
}

describe("readMultipart: what real clients send", () => {
  it("reads Orthanc's chunked STOW body: unquoted uuid-uuid boundary, Content-Length per part, no CRLF at the end", async () => {
    const boundary = "1c4dd5f2-7b8e-4f3a-9c2d-5e6f7a8b9c0d-2d5ee6a3-8c9f-4a4b-8d3e-6f7a8b9cad1e";
    const contentType = `multipart/related; type=application/dicom; boundary=${boundary}`;
    const a = fakeInstance(1, 3000);
    const b = fakeInstance(2, 5000);
    const chunks = [
      bytes(`--${boundary}\r\nContent-Type: application/dicom\r\nContent-Length: ${a.length}\r\n\r\n`),
      a,
      bytes(`\r\n--${boundary}\r\nContent-Type: application/dicom\r\nContent-Length: ${b.length}\r\n\r\n`),
      b,
      bytes(`\r\n--${boundary}--`),
    ];
    // Through a real Request whose body has no length: sent chunked.
    const request = new Request("http://archive.test/dicom-web/studies", {
      method: "POST",
      headers: { "content-type": contentType },
      body: source(chunks).stream,
      duplex: "half",
    } as RequestInit);
    const mr = multipartRelated(request.headers.get("content-type"));
    expect(mr).toEqual({ boundary, type: "application/dicom" });
    const parts: ReadPart[] = [];
    for await (const part of readMultipart(request.body!, mr!.boundary)) {
      const pieces: Uint8Array[] = [];
      for await (const piece of part.body) pieces.push(piece);
      parts.push({ headers: Object.fromEntries(part.headers), contentLength: part.contentLength!, body: bytes(...pieces) });
    }
    expect(parts).toEqual([
      { headers: { "content-type": "application/dicom", "content-length": "3000" }, contentLength: 3000, body: a },
      { headers: { "content-type": "application/dicom", "content-length": "5000" }, contentLength: 5000, body: b },
    ]);
  });

  it("reads what dicomweb-client's storeInstances sends", async () => {
    const datasets = [fakeInstance(3, 2048), fakeInstance(4, 10), fakeInstance(5, 70000)];
    const { sent } = await withDicomwebClient((client, request) =>
      client.storeInstances({ datasets: datasets.map((d) => d.slice().buffer), request }),
    );
    const mr = multipartRelated(sent.headers["content-type"]);
    expect(mr?.type).toBe("application/dicom");
    const parts = await readAll(every(sent.body!, 4096), mr!.boundary);
    expect(parts.map((p) => p.headers)).toEqual(datasets.map(() => ({ "content-type": "application/dicom" })));
    expect(parts.map((p) => p.body)).toEqual(datasets);
  });

  it("reads a dcm4che stowrs body: quoted boundary and type, CRLF after the close-delimiter", async () => {
    const header = 'multipart/related;type="application/dicom";boundary="myboundary"';
    const a = fakeInstance(6, 1500);
    const body = bytes(
      "\r\n--myboundary\r\nContent-Type: application/dicom\r\n\r\n",
      a,
      "\r\n--myboundary--\r\n",
    );
    const mr = multipartRelated(header);
    expect(await readAll([body], mr!.boundary)).toEqual([{ headers: { "content-type": "application/dicom" }, body: a }]);
  });
});

describe("readMultipart: RFC 2046 5.1.1 syntax", () => {
  const B = "b0und'ary+1.x";

  it("skips preamble and epilogue", async () => {
    const body = bytes(`This is a preamble.\r\nwith --${B} inside a line\r\n--${B}\r\n\r\nhello\r\n--${B}--\r\nepilogue\r\n--${B}\r\n`);
    expect(await readAll([body], B)).toEqual([{ headers: {}, body: enc.encode("hello") }]);
  });

  it("skips transport padding after boundaries", async () => {
    const body = bytes(`--${B} \t \r\nX-A: 1\r\n\r\none\r\n--${B}\t\r\n\r\ntwo\r\n--${B}--  \r\n`);
    const parts = await readAll([body], B);
    expect(parts.map((p) => dec.decode(p.body))).toEqual(["one", "two"]);
  });

  it("reads parts without headers and empty parts", async () => {
    const body = bytes(`--${B}\r\n\r\n\r\n--${B}\r\nContent-Type: text/plain\r\n\r\n\r\n--${B}--`);
    expect(await readAll([body], B)).toEqual([
      { headers: {}, body: new Uint8Array(0) },
      { headers: { "content-type": "text/plain" }, body: new Uint8Array(0) },
    ]);
  });

  it("tolerates LF-only line endings", async () => {
    const body = bytes(`--${B}\nContent-Type: application/dicom\n\nline1\nline2\n--${B}\n\nx\r\n--${B}--\n`);
    const parts = await readAll([body], B);
    expect(parts.map((p) => [p.headers["content-type"], dec.decode(p.body)])).toEqual([
      ["application/dicom", "line1\nline2"],
      [undefined, "x"],
    ]);
  });

  it("keeps near-delimiters inside a body as data", async () => {
    const tricky = `\r\n--${B.slice(0, -1)}Z\r\n-${B}\n-\r--\r\n-${B}\r\r`;
    const body = bytes(`--${B}\r\n\r\n${tricky}\r\n--${B}--`);
    const parts = await readAll([body], B);
    expect(dec.decode(parts[0]!.body)).toBe(tricky);
  });

  it("returns no parts for a body that is only a close-delimiter", async () => {
    expect(await readAll([bytes(`--${B}--`)], B)).toEqual([]);
  });

  it("gives the same parts however the body is split", async () => {
    const body = bytes(
      `pre\r\n--${B}\r\nContent-Type: application/dicom\r\nContent-Length: 9\r\n\r\n`,
      "\r\n--abc\r\r",
      `\r\n--${B}  \r\n\r\n`,
      fakeInstance(7, 40),
      `\r\n--${B}--\r\n`,
    );
    const whole = await readAll([body], B);
    expect(whole).toHaveLength(2);
    for (let cut = 0; cut <= body.length; cut++) {
      expect(await readAll(splitAt(body, [cut]), B)).toEqual(whole);
    }
    expect(await readAll(every(body, 1), B)).toEqual(whole);
    for (let size = 2; size < 90; size += 7) expect(await readAll(every(body, size), B)).toEqual(whole);
  });

  it("round-trips any parts, split anywhere, through multipartStream", async () => {
    const boundary = "8f14e45f-ceea-467f-a0e6-4d6d6b4ad1c3";
    // Bodies built from fragments of the delimiter to stress the search.
    const fragment = fc.constantFrom("\r", "\n", "-", "--", "\r\n--", `\r\n--${boundary.slice(0, 20)}`, boundary.slice(1));
    const partBody = fc
      .array(fc.oneof(fragment, fc.string({ maxLength: 8 })), { maxLength: 12 })
      .map((xs) => xs.join(""))
      // RFC 2046 5.1.1: a body never holds its own delimiter line; the pieces
      // may still join into one, which is no valid multipart input.
      .filter((text) => !text.includes(`--${boundary}`))
      .map((text) => enc.encode(text));
    await fc.assert(
      fc.asyncProperty(
        fc.array(partBody, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (bodies, cuts) => {
          const stream = multipartStream(
            boundary,
            (async function* () {
              for (const body of bodies) yield { headers: { "Content-Type": "application/dicom" }, body };
            })(),
          );
          const wire = new Uint8Array(await new Response(stream).arrayBuffer());
          const parts = await readAll(
            splitAt(
              wire,
              cuts.map((c) => c % (wire.length + 1)),
            ),
            boundary,
          );
          expect(parts.map((p) => p.body)).toEqual(bodies);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("readMultipart: streaming", () => {
  const B = "9b2c6d1e-3f4a-4b5c-8d7e-0f1a2b3c4d5e";

  it("yields views of the incoming chunks, holding back at most boundary + 4 bytes", async () => {
    const size = 64 * 1024;
    const head = bytes(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`);
    const data = fakeInstance(8, 4 * size);
    const wire = bytes(head, data, `\r\n--${B}--`);
    const chunks = every(wire, size);
    const buffers = new Set(chunks.map((c) => c.buffer));
    let delivered = 0;
    let received = 0;
    const heldAtPull: number[] = [];
    let i = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          // Before the reader asks for the next chunk, everything but the
          // hold-back has been handed out.
          heldAtPull.push(delivered - head.length - received);
          const chunk = chunks[i++];
          if (chunk === undefined) return controller.close();
          delivered += chunk.length;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    for await (const part of readMultipart(stream, B)) {
      for await (const piece of part.body) {
        received += piece.length;
        if (piece.length > B.length + 4) expect(buffers.has(piece.buffer)).toBe(true);
      }
    }
    expect(received).toBe(data.length);
    expect(heldAtPull.length).toBeGreaterThan(4);
    for (const held of heldAtPull.slice(1, 5)) {
      expect(held).toBeGreaterThanOrEqual(0);
      expect(held).toBeLessThanOrEqual(B.length + 4);
    }
  });

  it("drains a part the consumer abandons, and one it never touches", async () => {
    const a = fakeInstance(9, 9000);
    const b = fakeInstance(10, 100);
    const c = fakeInstance(11, 7000);
    const wire = bytes(`--${B}\r\n\r\n`, a, `\r\n--${B}\r\n\r\n`, b, `\r\n--${B}\r\nX: c\r\n\r\n`, c, `\r\n--${B}--`);
    const seen: Uint8Array[] = [];
    let index = 0;
    for await (const part of readMultipart(source(every(wire, 1000)).stream, B)) {
      if (index === 0) {
        for await (const piece of part.body) {
          expect(piece.length).toBeGreaterThan(0);
          break;
        }
      } else if (index === 2) {
        const pieces: Uint8Array[] = [];
        for await (const piece of part.body) pieces.push(piece);
        seen.push(bytes(...pieces));
        expect(part.headers.get("x")).toBe("c");
      }
      index++;
    }
    expect(index).toBe(3);
    expect(seen).toEqual([c]);
  });

  it("cancels the body when the consumer stops early", async () => {
    const wire = bytes(`--${B}\r\n\r\none\r\n--${B}\r\n\r\ntwo\r\n--${B}--`);
    const { stream, log } = source(every(wire, 10));
    for await (const part of readMultipart(stream, B)) {
      expect(part.headers.get("x")).toBeNull();
      break;
    }
    expect(log.cancelled).toBe(true);
  });

  it("reads a short epilogue to the end of the body, so the connection can carry the next request", async () => {
    const wire = bytes(`--${B}\r\n\r\none\r\n--${B}--\r\n`);
    const chunks = [...every(wire, 1000), bytes("epilogue"), bytes("\r\n")];
    const { stream, log } = source(chunks);
    for await (const part of readMultipart(stream, B)) for await (const _ of part.body);
    expect(log.pulls).toBe(chunks.length + 1);
    expect(log.cancelled).toBe(false);
  });

  it("cancels an epilogue longer than 64 KiB instead of reading it", async () => {
    const wire = bytes(`--${B}\r\n\r\none\r\n--${B}--\r\n`);
    const { stream, log } = source([wire, ...Array.from({ length: 100 }, () => new Uint8Array(1024))]);
    for await (const part of readMultipart(stream, B)) for await (const _ of part.body);
    expect(log.cancelled).toBe(true);
  });

  it("scans at hundreds of MB/s", async () => {
    const chunkSize = 64 * 1024;
    const data = new Uint8Array(chunkSize);
    for (let i = 0; i < chunkSize; i++) data[i] = (i * 31) & 0xff; // every byte value, CR/LF/dash included
    const partCount = 8;
    const chunksPerPart = 64; // 8 x 4 MiB = 32 MiB
    const chunks: Uint8Array[] = [];
    for (let p = 0; p < partCount; p++) {
      chunks.push(bytes(`\r\n--${B}\r\nContent-Type: application/dicom\r\n\r\n`));
      for (let i = 0; i < chunksPerPart; i++) chunks.push(data);
    }
    chunks.push(bytes(`\r\n--${B}--`));
    const started = performance.now();
    let total = 0;
    for await (const part of readMultipart(source(chunks).stream, B)) {
      for await (const piece of part.body) total += piece.length;
    }
    const ms = performance.now() - started;
    expect(total).toBe(partCount * chunksPerPart * chunkSize);
    // workerd only advances the clock across I/O, so ms may read 0 here;
    // when it does advance, hold the reader to 100 MB/s.
    if (ms > 0) expect(total / 1e6 / (ms / 1000)).toBeGreaterThan(100);
  });
});

describe("readMultipart: errors", () => {
  const B = "xyz";

  it("throws no-closing-boundary from the body being read, then from the generator", async () => {
    const parts = readMultipart(source([bytes(`--${B}\r\n\r\nunfinished`)]).stream, B);
    const first = await parts.next();
    expect(first.done).toBe(false);
    const part = first.value!;
    expect(
      await failure(async () => {
        for await (const _ of part.body) {
          // consuming
        }
      }),
    ).toBe("no-closing-boundary");
    expect(await failure(() => parts.next())).toBe("no-closing-boundary");
  });

  it("throws no-closing-boundary from the generator when the unfinished body was abandoned", async () => {
    const code = await failure(async () => {
      for await (const _ of readMultipart(source([bytes(`--${B}\r\n\r\nunfinished\r\n--`)]).stream, B)) {
        // not reading the body
      }
    });
    expect(code).toBe("no-closing-boundary");
  });

  it.each([
    ["an empty body", ""],
    ["a body without any boundary", "just some text\r\n"],
    ["a body ending on a boundary line", `--${B}`],
    ["a body ending in the padding", `--${B}  `],
    ["a body ending after a single dash", `--${B}-`],
    ["a body ending inside headers", `--${B}\r\nContent-Type: appl`],
    ["a body ending after a part", `--${B}\r\n\r\nbody\r\n--${B}\r\n`],
  ])("throws no-closing-boundary for %s", async (_, text) => {
    expect(await failure(() => readAll([enc.encode(text)], B))).toBe("no-closing-boundary");
  });

  it.each([
    ["a longer string starting with the boundary", `--${B}\r\n\r\nx\r\n--${B}yz\r\n`],
    ["a header line without a colon", `--${B}\r\nContent-Type application/dicom\r\n\r\nx\r\n--${B}--`],
    ["an invalid header name", `--${B}\r\nBad Name: 1\r\n\r\nx\r\n--${B}--`],
    ["a bare CR after the boundary", `--${B}\rX\r\n\r\nx\r\n--${B}--`],
    ["a non-numeric Content-Length", `--${B}\r\nContent-Length: 12a\r\n\r\nx\r\n--${B}--`],
    ["a body shorter than its Content-Length", `--${B}\r\nContent-Length: 5\r\n\r\nabcd\r\n--${B}--`],
    ["a body longer than its Content-Length", `--${B}\r\nContent-Length: 3\r\n\r\nabcd\r\n--${B}--`],
  ])("throws malformed for %s", async (_, text) => {
    expect(await failure(() => readAll([enc.encode(text)], B))).toBe("malformed");
  });

  it("throws part-headers-too-large past maxPartHeaderBytes, in one chunk or many", async () => {
    const text = `--${B}\r\nX-Big: ${"a".repeat(200)}\r\n\r\nx\r\n--${B}--`;
    for (const chunks of [[enc.encode(text)], every(enc.encode(text), 7)]) {
      const code = await failure(async () => {
        for await (const _ of readMultipart(source(chunks).stream, B, { maxPartHeaderBytes: 100 })) {
          // reading
        }
      });
      expect(code).toBe("part-headers-too-large");
    }
    const small = await readAll([enc.encode(text)], B);
    expect(small[0]?.headers["x-big"]).toHaveLength(200);
  });

  it("rejects an unusable boundary", async () => {
    expect(await failure(() => readAll([enc.encode("--\r\n")], ""))).toBe("malformed");
  });

  it("passes stream errors through", async () => {
    const boom = new Error("connection reset");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(enc.encode(`--${B}\r\n\r\npartial`));
        controller.error(boom);
      },
    });
    await expect(
      (async () => {
        for await (const part of readMultipart(stream, B)) {
          for await (const _ of part.body) {
            // reading
          }
        }
      })(),
    ).rejects.toBe(boom);
  });
});
