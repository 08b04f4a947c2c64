import { Status } from "@dicom-edge/shared/dicom/status";
import type { Backend, StoreOutcome } from "../../backends/backend";
import { DicomWebError } from "../errors";
import { multipartRelated, parseMediaType } from "../multipart/content-type";
import { MultipartError, readMultipart } from "../multipart/reader";
import { stowResponse } from "./stow-response";

const DICOM = "application/dicom";

/**
 * STOW-RS Store Instances (PS3.18 10.5): reads the request as a stream, one
 * part at a time, stores every application/dicom part and answers with the
 * Store Instances Response Module. The instances become visible together
 * once the whole request has been read; a request body that breaks off
 * stores nothing.
 */
export async function storeInstances(request: Request, backend: Backend, base: string, study?: string): Promise<Response> {
  const contentType = request.headers.get("content-type") ?? "";
  const parts = partsOf(request, contentType);
  const transaction = backend.store();
  // Each instance is uploaded while the next one is read (StoreTransaction.receive).
  const pending: Promise<StoreOutcome>[] = [];
  let outcomes: StoreOutcome[];
  try {
    for await (const part of parts) {
      const type = part.contentType === undefined ? undefined : parseMediaType(part.contentType);
      if (type && `${type.type}/${type.subtype}` !== DICOM) {
        // PS3.18 10.5.1.1: only DICOM instances are stored by this origin
        // server; the part is skipped and named as a failure.
        pending.push(Promise.resolve({ ok: false, reason: Status.CannotUnderstand, message: `part of type ${part.contentType} is not ${DICOM}` }));
        continue;
      }
      const { outcome } = await transaction.receive(part.body, study === undefined ? {} : { study });
      // Awaited below, after the body; a failure is not unhandled meanwhile.
      outcome.catch(() => undefined);
      pending.push(outcome);
    }
    outcomes = await Promise.all(pending);
  } catch (error) {
    await transaction.rollback();
    if (error instanceof MultipartError) throw new DicomWebError(400, `malformed multipart body (${error.code}): ${error.message}; nothing was stored`);
    throw error;
  }
  if (outcomes.length === 0) {
    await transaction.rollback();
    throw new DicomWebError(400, "the request holds no instance");
  }
  await transaction.commit();
  const { status, body } = stowResponse(outcomes, base, study);
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/dicom+json" } });
}

interface Part {
  contentType: string | undefined;
  body: AsyncIterable<Uint8Array>;
}

/**
 * The instances of the request: the parts of `multipart/related;
 * type="application/dicom"` (PS3.18 10.5.1.1), or a single `application/dicom`
 * body as some clients send it.
 */
async function* partsOf(request: Request, contentType: string): AsyncGenerator<Part> {
  const body = request.body;
  const media = parseMediaType(contentType);
  if (media && `${media.type}/${media.subtype}` === DICOM) {
    if (body) yield { contentType: undefined, body: iterate(body) };
    return;
  }
  const multipart = multipartRelated(contentType);
  if (!multipart) throw new DicomWebError(415, `expected multipart/related; type="${DICOM}", got ${contentType || "no Content-Type"}`);
  if (multipart.type !== undefined && multipart.type.toLowerCase() !== DICOM) {
    throw new DicomWebError(415, `multipart/related type ${multipart.type} is not supported; send type="${DICOM}"`);
  }
  if (!body) return;
  for await (const part of readMultipart(body, multipart.boundary)) {
    yield { contentType: part.headers.get("content-type") ?? undefined, body: part.body };
  }
}

async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
