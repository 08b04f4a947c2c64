/**
 * Test support: drives the real dicomweb-client (the library OHIF and
 * Slim use) against an in-memory XMLHttpRequest, so tests see the exact
 * bytes and header fields it sends and whether it can read what we answer.
 * Imported by tests only.
 */

import { api } from "dicomweb-client";

export interface SentRequest {
  method: string;
  url: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

export interface CannedResponse {
  status?: number;
  contentType?: string;
  body?: Uint8Array;
}

interface FakeRequest {
  // The fake stands in for the browser XMLHttpRequest that dicomweb-client expects.
  instance: unknown;
}

interface InstanceIds {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  request: FakeRequest;
}

/**
 * The calls tests make, typed by hand: the package's typings are generated
 * from JSDoc and mark optional options (mediaTypes, singlepart) as required.
 */
export interface Client {
  storeInstances(options: { datasets: ArrayBuffer[]; request: FakeRequest }): Promise<unknown>;
  retrieveInstance(options: InstanceIds): Promise<unknown>;
  retrieveInstanceMetadata(options: InstanceIds): Promise<unknown>;
  retrieveInstanceFrames(
    options: InstanceIds & { frameNumbers: number[]; mediaTypes?: { mediaType: string; transferSyntaxUID?: string }[] },
  ): Promise<unknown>;
  retrieveSeries(options: { studyInstanceUID: string; seriesInstanceUID: string; request: FakeRequest }): Promise<unknown>;
}

/**
 * Runs `call` with a client whose requests go to a fake XMLHttpRequest
 * (passed as `request.instance`); the fake answers with `response`.
 */
export async function withDicomwebClient<T>(
  call: (client: Client, request: FakeRequest) => Promise<T>,
  response: CannedResponse = {},
): Promise<{ sent: SentRequest; result: T }> {
  const xhr = new FakeXhr(response);
  const client = new api.DICOMwebClient({ url: "http://archive.test/dicom-web", singlepart: false }) as unknown as Client;
  const result = await call(client, { instance: xhr });
  if (xhr.sent === undefined) throw new Error("dicomweb-client sent nothing");
  return { sent: xhr.sent, result };
}

class FakeXhr {
  readyState = 0;
  status = 0;
  responseType = "";
  response: ArrayBuffer | string | null = null;
  onreadystatechange: (() => void) | null = null;
  sent: SentRequest | undefined;
  private method = "";
  private url = "";
  private readonly headers: Record<string, string> = {};

  constructor(private readonly canned: CannedResponse) {}

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }

  getResponseHeader(name: string): string | null {
    return name.toLowerCase() === "content-type" ? (this.canned.contentType ?? null) : null;
  }

  getAllResponseHeaders(): string {
    return this.canned.contentType === undefined ? "" : `content-type: ${this.canned.contentType}\r\n`;
  }

  send(data?: ArrayBuffer | Uint8Array | null): void {
    const body = data == null ? undefined : data instanceof Uint8Array ? data.slice() : new Uint8Array(data.slice(0));
    this.sent = { method: this.method, url: this.url, headers: { ...this.headers }, body };
    queueMicrotask(() => {
      const bytes = this.canned.body ?? new Uint8Array(0);
      this.status = this.canned.status ?? 200;
      this.response = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      this.readyState = 4;
      this.onreadystatechange?.();
    });
  }
}
