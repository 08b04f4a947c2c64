import type { Scope } from "../../backends/backend";
import { negotiateRequest } from "../accept/accept";
import { DicomWebError } from "../errors";
import { multipartStream, newBoundary, type MultipartSourcePart } from "../multipart/writer";
import { level } from "./resources";

const DICOM = "application/dicom";

/** One Part-10 object as an upstream sends it, its bytes still to come. */
export interface RetrievedInstance {
  sopClass: string;
  sop: string;
  transferSyntax: string;
  body: ReadableStream<Uint8Array>;
}

/**
 * What a backend that cannot list instances before it sends them offers
 * (the dimse backend: a C-GET tells what it retrieved only as it arrives):
 * the instances of `scope` one after the other, or undefined when there
 * are none. Each body must be read to its end (or cancelled) before the
 * next instance is asked for.
 */
export interface StreamingRetrieve {
  retrieveStream(scope: Scope): Promise<AsyncGenerator<RetrievedInstance> | undefined>;
}

export function isStreamingRetrieve(backend: object): backend is StreamingRetrieve {
  return typeof (backend as Partial<StreamingRetrieve>).retrieveStream === "function";
}

/**
 * WADO-RS Retrieve Study/Series/Instance (PS3.18 10.4) from a streaming
 * backend: each instance a part `application/dicom; transfer-syntax=` the
 * syntax it came in (PS3.18 8.7.3.5.2), never transcoded. The syntaxes are
 * known only as instances arrive, so a request for one specific syntax is
 * 406 when the first instance is in another, and ends the response early
 * when a later one is (its status is sent by then).
 */
export async function retrieveStreamed(request: Request, backend: StreamingRetrieve, scope: Scope): Promise<Response> {
  const chosen = negotiateRequest(new URL(request.url), request.headers, [{ mediaType: "multipart/related", partType: DICOM }]);
  if (!chosen) throw new DicomWebError(406, `only multipart/related; type="${DICOM}" is available here, in the syntax each instance is stored in`);
  const asked = chosen.transferSyntax && chosen.transferSyntax !== "*" ? chosen.transferSyntax : undefined;
  const instances = await backend.retrieveStream(scope);
  const first = instances ? await instances.next() : undefined;
  if (!instances || !first || first.done) throw new DicomWebError(404, `no ${level(scope)} ${scope.instance ?? scope.series ?? scope.study}`);
  if (asked && first.value.transferSyntax !== asked) {
    await first.value.body.cancel().catch(() => undefined);
    await instances.return(undefined).catch(() => undefined);
    throw new DicomWebError(406, notAcceptable(first.value.transferSyntax));
  }

  async function* parts(): AsyncGenerator<MultipartSourcePart> {
    let next: IteratorResult<RetrievedInstance> = first!;
    try {
      while (!next.done) {
        const instance = next.value;
        if (asked && instance.transferSyntax !== asked) {
          await instance.body.cancel().catch(() => undefined);
          throw new DicomWebError(406, notAcceptable(instance.transferSyntax));
        }
        yield { headers: { "Content-Type": `${DICOM}; transfer-syntax=${instance.transferSyntax}` }, body: instance.body };
        next = await instances!.next();
      }
    } finally {
      if (!next.done) await instances!.return(undefined).catch(() => undefined);
    }
  }
  const boundary = newBoundary();
  return new Response(multipartStream(boundary, parts()), { headers: { "Content-Type": `multipart/related; type="${DICOM}"; boundary=${boundary}` } });
}

function notAcceptable(syntax: string): string {
  return `an instance is stored as ${syntax} and is not transcoded; accept transfer-syntax=* or the stored syntax`;
}
