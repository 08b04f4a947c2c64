// A small DICOMweb client for the e2e tests: STOW-RS bodies streamed from
// files, and multipart responses read with the edge's own streaming reader.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { multipartRelated } from "../edge/src/dicomweb/multipart/content-type";
import { readMultipart } from "../edge/src/dicomweb/multipart/reader";

export interface StowOptions {
  study?: string;
  boundary?: string;
  /** Quote the boundary and type parameters (dcm4che style) or not (Orthanc style). */
  quoted?: boolean;
  /** Add a Content-Length header to each part, as Orthanc does. */
  partLengths?: boolean;
  /** More request headers (Authorization). */
  headers?: Record<string, string>;
}

/** A multipart/related STOW-RS body built as a stream from files and byte arrays. */
export function stowBody(items: (string | Uint8Array)[], boundary: string, partLengths = false): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  async function* generate() {
    for (const item of items) {
      const size = typeof item === "string" ? (await stat(item)).size : item.byteLength;
      const header = `--${boundary}\r\nContent-Type: application/dicom\r\n${partLengths ? `Content-Length: ${size}\r\n` : ""}\r\n`;
      yield encoder.encode(header);
      if (typeof item === "string") {
        for await (const chunk of createReadStream(item, { highWaterMark: 1 << 20 })) yield new Uint8Array(chunk as Buffer);
      } else {
        yield item;
      }
      yield encoder.encode("\r\n");
    }
    yield encoder.encode(`--${boundary}--`);
  }
  return Readable.toWeb(Readable.from(generate())) as ReadableStream<Uint8Array>;
}

export async function stow(base: string, items: (string | Uint8Array)[], options: StowOptions = {}): Promise<Response> {
  const send = () => {
    const boundary = options.boundary ?? `${crypto.randomUUID()}-${crypto.randomUUID()}`;
    const type = options.quoted ? `type="application/dicom"; boundary="${boundary}"` : `type=application/dicom; boundary=${boundary}`;
    const url = options.study ? `${base}/dicomweb/studies/${options.study}` : `${base}/dicomweb/studies`;
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": `multipart/related; ${type}`, Accept: "application/dicom+json", ...options.headers },
      body: stowBody(items, boundary, options.partLengths),
      duplex: "half",
      // A request that hangs fails the test instead of stalling the suite.
      signal: AbortSignal.timeout(60_000),
    } as RequestInit);
  };
  const response = await send();
  // wrangler dev's proxy answers 503 "worker restarted mid-request" when it
  // lost the connection to workerd (see `get` below); the Worker never saw
  // the request. STOW-RS is idempotent, so that one answer is sent again.
  if (response.status !== 503) return response;
  const text = await response.clone().text();
  return /worker restarted mid-request|Network connection lost/i.test(text) ? send() : response;
}

/**
 * GET for the tests. The local simulators behind `wrangler dev` now and then
 * drop a request between wrangler's proxy and workerd (workerd logs
 * "Network connection lost" and the request never answers; seen about once
 * in a few hundred requests, never in the Worker's own code paths). A read is
 * safe to repeat, so a read that has not answered in 20 s, or a 503, is
 * repeated once.
 */
export async function get(url: string, init: RequestInit = {}): Promise<Response> {
  const first = await headersWithin(url, init, 20_000);
  if (first && first.status !== 503) return first;
  await first?.arrayBuffer();
  const second = await headersWithin(url, init, 60_000);
  if (!second) throw new Error(`GET ${url}: no answer, twice`);
  return second;
}

/** The response once its headers are in, or undefined after `ms` (the body may then take its time). */
async function headersWithin(url: string, init: RequestInit, ms: number): Promise<Response | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export interface Part {
  headers: Headers;
  bytes: Uint8Array;
}

/** Reads every part of a multipart/related response into memory (small responses only). */
export async function parts(response: Response): Promise<Part[]> {
  const type = multipartRelated(response.headers.get("content-type"));
  if (!type) throw new Error(`not multipart/related: ${response.headers.get("content-type")}`);
  const out: Part[] = [];
  for await (const part of readMultipart(response.body!, type.boundary)) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of part.body) chunks.push(chunk.slice());
    out.push({ headers: part.headers, bytes: new Uint8Array(Buffer.concat(chunks)) });
  }
  return out;
}

/** sha256 and size of every part, streamed: for responses too big to hold. */
export async function partDigests(response: Response): Promise<{ headers: Headers; size: number; sha256: string }[]> {
  const type = multipartRelated(response.headers.get("content-type"));
  if (!type) throw new Error(`not multipart/related: ${response.headers.get("content-type")}`);
  const out = [];
  for await (const part of readMultipart(response.body!, type.boundary)) {
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of part.body) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
    out.push({ headers: part.headers, size, sha256: hash.digest("hex") });
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A DICOM JSON attribute's first value. */
export function first(ds: Record<string, { Value?: unknown[] }>, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}

/** sha256 of the dataset of each Part-10 part (what follows its File Meta group), streamed. */
export async function datasetDigests(response: Response): Promise<{ size: number; sha256: string }[]> {
  const type = multipartRelated(response.headers.get("content-type"));
  if (!type) throw new Error(`not multipart/related: ${response.headers.get("content-type")}`);
  const out = [];
  for await (const part of readMultipart(response.body!, type.boundary)) {
    const hash = createHash("sha256");
    let head: Buffer | undefined = Buffer.alloc(0);
    let size = 0;
    for await (const chunk of part.body) {
      if (head === undefined) {
        hash.update(chunk);
        size += chunk.byteLength;
        continue;
      }
      head = Buffer.concat([head, chunk]);
      if (head.byteLength < 144) continue;
      // PS3.10 7.1: the group length of File Meta is the value at byte 140; wait until the whole group is in.
      const datasetStart = 144 + head.readUInt32LE(140);
      if (head.byteLength < datasetStart) continue;
      const rest = head.subarray(datasetStart);
      hash.update(rest);
      size += rest.byteLength;
      head = undefined;
    }
    out.push({ size, sha256: hash.digest("hex") });
  }
  return out;
}

/** sha256 of a file's dataset, streamed from `start` (its first byte after File Meta). */
export async function fileDigest(path: string, start: number): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
