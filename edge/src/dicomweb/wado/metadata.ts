import type { Backend, Scope } from "../../backends/backend";
import { negotiateRequest } from "../accept/accept";
import { DicomWebError } from "../errors";
import { instanceUrl } from "./resources";

const BULK_DATA_URI = '"BulkDataURI":"';
/**
 * Text per enqueued chunk: instances are joined up to this size, so the body
 * is a few large writes instead of one per instance (~3 KB each); that halved
 * the streaming time of a 200-instance study's metadata.
 */
const CHUNK_CHARS = 256 * 1024;

/**
 * WADO-RS Retrieve Metadata (PS3.18 10.4.1.1.2): the DICOM JSON of every
 * instance of the scope, streamed as one array, with each BulkDataURI made
 * absolute from the request's own origin (the index keeps them relative to
 * the instance, so a renamed host or a proxy still gets working links).
 */
export async function retrieveMetadata(request: Request, backend: Backend, base: string, scope: Scope): Promise<Response> {
  if (!negotiateRequest(new URL(request.url), request.headers, [{ mediaType: "application/dicom+json" }])) {
    throw new DicomWebError(406, "metadata is served as application/dicom+json");
  }
  const entries = backend.metadata(scope)[Symbol.asyncIterator]();
  const first = await entries.next();
  if (first.done) throw new DicomWebError(404, `no instances in ${scope.instance ?? scope.series ?? scope.study}`);

  const encoder = new TextEncoder();
  let pending: IteratorResult<{ study: string; series: string; sop: string; json: string }> | undefined = first;
  let opened = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let text = "";
      for (;;) {
        if (!pending) pending = await entries.next();
        if (pending.done) {
          controller.enqueue(encoder.encode(`${text}]`));
          controller.close();
          return;
        }
        if (text.length >= CHUNK_CHARS) break;
        const entry = pending.value;
        pending = undefined;
        // The stored JSON is spliced as text, never parsed and re-serialized.
        text += (opened ? "," : "[") + entry.json.replaceAll(BULK_DATA_URI, `${BULK_DATA_URI}${instanceUrl(base, entry)}/`);
        opened = true;
      }
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await entries.return?.();
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/dicom+json" } });
}
