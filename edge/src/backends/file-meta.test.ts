import { Part10Error } from "@dicom-edge/shared/dicom/part10-reader";
import { concat, encodePart10, type Element } from "@dicom-edge/shared/dicom/testing/encode";
import { describe, expect, it } from "vitest";
import { readMultipart } from "../dicomweb/multipart/reader";
import { splitFileMeta } from "./file-meta";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const ELEMENTS: Element[] = [
  { tag: 0x00080016, vr: "UI", value: CT },
  { tag: 0x00080018, vr: "UI", value: "1.2.3.4" },
  { tag: 0x00100010, vr: "PN", value: "Meta^Skip" },
  { tag: 0x7fe00010, vr: "OW", value: Uint8Array.from({ length: 600 }, (_, i) => i & 0xff) },
];

function object(transferSyntaxUID: string, elements: Element[] = ELEMENTS): Uint8Array {
  return encodePart10({ transferSyntaxUID, sopClassUID: CT, sopInstanceUID: "1.2.3.4", elements });
}

/** Where the data set starts: past the preamble, "DICM" and the group whose length (0002,0000) gives. */
function datasetOffsetOf(bytes: Uint8Array): number {
  return 132 + 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(140, true);
}

async function* chunks(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    yield bytes.slice(from, cut);
    from = cut;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of source) pieces.push(piece);
  return concat(pieces);
}

describe("splitFileMeta", () => {
  for (const [name, syntax] of [
    ["Explicit VR Little Endian", "1.2.840.10008.1.2.1"],
    ["Implicit VR Little Endian", "1.2.840.10008.1.2"],
    ["Deflated Explicit VR Little Endian", "1.2.840.10008.1.2.1.99"],
  ] as const) {
    it(`gives the syntax and the data set bytes untouched, the object cut at every offset (${name})`, async () => {
      const bytes = object(syntax);
      const offset = datasetOffsetOf(bytes);
      for (let cut = 1; cut < bytes.length; cut++) {
        const split = await splitFileMeta(chunks(bytes, [cut]));
        expect(split.transferSyntax).toBe(syntax);
        expect(split.sopClass).toBe(CT);
        expect(split.datasetOffset).toBe(offset);
        expect(split.head).toEqual(bytes.subarray(0, offset));
        expect(await collect(split.dataset)).toEqual(bytes.subarray(offset));
      }
    });
  }

  it("finds the data set's start when it was a byte or two back, in a stream of one-byte chunks", async () => {
    const bytes = object("1.2.840.10008.1.2.1");
    const split = await splitFileMeta(chunks(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)));
    expect(split.head).toEqual(bytes.subarray(0, datasetOffsetOf(bytes)));
    expect(await collect(split.dataset)).toEqual(bytes.subarray(datasetOffsetOf(bytes)));
  });

  it("reads no further than the File Meta group, and stops the source when the data set is left", async () => {
    const bytes = object("1.2.840.10008.1.2.1");
    let pulled = 0;
    let stopped = false;
    const source = (async function* () {
      try {
        for (let at = 0; at < bytes.length; at += 100) {
          pulled++;
          yield bytes.slice(at, at + 100);
        }
      } finally {
        stopped = true;
      }
    })();
    const split = await splitFileMeta(source);
    expect(pulled).toBe(Math.ceil((datasetOffsetOf(bytes) + 2) / 100));
    await split.dataset.next();
    await split.dataset.return();
    expect(stopped).toBe(true);
  });

  it("takes a File Meta group with an empty data set", async () => {
    const bytes = object("1.2.840.10008.1.2.1", []);
    const split = await splitFileMeta(chunks(bytes, [10]));
    expect(split.datasetOffset).toBe(bytes.length);
    expect(await collect(split.dataset)).toEqual(new Uint8Array(0));
  });

  it("throws a Part10Error for what is not a Part-10 object or ends inside its File Meta group", async () => {
    const bytes = object("1.2.840.10008.1.2.1");
    await expect(splitFileMeta(chunks(new TextEncoder().encode("not dicom at all ".repeat(10)), []))).rejects.toBeInstanceOf(Part10Error);
    await expect(splitFileMeta(chunks(bytes.subarray(0, 180), [50]))).rejects.toMatchObject({ code: "truncated" });
  });

  it("splits a WADO-RS part (PS3.18 8.7.3.3.2) and passes on the part's failure when the body ends early", async () => {
    const bytes = object("1.2.840.10008.1.2.1");
    const head = new TextEncoder().encode(`--B\r\nContent-Type: application/dicom\r\nContent-Length: ${bytes.length}\r\n\r\n`);
    const tail = new TextEncoder().encode("\r\n--B--");
    const body = (parts: Uint8Array[]) => new ReadableStream<Uint8Array>({ start: (c) => (parts.forEach((p) => c.enqueue(p)), c.close()) });

    const whole = await readMultipart(body([head, bytes.slice(0, 200), bytes.slice(200), tail]), "B").next();
    const split = await splitFileMeta(whole.value!.body);
    expect(await collect(split.dataset)).toEqual(bytes.subarray(datasetOffsetOf(bytes)));

    const cut = await readMultipart(body([head, bytes.slice(0, 400)]), "B").next();
    const short = await splitFileMeta(cut.value!.body);
    await expect(collect(short.dataset)).rejects.toMatchObject({ code: "no-closing-boundary" });
  });
});
