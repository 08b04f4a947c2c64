import { EXPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from "@dicom-edge/shared/dicom/transfer-syntax";
import type { Backend, Scope } from "../../backends/backend";
import { negotiateRequest } from "../accept/accept";
import { DicomWebError } from "../errors";
import { multipartStream, newBoundary } from "../multipart/writer";
import { rangesStream } from "./byte-ranges";
import { pixelMediaType, pixelResponse } from "./frames";
import { instancesOf, instanceUrl } from "./resources";

const OCTET_STREAM = "application/octet-stream";
/** Pixel Data, Float Pixel Data, Double Float Pixel Data (PS3.6). */
const PIXEL_DATA = new Set(["7FE00010", "7FE00008", "7FE00009"]);

/**
 * Retrieve Bulkdata (PS3.18 10.4.1.1.5) for the BulkDataURIs that metadata
 * hands out (`.../instances/{uid}/bulkdata/{path}`): one range read of the
 * stored object. Encapsulated Pixel Data comes back as its frames, one part
 * each, in the stored compressed media type.
 */
export async function retrieveBulkdata(request: Request, backend: Backend, base: string, scope: Required<Scope>, path: string): Promise<Response> {
  const [instance] = await instancesOf(backend, scope);
  const range = instance!.bulk[path];
  if (!range) throw new DicomWebError(404, `instance ${scope.instance} has no bulk data at ${path}`);
  const ts = transferSyntax(instance!.transferSyntax);
  if (PIXEL_DATA.has(path) && ts?.encapsulated && instance!.frames) {
    return pixelResponse(request, backend, base, instance!, instance!.frames);
  }
  // Only Pixel Data is encapsulated; other bulk values are native encoding.
  const named = PIXEL_DATA.has(path) ? pixelMediaType(instance!).transferSyntax : ts?.littleEndian === false ? instance!.transferSyntax : EXPLICIT_VR_LITTLE_ENDIAN;
  const chosen = negotiateRequest(new URL(request.url), request.headers, [
    { mediaType: "multipart/related", partType: OCTET_STREAM, transferSyntax: named },
    { mediaType: OCTET_STREAM, transferSyntax: named },
  ]);
  if (!chosen || (chosen.transferSyntax && chosen.transferSyntax !== "*" && chosen.transferSyntax !== named)) {
    throw new DicomWebError(406, `bulk data is served as ${OCTET_STREAM}; transfer-syntax=${named}`);
  }
  const body = rangesStream(backend, instance!, [range]);
  const partType = `${OCTET_STREAM}; transfer-syntax=${named}`;
  if (chosen.offer.mediaType === OCTET_STREAM) {
    return new Response(body, { headers: { "Content-Type": partType, "Content-Length": String(range[1]) } });
  }
  const boundary = newBoundary();
  async function* one() {
    yield { headers: { "Content-Type": partType, "Content-Length": String(range![1]), "Content-Location": `${instanceUrl(base, instance!)}/bulkdata/${path}` }, body };
  }
  return new Response(multipartStream(boundary, one()), {
    headers: { "Content-Type": `multipart/related; type="${OCTET_STREAM}"; boundary=${boundary}` },
  });
}
