import type { Backend, Scope } from "../../backends/backend";
import { negotiateRequest } from "../accept/accept";
import { DicomWebError } from "../errors";
import { multipartStream, newBoundary, type MultipartSourcePart } from "../multipart/writer";
import { instancesOf, instanceUrl, objectBody } from "./resources";

const DICOM = "application/dicom";

/**
 * WADO-RS Retrieve Study/Series/Instance (PS3.18 10.4): the stored Part-10
 * objects, byte for byte, as `multipart/related; type="application/dicom"`.
 * The archive does not transcode: each part names the syntax it is stored in
 * (PS3.18 8.7.3.5.2), and a request for one specific other syntax is 406.
 */
export async function retrieveInstances(request: Request, backend: Backend, base: string, scope: Scope): Promise<Response> {
  const instances = await instancesOf(backend, scope);
  const syntaxes = new Set(instances.map((i) => i.transferSyntax));
  const uniform = syntaxes.size === 1 ? [...syntaxes][0] : undefined;
  const url = new URL(request.url);
  const chosen = negotiateRequest(url, request.headers, [
    { mediaType: "multipart/related", partType: DICOM, ...(uniform ? { transferSyntax: uniform } : {}) },
  ]);
  if (!chosen) throw new DicomWebError(406, notAcceptable(syntaxes));
  const asked = chosen.transferSyntax;
  if (asked && asked !== "*" && [...syntaxes].some((s) => s !== asked)) throw new DicomWebError(406, notAcceptable(syntaxes));

  const boundary = newBoundary();
  async function* parts(): AsyncGenerator<MultipartSourcePart> {
    for (const instance of instances) {
      yield {
        headers: {
          "Content-Type": `${DICOM}; transfer-syntax=${instance.transferSyntax}`,
          "Content-Length": String(instance.size),
          "Content-Location": instanceUrl(base, instance),
        },
        body: await objectBody(backend, instance),
      };
    }
  }
  const headers: Record<string, string> = { "Content-Type": `multipart/related; type="${DICOM}"; boundary=${boundary}` };
  if (uniform) headers["Content-Type"] += `; transfer-syntax=${uniform}`;
  return new Response(multipartStream(boundary, parts()), { headers });
}

function notAcceptable(stored: Set<string>): string {
  return `instances are stored as ${[...stored].join(", ")} and are not transcoded; accept transfer-syntax=* or the stored syntax`;
}
